// The AWS/States metrics the local Step Functions publishes into a MetricsSink: each execution's start,
// its outcome and ExecutionTime by StateMachineArn, and its billed transitions as ConsumedCapacity
// (ServiceMetric=StateTransition), counted as metering/sfn-history.ts counts the history.
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countStateTransitions } from '../../metering/sfn-history.ts';
import { localClientConfig } from '../../shared/aws.ts';
import { RecordingSink } from '../common/recording-sink.ts';
import { createClock } from '../common/clock.ts';
import { startLocalStepFunctions, type LocalStepFunctions } from './service.ts';

const sink = new RecordingSink();
const published = sink.published;
const of = (name: string, dimensions: Record<string, string>): number[] =>
  sink.values('AWS/States', name, dimensions);
const TRANSITIONS = { ServiceMetric: 'StateTransition' };

let sfn: LocalStepFunctions & { endpoint: string };
let client: SFNClient;

beforeAll(async () => {
  sfn = await startLocalStepFunctions({ clock: createClock('scale:1000'), metrics: sink });
  client = new SFNClient(localClientConfig(sfn.endpoint));
});

afterAll(async () => {
  client?.destroy();
  await sfn?.stop();
});

async function machine(name: string, definition: object): Promise<string> {
  const out = await client.send(
    new CreateStateMachineCommand({
      name,
      definition: JSON.stringify(definition),
      roleArn: 'arn:aws:iam::000000000000:role/test',
    }),
  );
  return out.stateMachineArn!;
}

async function ended(executionArn: string) {
  await expect
    .poll(async () => (await client.send(new DescribeExecutionCommand({ executionArn }))).status)
    .not.toBe('RUNNING');
  return client.send(new DescribeExecutionCommand({ executionArn }));
}

describe('AWS/States metrics', () => {
  it('publishes a succeeded execution: started, succeeded, its ExecutionTime and its transitions', async () => {
    const arn = await machine('metered-ok', {
      StartAt: 'A',
      States: { A: { Type: 'Pass', Next: 'B' }, B: { Type: 'Pass', Next: 'C' }, C: { Type: 'Succeed' } },
    });
    const { executionArn } = await client.send(new StartExecutionCommand({ stateMachineArn: arn }));
    const execution = await ended(executionArn!);
    expect(execution.status).toBe('SUCCEEDED');
    const history = await client.send(new GetExecutionHistoryCommand({ executionArn }));
    const sm = { StateMachineArn: arn };
    await expect.poll(() => of('ExecutionsSucceeded', sm)).toEqual([1]);
    expect(of('ExecutionsStarted', sm)).toEqual([1]);
    expect(of('ExecutionsFailed', sm)).toEqual([]);
    expect(of('ExecutionTime', sm)).toEqual([execution.stopDate!.getTime() - execution.startDate!.getTime()]);
    expect(of('ConsumedCapacity', TRANSITIONS)).toEqual([countStateTransitions(history.events ?? [])]);
    expect(countStateTransitions(history.events ?? [])).toBe(3);
    expect(published.every((p) => p.namespace === 'AWS/States')).toBe(true);
  });

  it('publishes failed, aborted and timed-out executions as such', async () => {
    const failing = await machine('metered-fail', {
      StartAt: 'F',
      States: { F: { Type: 'Fail', Error: 'Broke' } },
    });
    const waiting = await machine('metered-wait', {
      StartAt: 'W',
      States: { W: { Type: 'Wait', Seconds: 100_000, End: true } },
    });
    const timing = await machine('metered-timeout', {
      TimeoutSeconds: 5,
      StartAt: 'W',
      States: { W: { Type: 'Wait', Seconds: 100_000, End: true } },
    });
    const failed = await client.send(new StartExecutionCommand({ stateMachineArn: failing }));
    const stopped = await client.send(new StartExecutionCommand({ stateMachineArn: waiting }));
    const timedOut = await client.send(new StartExecutionCommand({ stateMachineArn: timing }));
    await client.send(new StopExecutionCommand({ executionArn: stopped.executionArn }));
    expect((await ended(failed.executionArn!)).status).toBe('FAILED');
    expect((await ended(stopped.executionArn!)).status).toBe('ABORTED');
    expect((await ended(timedOut.executionArn!)).status).toBe('TIMED_OUT');
    await expect.poll(() => of('ExecutionsFailed', { StateMachineArn: failing })).toEqual([1]);
    await expect.poll(() => of('ExecutionsAborted', { StateMachineArn: waiting })).toEqual([1]);
    await expect.poll(() => of('ExecutionsTimedOut', { StateMachineArn: timing })).toEqual([1]);
    for (const sm of [failing, waiting, timing]) {
      expect(of('ExecutionsStarted', { StateMachineArn: sm })).toEqual([1]);
      expect(of('ExecutionsSucceeded', { StateMachineArn: sm })).toEqual([]);
      expect(of('ExecutionTime', { StateMachineArn: sm })).toHaveLength(1);
    }
  });
});
