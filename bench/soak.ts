// The soak: a sustained Poisson stream of uploads over a bounded simulated time, with faults mixed in
// at a set rate (killed invocations, container errors, throttling, ...), against each orchestrator in
// its own local cloud, one after the other, with the same seeded stream and fault schedule. Reports
// throughput, latency percentiles (simulated, on the clock named), outcomes, the faults armed and
// taken by kind, and the invariant checker's verdict (`dvs check`) over everything the run left.
// `npm run bench:soak` runs it; --help lists the options.
import { checkInvariants } from '../check/invariants.ts';
import { readSnapshot } from '../check/snapshot.ts';
import { formatViolations } from '../cli/check.ts';
import { skipped } from '../local/common/clock.ts';
import { WAIT_MODES, type WaitMode } from '../shared/config.ts';
import type { Orchestrator } from '../shared/keys.ts';
import { seededRandom } from '../shared/random.ts';
import type { World } from '../test/support/scenario-world.ts';
import {
  CLOCK_OPTION,
  CLOCK_USAGE,
  LOGS_USAGE,
  ORCHESTRATOR_NAMES,
  benchArgs,
  countBy,
  createEndpointCalls,
  endedAt,
  fail,
  positiveInteger,
  quiesceWithProgress,
  resultsWriter,
  startBenchWorld,
  waitForJobs,
  waitModeArg,
} from './app-runs.ts';
import { samplePeakRss } from './memory.ts';
import { poissonArrivals } from './scenario/scenarios.ts';
import { percentile } from './stats.ts';

/**
 * The faults the soak mixes in, each armed on the local cloud just before an upload: it hits the
 * next call of its kind, whichever job makes it. `taken` counts what the cloud really served.
 */
interface FaultKind {
  what: string;
  arm(world: World, random: () => number): void;
  /** Faults of this kind the cloud met, given how many were armed so far. */
  taken(world: World, armed: number): number;
}

const FAULTS = {
  kill: {
    what: 'an invocation killed in the middle of a core step (after its work, before its result is kept)',
    arm: (world, random) =>
      world.injectCrash(world.coreSteps[Math.floor(random() * world.coreSteps.length)]!),
    taken: (world) => world.cloud.lambdaService.injectedCrashes(),
  },
  'endpoint-error': {
    what: 'one InvokeEndpoint refused with ServiceUnavailable (a transient SageMaker fault)',
    arm: (world) => void world.cloud.sagemakerEmulator.faults.failInvocations(1, 'ServiceUnavailable'),
    taken: (world) => outcomesOf(world, 'InvokeEndpoint', 'ServiceUnavailable'),
  },
  'model-error': {
    what: 'one InvokeEndpoint answered ModelError (the model failed on this input)',
    arm: (world) => void world.cloud.sagemakerEmulator.faults.failInvocations(1, 'ModelError'),
    taken: (world) => outcomesOf(world, 'InvokeEndpoint', 'ModelError'),
  },
  throttle: {
    what: 'the next two SageMaker calls (any operation) refused with ThrottlingException',
    arm: (world) => void world.cloud.sagemakerEmulator.faults.throttle(2),
    taken: (world) => outcomesOf(world, undefined, 'ThrottlingException'),
  },
  container: {
    what: 'the next invocation to reach the model server meets a 500, a hang past the 60 s timeout, or the process dying (one at random)',
    arm: (world, random) => {
      world.cloud.sagemakerEmulator.faults.failInContainer(1, CONTAINER_FAULTS[Math.floor(random() * 3)]!);
    },
    taken: (world, armed) => armed - world.cloud.sagemakerEmulator.faults.armed().containerFaults,
  },
  'lost-event': {
    what: "the endpoint's next InService state-change event lost on its way to the bus (event waits end by their fallback)",
    arm: (world) => {
      world.cloud.sagemakerEmulator.faults.stateEvents('InService', 'lose');
    },
    taken: (world, armed) => armed - world.cloud.sagemakerEmulator.faults.armed().eventFaults,
  },
  'ddb-throttle': {
    what: "the next four DynamoDB UpdateItem calls throttled (ProvisionedThroughputExceededException): one call's every SDK attempt",
    arm: (world) => void world.cloud.dynamoDbFaults.throttle(4, { operations: ['UpdateItem'] }),
    taken: (world) => world.cloud.dynamoDbFaults.served().length,
  },
} satisfies Record<string, FaultKind>;
const CONTAINER_FAULTS = ['error', 'hang', 'die'] as const;
type FaultName = keyof typeof FAULTS;
const FAULT_NAMES = Object.keys(FAULTS) as FaultName[];

function outcomesOf(world: World, operation: string | undefined, outcome: string): number {
  return world.cloud.sagemakerEmulator
    .calls()
    .filter((c) => (operation === undefined || c.operation === operation) && c.outcome === outcome).length;
}

const USAGE = `Usage: npm run bench:soak [-- options]
A sustained stream of uploads with faults mixed in, against each orchestrator in its own local cloud
(the app's own settings, a 300 s endpoint start), then the invariant checker over what it left.

  --duration S            simulated seconds of arrivals (default 1800)
  --rate N                uploads per hour, Poisson (default 240)
  --fault-rate P          share of uploads (0..1) with one fault armed just before them (default 0.3)
  --faults LIST           comma-separated kinds (default all): ${FAULT_NAMES.join(', ')}
  --orchestrators LIST    ldf, sf or both (default ldf,sf)
  --wait-mode MODE        ${WAIT_MODES.join(' | ')} (default event)
  --seed N                the stream's and the fault schedule's seed (default 7)
  --timeout S             real seconds to wait for the jobs and the idle stops, per orchestrator (default 900)
${CLOCK_USAGE}
${LOGS_USAGE}

Fault kinds:
${FAULT_NAMES.map((k) => `  ${k.padEnd(16)}${FAULTS[k].what}`).join('\n')}

Exit status: 0 when the checker finds nothing and every job ended; 1 otherwise (the violations are
printed with what to do); 2 on bad options.`;

const { options: args, logs } = benchArgs(
  {
    duration: { default: '1800' },
    rate: { default: '240' },
    'fault-rate': { default: '0.3' },
    faults: { default: FAULT_NAMES.join(',') },
    orchestrators: { default: 'ldf,sf' },
    'wait-mode': { default: 'event' },
    seed: { default: '7' },
    timeout: { default: '900' },
    ...CLOCK_OPTION,
  },
  USAGE,
);
const durationS = positiveInteger('duration', args.duration);
const rate = positiveInteger('rate', args.rate);
const faultRate = Number(args['fault-rate']);
if (!(faultRate >= 0 && faultRate <= 1))
  fail(`--fault-rate must be a number from 0 to 1, got '${args['fault-rate']}'`);
const kinds = (args.faults ?? '').split(',').filter(Boolean) as FaultName[];
for (const k of kinds)
  if (!FAULT_NAMES.includes(k))
    fail(`--faults: unknown kind '${k}'; the kinds are ${FAULT_NAMES.join(', ')}`);
if (kinds.length === 0 && faultRate > 0) fail('--faults names no kind; give at least one, or --fault-rate 0');
const named = (args.orchestrators ?? '').split(',').filter(Boolean);
for (const o of named)
  if (o !== 'ldf' && o !== 'sf')
    fail(`--orchestrators: '${o}' is neither ldf (durable) nor sf (Step Functions)`);
if (named.length === 0) fail('--orchestrators names none; give ldf, sf or ldf,sf');
const orchestrators = named as Orchestrator[];
const waitMode: WaitMode = waitModeArg(args['wait-mode']);
const seed = positiveInteger('seed', args.seed);
const timeoutMs = positiveInteger('timeout', args.timeout) * 1000;
const print = resultsWriter(logs);
const user = 'soak';

const arrivals = poissonArrivals(rate, durationS, seed);
if (arrivals.length === 0) fail(`--rate ${rate} over --duration ${durationS} s drew no upload; raise either`);
// One fault schedule for every orchestrator: upload i gets fault schedule[i] (or none).
const pick = seededRandom(seed + 1);
const schedule = arrivals.map(() =>
  kinds.length > 0 && pick() < faultRate ? kinds[Math.floor(pick() * kinds.length)]! : undefined,
);

let failed = false;
for (const orchestrator of orchestrators) {
  if (!(await soak(orchestrator))) failed = true;
}
process.exitCode = failed ? 1 : 0;

/** One orchestrator's soak in its own local cloud; true when the checker found nothing and every job ended. */
async function soak(orchestrator: Orchestrator): Promise<boolean> {
  console.error(
    `${ORCHESTRATOR_NAMES[orchestrator]}: starting the local cloud (${waitMode} wait mode), ${arrivals.length} uploads over ${durationS} simulated s`,
  );
  const world = await startBenchWorld(orchestrator, waitMode, args.clock);
  try {
    const memory = samplePeakRss({ node: 'self', jvm: world.cloud.dynamoDb.pid });
    const random = seededRandom(seed + 2);
    const takenBefore = Object.fromEntries(FAULT_NAMES.map((k) => [k, FAULTS[k].taken(world, 0)]));
    const startReal = Date.now();
    const start = world.cloud.time.now();
    const uploadedAt = new Map<string, number>();
    const uploads: Promise<void>[] = [];
    let previous = 0;
    for (const [i, at] of arrivals.entries()) {
      await world.cloud.time.sleep(at - previous);
      previous = at;
      const fault = schedule[i];
      if (fault) FAULTS[fault].arm(world, random);
      const name = `soak${i}`;
      uploadedAt.set(name, world.cloud.time.now());
      uploads.push(world.upload(user, name));
      if ((i + 1) % 25 === 0) console.error(`uploaded ${i + 1}/${arrivals.length}`);
    }
    await Promise.all(uploads);
    const jobs = await waitForJobs(world, user, arrivals.length, timeoutMs);
    const lastEnded = Math.max(...jobs.map(endedAt));
    await quiesceWithProgress(world, Math.max(1000, timeoutMs - (Date.now() - startReal)));
    const wallS = (Date.now() - startReal) / 1000;
    const simulatedS = (world.cloud.time.now() - start) / 1000;
    const peaks = memory.stop();
    const violations = checkInvariants(await readSnapshot(world.target));

    const line = (label: string, value: string): void => print(`${label.padEnd(22)}${value}`);
    const list = (counts: Record<string, number>): string =>
      Object.entries(counts)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ') || 'none';
    line(
      'orchestrator',
      `${ORCHESTRATOR_NAMES[orchestrator]} (${orchestrator}), ${waitMode} wait mode, clock ${world.cloud.clock}, seed ${seed}`,
    );
    line(
      'uploads',
      `${arrivals.length} over ${durationS} simulated s (${rate}/h Poisson), ${jobs.length} jobs ended`,
    );
    line(
      'outcomes',
      list(
        countBy(
          jobs.map((j) => (j.status === 'COMPLETED' ? j.status : `${j.status} (${j.reason ?? 'no reason'})`)),
        ),
      ),
    );
    const latencies = jobs
      .filter((j) => j.status === 'COMPLETED')
      .map((j) => (endedAt(j) - uploadedAt.get(j.name)!) / 1000);
    if (latencies.length > 0)
      line(
        'latency (simulated)',
        `p50 ${percentile(latencies, 50).toFixed(1)} s, p90 ${percentile(latencies, 90).toFixed(1)} s, p99 ${percentile(latencies, 99).toFixed(1)} s, max ${Math.max(...latencies).toFixed(1)} s, upload to COMPLETED on the ${world.cloud.clock} clock`,
      );
    line(
      'throughput',
      `${((jobs.length / Math.max(1, lastEnded - start)) * 3_600_000).toFixed(0)} jobs per simulated hour; ` +
        `${(jobs.length / wallS).toFixed(2)} jobs per real second`,
    );
    const skip = skipped(world.cloud.time);
    line(
      'time',
      `${wallS.toFixed(1)} s real for ${simulatedS.toFixed(0)} s simulated` +
        (skip.jumps > 0
          ? ` (${((skip.skippedMs / 1000 / simulatedS) * 100).toFixed(1)}% skipped in ${skip.jumps} jumps)`
          : ''),
    );
    const armed = countBy(schedule.filter((f): f is FaultName => f !== undefined));
    line(
      'faults armed',
      `${Object.values(armed).reduce((a, b) => a + b, 0)} of ${arrivals.length} uploads: ${list(armed)}`,
    );
    line(
      'faults taken',
      list(
        Object.fromEntries(
          FAULT_NAMES.filter((k) => armed[k]).map((k) => [
            k,
            FAULTS[k].taken(world, armed[k]!) - takenBefore[k]!,
          ]),
        ),
      ),
    );
    const creates = createEndpointCalls(world);
    line('CreateEndpoint', `${creates.ok} created (${list(creates.outcomes)})`);
    line(
      'peak RSS',
      `${peaks.node!.toFixed(0)} MiB Node process, ${peaks.jvm!.toFixed(0)} MiB DynamoDB Local JVM`,
    );
    line('checker', violations.length === 0 ? 'no violation' : `${violations.length} violation(s)`);
    if (violations.length > 0) print(formatViolations(violations));
    return violations.length === 0 && jobs.length === arrivals.length;
  } catch (err) {
    console.error(`${ORCHESTRATOR_NAMES[orchestrator]}: ${(err as Error).message}`);
    return false;
  } finally {
    await world.stop();
  }
}
