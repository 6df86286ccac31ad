// One durable execution as Lambda keeps it: one live checkpoint token, the checkpoint request that
// applies the handler's updates (validated in checkpoint-validation.ts, applied in
// operation-updates.ts, callbacks in execution-callbacks.ts), its end, and a single-flight invocation
// loop that re-invokes the handler whenever something it waits for has happened.
import { randomUUID } from 'node:crypto';
import type { ErrorObject, Event as HistoryEvent, Operation, OperationUpdate } from '@aws-sdk/client-lambda';
import type { Clock } from '../common/clock.ts';
import type { SpillStore } from '../common/spill-store.ts';
import { LIMITS, validateUpdates } from './checkpoint-validation.ts';
import { invalidParameter } from './errors.ts';
import { ExecutionCallbacks } from './execution-callbacks.ts';
import { ExecutionRecord, type ExecutionStatus } from './execution-record.ts';
import { checkpointedEndOf, readInvocation, type CheckpointedEnd } from './invocation-output.ts';
import { applyUpdate, type ChainedResult, type UpdateContext } from './operation-updates.ts';
import type { InvocationOutcome, RunningInvocation } from './sandbox.ts';
import { ClockTimers } from './clock-timers.ts';

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

/** What an execution needs from the service around it. */
export interface ExecutionHost {
  time: Clock;
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
  /** The qualifier it was invoked with (the alias, `1` or `$LATEST`), for the metrics' `Resource`. */
  qualifier?: string;
  input: string;
  executionTimeoutSeconds: number;
  retentionPeriodDays: number;
}

/** Thrown by a checkpoint whose invocation was killed on purpose: the HTTP layer drops the connection. */
export class InvocationKilled extends Error {
  override name = 'InvocationKilled';
}

export class DurableExecution {
  readonly id: string;
  readonly startTimestamp: Date;
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

  private readonly record: ExecutionRecord;
  private readonly timers: ClockTimers;
  private readonly callbacks: ExecutionCallbacks;
  private readonly updates: UpdateContext;
  private token = '';
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
    this.record = new ExecutionRecord(() => new Date(host.time.now()));
    this.startTimestamp = this.record.now();
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    this.timers = new ClockTimers(host.time);
    const externally = (opId: string, change: (op: Operation) => void) => this.externally(opId, change);
    this.callbacks = new ExecutionCallbacks({
      record: this.record,
      timers: this.timers,
      isRunning: () => this.status === 'RUNNING',
      externally,
      register: (callbackId, operationId) => host.registerCallback(callbackId, this, operationId),
      release: (callbackId) => host.releaseCallback(callbackId),
    });
    this.updates = {
      record: this.record,
      timers: this.timers,
      callbacks: this.callbacks,
      operationCreated: () => this.counters.operations++,
      externally,
      chainedInvoke: (functionName, payload) => host.chainedInvoke(functionName, payload, this),
    };
    this.record.ops.set(this.id, {
      Id: this.id,
      Type: 'EXECUTION',
      Status: 'STARTED',
      StartTimestamp: this.startTimestamp,
      ExecutionDetails: { InputPayload: spec.input },
    });
    this.rotateToken();
    this.record.record({
      EventType: 'ExecutionStarted',
      Id: this.id,
      Name: spec.name,
      ExecutionStartedDetails: {
        Input: { Payload: spec.input },
        ExecutionTimeout: spec.executionTimeoutSeconds,
      },
    });
    this.timers.arm('execution-timeout', spec.executionTimeoutSeconds, () =>
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
    return this.record.events;
  }

  /** The operations a handler sees: descendants of a completed child context are left out unless it replays children. */
  state(): Operation[] {
    return this.record.state();
  }

  operation(id: string): Operation | undefined {
    return this.record.ops.get(id);
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
    validateUpdates(updates, this.record.ops);
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
    for (const update of applied) {
      if (update.Type === 'EXECUTION') this.checkpointedEnd = checkpointedEndOf(update);
      else applyUpdate(update, this.updates);
    }
    if (applied.some((u) => u.Type !== 'EXECUTION' && (u.Action === 'SUCCEED' || u.Action === 'FAIL'))) {
      this.progressed = true;
    }
    if (crashAt >= 0) {
      // The sandbox dies while the step's result is on its way: that result never lands.
      this.running?.kill(`injected crash in step '${updates[crashAt]!.Name}'`);
      this.rotateToken();
      throw new InvocationKilled(`injected crash in step '${updates[crashAt]!.Name}'`);
    }

    const { dirty, undelivered, ops } = this.record;
    const operations = [...dirty].map((id) => ops.get(id)!);
    dirty.clear();
    undelivered.clear();
    const response: Record<string, unknown> = { NewExecutionState: { Operations: operations } };
    // After the terminal EXECUTION update Lambda hands out no further token.
    if (!this.checkpointedEnd) response.CheckpointToken = this.rotateToken();
    else this.token = '';
    if (clientToken) this.clientTokens.set(clientToken, response);
    return response;
  }

  // ---- Callbacks (SendDurableExecutionCallback*) ----

  /** Completes a callback; false when it is no longer open. */
  completeCallback(
    opId: string,
    status: 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT',
    result: string | undefined,
    error: ErrorObject | string | undefined,
  ): boolean {
    return this.callbacks.complete(opId, status, result, error);
  }

  /** Re-arms the heartbeat timer; false when the callback is no longer open. */
  heartbeat(opId: string): boolean {
    return this.callbacks.heartbeat(opId);
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
    this.endTimestamp = this.record.now();
    this.result = end.result;
    this.error = end.error;
    this.timers.clear();
    this.callbacks.closeAll();
    this.token = '';
    const execOp = this.record.ops.get(this.id)!;
    execOp.Status = status;
    execOp.EndTimestamp = this.endTimestamp;
    this.record.recordEnd({ Id: this.id, Name: this.spec.name }, status, end);
    this.resolveDone();
  }

  /** Moves an ended execution's operations and history to disk (see ExecutionRecord.spill). */
  spill(store: SpillStore): void {
    if (this.status === 'RUNNING') return;
    this.clientTokens.clear();
    this.record.spill(store);
  }

  /** Whether the operations and history wait on disk (see spill). */
  get onDisk(): boolean {
    return this.record.onDisk;
  }

  /** Lets go of what the execution spilled (its retention ended). */
  forget(): void {
    this.record.forget();
  }

  /** Cancels every timer (the service is stopping); the execution stays as it is. */
  dispose(): void {
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
    const startTimestamp = this.record.now();
    this.counters.invocations++;
    this.progressed = false;
    if (this.record.ops.size > 1) this.counters.replays++;
    this.record.undelivered.clear();
    // The event goes through JSON, so its timestamps become ISO strings, as the SDK expects.
    const event = JSON.parse(JSON.stringify(this.invocationEvent())) as unknown;
    const requestId = randomUUID();
    const outcome = await this.host.runHandler(this, event, (running) => (this.running = running));
    this.running = undefined;
    if (this.status !== 'RUNNING') return; // stopped or timed out meanwhile: its terminal event is last
    const { output, error: invocationError } = readInvocation(outcome);
    this.record.record({
      EventType: 'InvocationCompleted',
      InvocationCompletedDetails: {
        StartTimestamp: startTimestamp,
        EndTimestamp: this.record.now(),
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
    if (this.record.undelivered.size > 0) this.reinvoke = true;
    else if (!this.record.hasPendingOperation()) {
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

  /** Applies a change made outside the handler (timer, callback, chained invoke) and wakes the handler. */
  private externally(opId: string, change: (op: Operation) => void): void {
    const op = this.record.ops.get(opId);
    if (!op || this.status !== 'RUNNING') return;
    change(op);
    this.record.dirty.add(opId);
    this.record.undelivered.add(opId);
    // A running invocation sees the change in its next checkpoint response, or is followed by another.
    if (!this.invoking) void this.loop();
  }

  private rotateToken(): string {
    this.token = Buffer.from(JSON.stringify({ e: this.id, n: randomUUID() })).toString('base64');
    return this.token;
  }
}
