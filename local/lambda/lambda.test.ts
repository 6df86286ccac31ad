// The local Lambda through the real @aws-sdk/client-lambda, with the real durable SDK inside each
// handler talking to the service through its default client (AWS_ENDPOINT_URL_LAMBDA).
// Over 400 lines on purpose: every test shares one service and its eight deployed functions (each
// deploy probes a fresh sandbox, a cold start); split files would deploy them all again.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CheckpointDurableExecutionCommand,
  GetDurableExecutionCommand,
  GetDurableExecutionHistoryCommand,
  GetDurableExecutionStateCommand,
  GetFunctionCommand,
  InvokeCommand,
  LambdaClient,
  ListDurableExecutionsByFunctionCommand,
  ListFunctionsCommand,
  SendDurableExecutionCallbackFailureCommand,
  SendDurableExecutionCallbackHeartbeatCommand,
  SendDurableExecutionCallbackSuccessCommand,
  StopDurableExecutionCommand,
  type Event as HistoryEvent,
} from '@aws-sdk/client-lambda';
import {
  CloudDurableTestRunner,
  InvocationType,
  WaitingOperationStatus,
} from '@aws/durable-execution-sdk-js-testing';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { localClientConfig } from '../../shared/aws.ts';
import { countDurableHistory } from '../../metering/durable-history.ts';
import { LocalEventBus } from '../eventbridge/event-bus.ts';
import { HandClock } from '../common/hand-clock.ts';
import { DEFAULT_DURABLE } from './deploy.ts';
import { createClock } from '../common/clock.ts';
import { LocalLambda } from './service.ts';

// 1000 simulated seconds per real second: a 30-second wait takes 30 ms.
const SCALE = 1000;
// The service's clock: the time scale, or, while a test holds it, only as far as that test advances it.
const clock = new HandClock(createClock(`scale:${SCALE}`));
const fixture = (name: string): string => join(import.meta.dirname, 'fixtures', `${name}.ts`);

let lambda: LocalLambda;
let client: LambdaClient;

beforeAll(async () => {
  // A small event page makes every replay of the larger executions page through GetDurableExecutionState.
  lambda = new LocalLambda({ region: 'us-east-1', clock: clock, eventPageSize: 4 });
  await lambda.listen();
  await Promise.all([
    lambda.deploy({ name: 'every', entry: fixture('every-operation'), alias: 'live' }),
    lambda.deploy({ name: 'double', entry: fixture('double'), alias: 'live' }),
    lambda.deploy({ name: 'callback', entry: fixture('callback'), alias: 'live' }),
    lambda.deploy({
      name: 'short',
      entry: fixture('callback'),
      alias: 'live',
      durable: { executionTimeoutSeconds: 2000 },
    }),
    lambda.deploy({ name: 'crash', entry: fixture('crash'), alias: 'live' }),
    lambda.deploy({ name: 'plain-a', entry: fixture('plain'), environment: { WHO: 'a' } }),
    lambda.deploy({ name: 'plain-b', entry: fixture('plain'), environment: { WHO: 'b' } }),
    lambda.deploy({ name: 'iso-a', entry: fixture('plain'), environment: { WHO: 'a' } }),
  ]);
  client = new LambdaClient(localClientConfig(lambda.endpoint));
});

afterAll(async () => {
  client?.destroy();
  await lambda?.stop();
});

const text = (bytes: Uint8Array | undefined): string => Buffer.from(bytes ?? []).toString('utf8');

async function invoke(functionName: string, payload: unknown, name?: string, type?: 'Event') {
  return client.send(
    new InvokeCommand({
      FunctionName: functionName,
      Payload: JSON.stringify(payload),
      ...(name ? { DurableExecutionName: name } : {}),
      ...(type ? { InvocationType: type } : {}),
    }),
  );
}

async function history(arn: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let marker: string | undefined;
  do {
    const page = await client.send(
      new GetDurableExecutionHistoryCommand({ DurableExecutionArn: arn, MaxItems: 25, Marker: marker }),
    );
    events.push(...(page.Events ?? []));
    marker = page.NextMarker;
  } while (marker);
  return events;
}

/** Polls the API until `check` holds; the test's own timeout bounds it. */
async function until<T>(read: () => Promise<T>, check: (value: T) => boolean): Promise<T> {
  for (;;) {
    const value = await read();
    if (check(value)) return value;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const status = async (arn: string): Promise<string | undefined> =>
  (await client.send(new GetDurableExecutionCommand({ DurableExecutionArn: arn }))).Status;

async function callbackIdOf(arn: string): Promise<string> {
  const events = await until(
    () => history(arn),
    (e) => e.some((x) => x.EventType === 'CallbackStarted'),
  );
  return events.find((e) => e.EventType === 'CallbackStarted')!.CallbackStartedDetails!.CallbackId!;
}

describe('durable executions', () => {
  it('runs every SDK operation, replaying across invocations, and records it in the history', async () => {
    // Each timer (the retry, the waits, the poll intervals) ends only once the invocation that set it
    // has suspended, so the invocations counted below do not depend on the machine's speed (a short
    // wait that ends before its invocation suspends is waited out inside that invocation).
    clock.hold();
    let response: Awaited<ReturnType<typeof invoke>>;
    try {
      const pending = invoke('every:live', { target: 'plain-a', items: [1, 2, 3] }, 'every-1');
      let done = false;
      void pending.finally(() => (done = true)).catch(() => undefined);
      while (!done) {
        const e = lambda.listExecutions().find((x) => x.spec.name === 'every-1');
        const ended = e?.history().filter((h) => h.EventType === 'InvocationCompleted').length;
        if (e && e.counters.invocations === ended) clock.advance(60);
        await new Promise((r) => setTimeout(r, 5));
      }
      response = await pending;
    } finally {
      clock.release();
    }
    expect(response.StatusCode).toBe(200);
    expect(response.FunctionError).toBeUndefined();
    expect(response.ExecutedVersion).toBe('1');
    const arn = response.DurableExecutionArn!;
    expect(arn).toMatch(
      /^arn:aws:lambda:us-east-1:\d{12}:function:every:1\/durable-execution\/every-1\/[0-9a-f-]{36}$/,
    );
    expect(JSON.parse(text(response.Payload))).toMatchObject({
      greeting: 'hello 3',
      flaky: 2,
      child: 2,
      squares: [1, 4, 9],
      branches: ['L', 'R'],
      polls: 3,
      invoked: { who: 'a', doubled: 42 },
    });

    const events = await history(arn);
    const types = events.map((e) => e.EventType);
    expect(types[0]).toBe('ExecutionStarted');
    expect(types.at(-1)).toBe('ExecutionSucceeded');
    for (const type of [
      'StepFailed',
      'WaitStarted',
      'WaitSucceeded',
      'ContextStarted',
      'ContextSucceeded',
      'ChainedInvokeSucceeded',
    ]) {
      expect(types).toContain(type);
    }
    expect(events.map((e) => e.EventId)).toEqual(events.map((_, i) => i + 1));
    const flaky = events.find((e) => e.EventType === 'StepFailed' && e.Name === 'flaky')!;
    expect(flaky.StepFailedDetails?.RetryDetails).toEqual({ CurrentAttempt: 1, NextAttemptDelaySeconds: 5 });
    expect(
      events.find((e) => e.Name === 'pause' && e.EventType === 'WaitStarted')?.WaitStartedDetails?.Duration,
    ).toBe(30);
    // The retry, two waits, two poll intervals and the chained invoke each end an invocation: 6 + 1.
    const invocations = types.filter((t) => t === 'InvocationCompleted').length;
    const counters = lambda.listExecutions().find((e) => e.arn === arn)!.counters;
    expect(invocations).toBe(counters.invocations);
    expect(invocations).toBe(7);
    expect(counters.replays).toBe(invocations - 1);
    expect(counters.checkpoints).toBeGreaterThan(0);
    // The history alone (what a deployed function offers too) gives the same counts.
    const counted = countDurableHistory(events);
    expect(counted).toMatchObject({ status: 'SUCCEEDED', invocations, operations: counters.operations });
    expect(counted.byType).toMatchObject({ Wait: 2, ChainedInvoke: 1 });
    expect(counted.stepAttempts).toBe(counted.byType.Step! + 3); // flaky twice, the poll thrice
    // Billed as AWS meters them (metering/README.md): each step attempt (flaky: 1 + 1 retry), each
    // check of the condition (1 + 2 polls), a map or parallel and each branch, each wait, the child
    // context and the chained invoke once.
    const retries = (name: string) =>
      events.filter(
        (e) =>
          e.Name === name &&
          (e.StepFailedDetails ?? e.StepSucceededDetails)?.RetryDetails?.NextAttemptDelaySeconds !==
            undefined,
      ).length;
    expect([retries('flaky'), retries('poll')]).toEqual([1, 2]);
    expect(counted.billedByRule).toEqual({
      Step: 1 + (1 + retries('flaky')) + 1 + 3 + 2, // greet, flaky, child-a, three squares, left and right
      WaitForCondition: 1 + retries('poll'),
      Map: 1 + 3,
      Parallel: 1 + 2,
      Wait: 2,
      ChildContext: 1,
      ChainedInvoke: 1,
    });
    expect(counted.billedOperations).toBe(23);
    expect(counted.operations).toBe(20); // distinct: flaky and poll once each
    // Written: every payload the operations checkpointed, the execution's own result left out.
    const result = events.at(-1)!.ExecutionSucceededDetails!.Result!.Payload!;
    expect(counted.writtenBytes).toBe(counted.dataBytes - Buffer.byteLength(result));
    expect(counted.writtenBytes).toBeGreaterThan(0);

    const execution = await client.send(new GetDurableExecutionCommand({ DurableExecutionArn: arn }));
    expect(execution).toMatchObject({ Status: 'SUCCEEDED', DurableExecutionName: 'every-1', Version: '1' });
    expect(execution.StartTimestamp).toBeInstanceOf(Date);
    expect(JSON.parse(execution.Result!)).toMatchObject({ polls: 3 });
    const listed = await client.send(
      new ListDurableExecutionsByFunctionCommand({ FunctionName: 'every', Statuses: ['SUCCEEDED'] }),
    );
    expect(listed.DurableExecutions?.map((e) => e.DurableExecutionArn)).toContain(arn);
  });

  it('invokes a durable function from a durable function and records the child execution', async () => {
    const response = await invoke('every:live', { target: 'double:live', items: [] }, 'every-durable-target');
    expect(JSON.parse(text(response.Payload))).toMatchObject({ invoked: { doubled: 42 } });
    const started = (await history(response.DurableExecutionArn!)).find(
      (e) => e.EventType === 'ChainedInvokeStarted',
    )!;
    const childArn = started.ChainedInvokeStartedDetails!.DurableExecutionArn!;
    expect(childArn).toContain(':function:double:1/durable-execution/');
    expect(await status(childArn)).toBe('SUCCEEDED');
  });

  it('forgets an ended execution once its retention period has passed on the clock, and frees its name', async () => {
    clock.hold();
    try {
      const first = await invoke('double:live', { n: 1 }, 'retained');
      const arn = first.DurableExecutionArn!;
      expect(await status(arn)).toBe('SUCCEEDED');
      await until(
        () => Promise.resolve(clock.sleepingInBackground),
        (n) => n > 0,
      ); // the retention timer begins when the execution ends
      // Meanwhile its operations and history wait on disk, and the APIs still read them whole.
      expect(lambda.execution(arn).onDisk).toBe(true);
      const kept = await history(arn);
      expect(kept.map((e) => e.EventType)).toEqual(
        expect.arrayContaining(['ExecutionStarted', 'StepSucceeded', 'ExecutionSucceeded']),
      );
      expect(kept.every((e) => e.EventTimestamp instanceof Date)).toBe(true);
      clock.advance(DEFAULT_DURABLE.retentionPeriodDays * 86_400 - 1);
      expect(await status(arn), 'kept for its whole retention period').toBe('SUCCEEDED');
      clock.advance(1);
      await expect(status(arn)).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
      // The name is free again: a new execution with another input, not a conflict.
      const again = await invoke('double:live', { n: 2 }, 'retained');
      expect(again.DurableExecutionArn).not.toBe(arn);
      expect(JSON.parse(text(again.Payload))).toEqual({ doubled: 4 });
    } finally {
      clock.release();
    }
  });

  it('starts an execution once per name and refuses the same name with another input', async () => {
    const first = await invoke('callback:live', { timeoutSeconds: 3600 }, 'once', 'Event');
    const again = await invoke('callback:live', { timeoutSeconds: 3600 }, 'once', 'Event');
    expect(first.StatusCode).toBe(202);
    expect(again.DurableExecutionArn).toBe(first.DurableExecutionArn);
    await expect(invoke('callback:live', { timeoutSeconds: 1 }, 'once', 'Event')).rejects.toMatchObject({
      name: 'DurableExecutionAlreadyStartedException',
      $metadata: { httpStatusCode: 409 },
    });
    const listed = await client.send(
      new ListDurableExecutionsByFunctionCommand({ FunctionName: 'callback', DurableExecutionName: 'once' }),
    );
    expect(listed.DurableExecutions).toHaveLength(1);
    await client.send(new StopDurableExecutionCommand({ DurableExecutionArn: first.DurableExecutionArn }));
  });

  it('refuses a durable function by its unqualified name', async () => {
    await expect(invoke('every', {})).rejects.toMatchObject({
      name: 'InvalidParameterValueException',
      message: expect.stringContaining('unqualified') as string,
    });
    await expect(invoke('nope:live', {})).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    await expect(invoke('every:nope', {})).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('completes a callback once, with its result, through the API', async () => {
    const { DurableExecutionArn: arn } = await invoke('callback:live', {}, 'cb-success', 'Event');
    const callbackId = await callbackIdOf(arn!);
    await client.send(new SendDurableExecutionCallbackHeartbeatCommand({ CallbackId: callbackId }));
    await client.send(
      new SendDurableExecutionCallbackSuccessCommand({
        CallbackId: callbackId,
        Result: Buffer.from('{"ok":true}'),
      }),
    );
    await expect(
      client.send(
        new SendDurableExecutionCallbackSuccessCommand({ CallbackId: callbackId, Result: Buffer.from('1') }),
      ),
    ).rejects.toMatchObject({ name: 'CallbackTimeoutException' });
    await until(
      () => status(arn!),
      (s) => s !== 'RUNNING',
    );
    const execution = await client.send(new GetDurableExecutionCommand({ DurableExecutionArn: arn }));
    expect(execution.Status).toBe('SUCCEEDED');
    expect(JSON.parse(execution.Result!)).toEqual({ answer: '{"ok":true}' });
    // A waitForCallback is billed 3 (its context, the callback, the submitter step) and writes the
    // payload twice: the callback stores it as sent, its context as the SDK serialized the answer.
    const counted = countDurableHistory(await history(arn!));
    expect(counted.billedByRule).toEqual({ WaitForCallback: 3 });
    expect(counted.billedOperations).toBe(3);
    const payload = '{"ok":true}';
    expect(counted.writtenBytes).toBe(
      Buffer.byteLength(payload) + Buffer.byteLength(JSON.stringify(payload)),
    );
    await expect(
      client.send(
        new SendDurableExecutionCallbackSuccessCommand({
          CallbackId: 'not a callback id!',
          Result: Buffer.from('1'),
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterValueException', message: 'Invalid callback ID.' });
  });

  it('fails the execution when the callback fails', async () => {
    const { DurableExecutionArn: arn } = await invoke('callback:live', {}, 'cb-failure', 'Event');
    const callbackId = await callbackIdOf(arn!);
    await client.send(
      new SendDurableExecutionCallbackFailureCommand({
        CallbackId: callbackId,
        Error: { ErrorType: 'Rejected', ErrorMessage: 'no' },
      }),
    );
    await until(
      () => status(arn!),
      (s) => s !== 'RUNNING',
    );
    const events = await history(arn!);
    expect(
      events.find((e) => e.EventType === 'CallbackFailed')?.CallbackFailedDetails?.Error?.Payload,
    ).toEqual({
      ErrorType: 'Rejected',
      ErrorMessage: 'no',
    });
    expect(events.at(-1)?.EventType).toBe('ExecutionFailed');
  });

  it('times a callback out, and times it out on a missing heartbeat', async () => {
    const timed = await invoke('callback:live', { timeoutSeconds: 30 }, 'cb-timeout', 'Event');
    await until(
      () => status(timed.DurableExecutionArn!),
      (s) => s !== 'RUNNING',
    );
    const timedEvents = await history(timed.DurableExecutionArn!);
    expect(
      timedEvents.find((e) => e.EventType === 'CallbackTimedOut')?.CallbackTimedOutDetails?.Error?.Payload
        ?.ErrorMessage,
    ).toBe('Callback timed out');
    expect(timedEvents.at(-1)?.EventType).toBe('ExecutionFailed');

    // Heartbeats keep a callback with a 2000-second heartbeat timeout open past it. On a held clock:
    // three heartbeats 1,200 s apart (3,600 s in all), each replacing the timer, then silence.
    clock.hold();
    try {
      const beating = await invoke(
        'callback:live',
        { timeoutSeconds: 86_400, heartbeatSeconds: 2000 },
        'cb-heartbeat',
        'Event',
      );
      const arn = beating.DurableExecutionArn!;
      const callbackId = await callbackIdOf(arn);
      const armed = clock.sleeping; // the execution timeout, the callback's timeout and its heartbeat
      expect(armed).toBeGreaterThanOrEqual(3);
      for (let beat = 1; beat <= 3; beat++) {
        clock.advance(1200);
        await client.send(new SendDurableExecutionCallbackHeartbeatCommand({ CallbackId: callbackId }));
        expect(clock.sleeping).toBe(armed);
        expect(await status(arn)).toBe('RUNNING');
      }
      clock.advance(1999);
      expect(clock.sleeping).toBe(armed);
      expect(await status(arn)).toBe('RUNNING');
      // The 2000th second of silence: the heartbeat timeout closes it.
      clock.advance(1);
      await until(
        () => status(arn),
        (s) => s !== 'RUNNING',
      );
      const events = await history(arn);
      expect(
        events.find((e) => e.EventType === 'CallbackTimedOut')?.CallbackTimedOutDetails?.Error?.Payload
          ?.ErrorMessage,
      ).toBe('Callback timed out on heartbeat');
      await expect(
        client.send(new SendDurableExecutionCallbackHeartbeatCommand({ CallbackId: callbackId })),
      ).rejects.toMatchObject({ name: 'CallbackTimeoutException' });
    } finally {
      clock.release();
    }
  }, 20_000);

  it('ends an execution that outlives its execution timeout as TIMED_OUT', async () => {
    // 2000 simulated seconds: 2 s here, during which the callback starts and nobody completes it.
    const { DurableExecutionArn: arn } = await invoke('short:live', {}, 'too-long', 'Event');
    await until(
      () => status(arn!),
      (s) => s !== 'RUNNING',
    );
    expect(await status(arn!)).toBe('TIMED_OUT');
    const events = await history(arn!);
    expect(events.at(-1)?.EventType).toBe('ExecutionTimedOut');
    const callbackId = events.find((e) => e.EventType === 'CallbackStarted')?.CallbackStartedDetails
      ?.CallbackId;
    if (callbackId) {
      await expect(
        client.send(
          new SendDurableExecutionCallbackSuccessCommand({
            CallbackId: callbackId,
            Result: Buffer.from('1'),
          }),
        ),
      ).rejects.toMatchObject({ name: 'CallbackTimeoutException' });
    }
  });

  it('stops an execution, once', async () => {
    const { DurableExecutionArn: arn } = await invoke('callback:live', {}, 'to-stop', 'Event');
    await callbackIdOf(arn!);
    const stopped = await client.send(
      new StopDurableExecutionCommand({
        DurableExecutionArn: arn,
        Error: { ErrorType: 'OperatorStop', ErrorMessage: 'stopped by a test' },
      }),
    );
    expect(stopped.StopTimestamp).toBeInstanceOf(Date);
    expect(await status(arn!)).toBe('STOPPED');
    const last = (await history(arn!)).at(-1)!;
    expect(last.EventType).toBe('ExecutionStopped');
    expect(last.ExecutionStoppedDetails?.Error?.Payload?.ErrorType).toBe('OperatorStop');
    await expect(
      client.send(new StopDurableExecutionCommand({ DurableExecutionArn: arn })),
    ).rejects.toMatchObject({
      name: 'InvalidParameterValueException',
    });
    await expect(
      client.send(new StopDurableExecutionCommand({ DurableExecutionArn: `${arn!}x` })),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('replays a step whose invocation was killed before its checkpoint', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'crash-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const marker = join(dir, 'marker');
    const coldBefore = lambda.coldStarts('crash');
    lambda.injectCrash({ functionName: 'crash', stepName: 'write', times: 1 });
    const response = await invoke('crash:live', { marker }, 'crash-1');
    expect(JSON.parse(text(response.Payload))).toEqual({ written: 'written', after: 'done' });
    // The step's body ran twice: once in the killed invocation, once in its replay.
    expect(readFileSync(marker, 'utf8')).toBe('ran\nran\n');
    const events = await history(response.DurableExecutionArn!);
    const failed = events.filter(
      (e) => e.EventType === 'InvocationCompleted' && e.InvocationCompletedDetails?.Error,
    );
    expect(failed).toHaveLength(1);
    expect(failed[0]!.InvocationCompletedDetails!.Error!.Payload!.ErrorType).toBe('Runtime.ExitError');
    expect(events.filter((e) => e.EventType === 'StepSucceeded' && e.Name === 'write')).toHaveLength(1);
    expect(lambda.coldStarts('crash')).toBeGreaterThan(coldBefore);
  });

  it('refuses a stale checkpoint token and reads state only with the live one', async () => {
    const { DurableExecutionArn: arn } = await invoke('callback:live', {}, 'stale', 'Event');
    await callbackIdOf(arn!);
    await expect(
      client.send(
        new CheckpointDurableExecutionCommand({
          DurableExecutionArn: arn,
          CheckpointToken: 'c3RhbGU=',
          Updates: [],
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterValueException', message: 'Invalid Checkpoint Token' });
    await expect(
      client.send(
        new GetDurableExecutionStateCommand({ DurableExecutionArn: arn, CheckpointToken: 'c3RhbGU=' }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterValueException' });
    await client.send(new StopDurableExecutionCommand({ DurableExecutionArn: arn }));
  });
});

describe('event bus targets', () => {
  it('starts an execution per event through the alias, and dead-letters an unqualified durable target', async () => {
    const bus = new LocalEventBus({ region: 'us-east-1', retryDelayMs: 1 });
    bus.putRule({ name: 'numbers', eventPattern: { source: ['test'] } });
    bus.addTarget('numbers', 'double', lambda.busTarget('double:live'));
    bus.addTarget('numbers', 'unqualified', lambda.busTarget('double'));
    const event = bus.envelope({ source: 'test', detailType: 'Number', detail: { n: 4 } });
    bus.publish(event);
    await bus.idle();
    const execution = lambda
      .listExecutions()
      .find((e) => e.spec.functionName === 'double' && e.spec.input.includes(event.id))!;
    await execution.done;
    expect(execution.status).toBe('SUCCEEDED');
    expect(bus.deadLetters()).toEqual([
      expect.objectContaining({
        target: 'unqualified',
        error: expect.stringContaining('unqualified') as string,
      }),
    ]);
  });
});

describe('limits', () => {
  it('refuses payloads over the Invoke and callback limits', async () => {
    const big = 'x'.repeat(6 * 1024 * 1024);
    await expect(invoke('plain-a', big)).rejects.toMatchObject({
      name: 'RequestTooLargeException',
      $metadata: { httpStatusCode: 413 },
    });
    await expect(invoke('plain-a', 'x'.repeat(1024 * 1024), undefined, 'Event')).rejects.toMatchObject({
      name: 'RequestTooLargeException',
    });
    const { DurableExecutionArn: arn } = await invoke('callback:live', {}, 'big-callback', 'Event');
    const callbackId = await callbackIdOf(arn!);
    await expect(
      client.send(
        new SendDurableExecutionCallbackSuccessCommand({
          CallbackId: callbackId,
          Result: Buffer.alloc(256 * 1024 + 1, 120),
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterValueException' });
    await client.send(new StopDurableExecutionCommand({ DurableExecutionArn: arn }));
  });
});

describe('plain functions', () => {
  it('gives each function its own environment and module state', async () => {
    const call = async (name: string) =>
      JSON.parse(text((await invoke(name, {})).Payload)) as Record<string, unknown>;
    const a1 = await call('iso-a');
    const b1 = await call('plain-b');
    const a2 = await call('iso-a');
    expect(a1).toMatchObject({ who: 'a', calls: 1, lambdaEndpoint: lambda.endpoint });
    expect(a1.seenLeak).toBeUndefined();
    // b never sees what a wrote into its process.env, nor a's call count.
    expect(b1).toMatchObject({ who: 'b', calls: 1 });
    expect(b1.seenLeak).toBeUndefined();
    // a's own sandbox stays warm: its module state and environment carry over.
    expect(a2).toMatchObject({ who: 'a', calls: 2, seenLeak: 'a' });
  });

  it('reports a handler error as an unhandled function error', async () => {
    const response = await invoke('plain-a', { fail: true });
    expect(response.StatusCode).toBe(200);
    expect(response.FunctionError).toBe('Unhandled');
    expect(JSON.parse(text(response.Payload))).toMatchObject({
      errorType: 'RangeError',
      errorMessage: 'asked to fail',
    });
    await expect(
      client.send(new InvokeCommand({ FunctionName: 'plain-a', Payload: Buffer.from('{not json') })),
    ).rejects.toMatchObject({ name: 'InvalidRequestContentException' });
  });

  it('lists and describes the deployed functions', async () => {
    const listed = await client.send(new ListFunctionsCommand({}));
    expect(listed.Functions?.map((f) => f.FunctionName)).toEqual(
      expect.arrayContaining(['every', 'plain-a']),
    );
    const every = await client.send(new GetFunctionCommand({ FunctionName: 'every' }));
    expect(every.Configuration?.DurableConfig?.ExecutionTimeout).toBe(86_400);
    const plain = await client.send(new GetFunctionCommand({ FunctionName: 'plain-a' }));
    expect(plain.Configuration?.DurableConfig).toBeUndefined();
  });

  it('refuses a durable deploy of a plain export', async () => {
    await expect(
      lambda.deploy({
        name: 'not-durable',
        entry: fixture('plain'),
        durable: { executionTimeoutSeconds: 2000 },
      }),
    ).rejects.toMatchObject({ name: 'InvalidParameterValueException' });
    await expect(lambda.deploy({ name: 'missing', entry: fixture('nope') })).rejects.toMatchObject({
      name: 'InvalidParameterValueException',
    });
  });
});

describe('bad input', () => {
  it('answers malformed requests with AWS-shaped errors and keeps serving', async () => {
    const { DurableExecutionArn: arn } = await invoke('callback:live', {}, 'bad-input', 'Event');
    const callbackId = await callbackIdOf(arn!);
    const post = async (path: string, body: string) => {
      const response = await fetch(`${lambda.endpoint}${path}`, { method: 'POST', body });
      return {
        status: response.status,
        type: response.headers.get('x-amzn-errortype'),
        body: await response.json(),
      };
    };
    const checkpoint = `/2025-12-01/durable-executions/${encodeURIComponent(arn!)}/checkpoint`;
    for (const body of [
      '{not json',
      '[]',
      '{"Updates":"x"}',
      '{"Updates":[null]}',
      '{"Updates":[{"Id":"a","Type":"STEP","Action":"START","Payload":5}]}',
    ]) {
      expect(await post(checkpoint, body)).toMatchObject({
        status: 400,
        type: 'InvalidParameterValueException',
      });
    }
    const fail = `/2025-12-01/durable-execution-callbacks/${encodeURIComponent(callbackId)}/fail`;
    expect(await post(fail, '"just a string"')).toMatchObject({
      status: 400,
      type: 'InvalidParameterValueException',
    });
    expect(await post(fail, '{"ErrorType":5}')).toMatchObject({
      status: 400,
      type: 'InvalidParameterValueException',
    });
    expect(await post('/2025-12-01/durable-executions/%E0%A4%A/stop', '')).toMatchObject({ status: 400 });
    expect(await post('/2099-01-01/nothing', '')).toMatchObject({
      status: 404,
      type: 'UnknownOperationException',
    });
    // Still serving, and the execution untouched: the callback completes it.
    await client.send(
      new SendDurableExecutionCallbackSuccessCommand({ CallbackId: callbackId, Result: Buffer.from('"ok"') }),
    );
    await until(
      () => status(arn!),
      (s) => s !== 'RUNNING',
    );
    expect(await status(arn!)).toBe('SUCCEEDED');
  });
});

describe('conformance', () => {
  it("passes the testing package's cloud runner, built for the real service", async () => {
    const runner = new CloudDurableTestRunner<{ answer: string }>({
      functionName: 'callback:live',
      client,
      config: { invocationType: InvocationType.Event, pollInterval: 20 },
    });
    const approval = runner.getOperation('approval');
    const running = runner.run({ payload: {} });
    await approval.waitForData(WaitingOperationStatus.STARTED);
    await approval.sendCallbackSuccess('{"by":"runner"}');
    const result = await running;
    expect(result.getStatus()).toBe('SUCCEEDED');
    expect(result.getResult()).toEqual({ answer: '{"by":"runner"}' });
  });
});
