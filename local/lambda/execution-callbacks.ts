// The callbacks of one durable execution: a CallbackId minted when one starts (registered with the
// service, which routes SendDurableExecutionCallback* to it), its timeout and heartbeat timers, and
// how it closes (success, failure, timeout, cancel, the execution's end).
import { randomBytes } from 'node:crypto';
import type { ErrorObject, Event as HistoryEvent, Operation, OperationUpdate } from '@aws-sdk/client-lambda';
import type { ExecutionRecord } from './execution-record.ts';
import type { ClockTimers } from './clock-timers.ts';

export interface CallbackContext {
  readonly record: ExecutionRecord;
  readonly timers: ClockTimers;
  isRunning(): boolean;
  /** Applies a change made outside the handler and wakes the handler. */
  externally(opId: string, change: (op: Operation) => void): void;
  register(callbackId: string, operationId: string): void;
  release(callbackId: string): void;
}

export class ExecutionCallbacks {
  /** The open callbacks: operation id -> CallbackId. */
  private readonly ids = new Map<string, string>();

  constructor(private readonly ctx: CallbackContext) {}

  /** A CALLBACK update: START opens the callback, CANCEL closes it. */
  apply(op: Operation, u: OperationUpdate, base: HistoryEvent): void {
    const { record, timers } = this.ctx;
    if (u.Action === 'CANCEL') {
      this.close(op.Id!);
      record.end(op, 'CANCELLED', record.now());
      return;
    }
    const callbackId = randomBytes(24).toString('base64');
    const timeout = u.CallbackOptions?.TimeoutSeconds ?? 0;
    const heartbeat = u.CallbackOptions?.HeartbeatTimeoutSeconds ?? 0;
    op.CallbackDetails = { CallbackId: callbackId };
    this.ids.set(op.Id!, callbackId);
    this.ctx.register(callbackId, op.Id!);
    record.record({
      ...base,
      EventType: 'CallbackStarted',
      CallbackStartedDetails: { CallbackId: callbackId, Timeout: timeout, HeartbeatTimeout: heartbeat },
    });
    if (timeout > 0) {
      timers.arm(op.Id!, timeout, () => this.complete(op.Id!, 'TIMED_OUT', undefined, 'Callback timed out'));
    }
    if (heartbeat > 0) this.armHeartbeat(op.Id!, heartbeat);
  }

  /** Completes a callback; false when it is no longer open. */
  complete(
    opId: string,
    status: 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT',
    result: string | undefined,
    error: ErrorObject | string | undefined,
  ): boolean {
    const { record } = this.ctx;
    const op = record.ops.get(opId);
    if (!this.ctx.isRunning() || op?.Status !== 'STARTED') return false;
    const errorObject: ErrorObject | undefined =
      typeof error === 'string' ? { ErrorType: 'CallbackTimeout', ErrorMessage: error } : error;
    this.close(opId);
    this.ctx.externally(opId, (o) => {
      record.end(o, status, this.ctx.record.now());
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
        record.record({
          ...base,
          EventType: 'CallbackSucceeded',
          CallbackSucceededDetails: { Result: { Payload: result } },
        });
      } else if (status === 'FAILED') {
        record.record({
          ...base,
          EventType: 'CallbackFailed',
          CallbackFailedDetails: { Error: { Payload: errorObject } },
        });
      } else {
        record.record({
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
    const { record } = this.ctx;
    const op = record.ops.get(opId);
    if (!this.ctx.isRunning() || op?.Status !== 'STARTED') return false;
    // The callback's heartbeat timeout, as recorded when it started.
    const started = record.events.find((e) => e.EventType === 'CallbackStarted' && e.Id === opId);
    const seconds = started?.CallbackStartedDetails?.HeartbeatTimeout ?? 0;
    if (seconds > 0) this.armHeartbeat(opId, seconds);
    return true;
  }

  /** Closes every open callback (the execution ended). */
  closeAll(): void {
    for (const opId of [...this.ids.keys()]) this.close(opId);
  }

  private armHeartbeat(opId: string, seconds: number): void {
    this.ctx.timers.arm(`${opId}:heartbeat`, seconds, () =>
      this.complete(opId, 'TIMED_OUT', undefined, 'Callback timed out on heartbeat'),
    );
  }

  private close(opId: string): void {
    this.ctx.timers.disarm(opId);
    this.ctx.timers.disarm(`${opId}:heartbeat`);
    const callbackId = this.ids.get(opId);
    if (callbackId) this.ctx.release(callbackId);
    this.ids.delete(opId);
  }
}
