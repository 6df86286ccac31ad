// Which execution owns each open CallbackId, so that SendDurableExecutionCallbackSuccess / Failure /
// Heartbeat reach it; a closed or unknown id gets Lambda's CallbackTimeoutException.
import type { ErrorObject } from '@aws-sdk/client-lambda';
import { invalidParameter, LambdaError } from './errors.ts';
import type { DurableExecution } from './execution.ts';

export const CALLBACK_RESULT_LIMIT = 256 * 1024;

export class CallbackRegistry {
  private readonly open = new Map<string, { execution: DurableExecution; operationId: string }>();

  register(callbackId: string, execution: DurableExecution, operationId: string): void {
    this.open.set(callbackId, { execution, operationId });
  }

  release(callbackId: string): void {
    this.open.delete(callbackId);
  }

  success(callbackId: string, result: Buffer): void {
    if (result.length > CALLBACK_RESULT_LIMIT) {
      throw invalidParameter(
        `Callback result size ${result.length} exceeds the limit of ${CALLBACK_RESULT_LIMIT} bytes.`,
      );
    }
    const { execution, operationId } = this.lookup(callbackId);
    execution.completeCallback(
      operationId,
      'SUCCEEDED',
      result.length > 0 ? result.toString('utf8') : undefined,
      undefined,
    );
  }

  failure(callbackId: string, error: ErrorObject): void {
    const { execution, operationId } = this.lookup(callbackId);
    execution.completeCallback(operationId, 'FAILED', undefined, error);
  }

  heartbeat(callbackId: string): void {
    const { execution, operationId } = this.lookup(callbackId);
    execution.heartbeat(operationId);
  }

  private lookup(callbackId: string): { execution: DurableExecution; operationId: string } {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(callbackId) || callbackId.length > 1024)
      throw invalidParameter('Invalid callback ID.');
    const callback = this.open.get(callbackId);
    if (!callback)
      throw new LambdaError(
        'CallbackTimeoutException',
        400,
        'The callback ID token has either expired or the callback associated with the token has already been closed.',
      );
    return callback;
  }
}
