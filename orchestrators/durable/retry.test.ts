import { describe, expect, it } from 'vitest';
import { RETRYABLE_ERROR_NAMES, ThrottledError, InvalidInputError } from '../../shared/errors.ts';
import { retryOnNames } from './retry.ts';

const S = { pollSeconds: 5, pollMaxSeconds: 60 };

describe('retryOnNames', () => {
  const named = (name: string) => Object.assign(new Error('x'), { name });

  it('retries every shared retryable name, by name alone, with the poll backoff', () => {
    const retry = retryOnNames(S, { boundSeconds: 1800 });
    for (const name of RETRYABLE_ERROR_NAMES) expect(retry(named(name), 1).shouldRetry).toBe(true);
    expect(retry(new ThrottledError('slow down'), 3)).toEqual({ shouldRetry: true, delay: { seconds: 20 } });
  });

  it('never retries a terminal name; an unnamed error only when asked to', () => {
    expect(retryOnNames(S, { boundSeconds: 1800 })(new InvalidInputError('bad'), 1).shouldRetry).toBe(false);
    expect(retryOnNames(S, { boundSeconds: 1800 })(new Error('ECONNRESET'), 1).shouldRetry).toBe(false);
    const bookkeeping = retryOnNames(S, { boundSeconds: 1800, alsoUnnamed: true });
    expect(bookkeeping(new Error('ECONNRESET'), 1).shouldRetry).toBe(true);
    expect(bookkeeping(new InvalidInputError('bad'), 1).shouldRetry).toBe(false);
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
