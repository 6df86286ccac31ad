// One durable execution as Lambda keeps it: the operations (EXECUTION first), the append-only history,
// one live checkpoint token, the timers that complete waits, retries and callbacks, and a single-flight
// invocation loop that re-invokes the handler whenever something it waits for has happened.
import { randomBytes, randomUUID } from 'node:crypto';
import type { ErrorObject, Event as HistoryEvent, Operation, OperationUpdate } from '@aws-sdk/client-lambda';
import type { TimeScale } from '../common/time-scale.ts';
import { invalidParameter } from './errors.ts';
import type { InvocationOutcome, RunningInvocation } from './sandbox.ts';

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'STOPPED' | 'TIMED_OUT';

/** Lambda's limits that the service enforces on checkpoints. */
export const LIMITS = {
  operationPayloadBytes: 256 * 1024,
  errorBytes: 32 * 1024,
  operationsPerExecution: 3000,
  /**
   * Failed invocations in a row (throws, crashes, timeouts) with no operation completed in between,
   * before the execution fails.
   */
  invocationAttempts: 4,
} as const;

/** What an execution counts; the canonical counts come from its history (GetDurableExecutionHistory). */
export interface ExecutionCounters {
  invocations: number;
  /** Invocations that started in replay mode (state beyond the EXECUTION operation). */
  replays: number;
  failedInvocations: number;
  checkpoints: number;
  checkpointBytes: number;
  /** Operations the handler created (the EXECUTION operation excluded). */
  operations: number;
  /** Real milliseconds each checkpoint request took in the service, from arrival to answer. */
  checkpointMs: number[];
}

export interface ChainedResult {
  result?: string;
  error?: ErrorObject;
  durableExecutionArn?: string;
}

/** What an execution needs from the service around it. */
export interface ExecutionHost {
  time: TimeScale;
  /** Message of the stale-token error: Title Case lets SDK 2.4.0 retry the invocation (see README). */
  staleTokenMessage: string;
  /** Operations per invocation event; more go through GetDurableExecutionState paging. */
  eventPageSize: number;
  runHandler(
    execution: DurableExecution,
    event: unknown,
    onStart: (running: RunningInvocation) => void,
  ): Promise<InvocationOutcome>;
  chainedInvoke(
    functionName: string,
    payload: string | undefined,
    execution: DurableExecution,
  ): Promise<ChainedResult>;
  /** True (and one fewer left) when a crash is armed for this step of this function. */
  takeCrash(functionName: string, stepName: string): boolean;
  registerCallback(callbackId: string, execution: DurableExecution, operationId: string): void;
  releaseCallback(callbackId: string): void;
}

export interface ExecutionSpec {
  /** The execution id (a UUID): the last part of the ARN and the EXECUTION operation's Id. */
  id: string;
  arn: string;
  name: string;
  functionName: string;
  /** The version-qualified function ARN (an alias resolved to its version). */
  functionArn: string;
  version: string;
  input: string;
  executionTimeoutSeconds: number;
  retentionPeriodDays: number;
}

/** Thrown by a checkpoint whose invocation was killed on purpose: the HTTP layer drops the connection. */
export class InvocationKilled extends Error {
  override name = 'InvocationKilled';
}

const TERMINAL_EVENT: Record<Exclude<ExecutionStatus, 'RUNNING'>, HistoryEvent['EventType']> = {
  SUCCEEDED: 'ExecutionSucceeded',
  FAILED: 'ExecutionFailed',
  STOPPED: 'ExecutionStopped',
  TIMED_OUT: 'ExecutionTimedOut',
};

const isPendingOp = (op: Operation): boolean =>
  (op.Type === 'WAIT' && op.Status === 'STARTED') ||
  (op.Type === 'STEP' && (op.Status === 'PENDING' || op.Status === 'READY')) ||
  (op.Type === 'CALLBACK' && op.Status === 'STARTED') ||
  (op.Type === 'CHAINED_INVOKE' && op.Status === 'STARTED');

const bytes = (s: string | undefined): number => (s === undefined ? 0 : Buffer.byteLength(s));

export class DurableExecution {
  readonly id: string;
  readonly startTimestamp = new Date();
  endTimestamp: Date | undefined;
  status: ExecutionStatus = 'RUNNING';
  /** True when the handler's own output (or its EXECUTION checkpoint) ended the execution. */
  endedByHandler = false;
  result: string | undefined;
  error: ErrorObject | undefined;
  readonly counters: ExecutionCounters = {
    invocations: 0,
    replays: 0,
    failedInvocations: 0,
    checkpoints: 0,
    checkpointBytes: 0,
    operations: 0,
    checkpointMs: [],
  };
  /** Resolves when the execution reaches a terminal status. */
  readonly done: Promise<void>;

  private readonly ops = new Map<string, Operation>();
  private readonly events: HistoryEvent[] = [];
  private token = '';
  /** Operations changed since the last checkpoint response (echoed in the next one). */
  private readonly dirty = new Set<string>();
  /** Operations changed outside the handler and not yet delivered to the running invocation. */
  private readonly undelivered = new Set<string>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly callbackIds = new Map<string, string>();
  private readonly clientTokens = new Map<string, unknown>();
  private invoking = false;
  private reinvoke = false;
  private failuresInARow = 0;
  /** Whether the invocation in flight completed an operation before it ended. */
  private progressed = false;
  private emptyPendingInARow = 0;
  private running: RunningInvocation | undefined;
  /** An EXECUTION update checkpointed by the handler: applied when its invocation returns. */
  private checkpointedEnd: CheckpointedEnd | undefined;
  private resolveDone!: () => void;

  constructor(
    readonly spec: ExecutionSpec,
    private readonly host: ExecutionHost,
  ) {
    this.id = spec.id;
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    this.ops.set(this.id, {
      Id: this.id,
      Type: 'EXECUTION',
      Status: 'STARTED',
      StartTimestamp: this.startTimestamp,
      ExecutionDetails: { InputPayload: spec.input },
    });
    this.rotateToken();
    this.record({
      EventType: 'ExecutionStarted',
      Id: this.id,
      Name: spec.name,
      ExecutionStartedDetails: {
        Input: { Payload: spec.input },
        ExecutionTimeout: spec.executionTimeoutSeconds,
      },
    });
    this.arm('execution-timeout', spec.executionTimeoutSeconds, () =>
      this.finish('TIMED_OUT', {
        error: { ErrorType: 'Execution.TimedOut', ErrorMessage: 'The durable execution timed out.' },
      }),
    );
  }

  get arn(): string {
    return this.spec.arn;
  }

  /** Starts the first invocation. */
  start(): void {
    void this.loop();
  }

  history(): readonly HistoryEvent[] {
    return this.events;
  }

  /** The operations a handler sees: descendants of a completed child context are left out unless it replays children. */
  state(): Operation[] {
    const hidden = new Set<string>();
    const visible: Operation[] = [];
    for (const op of this.ops.values()) {
      if (op.ParentId && hidden.has(op.ParentId)) {
        hidden.add(op.Id!);
        continue;
      }
      visible.push(op);
      const done = op.Status === 'SUCCEEDED' || op.Status === 'FAILED';
      if (op.Type === 'CONTEXT' && done && !op.ContextDetails?.ReplayChildren) hidden.add(op.Id!);
    }
    return visible;
  }

  operation(id: string): Operation | undefined {
    return this.ops.get(id);
  }

  checkToken(token: string | undefined): void {
    if (this.status !== 'RUNNING' || token !== this.token)
      throw invalidParameter(this.host.staleTokenMessage);
  }

  // ---- CheckpointDurableExecution ----

  checkpoint(
    token: string | undefined,
    updates: OperationUpdate[],
    clientToken: string | undefined,
    requestBytes: number,
  ): unknown {
    // A retried request (same ClientToken) gets the answer the first one got.
    if (clientToken && this.clientTokens.has(clientToken)) return this.clientTokens.get(clientToken);
    this.checkToken(token);
    this.validate(updates);
    this.counters.checkpoints++;
    this.counters.checkpointBytes += requestBytes;

    const crashAt = updates.findIndex(
      (u) =>
        u.Type === 'STEP' &&
        u.Name !== undefined &&
        (u.Action === 'SUCCEED' || u.Action === 'FAIL' || u.Action === 'RETRY') &&
        this.host.takeCrash(this.spec.functionName, u.Name),
    );
    const applied = crashAt >= 0 ? updates.slice(0, crashAt) : updates;
    for (const update of applied) this.apply(update);
    if (applied.some((u) => u.Type !== 'EXECUTION' && (u.Action === 'SUCCEED' || u.Action === 'FAIL'))) {
      this.progressed = true;
    }
    if (crashAt >= 0) {
      // The sandbox dies while the step's result is on its way: that result never lands.
      this.running?.kill(`injected crash in step '${updates[crashAt]!.Name}'`);
      this.rotateToken();
      throw new InvocationKilled(`injected crash in step '${updates[crashAt]!.Name}'`);
    }

    const operations = [...this.dirty].map((id) => this.ops.get(id)!);
    this.dirty.clear();
    this.undelivered.clear();
    const response: Record<string, unknown> = { NewExecutionState: { Operations: operations } };
    // After the terminal EXECUTION update Lambda hands out no further token.
    if (!this.checkpointedEnd) response.CheckpointToken = this.rotateToken();
    else this.token = '';
    if (clientToken) this.clientTokens.set(clientToken, response);
    return response;
  }

  private validate(updates: OperationUpdate[]): void {
    const seen = new Map<string, OperationUpdate>();
    updates.forEach((u, index) => {
      if (typeof u !== 'object' || u === null || typeof u.Id !== 'string' || !u.Type || !u.Action) {
        throw invalidParameter('Each update needs Id, Type and Action.');
      }
      if (u.Payload !== undefined && typeof u.Payload !== 'string')
        throw invalidParameter('Payload must be a string.');
      if (u.Error !== undefined && (typeof u.Error !== 'object' || u.Error === null)) {
        throw invalidParameter('Error must be an ErrorObject.');
      }
      const allowed: Record<string, string[]> = {
        STEP: ['START', 'SUCCEED', 'FAIL', 'RETRY'],
        CONTEXT: ['START', 'SUCCEED', 'FAIL'],
        WAIT: ['START', 'CANCEL'],
        CALLBACK: ['START', 'CANCEL'],
        CHAINED_INVOKE: ['START', 'CANCEL'],
        EXECUTION: ['SUCCEED', 'FAIL'],
      };
      if (!allowed[u.Type]?.includes(u.Action)) {
        throw invalidParameter(`Invalid action ${u.Action} for operation type ${u.Type}.`);
      }
      if (u.Type === 'EXECUTION' && index !== updates.length - 1) {
        throw invalidParameter('The EXECUTION update must be the last update of a checkpoint.');
      }
      if (bytes(u.Payload) > LIMITS.operationPayloadBytes) {
        throw invalidParameter(
          `Operation payload size ${bytes(u.Payload)} exceeds the limit of ${LIMITS.operationPayloadBytes} bytes.`,
        );
      }
      if (u.Error && bytes(JSON.stringify(u.Error)) > LIMITS.errorBytes) {
        throw invalidParameter(`Operation error size exceeds the limit of ${LIMITS.errorBytes} bytes.`);
      }
      if (u.ParentId && !this.ops.has(u.ParentId) && seen.get(u.ParentId)?.Type !== 'CONTEXT') {
        throw invalidParameter(`Parent operation ${u.ParentId} does not exist.`);
      }
      const existing = u.Type === 'EXECUTION' ? undefined : this.ops.get(u.Id);
      const earlier = seen.get(u.Id);
      if (earlier && !(earlier.Action === 'START' && u.Action !== 'START')) {
        throw invalidParameter(`Operation ${u.Id} appears more than once in the checkpoint.`);
      }
      if (u.Action === 'START' && existing) {
        if (u.Type !== 'STEP' || existing.Status !== 'READY') {
          throw invalidParameter(
            `Cannot start operation ${u.Id}: it already exists with status ${existing.Status}.`,
          );
        }
      }
      if (
        (u.Action === 'SUCCEED' || u.Action === 'FAIL' || u.Action === 'RETRY') &&
        existing &&
        !['STARTED', 'READY'].includes(existing.Status!)
      ) {
        throw invalidParameter(`Cannot ${u.Action} operation ${u.Id} with status ${existing.Status}.`);
      }
      if (u.Action === 'RETRY' && !u.StepOptions) throw invalidParameter('A RETRY update needs StepOptions.');
      seen.set(u.Id, u);
    });
    const newOps = updates.filter((u) => u.Action === 'START' && !this.ops.has(u.Id!)).length;
    if (this.ops.size - 1 + newOps > LIMITS.operationsPerExecution) {
      throw invalidParameter(
        `The execution exceeds the limit of ${LIMITS.operationsPerExecution} operations.`,
      );
    }
  }

  private apply(u: OperationUpdate): void {
    const now = new Date();
    const id = u.Id!;
    if (u.Type === 'EXECUTION') {
      this.checkpointedEnd = checkpointedEndOf(u);
      return;
    }
    let op = this.ops.get(id);
    if (!op) {
      op = {
        Id: id,
        Type: u.Type,
        Status: 'STARTED',
        StartTimestamp: now,
        ...(u.ParentId ? { ParentId: u.ParentId } : {}),
        ...(u.Name ? { Name: u.Name } : {}),
        ...(u.SubType ? { SubType: u.SubType } : {}),
      };
      this.ops.set(id, op);
      this.counters.operations++;
    }
    this.dirty.add(id);
    const base = { SubType: u.SubType, Id: id, Name: u.Name, ParentId: u.ParentId };
    switch (u.Type) {
      case 'STEP':
        return this.applyStep(op, u, base, now);
      case 'CONTEXT':
        if (u.Action === 'START')
          return this.record({ ...base, EventType: 'ContextStarted', ContextStartedDetails: {} });
        this.end(op, u.Action === 'SUCCEED' ? 'SUCCEEDED' : 'FAILED', now);
        op.ContextDetails = {
          ...(u.ContextOptions?.ReplayChildren ? { ReplayChildren: true } : {}),
          ...(u.Action === 'SUCCEED' ? { Result: u.Payload } : { Error: u.Error }),
        };
        return u.Action === 'SUCCEED'
          ? this.record({
              ...base,
              EventType: 'ContextSucceeded',
              ContextSucceededDetails: { Result: { Payload: u.Payload } },
            })
          : this.record({
              ...base,
              EventType: 'ContextFailed',
              ContextFailedDetails: { Error: { Payload: u.Error } },
            });
      case 'WAIT':
        return this.applyWait(op, u, base, now);
      case 'CALLBACK':
        return this.applyCallback(op, u, base);
      case 'CHAINED_INVOKE':
        return this.applyChainedInvoke(op, u, base);
    }
  }

  private applyStep(op: Operation, u: OperationUpdate, base: HistoryEvent, now: Date): void {
    const attempt = op.StepDetails?.Attempt ?? 0;
    if (u.Action === 'START') {
      op.Status = 'STARTED';
      op.StepDetails = { ...op.StepDetails, Attempt: attempt };
      return this.record({ ...base, EventType: 'StepStarted', StepStartedDetails: {} });
    }
    const retryDetails = {
      CurrentAttempt: attempt + 1,
      ...(u.Action === 'RETRY'
        ? { NextAttemptDelaySeconds: u.StepOptions?.NextAttemptDelaySeconds ?? 0 }
        : {}),
    };
    if (u.Action === 'RETRY') {
      const delay = u.StepOptions?.NextAttemptDelaySeconds ?? 0;
      op.Status = 'PENDING';
      op.StepDetails = {
        Attempt: attempt + 1,
        NextAttemptTimestamp: new Date(now.getTime() + delay * 1000),
        ...(u.Payload !== undefined ? { Result: u.Payload } : {}),
        ...(u.Error ? { Error: u.Error } : {}),
      };
      this.arm(op.Id!, delay, () => this.externally(op.Id!, (o) => (o.Status = 'READY')));
    } else {
      this.end(op, u.Action === 'SUCCEED' ? 'SUCCEEDED' : 'FAILED', now);
      op.StepDetails = {
        Attempt: attempt + 1,
        ...(u.Action === 'SUCCEED' ? { Result: u.Payload } : { Error: u.Error }),
      };
    }
    if (u.Error) {
      this.record({
        ...base,
        EventType: 'StepFailed',
        StepFailedDetails: { Error: { Payload: u.Error }, RetryDetails: retryDetails },
      });
    } else {
      this.record({
        ...base,
        EventType: 'StepSucceeded',
        StepSucceededDetails: { Result: { Payload: u.Payload }, RetryDetails: retryDetails },
      });
    }
  }

  private applyWait(op: Operation, u: OperationUpdate, base: HistoryEvent, now: Date): void {
    const seconds = u.WaitOptions?.WaitSeconds ?? 0;
    if (u.Action === 'CANCEL') {
      this.disarm(op.Id!);
      this.end(op, 'CANCELLED', now);
      return this.record({ ...base, EventType: 'WaitCancelled', WaitCancelledDetails: {} });
    }
    // When the wait would end on AWS. The SDK compares it with its remaining time to decide whether
    // to suspend, so it stays unscaled: the SDK decides as it would on AWS, and the service's timer
    // (on the time scale) ends the wait early and re-invokes.
    const scheduled = new Date(now.getTime() + seconds * 1000);
    op.WaitDetails = { ScheduledEndTimestamp: scheduled };
    this.record({
      ...base,
      EventType: 'WaitStarted',
      WaitStartedDetails: { Duration: seconds, ScheduledEndTimestamp: scheduled },
    });
    this.arm(op.Id!, seconds, () =>
      this.externally(op.Id!, (o) => {
        this.end(o, 'SUCCEEDED', new Date());
        this.record({ ...base, EventType: 'WaitSucceeded', WaitSucceededDetails: { Duration: seconds } });
      }),
    );
  }

  private applyCallback(op: Operation, u: OperationUpdate, base: HistoryEvent): void {
    if (u.Action === 'CANCEL') {
      this.closeCallback(op.Id!);
      this.end(op, 'CANCELLED', new Date());
      return;
    }
    const callbackId = randomBytes(24).toString('base64');
    const timeout = u.CallbackOptions?.TimeoutSeconds ?? 0;
    const heartbeat = u.CallbackOptions?.HeartbeatTimeoutSeconds ?? 0;
    op.CallbackDetails = { CallbackId: callbackId };
    this.callbackIds.set(op.Id!, callbackId);
    this.host.registerCallback(callbackId, this, op.Id!);
    this.record({
      ...base,
      EventType: 'CallbackStarted',
      CallbackStartedDetails: { CallbackId: callbackId, Timeout: timeout, HeartbeatTimeout: heartbeat },
    });
    if (timeout > 0) {
      this.arm(op.Id!, timeout, () =>
        this.completeCallback(op.Id!, 'TIMED_OUT', undefined, 'Callback timed out'),
      );
    }
    if (heartbeat > 0) this.armHeartbeat(op.Id!, heartbeat);
  }

  private armHeartbeat(opId: string, seconds: number): void {
    this.arm(`${opId}:heartbeat`, seconds, () =>
      this.completeCallback(opId, 'TIMED_OUT', undefined, 'Callback timed out on heartbeat'),
    );
  }

  private applyChainedInvoke(op: Operation, u: OperationUpdate, base: HistoryEvent): void {
    if (u.Action === 'CANCEL') {
      this.end(op, 'CANCELLED', new Date());
      return;
    }
    const functionName = u.ChainedInvokeOptions?.FunctionName ?? '';
    const started: HistoryEvent = {
      ...base,
      EventType: 'ChainedInvokeStarted',
      ChainedInvokeStartedDetails: { FunctionName: functionName, Input: { Payload: u.Payload } },
    };
    this.record(started);
    void this.host.chainedInvoke(functionName, u.Payload, this).then((outcome) => {
      if (outcome.durableExecutionArn)
        started.ChainedInvokeStartedDetails!.DurableExecutionArn = outcome.durableExecutionArn;
      this.externally(op.Id!, (o) => {
        if (o.Status !== 'STARTED') return;
        const ok = outcome.error === undefined;
        this.end(o, ok ? 'SUCCEEDED' : 'FAILED', new Date());
        o.ChainedInvokeDetails = ok ? { Result: outcome.result } : { Error: outcome.error };
        this.record(
          ok
            ? {
                ...base,
                EventType: 'ChainedInvokeSucceeded',
                ChainedInvokeSucceededDetails: { Result: { Payload: outcome.result } },
              }
            : {
                ...base,
                EventType: 'ChainedInvokeFailed',
                ChainedInvokeFailedDetails: { Error: { Payload: outcome.error } },
              },
        );
      });
    });
  }

  // ---- Callbacks (SendDurableExecutionCallback*) ----

  /** Completes a callback; false when it is no longer open. */
  completeCallback(
    opId: string,
    status: 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT',
    result: string | undefined,
    error: ErrorObject | string | undefined,
  ): boolean {
    const op = this.ops.get(opId);
    if (this.status !== 'RUNNING' || op?.Status !== 'STARTED') return false;
    const errorObject: ErrorObject | undefined =
      typeof error === 'string' ? { ErrorType: 'CallbackTimeout', ErrorMessage: error } : error;
    this.closeCallback(opId);
    this.externally(opId, (o) => {
      this.end(o, status, new Date());
      o.CallbackDetails = {
        ...o.CallbackDetails,
        ...(status === 'SUCCEEDED'
          ? result !== undefined
            ? { Result: result }
            : {}
          : { Error: errorObject }),
      };
      const base = { SubType: o.SubType, Id: o.Id, Name: o.Name, ParentId: o.ParentId };
      if (status === 'SUCCEEDED') {
        this.record({
          ...base,
          EventType: 'CallbackSucceeded',
          CallbackSucceededDetails: { Result: { Payload: result } },
        });
      } else if (status === 'FAILED') {
        this.record({
          ...base,
          EventType: 'CallbackFailed',
          CallbackFailedDetails: { Error: { Payload: errorObject } },
        });
      } else {
        this.record({
          ...base,
          EventType: 'CallbackTimedOut',
          CallbackTimedOutDetails: { Error: { Payload: errorObject } },
        });
      }
    });
    return true;
  }

  /** Re-arms the heartbeat timer; false when the callback is no longer open. */
  heartbeat(opId: string): boolean {
    const op = this.ops.get(opId);
    if (this.status !== 'RUNNING' || op?.Status !== 'STARTED') return false;
    // The callback's heartbeat timeout, as recorded when it started.
    const started = this.events.find((e) => e.EventType === 'CallbackStarted' && e.Id === opId);
    const seconds = started?.CallbackStartedDetails?.HeartbeatTimeout ?? 0;
    if (seconds > 0) this.armHeartbeat(opId, seconds);
    return true;
  }

  private closeCallback(opId: string): void {
    this.disarm(opId);
    this.disarm(`${opId}:heartbeat`);
    const callbackId = this.callbackIds.get(opId);
    if (callbackId) this.host.releaseCallback(callbackId);
    this.callbackIds.delete(opId);
  }

  // ---- Stop and the end ----

  stop(error: ErrorObject | undefined): Date {
    if (this.status !== 'RUNNING') throw invalidParameter(`Durable execution ${this.arn} is not running.`);
    this.finish('STOPPED', {
      error: error ?? { ErrorType: 'Stopped', ErrorMessage: 'The execution was stopped.' },
    });
    return this.endTimestamp!;
  }

  private finish(
    status: Exclude<ExecutionStatus, 'RUNNING'>,
    end: { result?: string; error?: ErrorObject },
  ): void {
    if (this.status !== 'RUNNING') return;
    this.status = status;
    this.endTimestamp = new Date();
    this.result = end.result;
    this.error = end.error;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    for (const opId of [...this.callbackIds.keys()]) this.closeCallback(opId);
    this.token = '';
    const execOp = this.ops.get(this.id)!;
    execOp.Status = status;
    execOp.EndTimestamp = this.endTimestamp;
    const eventType = TERMINAL_EVENT[status];
    const details =
      status === 'SUCCEEDED'
        ? { ExecutionSucceededDetails: { Result: { Payload: end.result } } }
        : { [`${eventType}Details`]: { Error: { Payload: end.error } } };
    this.record({ EventType: eventType, Id: this.id, Name: this.spec.name, ...details });
    this.resolveDone();
  }

  /** Cancels every timer (the service is stopping); the execution stays as it is. */
  dispose(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  // ---- The invocation loop ----

  private async loop(): Promise<void> {
    if (this.invoking) {
      this.reinvoke = true;
      return;
    }
    this.invoking = true;
    try {
      do {
        this.reinvoke = false;
        await this.invokeOnce();
      } while (this.status === 'RUNNING' && this.reinvoke);
    } finally {
      this.invoking = false;
    }
  }

  private invocationEvent(): unknown {
    const operations = this.state();
    const page = operations.slice(0, this.host.eventPageSize);
    return {
      DurableExecutionArn: this.arn,
      CheckpointToken: this.token,
      InitialExecutionState: {
        Operations: page,
        ...(operations.length > page.length ? { NextMarker: String(page.length) } : {}),
      },
    };
  }

  private async invokeOnce(): Promise<void> {
    const startTimestamp = new Date();
    this.counters.invocations++;
    this.progressed = false;
    if (this.ops.size > 1) this.counters.replays++;
    this.undelivered.clear();
    // The event goes through JSON, so its timestamps become ISO strings, as the SDK expects.
    const event = JSON.parse(JSON.stringify(this.invocationEvent())) as unknown;
    const requestId = randomUUID();
    const outcome = await this.host.runHandler(this, event, (running) => (this.running = running));
    this.running = undefined;
    if (this.status !== 'RUNNING') return; // stopped or timed out meanwhile: its terminal event is last
    const output = outcome.ok ? parseOutput(outcome.payload) : undefined;
    const invocationError: ErrorObject | undefined = !outcome.ok
      ? { ErrorType: outcome.error.errorType, ErrorMessage: outcome.error.errorMessage }
      : output
        ? undefined
        : {
            ErrorType: 'Runtime.InvalidResponse',
            ErrorMessage: 'The handler did not return a durable invocation output.',
          };
    this.record({
      EventType: 'InvocationCompleted',
      InvocationCompletedDetails: {
        StartTimestamp: startTimestamp,
        EndTimestamp: new Date(),
        RequestId: requestId,
        ...(invocationError ? { Error: { Payload: invocationError } } : {}),
      },
    });

    const checkpointed = this.checkpointedEnd;
    if (checkpointed) {
      this.endedByHandler = true;
      return this.finish(checkpointed.status, checkpointed);
    }
    if (invocationError || !output) {
      this.counters.failedInvocations++;
      // Lambda retries a failed invocation; a handler that keeps failing without getting anywhere fails
      // the execution. One that completed an operation before it died made progress: it starts a new count.
      this.failuresInARow = this.progressed ? 1 : this.failuresInARow + 1;
      if (this.failuresInARow >= LIMITS.invocationAttempts)
        return this.finish('FAILED', { error: invocationError! });
      // A token handed to the dead invocation must not be usable by anything it left behind.
      this.rotateToken();
      this.reinvoke = true;
      return;
    }
    this.failuresInARow = 0;
    if (output.Status !== 'PENDING') this.endedByHandler = true;
    if (output.Status === 'SUCCEEDED')
      return this.finish('SUCCEEDED', { ...(output.Result !== undefined ? { result: output.Result } : {}) });
    if (output.Status === 'FAILED')
      return this.finish('FAILED', { ...(output.Error ? { error: output.Error } : {}) });
    // PENDING: go on when something changed meanwhile; otherwise wait for a timer, callback or invoke.
    if (this.undelivered.size > 0) this.reinvoke = true;
    else if (![...this.ops.values()].some(isPendingOp)) {
      this.emptyPendingInARow++;
      if (this.emptyPendingInARow >= LIMITS.invocationAttempts) {
        return this.finish('FAILED', {
          error: {
            ErrorType: 'InvalidResponse',
            ErrorMessage: 'Cannot return PENDING status with no pending operations.',
          },
        });
      }
      this.reinvoke = true;
      return;
    }
    this.emptyPendingInARow = 0;
  }

  // ---- helpers ----

  /** Applies a change made outside the handler (timer, callback, chained invoke) and wakes the handler. */
  private externally(opId: string, change: (op: Operation) => void): void {
    const op = this.ops.get(opId);
    if (!op || this.status !== 'RUNNING') return;
    change(op);
    this.dirty.add(opId);
    this.undelivered.add(opId);
    // A running invocation sees the change in its next checkpoint response, or is followed by another.
    if (!this.invoking) void this.loop();
  }

  private end(op: Operation, status: Operation['Status'], at: Date): void {
    op.Status = status;
    op.EndTimestamp = at;
  }

  private arm(key: string, simulatedSeconds: number, fire: () => void): void {
    this.disarm(key);
    this.timers.set(
      key,
      setTimeout(() => {
        this.timers.delete(key);
        fire();
      }, this.host.time.toRealMs(simulatedSeconds)),
    );
  }

  private disarm(key: string): void {
    clearTimeout(this.timers.get(key));
    this.timers.delete(key);
  }

  private rotateToken(): string {
    this.token = Buffer.from(JSON.stringify({ e: this.id, n: randomUUID() })).toString('base64');
    return this.token;
  }

  private record(event: HistoryEvent): void {
    const cleaned = Object.fromEntries(Object.entries(event).filter(([, v]) => v !== undefined));
    this.events.push({ ...cleaned, EventId: this.events.length + 1, EventTimestamp: new Date() });
  }
}

/** The outcome a handler checkpointed as an EXECUTION update (a result too large for its response). */
export interface CheckpointedEnd {
  status: 'SUCCEEDED' | 'FAILED';
  result?: string;
  error?: ErrorObject;
}

export function checkpointedEndOf(u: OperationUpdate): CheckpointedEnd {
  return u.Action === 'SUCCEED'
    ? { status: 'SUCCEEDED', ...(u.Payload !== undefined ? { result: u.Payload } : {}) }
    : { status: 'FAILED', ...(u.Error ? { error: u.Error } : {}) };
}

export interface InvocationOutput {
  Status: 'SUCCEEDED' | 'FAILED' | 'PENDING';
  Result?: string;
  Error?: ErrorObject;
}

/** The durable output a handler returned ({Status, Result?, Error?}), or undefined when it is not one. */
export function parseOutput(payload: string): InvocationOutput | undefined {
  try {
    const value = JSON.parse(payload) as Partial<InvocationOutput> | null;
    if (value && (value.Status === 'SUCCEEDED' || value.Status === 'FAILED' || value.Status === 'PENDING')) {
      return value as InvocationOutput;
    }
  } catch {
    // not JSON: an invalid response, reported by the caller
  }
  return undefined;
}
