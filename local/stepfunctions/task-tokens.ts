// Task tokens of `.waitForTaskToken` Tasks: issued when the Task starts, completed by SendTaskSuccess
// or SendTaskFailure, kept alive by SendTaskHeartbeat; closed when the Task ends any other way, after
// which a send answers TaskTimedOut, as on AWS.
import { randomBytes } from 'node:crypto';
import type { Json } from './definition.ts';
import { SfnApiError, invalidToken, TaskError } from './errors.ts';

interface Waiter {
  resolve(output: Json): void;
  reject(error: Error): void;
  heartbeat(): void;
}

const TOKEN_PREFIX = 'local-sfn-token-';
/** The service's tokens: a fixed prefix and 48 random bytes, as opaque as AWS's (which are longer). */
const TOKEN_FORMAT = /^local-sfn-token-[A-Za-z0-9_-]{64}$/;

export class TaskTokens {
  private readonly open = new Map<string, Waiter>();
  private readonly closed = new Set<string>();

  issue(): string {
    return `${TOKEN_PREFIX}${randomBytes(48).toString('base64url')}`;
  }

  /** Waits for the token's outcome; `close` must be called when the Task ends. */
  wait(token: string, heartbeat: () => void): Promise<Json> {
    return new Promise((resolve, reject) => this.open.set(token, { resolve, reject, heartbeat }));
  }

  close(token: string): void {
    if (this.open.delete(token)) this.closed.add(token);
  }

  success(token: string, outputText: unknown): void {
    const waiter = this.find(token);
    let output: Json;
    try {
      output = JSON.parse(String(outputText)) as Json;
    } catch {
      throw new SfnApiError('InvalidOutput', 'Invalid Output: the output must be a JSON text');
    }
    this.close(token);
    waiter.resolve(output);
  }

  failure(token: string, error: unknown, cause: unknown): void {
    const waiter = this.find(token);
    this.close(token);
    waiter.reject(
      new TaskError(typeof error === 'string' ? error : '', typeof cause === 'string' ? cause : ''),
    );
  }

  heartbeat(token: string): void {
    this.find(token).heartbeat();
  }

  private find(token: unknown): Waiter {
    if (typeof token !== 'string' || !TOKEN_FORMAT.test(token)) throw invalidToken();
    const waiter = this.open.get(token);
    if (waiter) return waiter;
    if (this.closed.has(token)) {
      throw new SfnApiError(
        'TaskTimedOut',
        'Task Timed Out: the task associated with the token has already been closed',
      );
    }
    throw new SfnApiError('TaskDoesNotExist', 'Task Does Not Exist: the token matches no task');
  }
}
