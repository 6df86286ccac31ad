// N concurrent durable executions on the local Lambda (no other service): wall time, executions per
// second, checkpoint latency as the service sees it (request arrival to answer), invocations per
// execution and peak memory. Usage: npm run bench:lambda-checkpoints [-- --executions 50 --steps 10]
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { Agent } from 'node:http';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { localClientConfig } from '../shared/aws.ts';
import { createClock } from '../local/common/clock.ts';
import { LocalLambda } from '../local/lambda/service.ts';
import { median, percentile } from './stats.ts';

const { values } = parseArgs({
  options: {
    executions: { type: 'string', default: '50' },
    steps: { type: 'string', default: '10' },
    'time-scale': { type: 'string', default: '600' },
    sandboxes: { type: 'string' },
    help: { type: 'boolean' },
  },
});
if (values.help) {
  console.log(
    'Usage: npm run bench:lambda-checkpoints [-- --executions N --steps S --time-scale X --sandboxes K]\n' +
      'N concurrent executions of a durable function with S steps and one 60 s wait, on the local Lambda.',
  );
  process.exit(0);
}
const executions = Number(values.executions);
const steps = Number(values.steps);
const scale = Number(values['time-scale']);
if (![executions, steps].every((n) => Number.isInteger(n) && n >= 1) || !(scale > 0)) {
  console.error('--executions and --steps must be positive integers, --time-scale a positive number');
  process.exit(2);
}

const sandboxes = values.sandboxes === undefined ? undefined : Number(values.sandboxes);
const lambda = new LocalLambda({
  region: 'us-east-1',
  clock: createClock(`scale:${scale}`),
  ...(sandboxes ? { maxConcurrency: sandboxes } : {}),
});
await lambda.listen();
await lambda.deploy({
  name: 'steps',
  entry: join(import.meta.dirname, '../local/lambda/fixtures/steps.ts'),
  alias: 'live',
});
// One socket per execution, so the sync invokes do not queue in the client.
const client = new LambdaClient({
  ...localClientConfig(lambda.endpoint),
  requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: executions }) },
});
let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);

const started = performance.now();
const results = await Promise.all(
  Array.from({ length: executions }, (_, i) =>
    client.send(
      new InvokeCommand({
        FunctionName: 'steps:live',
        DurableExecutionName: `bench-${i}`,
        Payload: JSON.stringify({ steps }),
      }),
    ),
  ),
);
const wallMs = performance.now() - started;
clearInterval(sampler);

const failed = results.filter((r) => r.FunctionError).length;
const all = lambda.listExecutions();
const latencies = all.flatMap((e) => e.counters.checkpointMs);
const invocations = all.map((e) => e.counters.invocations);
const checkpoints = all.reduce((n, e) => n + e.counters.checkpoints, 0);
const bytes = all.reduce((n, e) => n + e.counters.checkpointBytes, 0);
console.log(
  `executions            ${executions} (${failed} failed), ${steps} steps and one 60 s wait each, time scale ${scale}x`,
);
console.log(
  `wall time             ${(wallMs / 1000).toFixed(2)} s (${(executions / (wallMs / 1000)).toFixed(1)} executions/s)`,
);
console.log(
  `checkpoints           ${checkpoints} (${(checkpoints / executions).toFixed(1)} per execution, ${bytes} bytes)`,
);
console.log(
  `checkpoint latency    median ${median(latencies).toFixed(2)} ms, p95 ${percentile(latencies, 95).toFixed(2)} ms, max ${Math.max(...latencies).toFixed(2)} ms`,
);
console.log(
  `invocations           median ${median(invocations)} per execution, max ${Math.max(...invocations)}`,
);
console.log(`sandboxes started     ${lambda.coldStarts('steps')}`);
console.log(
  `peak RSS              ${(peakRss / 2 ** 20).toFixed(0)} MiB (service and worker threads, one process)`,
);
client.destroy();
await lambda.stop();
