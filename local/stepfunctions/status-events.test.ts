// Every execution's status changes reach the bus as Step Functions sends them: RUNNING when it
// starts, then its ending, however it ends (success, a Fail outside any Catch, StopExecution, the
// execution's own TimeoutSeconds), in AWS's `Step Functions Execution Status Change` shape.
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StepFunctionsExecutionStatusChangeEvent } from '../../shared/aws-events.ts';
import { localClientConfig } from '../../shared/aws.ts';
import { createClock } from '../common/clock.ts';
import { startLocalStepFunctions, type LocalStepFunctions } from './service.ts';

const clock = createClock({ kind: 'skip', settleMs: 5 });
const events: StepFunctionsExecutionStatusChangeEvent[] = [];
let sfn: LocalStepFunctions & { endpoint: string };
let client: SFNClient;

beforeAll(async () => {
  sfn = await startLocalStepFunctions({ clock, publish: (e) => void events.push(e) });
  client = new SFNClient(localClientConfig(sfn.endpoint));
});

afterAll(async () => {
  client?.destroy();
  await sfn?.stop();
});

let counter = 0;
async function run(definition: object, stop?: { error: string; cause: string }): Promise<string> {
  const name = `m${++counter}`;
  const { stateMachineArn } = await client.send(
    new CreateStateMachineCommand({
      name,
      definition: JSON.stringify(definition),
      roleArn: 'arn:aws:iam::000000000000:role/r',
    }),
  );
  const { executionArn } = await client.send(
    new StartExecutionCommand({ stateMachineArn, name: 'e1', input: '{"k":"v"}' }),
  );
  if (stop) await client.send(new StopExecutionCommand({ executionArn, ...stop }));
  await sfn.execution(executionArn!)!.done;
  return executionArn!;
}

function of(arn: string): StepFunctionsExecutionStatusChangeEvent[] {
  return events.filter((e) => e.detail.executionArn === arn);
}

describe('Step Functions Execution Status Change events', () => {
  it('an execution that succeeds sends RUNNING, then SUCCEEDED with its output', async () => {
    const arn = await run({ StartAt: 'P', States: { P: { Type: 'Pass', Result: { ok: 1 }, End: true } } });
    const [started, ended, ...more] = of(arn);
    expect(more).toEqual([]);
    expect(started).toMatchObject({
      version: '0',
      source: 'aws.states',
      'detail-type': 'Step Functions Execution Status Change',
      account: '000000000000',
      region: 'us-east-1',
      resources: [arn],
      detail: {
        executionArn: arn,
        stateMachineArn: expect.stringMatching(/:stateMachine:m\d+$/) as unknown,
        name: 'e1',
        status: 'RUNNING',
        stopDate: null,
        input: '{"k":"v"}',
        inputDetails: { included: true },
        output: null,
        outputDetails: null,
        error: null,
        cause: null,
      },
    });
    expect(typeof started!.detail.startDate).toBe('number');
    expect(started!.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(ended!.detail).toMatchObject({
      status: 'SUCCEEDED',
      output: '{"ok":1}',
      outputDetails: { included: true },
    });
    expect(ended!.detail.stopDate).toBeGreaterThanOrEqual(ended!.detail.startDate);
  });

  it('a failure outside any Catch sends FAILED with its error and cause', async () => {
    const arn = await run({
      StartAt: 'F',
      States: { F: { Type: 'Fail', Error: 'Broken', Cause: 'on purpose' } },
    });
    expect(of(arn).map((e) => e.detail.status)).toEqual(['RUNNING', 'FAILED']);
    expect(of(arn)[1]!.detail).toMatchObject({ error: 'Broken', cause: 'on purpose', output: null });
  });

  it('StopExecution sends ABORTED with the error and cause it was given; DescribeExecution agrees', async () => {
    const arn = await run(
      { StartAt: 'W', States: { W: { Type: 'Wait', Seconds: 3600, End: true } } },
      { error: 'Operator', cause: 'stopped by hand' },
    );
    const ended = of(arn)[1]!;
    expect(ended.detail).toMatchObject({ status: 'ABORTED', error: 'Operator', cause: 'stopped by hand' });
    const described = await client.send(new DescribeExecutionCommand({ executionArn: arn }));
    expect(described.status).toBe(ended.detail.status);
    expect(described.stopDate!.getTime()).toBe(ended.detail.stopDate);
  });

  it("the execution's TimeoutSeconds sends TIMED_OUT", async () => {
    const arn = await run({
      TimeoutSeconds: 60,
      StartAt: 'W',
      States: { W: { Type: 'Wait', Seconds: 3600, End: true } },
    });
    expect(of(arn).map((e) => e.detail.status)).toEqual(['RUNNING', 'TIMED_OUT']);
    expect(of(arn)[1]!.detail.stopDate! - of(arn)[1]!.detail.startDate).toBeGreaterThanOrEqual(60_000);
  });
});
