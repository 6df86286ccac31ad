// N concurrent cold-burst executions of one orchestrator on the local cloud: N distinct image+mask
// uploads at once through S3 (the real client), so the upload rule starts N executions that all
// contend for one stopped endpoint. Prints wall time (first upload to last job ended), executions
// per second, checkpoint latency (durable), peak memory, job outcomes and the CreateEndpoint calls
// (exactly one expected). `npm run bench:durable` and `npm run bench:stepfunctions` run it.
import { FUNCTIONS } from '../infra/app-definition.ts';
import { WAIT_MODES } from '../shared/config.ts';
import type { Orchestrator } from '../shared/keys.ts';
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
  resultsWriter,
  quiesceWithProgress,
  startBenchWorld,
  waitForJobs,
  waitModeArg,
} from './app-runs.ts';
import { samplePeakRss } from './memory.ts';
import { median, percentile } from './stats.ts';

const USAGE = `Usage: npm run bench:durable [-- options]
       npm run bench:stepfunctions [-- options]
N concurrent cold-burst executions of one orchestrator on the local cloud (the app's own settings,
a 300 s endpoint start): N image+mask uploads at once, one stopped endpoint.

  --orchestrator ldf|sf   which orchestrator (the npm scripts set it)
  --executions N          uploads, hence executions (default 200)
  --wait-mode MODE        ${WAIT_MODES.join(' | ')} (default event)
  --timeout S             real seconds to wait for the jobs and the idle stops (default 600)
${CLOCK_USAGE}
${LOGS_USAGE}`;

const { options: args, logs } = benchArgs(
  {
    orchestrator: {},
    executions: { default: '200' },
    'wait-mode': { default: 'event' },
    timeout: { default: '600' },
    ...CLOCK_OPTION,
  },
  USAGE,
);
if (args.orchestrator !== 'ldf' && args.orchestrator !== 'sf')
  fail(`--orchestrator must be ldf or sf, got '${args.orchestrator ?? ''}'\n\n${USAGE}`);
const orchestrator: Orchestrator = args.orchestrator;
const executions = positiveInteger('executions', args.executions);
const waitMode = waitModeArg(args['wait-mode']);
const timeoutMs = positiveInteger('timeout', args.timeout) * 1000;
const user = 'bench';
const print = resultsWriter(logs);

console.error(
  `starting the local cloud, deploying the ${ORCHESTRATOR_NAMES[orchestrator]} orchestrator (${waitMode} wait mode)`,
);
const world = await startBenchWorld(orchestrator, waitMode, args.clock);
try {
  const memory = samplePeakRss({ node: 'self', jvm: world.cloud.dynamoDb.pid });
  console.error(`uploading ${executions} image+mask pairs at once`);
  const firstUploadReal = Date.now();
  const firstUpload = world.cloud.time.now();
  await Promise.all(Array.from({ length: executions }, (_, i) => world.upload(user, `burst${i}`)));
  const uploadS = (Date.now() - firstUploadReal) / 1000;
  console.error(`uploaded in ${uploadS.toFixed(1)} s`);
  const jobs = await waitForJobs(world, user, executions, timeoutMs);
  const lastEnded = Math.max(...jobs.map(endedAt));
  const wallS = (world.cloud.time.toReal(lastEnded) - firstUploadReal) / 1000;
  await quiesceWithProgress(world, Math.max(1000, timeoutMs - (Date.now() - firstUploadReal)));
  const peaks = memory.stop();

  const outcomes = countBy(jobs.map((j) => j.status));
  const listed = await world.executions();
  const creates = createEndpointCalls(world);
  const item = await world.endpointItem();
  const line = (label: string, value: string): void => print(`${label.padEnd(22)}${value}`);
  line(
    'orchestrator',
    `${ORCHESTRATOR_NAMES[orchestrator]} (${orchestrator}), ${waitMode} wait mode, clock ${world.cloud.clock}, Node ${process.versions.node}`,
  );
  line(
    'executions',
    `${executions} uploads, ${listed.length} executions listed (${Object.entries(
      countBy(listed.map((e) => e.status)),
    )
      .map(([s, n]) => `${s} ${n}`)
      .join(', ')})`,
  );
  line(
    'jobs',
    Object.entries(outcomes)
      .map(([s, n]) => `${s} ${n}`)
      .join(', '),
  );
  line(
    'wall time',
    `${wallS.toFixed(2)} s, first upload to last job ended (${(executions / wallS).toFixed(1)} executions/s)`,
  );
  const simulatedEnd = jobs.map((j) => (endedAt(j) - firstUpload) / 1000);
  line(
    'job latency (sim.)',
    `median ${median(simulatedEnd).toFixed(0)} s, p95 ${percentile(simulatedEnd, 95).toFixed(0)} s, upload to ending`,
  );
  line(
    'CreateEndpoint',
    `${creates.ok} created, ${creates.ok === 1 ? 'exactly one as expected' : 'EXPECTED EXACTLY ONE'} ` +
      `(${creates.all} call(s): ${Object.entries(creates.outcomes)
        .map(([o, n]) => `${o} ${n}`)
        .join(', ')}); endpoint ${item.state} at generation ${item.generation}` +
      (item.generation > 1 ? ' (a waiting job took over a start it judged stalled)' : ''),
  );
  if (orchestrator === 'ldf') {
    const all = world.cloud.lambdaService
      .listExecutions()
      .filter((e) => e.spec.functionName === FUNCTIONS.durable);
    const latencies = all.flatMap((e) => e.counters.checkpointMs);
    const invocations = all.map((e) => e.counters.invocations);
    const checkpoints = all.reduce((n, e) => n + e.counters.checkpoints, 0);
    line('checkpoints', `${checkpoints} (${(checkpoints / all.length).toFixed(1)} per execution)`);
    line(
      'checkpoint latency',
      `median ${median(latencies).toFixed(2)} ms, p95 ${percentile(latencies, 95).toFixed(2)} ms, max ${Math.max(...latencies).toFixed(1)} ms (in the local Lambda, arrival to answer)`,
    );
    line(
      'invocations',
      `median ${median(invocations)} per execution, max ${Math.max(...invocations)}, sandboxes started ${world.cloud.lambdaService.coldStarts(FUNCTIONS.durable)}`,
    );
  } else {
    line(
      'task sandboxes',
      `${world.cloud.lambdaService.coldStarts(FUNCTIONS.sfnTasks)} started for ${FUNCTIONS.sfnTasks}`,
    );
  }
  line(
    'peak RSS',
    `${peaks.node!.toFixed(0)} MiB Node process (every service but DynamoDB, and the sandboxes), ${peaks.jvm!.toFixed(0)} MiB DynamoDB Local JVM`,
  );
  if (creates.ok !== 1 || (outcomes.COMPLETED ?? 0) !== executions) process.exitCode = 1;
} finally {
  await world.stop();
}
