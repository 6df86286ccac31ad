// Named errors. The `name` strings are the contract between the domain code and both orchestrators:
// durable steps retry by name (createRetryStrategy's retryableErrorTypes) and the ASL's Retry/Catch
// match the same names in ErrorEquals (a Lambda task's error type is the thrown error's `name`).

export const ErrorNames = {
  Config: 'ConfigError',
  InvalidInput: 'InvalidInputError',
  JobTransition: 'JobTransitionError',
  MaskTimeout: 'MaskTimeoutError',
  EndpointNotReady: 'EndpointNotReadyError',
  EndpointFailed: 'EndpointFailedError',
  EndpointStopping: 'EndpointStoppingError',
  Throttled: 'ThrottledError',
  Capacity: 'CapacityError',
  Inference: 'InferenceError',
  InferenceInput: 'InferenceInputError',
} as const;
export type ErrorName = (typeof ErrorNames)[keyof typeof ErrorNames];

/** Errors worth retrying with backoff: the condition passes by itself. */
export const RETRYABLE_ERROR_NAMES: readonly ErrorName[] = [
  ErrorNames.EndpointNotReady,
  ErrorNames.EndpointStopping,
  ErrorNames.Throttled,
  ErrorNames.Capacity,
];

export abstract class DomainError extends Error {
  abstract override readonly name: ErrorName;
  /** Whether retrying the same call later can succeed. */
  abstract readonly retryable: boolean;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A setting is missing or malformed; the message names the setting. */
export class ConfigError extends DomainError {
  override readonly name = ErrorNames.Config;
  readonly retryable = false;
}

/** The upload or request is not something the workflow can process; the job ends REJECTED. */
export class InvalidInputError extends DomainError {
  override readonly name = ErrorNames.InvalidInput;
  readonly retryable = false;
}

/** A job was asked to move to a phase it has already passed, or out of an ending. */
export class JobTransitionError extends DomainError {
  override readonly name = ErrorNames.JobTransition;
  readonly retryable = false;
}

/** The mask did not arrive within the bounded wait. */
export class MaskTimeoutError extends DomainError {
  override readonly name = ErrorNames.MaskTimeout;
  readonly retryable = false;
}

/** The endpoint exists but is not InService yet. */
export class EndpointNotReadyError extends DomainError {
  override readonly name = ErrorNames.EndpointNotReady;
  readonly retryable = true;
}

/** The endpoint is being stopped; acquire again once it is Stopped. */
export class EndpointStoppingError extends DomainError {
  override readonly name = ErrorNames.EndpointStopping;
  readonly retryable = true;
}

/** The endpoint could not start (SageMaker's FailureReason is in the message). */
export class EndpointFailedError extends DomainError {
  override readonly name = ErrorNames.EndpointFailed;
  readonly retryable = false;
}

/** AWS throttled the call. */
export class ThrottledError extends DomainError {
  override readonly name = ErrorNames.Throttled;
  readonly retryable = true;
}

/** No GPU capacity (ResourceLimitExceeded, insufficient capacity). */
export class CapacityError extends DomainError {
  override readonly name = ErrorNames.Capacity;
  readonly retryable = true;
}

/** The model server failed while processing a valid request. */
export class InferenceError extends DomainError {
  override readonly name = ErrorNames.Inference;
  readonly retryable = false;
}

/** The model server rejected the request's inputs (HTTP 400): retrying cannot help. */
export class InferenceInputError extends DomainError {
  override readonly name = ErrorNames.InferenceInput;
  readonly retryable = false;
}

export function isRetryable(err: unknown): boolean {
  return err instanceof DomainError ? err.retryable : false;
}

/** A one-line description of any thrown value, for job reasons and error artifacts. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
