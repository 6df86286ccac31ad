// The workflow's step retry strategies, by error name: the shared retryable names are retried with the
// shared backoff (shared/backoff.ts), from the attempt number alone, so a replay decides the same.
import type { RetryDecision } from '@aws/durable-execution-sdk-js';
import { delayAfterLook, type PollSettings } from '../../shared/backoff.ts';
import { ERRORS, isErrorName, RETRYABLE_ERROR_NAMES } from '../../shared/errors.ts';

/** The name an error is matched by (errors.ts: by `name` only, never `instanceof`). */
export function errorNameOf(error: unknown): string {
  const name = (error as { name?: unknown } | null)?.name;
  return typeof name === 'string' ? name : 'Error';
}

/** True for a name in the shared table that retrying cannot help. */
export function isTerminalName(name: string): boolean {
  return isErrorName(name) && !ERRORS[name].retryable;
}

type RetryStrategy = (error: Error, attempt: number) => RetryDecision;

/**
 * A step retry strategy that retries the shared retryable names (errors.ts RETRYABLE_ERROR_NAMES)
 * with the poll backoff, until `boundSeconds` of retry delays or `maxAttempts` are spent. The SDK's
 * `createRetryStrategy({ retryableErrorTypes })` matches with `instanceof`, which a name-only contract
 * cannot use, so the match is made here by name. `alsoUnnamed` also retries errors outside the
 * shared table (a dropped connection, an SDK error nobody mapped): for the bookkeeping steps that
 * must land for the job to end in a recorded state.
 */
export function retryOnNames(
  s: PollSettings,
  {
    boundSeconds,
    maxAttempts = Infinity,
    alsoUnnamed = false,
  }: {
    boundSeconds: number;
    maxAttempts?: number;
    alsoUnnamed?: boolean;
  },
): RetryStrategy {
  return (error, attempt) => {
    const name = errorNameOf(error);
    const retryable =
      (RETRYABLE_ERROR_NAMES as readonly string[]).includes(name) || (alsoUnnamed && !isErrorName(name));
    if (!retryable || attempt >= maxAttempts) return { shouldRetry: false };
    const delay = delayAfterLook(s, boundSeconds, attempt);
    return delay === undefined ? { shouldRetry: false } : { shouldRetry: true, delay: { seconds: delay } };
  };
}
