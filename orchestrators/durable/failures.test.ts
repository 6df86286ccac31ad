import {
  CallbackSubmitterError,
  CallbackTimeoutError,
  DurableOperationError,
  StepError,
} from '@aws/durable-execution-sdk-js';
import { describe, expect, it } from 'vitest';
import { EndpointFailedError, hasErrorName } from '../../shared/errors.ts';
import { durableErrorType, failureOfDurable, raise } from './failures.ts';

// The errors as the SDK builds them (dist/index.mjs: fromErrorObject and the child-context path).
const stepFailure = (name: string, message: string) =>
  DurableOperationError.fromErrorObject({ ErrorType: name, ErrorMessage: message });

describe('failureOfDurable', () => {
  it("a step's failure is the activity's own name and message, as rebuilt from the checkpoint", () => {
    const err = stepFailure('EndpointFailedError', 'endpoint failed to start: no capacity');
    expect(err).toBeInstanceOf(StepError);
    expect(failureOfDurable(err)).toEqual({
      error: 'EndpointFailedError',
      message: 'endpoint failed to start: no capacity',
    });
  });

  it('a plain error thrown by the workflow itself keeps its name', () => {
    expect(failureOfDurable(new EndpointFailedError('gone'))).toEqual({
      error: 'EndpointFailedError',
      message: 'gone',
    });
  });

  it('a submitter failure, whose name the child context dropped, is what is left: its type and message', () => {
    const inner = stepFailure('StepError', 'job j no longer holds a lease');
    const err = new CallbackSubmitterError(inner.message, inner);
    expect(durableErrorType(err)).toBe('CallbackSubmitterError');
    expect(failureOfDurable(err)).toEqual({
      error: 'CallbackSubmitterError',
      message: 'job j no longer holds a lease',
    });
  });

  it('tells a callback timeout by its error type', () => {
    expect(durableErrorType(new CallbackTimeoutError('Callback timed out'))).toBe('CallbackTimeoutError');
    expect(durableErrorType(new Error('x'))).toBeUndefined();
  });
});

describe('raise', () => {
  it('throws a shared name as that domain error, any other name as a plain error carrying it', () => {
    expect(() => raise({ error: 'EndpointFailedError', message: 'm' })).toThrow(
      expect.objectContaining({ name: 'EndpointFailedError', message: 'm' }) as Error,
    );
    let thrown: unknown;
    try {
      raise({ error: 'CallbackSubmitterError', message: 'm' });
    } catch (err) {
      thrown = err;
    }
    expect(hasErrorName(thrown, 'EndpointFailedError')).toBe(false);
    expect(thrown).toMatchObject({ name: 'CallbackSubmitterError', message: 'm' });
  });
});
