// The billable units of one warm and one cold job in each wait mode, for both orchestrators, counted
// through the services' own APIs (GetDurableExecutionHistory, GetExecutionHistory) and the job item,
// the one code path that would measure a deployed stack too. Prints one markdown table.
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SFNClient } from '@aws-sdk/client-sfn';
import { countDurableHistory, readDurableHistory, type BillingRule } from '../metering/durable-history.ts';
import { WAIT_MODES, type WaitMode } from '../shared/config.ts';
import type { Job } from '../shared/job-store.ts';
import type { Orchestrator } from '../shared/keys.ts';
import { countLambdaInvocations, countTransitions, readExecutionHistory } from '../metering/sfn-history.ts';
import type { World } from '../test/support/scenario-world.ts';
import { warmHolder } from '../test/support/warm-holder.ts';
import {
  CLOCK_OPTION,
  CLOCK_USAGE,
  LOGS_USAGE,
  ORCHESTRATOR_NAMES,
  benchArgs,
  positiveInteger,
  quiesceWithProgress,
  realSeconds,
  resultsWriter,
  startBenchWorld,
  waitForJobs,
} from './app-runs.ts';

const USAGE = `Usage: npm run bench:job-costs [-- options]
For a warm job (the endpoint held InService by a holder lease) and a cold one (endpoint stopped) in
each wait mode, for both orchestrators, on the local cloud with the app's own settings (300 s endpoint
start, idle window 600 s, poll 5..60 s): the billable units counted from the services' histories,
and the latency from upload to PLY, simulated (on the clock) and real. About 4 minutes on scale:60.

  --timeout S             real seconds each job may take, idle stop included (default 120)
${CLOCK_USAGE}
${LOGS_USAGE}`;

const { options: args, logs } = benchArgs({ timeout: { default: '120' }, ...CLOCK_OPTION }, USAGE);
const clock = args.clock!;
const timeoutMs = positiveInteger('timeout', args.timeout) * 1000;
const print = resultsWriter(logs);

type Temperature = 'warm' | 'cold';

interface Measured {
  orchestrator: Orchestrator;
  waitMode: WaitMode;
  temperature: Temperature;
  status: string;
  /** Simulated seconds from the image upload to the PLY (the job's INFERRED phase). */
  toPly: number | undefined;
  /** Real seconds the same span took. */
  toPlyReal: number | undefined;
  /** Simulated milliseconds from the upload to each phase the job reached. */
  phasesMs: Record<string, number>;
  units: DurableUnits | SfnUnits;
}

interface DurableUnits {
  kind: 'durable';
  /** As AWS bills them (each step attempt, each poll, a waitForCallback 3, …); distinct beside. */
  billed: number;
  billedByRule: Partial<Record<BillingRule, number>>;
  operations: number;
  byType: Record<string, number>;
  invocations: number;
  failedInvocations: number;
  stepAttempts: number;
  bytes: number;
}

interface SfnUnits {
  kind: 'sfn';
  transitions: number;
  retries: number;
  lambdaInvocations: number;
}

/** Uploads one job and returns it once every execution it started has ended (its idle stop too). */
async function runJob(world: World, name: string): Promise<{ job: Job; uploadedAt: number }> {
  const uploadedAt = world.cloud.time.now();
  await world.upload('costs', name);
  const [job] = (await waitForJobs(world, 'costs', 1, timeoutMs, (j) => j.name === name)) as [Job];
  await quiesceWithProgress(world, timeoutMs);
  return { job, uploadedAt };
}

/** The job's units, read from its execution's history through the service's API. */
async function unitsOf(world: World, job: Job): Promise<DurableUnits | SfnUnits> {
  const arn = job.createdBy ?? job.executions?.[0];
  if (!arn) throw new Error(`job ${job.jobId} names no execution`);
  if (world.orchestrator === 'ldf') {
    const lambda = new LambdaClient(world.cloud.clientConfig('lambda'));
    try {
      const c = countDurableHistory(await readDurableHistory(lambda, arn));
      return {
        kind: 'durable',
        billed: c.billedOperations,
        billedByRule: c.billedByRule,
        operations: c.operations,
        byType: c.byType,
        invocations: c.invocations,
        failedInvocations: c.failedInvocations,
        stepAttempts: c.stepAttempts,
        bytes: c.writtenBytes,
      };
    } finally {
      lambda.destroy();
    }
  }
  const sfn = new SFNClient(world.cloud.clientConfig('stepfunctions'));
  try {
    const events = await readExecutionHistory(sfn, arn);
    const t = countTransitions(events);
    return {
      kind: 'sfn',
      transitions: t.transitions,
      retries: t.retries,
      lambdaInvocations: countLambdaInvocations(events),
    };
  } finally {
    sfn.destroy();
  }
}

async function measure(orchestrator: Orchestrator, waitMode: WaitMode): Promise<Measured[]> {
  console.error(`\n${ORCHESTRATOR_NAMES[orchestrator]}, ${waitMode} wait mode: starting the local cloud`);
  const world = await startBenchWorld(orchestrator, waitMode, clock);
  try {
    const out: Measured[] = [];
    const record = async (temperature: Temperature, run: { job: Job; uploadedAt: number }): Promise<void> => {
      const inferred = run.job.phases.INFERRED;
      out.push({
        orchestrator,
        waitMode,
        temperature,
        status: run.job.status,
        toPly: inferred === undefined ? undefined : (Date.parse(inferred) - run.uploadedAt) / 1000,
        toPlyReal:
          inferred === undefined ? undefined : realSeconds(world, run.uploadedAt, Date.parse(inferred)),
        phasesMs: Object.fromEntries(
          Object.entries(run.job.phases).map(([phase, at]) => [phase, Date.parse(at) - run.uploadedAt]),
        ),
        units: await unitsOf(world, run.job),
      });
    };
    // Cold first: the endpoint is stopped, and the job's idle stop leaves it stopped again.
    console.error('cold job (endpoint stopped)');
    await record('cold', await runJob(world, 'cold'));
    const item = await world.endpointItem();
    if (item.state !== 'Stopped')
      throw new Error(`the cold job left the endpoint ${item.state}, not Stopped`);
    console.error('warm job (a holder lease keeps the endpoint InService)');
    const release = await warmHolder(world);
    // The bench itself is work in flight from the upload to the holder's release: on a skip clock an
    // idle cloud would otherwise jump through idle windows while this process polls for the job in
    // real time, and the execution would find the holder's lease still held.
    const holding = world.cloud.time.begin();
    const uploadedAt = world.cloud.time.now();
    const warm = world.upload('costs', 'warm');
    await warm;
    const [job] = (await waitForJobs(world, 'costs', 2, timeoutMs)).filter((j) => j.name === 'warm') as [Job];
    await release();
    holding();
    await quiesceWithProgress(world, timeoutMs);
    await record('warm', { job, uploadedAt });
    return out;
  } finally {
    await world.stop();
  }
}

const rows: Measured[] = [];
const started = Date.now();
for (const waitMode of WAIT_MODES)
  for (const orchestrator of ['ldf', 'sf'] as const) rows.push(...(await measure(orchestrator, waitMode)));

const cell = (m: Measured | undefined, pick: (m: Measured) => string): string => (m ? pick(m) : 'n/a');
const durable = (m: Measured): DurableUnits => m.units as DurableUnits;
const sfn = (m: Measured): SfnUnits => m.units as SfnUnits;
const entries = (counts: Record<string, number | undefined>): string =>
  Object.entries(counts)
    .map(([k, n]) => `${k} ${n ?? 0}`)
    .join(', ');
const latency = (m: Measured): string =>
  m.toPly === undefined
    ? `${m.status}, no PLY`
    : `${m.toPly.toFixed(m.toPly < 10 ? 1 : 0)} s (${m.toPlyReal!.toFixed(1)} s real)`;
print(
  `Job costs, clock ${clock}, app defaults (300 s endpoint start, poll 5..60 s, idle window 600 s); ` +
    `latency = simulated seconds from the image upload to the PLY (real seconds in brackets)`,
);
print('');
print(
  '| job | wait mode | durable: billed operations (distinct) | durable: invocations (replays incl.) | durable: bytes written | durable: upload → PLY | Step Functions: state transitions | Step Functions: Lambda invocations | Step Functions: upload → PLY |',
);
print('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const temperature of ['warm', 'cold'] as const) {
  for (const waitMode of WAIT_MODES) {
    const find = (o: Orchestrator): Measured | undefined =>
      rows.find((r) => r.orchestrator === o && r.waitMode === waitMode && r.temperature === temperature);
    const d = find('ldf');
    const s = find('sf');
    print(
      `| ${temperature} | ${waitMode} | ${cell(d, (m) => `${durable(m).billed} (${durable(m).operations})`)} | ${cell(d, (m) => `${durable(m).invocations}`)} | ` +
        `${cell(d, (m) => `${durable(m).bytes}`)} | ${cell(d, latency)} | ${cell(s, (m) => `${sfn(m).transitions}${sfn(m).retries ? ` (${sfn(m).retries} retries)` : ''}`)} | ` +
        `${cell(s, (m) => `${sfn(m).lambdaInvocations}`)} | ${cell(s, latency)} |`,
    );
  }
}
print('');
for (const r of rows.filter((m) => m.units.kind === 'durable'))
  print(
    `durable ${r.temperature} ${r.waitMode}: billed by operation ${entries(durable(r).billedByRule)}; ` +
      `distinct by type ${entries(durable(r).byType)}; step attempts ${durable(r).stepAttempts}, ` +
      `failed invocations ${durable(r).failedInvocations}`,
  );
print('');
print('Phases, simulated seconds after the upload:');
for (const r of rows)
  print(
    `${ORCHESTRATOR_NAMES[r.orchestrator]} ${r.temperature} ${r.waitMode}: ${Object.entries(r.phasesMs)
      .sort(([, a], [, b]) => a - b)
      .map(([phase, ms]) => `${phase} ${(ms / 1000).toFixed(1)}`)
      .join(', ')}`,
  );
print(`(${((Date.now() - started) / 1000).toFixed(0)} s real, Node ${process.versions.node})`);
