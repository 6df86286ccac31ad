// A real function on the local Lambda publishes metrics with Powertools (EMF on stdout); they reach
// the local CloudWatch through the function's output, as a Lambda's log group feeds CloudWatch.
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createClock } from '../common/clock.ts';
import { LocalLambda } from '../lambda/service.ts';
import { emfIntake } from './log-intake.ts';
import { startLocalCloudWatch, type LocalCloudWatch } from './server.ts';

let cw: LocalCloudWatch;
let lambda: LocalLambda;
const logs: string[] = [];

beforeAll(async () => {
  cw = await startLocalCloudWatch({ region: 'us-east-1', account: '000000000000' });
  lambda = new LocalLambda({
    region: 'us-east-1',
    clock: createClock('real'),
    environment: { AWS_EMF_ENVIRONMENT: 'Local' },
    functionOutput: emfIntake(cw, (_fn, text) => void logs.push(text)),
  });
  await lambda.listen();
  await lambda.deploy({
    name: 'emf',
    entry: fileURLToPath(new URL('../lambda/fixtures/emf.ts', import.meta.url)),
  });
});

afterAll(async () => {
  await lambda?.stop();
  await cw?.stop();
});

it('turns the EMF lines a function prints into metrics, and forwards every line as a log', async () => {
  const started = Date.now();
  for (const latency of [3, 5, 40]) {
    const out = await lambda.invoke({
      functionName: 'emf',
      payload: JSON.stringify({ latency, orchestrator: 'sf' }),
    });
    expect(out.functionError).toBeUndefined();
  }
  const client = new CloudWatchClient({
    region: 'us-east-1',
    endpoint: cw.endpoint,
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
  });
  const metric = {
    Namespace: 'FixtureApp',
    MetricName: 'JobLatency',
    Dimensions: [
      { Name: 'Orchestrator', Value: 'sf' },
      { Name: 'service', Value: 'emf-fixture' },
    ],
  };
  // The worker's output reaches this process asynchronously: wait for the third line, bounded.
  const deadline = Date.now() + 10_000;
  let values: number[] = [];
  while (Date.now() < deadline) {
    const res = await client.send(
      new GetMetricDataCommand({
        StartTime: new Date(started - 60_000),
        EndTime: new Date(Date.now() + 60_000),
        MetricDataQueries: [
          { Id: 'n', MetricStat: { Metric: metric, Period: 3600, Stat: 'SampleCount' } },
          { Id: 'hi', MetricStat: { Metric: metric, Period: 3600, Stat: 'Maximum' } },
        ],
      }),
    );
    values = res.MetricDataResults!.flatMap((r) => r.Values ?? []);
    if (values[0] === 3) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  client.destroy();
  expect(values).toEqual([3, 40]);
  expect(logs.join('')).toContain('a plain log line, which is no metric');
  expect(cw.emfErrors()).toEqual([]);
});
