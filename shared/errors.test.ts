import { describe, expect, it } from 'vitest';
import * as errors from './errors.ts';
import { ERRORS, ErrorNames, RETRYABLE_ERROR_NAMES, TERMINAL_ERROR_NAMES, isRetryable } from './errors.ts';
import { mapInvokeError } from './inference.ts';

describe('the error contract', () => {
  it('declares each name once, with one retryability that every class and list agrees with', () => {
    const names = Object.keys(ERRORS);
    expect(Object.values(ErrorNames).sort()).toEqual([...names].sort());
    expect([...RETRYABLE_ERROR_NAMES, ...TERMINAL_ERROR_NAMES].sort()).toEqual([...names].sort());
    for (const name of names) {
      const Class = (errors as unknown as Record<string, new (m: string) => errors.DomainError>)[name];
      expect(Class, `class ${name}`).toBeDefined();
      const err = new Class!('x');
      expect(err.name).toBe(name);
      expect(err.retryable).toBe(ERRORS[name as errors.ErrorName].retryable);
      // Retryability is judged by name alone: what survives a checkpoint or a task failure.
      expect(isRetryable({ name, message: 'x' })).toBe(err.retryable);
    }
    expect(isRetryable(new Error('plain'))).toBe(false);
    expect(isRetryable(undefined)).toBe(false);
  });
});

describe('InvokeEndpoint answers mapped to the shared names', () => {
  const sdkError = (name: string, extra: Record<string, unknown> = {}) =>
    Object.assign(new Error(`${name} message`), { name, ...extra });

  it.each([
    ['ThrottlingException', {}, 'ThrottledError'],
    ['ServiceUnavailable', {}, 'ServiceUnavailableError'],
    ['TimeoutError', { message: 'socket hang up' }, 'ServiceUnavailableError'],
    ['ModelNotReadyException', {}, 'EndpointNotReadyError'],
    ['ValidationError', { message: 'Endpoint x of account 1 not found.' }, 'EndpointNotReadyError'],
    ['ValidationError', { message: 'Body is too large' }, 'InferenceInputError'],
    [
      'ModelError',
      { OriginalStatusCode: 400, OriginalMessage: '{"error":{"code":"EmptyMask","message":"m"}}' },
      'InferenceInputError',
    ],
    ['ModelError', { OriginalStatusCode: 429 }, 'ThrottledError'],
    ['ModelError', { OriginalStatusCode: 500 }, 'InferenceError'],
    ['ModelError', { OriginalStatusCode: 0 }, 'InferenceError'],
    ['InternalFailure', {}, 'ServiceUnavailableError'],
  ])('%s %j → %s', (name, extra, expected) => {
    const mapped = mapInvokeError(sdkError(name, extra), 'gpu-sf');
    expect(mapped.name).toBe(expected);
  });

  it("keeps the model server's own code in the message", () => {
    const mapped = mapInvokeError(
      sdkError('ModelError', {
        OriginalStatusCode: 400,
        OriginalMessage: '{"error":{"code":"EmptyMask","message":"the mask is empty"}}',
      }),
      'gpu-sf',
    );
    expect(mapped.message).toContain('EmptyMask: the mask is empty');
  });
});
