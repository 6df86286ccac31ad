// How each checkpointed operation update changes the execution, as Lambda applies it: the operation's
// new status and details, the history events it writes, and the timers (step retries, waits) or
// chained invokes it starts. EXECUTION updates are the execution's own (see execution.ts).
import type { ErrorObject, Event as HistoryEvent, Operation, OperationUpdate } from '@aws-sdk/client-lambda';
import type { ExecutionCallbacks } from './execution-callbacks.ts';
import type { ExecutionRecord } from './execution-record.ts';
import type { ClockTimers } from './clock-timers.ts';

export interface ChainedResult {
  result?: string;
  error?: ErrorObject;
  durableExecutionArn?: string;
}

export interface UpdateContext {
  readonly record: ExecutionRecord;
  readonly timers: ClockTimers;
  readonly callbacks: ExecutionCallbacks;
  /** Counts an operation the handler created. */
  operationCreated(): void;
  /** Applies a change made outside the handler (timer, callback, chained invoke) and wakes the handler. */
  externally(opId: string, change: (op: Operation) => void): void;
  chainedInvoke(functionName: string, payload: string | undefined): Promise<ChainedResult>;
}

/** Applies one validated update of any type but EXECUTION. */
export function applyUpdate(u: OperationUpdate, ctx: UpdateContext): void {
  const now = ctx.record.now();
  const id = u.Id!;
  const { record } = ctx;
  let op = record.ops.get(id);
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
    record.ops.set(id, op);
    ctx.operationCreated();
  }
  record.dirty.add(id);
  const base = { SubType: u.SubType, Id: id, Name: u.Name, ParentId: u.ParentId };
  switch (u.Type) {
    case 'STEP':
      return applyStep(op, u, base, now, ctx);
    case 'CONTEXT':
      return applyContext(op, u, base, now, record);
    case 'WAIT':
      return applyWait(op, u, base, now, ctx);
    case 'CALLBACK':
      return ctx.callbacks.apply(op, u, base);
    case 'CHAINED_INVOKE':
      return applyChainedInvoke(op, u, base, ctx);
  }
}

function applyStep(
  op: Operation,
  u: OperationUpdate,
  base: HistoryEvent,
  now: Date,
  ctx: UpdateContext,
): void {
  const { record } = ctx;
  const attempt = op.StepDetails?.Attempt ?? 0;
  if (u.Action === 'START') {
    op.Status = 'STARTED';
    op.StepDetails = { ...op.StepDetails, Attempt: attempt };
    return record.record({ ...base, EventType: 'StepStarted', StepStartedDetails: {} });
  }
  const retryDetails = {
    CurrentAttempt: attempt + 1,
    ...(u.Action === 'RETRY' ? { NextAttemptDelaySeconds: u.StepOptions?.NextAttemptDelaySeconds ?? 0 } : {}),
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
    ctx.timers.arm(op.Id!, delay, () => ctx.externally(op.Id!, (o) => (o.Status = 'READY')));
  } else {
    record.end(op, u.Action === 'SUCCEED' ? 'SUCCEEDED' : 'FAILED', now);
    op.StepDetails = {
      Attempt: attempt + 1,
      ...(u.Action === 'SUCCEED' ? { Result: u.Payload } : { Error: u.Error }),
    };
  }
  if (u.Error) {
    record.record({
      ...base,
      EventType: 'StepFailed',
      StepFailedDetails: { Error: { Payload: u.Error }, RetryDetails: retryDetails },
    });
  } else {
    record.record({
      ...base,
      EventType: 'StepSucceeded',
      StepSucceededDetails: { Result: { Payload: u.Payload }, RetryDetails: retryDetails },
    });
  }
}

function applyContext(
  op: Operation,
  u: OperationUpdate,
  base: HistoryEvent,
  now: Date,
  record: ExecutionRecord,
): void {
  if (u.Action === 'START')
    return record.record({ ...base, EventType: 'ContextStarted', ContextStartedDetails: {} });
  record.end(op, u.Action === 'SUCCEED' ? 'SUCCEEDED' : 'FAILED', now);
  op.ContextDetails = {
    ...(u.ContextOptions?.ReplayChildren ? { ReplayChildren: true } : {}),
    ...(u.Action === 'SUCCEED' ? { Result: u.Payload } : { Error: u.Error }),
  };
  return u.Action === 'SUCCEED'
    ? record.record({
        ...base,
        EventType: 'ContextSucceeded',
        ContextSucceededDetails: { Result: { Payload: u.Payload } },
      })
    : record.record({
        ...base,
        EventType: 'ContextFailed',
        ContextFailedDetails: { Error: { Payload: u.Error } },
      });
}

function applyWait(
  op: Operation,
  u: OperationUpdate,
  base: HistoryEvent,
  now: Date,
  ctx: UpdateContext,
): void {
  const { record } = ctx;
  const seconds = u.WaitOptions?.WaitSeconds ?? 0;
  if (u.Action === 'CANCEL') {
    ctx.timers.disarm(op.Id!);
    record.end(op, 'CANCELLED', now);
    return record.record({ ...base, EventType: 'WaitCancelled', WaitCancelledDetails: {} });
  }
  // When the wait would end on AWS. The SDK compares it with its remaining time to decide whether
  // to suspend, so it stays unscaled: the SDK decides as it would on AWS, and the service's timer
  // (on the time scale) ends the wait early and re-invokes.
  const scheduled = new Date(now.getTime() + seconds * 1000);
  op.WaitDetails = { ScheduledEndTimestamp: scheduled };
  record.record({
    ...base,
    EventType: 'WaitStarted',
    WaitStartedDetails: { Duration: seconds, ScheduledEndTimestamp: scheduled },
  });
  ctx.timers.arm(op.Id!, seconds, () =>
    ctx.externally(op.Id!, (o) => {
      record.end(o, 'SUCCEEDED', ctx.record.now());
      record.record({ ...base, EventType: 'WaitSucceeded', WaitSucceededDetails: { Duration: seconds } });
    }),
  );
}

function applyChainedInvoke(op: Operation, u: OperationUpdate, base: HistoryEvent, ctx: UpdateContext): void {
  const { record } = ctx;
  if (u.Action === 'CANCEL') {
    record.end(op, 'CANCELLED', ctx.record.now());
    return;
  }
  const functionName = u.ChainedInvokeOptions?.FunctionName ?? '';
  const started: HistoryEvent = {
    ...base,
    EventType: 'ChainedInvokeStarted',
    ChainedInvokeStartedDetails: { FunctionName: functionName, Input: { Payload: u.Payload } },
  };
  record.record(started);
  void ctx.chainedInvoke(functionName, u.Payload).then((outcome) => {
    if (outcome.durableExecutionArn)
      started.ChainedInvokeStartedDetails!.DurableExecutionArn = outcome.durableExecutionArn;
    ctx.externally(op.Id!, (o) => {
      if (o.Status !== 'STARTED') return;
      const ok = outcome.error === undefined;
      record.end(o, ok ? 'SUCCEEDED' : 'FAILED', ctx.record.now());
      o.ChainedInvokeDetails = ok ? { Result: outcome.result } : { Error: outcome.error };
      record.record(
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
