// Replaying finished durable executions (LocalLambda.replay): every SDK operation replays from the
// recorded operations without a checkpoint and to the recorded outcome, the execution itself does
// not change, and the controls (functions that are not deterministic) are reported, each by the
// check that catches it: the SDK's own, a new operation, a different outcome.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  InvokeCommand,
  LambdaClient,
  SendDurableExecutionCallbackFailureCommand,
  SendDurableExecutionCallbackSuccessCommand,
  StopDurableExecutionCommand,
} from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { localClientConfig } from '../../shared/aws.ts';
import { createClock } from '../common/clock.ts';
import { LocalLambda } from './service.ts';

const fixture = (name: string): string => join(import.meta.dirname, 'fixtures', `${name}.ts`);

let lambda: LocalLambda;
let client: LambdaClient;

beforeAll(async () => {
  // A small event page: the replay pages the recorded operations through GetDurableExecutionState.
  lambda = new LocalLambda({ region: 'us-east-1', clock: createClock('scale:1000'), eventPageSize: 4 });
  await lambda.listen();
  await Promise.all([
    lambda.deploy({ name: 'every', entry: fixture('every-operation'), alias: 'live' }),
    lambda.deploy({ name: 'double', entry: fixture('double'), alias: 'live' }),
    lambda.deploy({ name: 'callback', entry: fixture('callback'), alias: 'live' }),
    lambda.deploy({ name: 'steps', entry: fixture('steps'), alias: 'live' }),
    lambda.deploy({ name: 'random-name', entry: fixture('drift'), exportName: 'randomName', alias: 'live' }),
    lambda.deploy({
      name: 'configured',
      entry: fixture('drift'),
      exportName: 'configuredSteps',
      alias: 'live',
    }),
    lambda.deploy({
      name: 'random-result',
      entry: fixture('drift'),
      exportName: 'randomResult',
      alias: 'live',
    }),
  ]);
  client = new LambdaClient(localClientConfig(lambda.endpoint));
});

afterAll(async () => {
  client?.destroy();
  await lambda?.stop();
});

async function run(functionName: string, payload: unknown): Promise<string> {
  const out = await client.send(
    new InvokeCommand({ FunctionName: functionName, Payload: JSON.stringify(payload) }),
  );
  return out.DurableExecutionArn!;
}

async function started(functionName: string, payload: unknown): Promise<string> {
  const out = await client.send(
    new InvokeCommand({
      FunctionName: functionName,
      Payload: JSON.stringify(payload),
      InvocationType: 'Event',
    }),
  );
  return out.DurableExecutionArn!;
}

async function callbackId(arn: string): Promise<string> {
  for (;;) {
    const event = lambda
      .execution(arn)
      .history()
      .find((e) => e.EventType === 'CallbackStarted');
    if (event) return event.CallbackStartedDetails!.CallbackId!;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** What a replay must leave as it was: the execution's history, status, result and counters. */
function snapshot(arn: string): string {
  const e = lambda.execution(arn);
  return JSON.stringify({ events: e.history(), status: e.status, result: e.result, counters: e.counters });
}

describe('replaying a finished durable execution', () => {
  it('replays every SDK operation without a checkpoint, to the recorded result, changing nothing', async () => {
    const arn = await run('every:live', { target: 'double:live', items: [1, 2, 3] });
    const child = lambda.listExecutions().find((e) => e.spec.functionName === 'double')!.arn;
    const before = snapshot(arn);
    const report = await lambda.replay(arn);
    expect(report).toMatchObject({
      status: 'SUCCEEDED',
      complete: true,
      checkpoints: 0,
      replayStatus: 'SUCCEEDED',
      findings: [],
      deterministic: true,
    });
    // Steps, retries, waits, the child context, map, parallel, waitForCondition and the invoke: more
    // than one event page, so the replay read the rest through its own token.
    expect(report.operations).toBeGreaterThan(4);
    expect(snapshot(arn)).toBe(before);
    expect(await lambda.replay(child)).toMatchObject({ deterministic: true, checkpoints: 0 });
  });

  it('replays callbacks that succeeded and failed, and a many-step execution', async () => {
    const ok = await started('callback:live', { timeoutSeconds: 3600 });
    await client.send(
      new SendDurableExecutionCallbackSuccessCommand({
        CallbackId: await callbackId(ok),
        Result: Buffer.from('"yes"'),
      }),
    );
    const failed = await started('callback:live', {});
    await client.send(
      new SendDurableExecutionCallbackFailureCommand({
        CallbackId: await callbackId(failed),
        Error: { ErrorType: 'Refused', ErrorMessage: 'no' },
      }),
    );
    const steps = await run('steps:live', { steps: 12 });
    await Promise.all([ok, failed].map((arn) => lambda.execution(arn).done));
    expect(lambda.execution(failed).status).toBe('FAILED');
    for (const [arn, sandbox] of [
      [ok, 'fresh'],
      [failed, 'replay-pool'],
      [steps, 'replay-pool'], // the pool's sandbox again, warm
    ] as const) {
      const report = await lambda.replay(arn, { sandbox });
      expect(report, JSON.stringify(report.findings)).toMatchObject({
        complete: true,
        checkpoints: 0,
        deterministic: true,
      });
      expect(report.replayStatus).toBe(lambda.execution(arn).status);
    }
  });

  it('checks a stopped execution up to where its history ends, and refuses a running one', async () => {
    const arn = await started('callback:live', { timeoutSeconds: 3600 });
    await callbackId(arn);
    await expect(lambda.replay(arn)).rejects.toThrow(/still running/);
    await client.send(new StopDurableExecutionCommand({ DurableExecutionArn: arn }));
    // The handler would still be waiting for its callback: the replay suspends where the history ends
    // (PENDING), or is stopped at its first checkpoint past it (KILLED) when the SDK had one in flight
    // as the execution stopped. Either way it is checked only as far as the history goes.
    const report = await lambda.replay(arn);
    expect(report).toMatchObject({ status: 'STOPPED', complete: false, deterministic: true });
    expect(['PENDING', 'KILLED']).toContain(report.replayStatus);
  });

  describe('controls: functions that are not deterministic are reported', () => {
    it('an operation name that changes between runs: the SDK detects it at the replayed position', async () => {
      const arn = await run('random-name:live', {});
      expect(lambda.execution(arn).status).toBe('SUCCEEDED');
      const report = await lambda.replay(arn);
      expect(report.deterministic).toBe(false);
      expect(report.findings).toEqual([
        { kind: 'sdk-non-determinism', message: expect.stringMatching(/Operation name mismatch/) as string },
      ]);
    });

    it('more operations than recorded: the first new START is reported and the replay stopped', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'replay-'));
      onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
      const file = join(dir, 'steps');
      writeFileSync(file, '2');
      const arn = await run('configured:live', { file });
      expect(lambda.execution(arn).result).toBe(JSON.stringify({ total: 3 }));
      const before = snapshot(arn);
      writeFileSync(file, '3');
      const report = await lambda.replay(arn);
      expect(report).toMatchObject({ deterministic: false, replayStatus: 'KILLED', checkpoints: 1 });
      expect(report.findings).toEqual([
        { kind: 'new-operation', message: expect.stringMatching(/START STEP 'step-2'/) as string },
      ]);
      expect(snapshot(arn)).toBe(before);
      // Fewer operations than recorded: the replay returns early, with another result.
      writeFileSync(file, '1');
      const fewer = await lambda.replay(arn);
      expect(fewer.findings).toEqual([
        { kind: 'outcome', message: expect.stringMatching(/returned \{"total":1\}/) as string },
      ]);
      // The same file as the run: deterministic again.
      writeFileSync(file, '2');
      expect((await lambda.replay(arn)).deterministic).toBe(true);
    });

    it('a result computed outside a step: the outcome differs', async () => {
      const arn = await run('random-result:live', {});
      const report = await lambda.replay(arn);
      expect(report).toMatchObject({ deterministic: false, checkpoints: 0, replayStatus: 'SUCCEEDED' });
      expect(report.findings.map((f) => f.kind)).toEqual(['outcome']);
    });
  });
});
