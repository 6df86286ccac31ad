import { describe, expect, it } from 'vitest';
import { RETRYABLE_ERROR_NAMES, ThrottledError, InferenceError } from '../../shared/errors.ts';
import { delayAfterLook, pollDelaySeconds, retryOnNames, waitedBeforeLook, wholeSeconds } from './backoff.ts';

const S = { pollSeconds: 5, pollMaxSeconds: 60 };

describe('poll backoff', () => {
  it('doubles from pollSeconds up to pollMaxSeconds, in whole seconds of at least one', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => pollDelaySeconds(S, n))).toEqual([5, 10, 20, 40, 60, 60, 60]);
    expect(pollDelaySeconds({ pollSeconds: 0.2, pollMaxSeconds: 0.5 }, 1)).toBe(1);
    expect(wholeSeconds(2.1)).toBe(3);
  });

  it('stays inside the bound: the last delay is cut short, then no more looks', () => {
    const delays = [1, 2, 3, 4, 5, 6].map((n) => delayAfterLook(S, 100, n));
    expect(delays).toEqual([5, 10, 20, 40, 25, undefined]);
    expect(waitedBeforeLook(S, 100, 6)).toBe(100);
    expect(waitedBeforeLook(S, 100, 1)).toBe(0);
  });

  it('a 300 s start with the default settings is found InService on the 9th look', () => {
    const looks = Array.from({ length: 20 }, (_, i) => i + 1).find(
      (n) => waitedBeforeLook(S, 1800, n) >= 300,
    );
    expect(looks).toBe(9);
  });
});

describe('retryOnNames', () => {
  const named = (name: string) => Object.assign(new Error('x'), { name });

  it('retries every shared retryable name, by name alone, with the poll backoff', () => {
    const retry = retryOnNames(S, { boundSeconds: 1800 });
    for (const name of RETRYABLE_ERROR_NAMES) expect(retry(named(name), 1).shouldRetry).toBe(true);
    expect(retry(new ThrottledError('slow down'), 3)).toEqual({ shouldRetry: true, delay: { seconds: 20 } });
  });

  it('never retries a terminal name; an unnamed error only when asked to', () => {
    expect(retryOnNames(S, { boundSeconds: 1800 })(new InferenceError('bad'), 1).shouldRetry).toBe(false);
    expect(retryOnNames(S, { boundSeconds: 1800 })(new Error('ECONNRESET'), 1).shouldRetry).toBe(false);
    const bookkeeping = retryOnNames(S, { boundSeconds: 1800, alsoUnnamed: true });
    expect(bookkeeping(new Error('ECONNRESET'), 1).shouldRetry).toBe(true);
    expect(bookkeeping(new InferenceError('bad'), 1).shouldRetry).toBe(false);
  });

  it('stops at maxAttempts or when the bound is spent', () => {
    const retry = retryOnNames(S, { boundSeconds: 1800, maxAttempts: 3 });
    expect(retry(named('ThrottledError'), 2).shouldRetry).toBe(true);
    expect(retry(named('ThrottledError'), 3).shouldRetry).toBe(false);
    const bounded = retryOnNames(S, { boundSeconds: 15 });
    expect([1, 2, 3].map((n) => bounded(named('ContentionError'), n).shouldRetry)).toEqual([
      true,
      true,
      false,
    ]);
  });
});
