// Completing a waiting job: Step Functions task tokens and durable-function callbacks, behind one
// interface so the waker serves both orchestrators. An answer that says the waiter is gone (the
// execution ended, timed out or never existed) is 'gone': the waker drops that waiter instead of
// retrying it forever.
import { SendTaskFailureCommand, SendTaskSuccessCommand, type SFNClient } from '@aws-sdk/client-sfn';
import {
  SendDurableExecutionCallbackFailureCommand,
  SendDurableExecutionCallbackSuccessCommand,
  type LambdaClient,
} from '@aws-sdk/client-lambda';
import type { WaiterKind } from './endpoint-store.ts';

export type SendOutcome = 'sent' | 'gone';

export interface WaiterSender {
  succeed(token: string, output: unknown): Promise<SendOutcome>;
  fail(token: string, error: string, cause: string): Promise<SendOutcome>;
}

export type WaiterSenders = Partial<Record<WaiterKind, WaiterSender>>;

/** Errors that mean the waiter no longer exists, per service. */
const GONE: Record<WaiterKind, Set<string>> = {
  'sfn-task-token': new Set(['TaskDoesNotExist', 'InvalidToken', 'TaskTimedOut']),
  'durable-callback': new Set([
    'CallbackTimeoutException',
    'ResourceNotFoundException',
    'InvalidParameterValueException',
  ]),
};

async function send(kind: WaiterKind, call: () => Promise<unknown>): Promise<SendOutcome> {
  try {
    await call();
    return 'sent';
  } catch (err) {
    if (GONE[kind].has((err as Error).name)) return 'gone';
    throw err;
  }
}

/** SendTaskSuccess / SendTaskFailure for `.waitForTaskToken` tasks. */
export function stepFunctionsSender(client: SFNClient): WaiterSender {
  return {
    succeed: (token, output) =>
      send('sfn-task-token', () =>
        client.send(new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify(output) })),
      ),
    fail: (token, error, cause) =>
      send('sfn-task-token', () =>
        client.send(
          new SendTaskFailureCommand({
            taskToken: token,
            error: error.slice(0, 256),
            cause: cause.slice(0, 32_768),
          }),
        ),
      ),
  };
}

/** SendDurableExecutionCallbackSuccess / Failure for durable `waitForCallback`. */
export function durableCallbackSender(client: LambdaClient): WaiterSender {
  return {
    succeed: (token, output) =>
      send('durable-callback', () =>
        client.send(
          new SendDurableExecutionCallbackSuccessCommand({
            CallbackId: token,
            Result: new TextEncoder().encode(JSON.stringify(output)),
          }),
        ),
      ),
    fail: (token, error, cause) =>
      send('durable-callback', () =>
        client.send(
          new SendDurableExecutionCallbackFailureCommand({
            CallbackId: token,
            Error: { ErrorType: error, ErrorMessage: cause },
          }),
        ),
      ),
  };
}

/** Where a stored waiter lives: claiming it removes it (true for the one claim that won). */
export interface StoredWaiter {
  kind: WaiterKind;
  token: string;
  claim(): Promise<boolean>;
  /** Stores it again after a failed send, for the next delivery; absent: the caller registers again. */
  putBack?(): Promise<void>;
}

/**
 * Answers one stored waiter, for the mask's and the endpoint's waiters alike: claims it first, so of
 * concurrent answerers (duplicate events, a registration racing a waker) only the one whose claim
 * wins sends; a send that fails puts it back and rethrows, so the bus delivers again. 'taken' when
 * another answerer had claimed it. A kind without a sender throws before anything is claimed.
 */
export async function answerWaiter(
  senders: WaiterSenders,
  waiter: StoredWaiter,
  send: (sender: WaiterSender) => Promise<SendOutcome>,
): Promise<SendOutcome | 'taken'> {
  const sender = senders[waiter.kind];
  if (!sender) throw new Error(`no sender for waiter kind '${waiter.kind}' in this handler's dependencies`);
  if (!(await waiter.claim())) return 'taken';
  try {
    return await send(sender);
  } catch (err) {
    await waiter.putBack?.();
    throw err;
  }
}
