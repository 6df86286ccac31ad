// The waiting arithmetic of the workflow, as pure functions of the look count: capped exponential
// backoff (pollSeconds doubled per look up to pollMaxSeconds) inside an overall bound. Everything is
// in simulated seconds (the durable service scales them), computed from the attempt number alone, so a
// replay or a retried check always reaches the same decision; no clock is read.
import type { RetryDecision } from '@aws/durable-execution-sdk-js';
import type { Config } from '../../shared/config.ts';
import { ERRORS, isErrorName, RETRYABLE_ERROR_NAMES } from '../../shared/errors.ts';

export type PollSettings = Pick<Config, 'pollSeconds' | 'pollMaxSeconds'>;

/** Whole seconds, at least 1: durable durations are positive integers. */
export function wholeSeconds(seconds: number): number {
  return Math.max(1, Math.ceil(seconds));
}

/** The uncapped-by-bound delay after look `n` (1-based). */
export function pollDelaySeconds(s: PollSettings, n: number): number {
  return wholeSeconds(Math.min(s.pollMaxSeconds, s.pollSeconds * 2 ** (n - 1)));
}

/**
 * The delay after look `n` within `boundSeconds` of waiting in all, or undefined when the bound is
 * spent (the last delay is shortened so the final look lands on the bound).
 */
export function delayAfterLook(s: PollSettings, boundSeconds: number, n: number): number | undefined {
  let elapsed = 0;
  for (let i = 1; ; i++) {
    const remaining = Math.floor(boundSeconds - elapsed);
    if (remaining < 1) return undefined;
    const delay = Math.min(pollDelaySeconds(s, i), remaining);
    if (i === n) return delay;
    elapsed += delay;
  }
}

/** Seconds waited before look `n` (the sum of the delays after looks 1 … n-1). */
export function waitedBeforeLook(s: PollSettings, boundSeconds: number, n: number): number {
  let waited = 0;
  for (let i = 1; i < n; i++) waited += delayAfterLook(s, boundSeconds, i) ?? 0;
  return waited;
}

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
