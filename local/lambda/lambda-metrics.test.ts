// The AWS/Lambda metrics the local Lambda publishes into a MetricsSink: per invocation (plain and
// durable, failures included) and per durable execution (its outcome, wall clock, and the units its
// history bills), by FunctionName and, for a qualified invoke, FunctionName + Resource.
import {
  GetDurableExecutionCommand,
  GetDurableExecutionHistoryCommand,
  InvokeCommand,
  LambdaClient,
  StopDurableExecutionCommand,
} from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countDurableHistory } from '../../metering/durable-history.ts';
import { localClientConfig } from '../../shared/aws.ts';
import { RecordingSink } from '../common/recording-sink.ts';
import { createClock } from '../common/clock.ts';
import { LocalLambda } from './service.ts';

const sink = new RecordingSink();
const published = sink.published;
const fixture = (name: string): string => new URL(`./fixtures/${name}.ts`, import.meta.url).pathname;
const values = (name: string, dimensions: Record<string, string>): number[] =>
  sink.values('AWS/Lambda', name, dimensions);

let lambda: LocalLambda;
let client: LambdaClient;

beforeAll(async () => {
  lambda = new LocalLambda({ region: 'us-east-1', clock: createClock('scale:1000'), metrics: sink });
  await lambda.listen();
  await Promise.all([
    lambda.deploy({ name: 'metered-plain', entry: fixture('plain') }),
    lambda.deploy({ name: 'metered-double', entry: fixture('double'), alias: 'live' }),
    lambda.deploy({ name: 'metered-callback', entry: fixture('callback'), alias: 'live' }),
  ]);
  client = new LambdaClient(localClientConfig(lambda.endpoint));
});

afterAll(async () => {
  client?.destroy();
  await lambda?.stop();
});

describe('AWS/Lambda metrics', () => {
  it('counts each plain invocation, an error as an error, with its duration', async () => {
    await client.send(new InvokeCommand({ FunctionName: 'metered-plain', Payload: '{"n":1}' }));
    const failed = await client.send(
      new InvokeCommand({ FunctionName: 'metered-plain', Payload: '{"fail":true}' }),
    );
    expect(failed.FunctionError).toBe('Unhandled');
    const fn = { FunctionName: 'metered-plain' };
    expect(values('Invocations', fn)).toEqual([1, 1]);
    expect(values('Errors', fn)).toEqual([0, 1]);
    expect(values('Duration', fn)).toHaveLength(2);
    expect(values('Duration', fn).every((ms) => ms >= 0)).toBe(true);
    // Unqualified: no per-Resource series.
    expect(
      published.some((p) => p.dimensions.FunctionName === 'metered-plain' && 'Resource' in p.dimensions),
    ).toBe(false);
    expect(published.every((p) => p.namespace === 'AWS/Lambda')).toBe(true);
  });

  it('publishes a durable execution: started, succeeded, its wall clock and what its history bills', async () => {
    const out = await client.send(
      new InvokeCommand({
        FunctionName: 'metered-double:live',
        Payload: '{"n":4}',
        DurableExecutionName: 'm-1',
      }),
    );
    const arn = out.DurableExecutionArn!;
    const execution = await client.send(new GetDurableExecutionCommand({ DurableExecutionArn: arn }));
    const history = await client.send(new GetDurableExecutionHistoryCommand({ DurableExecutionArn: arn }));
    const counts = countDurableHistory(history.Events ?? []);
    expect(counts.operations).toBe(1);
    const series: Record<string, string>[] = [
      { FunctionName: 'metered-double' },
      { FunctionName: 'metered-double', Resource: 'metered-double:live' },
    ];
    for (const dims of series) {
      expect(values('DurableExecutionStarted', dims)).toEqual([1]);
      expect(values('DurableExecutionSucceeded', dims)).toEqual([1]);
      expect(values('DurableExecutionFailed', dims)).toEqual([]);
      expect(values('DurableExecutionDuration', dims)).toEqual([
        execution.EndTimestamp!.getTime() - execution.StartTimestamp!.getTime(),
      ]);
      expect(values('DurableExecutionOperations', dims)).toEqual([counts.operations]);
      expect(values('DurableExecutionStorageWrittenBytes', dims)).toEqual([counts.dataBytes]);
      // Every handler invocation (the replays too) is one of the function's Invocations.
      expect(values('Invocations', dims)).toHaveLength(counts.invocations);
      expect(values('Errors', dims)).toEqual(values('Invocations', dims).map(() => 0));
    }
    const units = Object.fromEntries(published.map((p) => [p.name, p.unit]));
    expect(units).toMatchObject({
      Duration: 'Milliseconds',
      DurableExecutionDuration: 'Milliseconds',
      DurableExecutionStorageWrittenBytes: 'Bytes',
      DurableExecutionOperations: 'Count',
    });
  });

  it('publishes a stopped execution as stopped', async () => {
    const started = await client.send(
      new InvokeCommand({
        FunctionName: 'metered-callback:live',
        Payload: '{}',
        InvocationType: 'Event',
        DurableExecutionName: 'm-stop',
      }),
    );
    await client.send(new StopDurableExecutionCommand({ DurableExecutionArn: started.DurableExecutionArn }));
    const fn = { FunctionName: 'metered-callback' };
    await expect.poll(() => values('DurableExecutionStopped', fn)).toEqual([1]);
    expect(values('DurableExecutionStarted', fn)).toEqual([1]);
    expect(values('DurableExecutionSucceeded', fn)).toEqual([]);
  });
});
