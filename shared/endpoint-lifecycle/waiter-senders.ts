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
