// Named errors, declared once. The `name` strings are the contract between the domain code and both
// orchestrators: durable steps retry by name (createRetryStrategy's retryableErrorTypes) and the ASL's
// Retry/Catch match the same names in ErrorEquals (a Lambda task's error type is the thrown error's
// `name`). Whether an error is worth retrying is said here, in ERRORS, and nowhere else; code matches
// errors by `name` only (never `instanceof`), because a name is all that survives a checkpoint, a
// task failure or a callback.

/** Every named error, and whether retrying the same call later can succeed. */
export const ERRORS = {
  /** A setting is missing or malformed; the message names the setting. */
  ConfigError: { retryable: false },
  /** The upload or request is not something the workflow can process; the job ends REJECTED. */
  InvalidInputError: { retryable: false },
  /** A job was asked to move out of an ending, or was never admitted. */
  JobTransitionError: { retryable: false },
  /** The mask did not arrive within the bounded wait. */
  MaskTimeoutError: { retryable: false },
  /** The endpoint exists but cannot serve yet (not InService, model not ready). */
  EndpointNotReadyError: { retryable: true },
  /** The endpoint is being stopped, or the previous generation is still deleting; try again shortly. */
  EndpointStoppingError: { retryable: true },
  /** The endpoint could not start (SageMaker's FailureReason is in the message). */
  EndpointFailedError: { retryable: false },
  /** The endpoint did not reach InService within the bounded wait. */
  EndpointTimeoutError: { retryable: false },
  /** The job's lease on the endpoint is gone (expired, or its generation failed or stopped). */
  LeaseLostError: { retryable: false },
  /** Too many concurrent transitions on one item; the next attempt settles it. */
  ContentionError: { retryable: true },
  /** AWS throttled the call. */
  ThrottledError: { retryable: true },
  /** AWS did not answer (a dropped connection, a 5xx): the next attempt may get through. */
  ServiceUnavailableError: { retryable: true },
  /** No GPU capacity (ResourceLimitExceeded, insufficient capacity). */
  CapacityError: { retryable: true },
  /**
   * The model server failed on a valid request (it answered 5xx, or nothing before SageMaker's
   * timeout, or died mid-call): a container that errs, hangs or is replaced often serves the next
   * attempt, so it is retried like the others, within their bounded attempts; then the job fails.
   */
  InferenceError: { retryable: true },
  /** The model server rejected the request's inputs (HTTP 400): retrying cannot help. */
  InferenceInputError: { retryable: false },
  /** The platform ended the job's execution (stopped, timed out, failed outside the workflow). */
  ExecutionEndedError: { retryable: false },
} as const satisfies Record<string, { retryable: boolean }>;

export type ErrorName = keyof typeof ERRORS;

/** The names, as constants: `ErrorNames.Throttled === 'ThrottledError'`. */
export const ErrorNames = {
  Config: 'ConfigError',
  InvalidInput: 'InvalidInputError',
  JobTransition: 'JobTransitionError',
  MaskTimeout: 'MaskTimeoutError',
  EndpointNotReady: 'EndpointNotReadyError',
  EndpointStopping: 'EndpointStoppingError',
  EndpointFailed: 'EndpointFailedError',
  EndpointTimeout: 'EndpointTimeoutError',
  LeaseLost: 'LeaseLostError',
  Contention: 'ContentionError',
  Throttled: 'ThrottledError',
  ServiceUnavailable: 'ServiceUnavailableError',
  Capacity: 'CapacityError',
  Inference: 'InferenceError',
  InferenceInput: 'InferenceInputError',
  ExecutionEnded: 'ExecutionEndedError',
} as const satisfies Record<string, ErrorName>;

/** The names worth retrying with backoff (durable retry strategies, ASL Retry), derived from ERRORS. */
export const RETRYABLE_ERROR_NAMES: readonly ErrorName[] = (Object.keys(ERRORS) as ErrorName[]).filter(
  (name) => ERRORS[name].retryable,
);

/** The names that end a job at once when thrown (ASL Catch, durable failure path). */
export const TERMINAL_ERROR_NAMES: readonly ErrorName[] = (Object.keys(ERRORS) as ErrorName[]).filter(
  (name) => !ERRORS[name].retryable,
);

export function isErrorName(name: unknown): name is ErrorName {
  return typeof name === 'string' && Object.hasOwn(ERRORS, name);
}

/** Whether retrying can help, judged by the error's name alone. */
export function isRetryable(err: unknown): boolean {
  const name = (err as { name?: unknown } | null)?.name;
  return isErrorName(name) && ERRORS[name].retryable;
}

/** True when `err` carries the named error's `name` (the one way errors are matched). */
export function hasErrorName(err: unknown, name: ErrorName): boolean {
  return (err as { name?: unknown } | null)?.name === name;
}

/** A domain error: its `name` is one of ERRORS and its retryability comes from there. */
export class DomainError extends Error {
  override readonly name: ErrorName;
  constructor(name: ErrorName, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = name;
  }
  get retryable(): boolean {
    return ERRORS[this.name].retryable;
  }
}

function named(name: ErrorName) {
  return class extends DomainError {
    constructor(message: string, options?: { cause?: unknown }) {
      super(name, message, options);
    }
  };
}

export const ConfigError = named('ConfigError');
export const InvalidInputError = named('InvalidInputError');
export const JobTransitionError = named('JobTransitionError');
export const MaskTimeoutError = named('MaskTimeoutError');
export const EndpointNotReadyError = named('EndpointNotReadyError');
export const EndpointStoppingError = named('EndpointStoppingError');
export const EndpointFailedError = named('EndpointFailedError');
export const EndpointTimeoutError = named('EndpointTimeoutError');
export const LeaseLostError = named('LeaseLostError');
export const ContentionError = named('ContentionError');
export const ThrottledError = named('ThrottledError');
export const ServiceUnavailableError = named('ServiceUnavailableError');

/**
 * Whether an AWS SDK error says the service was not reached or failed on its side (network errors,
 * timeouts, 5xx), as opposed to refusing the request: worth another attempt.
 */
export function isTransientAwsError(err: unknown): boolean {
  const e = err as {
    name?: string;
    code?: string;
    message?: string;
    $metadata?: { httpStatusCode?: number };
  };
  if (e?.name === undefined) return false;
  if (
    [
      'TimeoutError',
      'RequestTimeout',
      'InternalFailure',
      'InternalServerError',
      'ServiceUnavailable',
    ].includes(e.name)
  )
    return true;
  if (['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT'].includes(e.code ?? '')) return true;
  if (/socket hang up/i.test(e.message ?? '')) return true;
  return (e.$metadata?.httpStatusCode ?? 0) >= 500;
}
export const CapacityError = named('CapacityError');
export const InferenceError = named('InferenceError');
export const InferenceInputError = named('InferenceInputError');
export const ExecutionEndedError = named('ExecutionEndedError');

/** What a failed job records and reports: the error's name and message, nothing else survives. */
export interface Failure {
  error: string;
  message: string;
}

/** The Failure of any thrown value. */
export function failureOf(err: unknown): Failure {
  if (err instanceof Error) return { error: err.name, message: err.message };
  const e = err as { name?: unknown; message?: unknown; errorType?: unknown; errorMessage?: unknown } | null;
  if (e && typeof e === 'object') {
    const error = e.name ?? e.errorType;
    const message = e.message ?? e.errorMessage;
    if (typeof error === 'string') return { error, message: typeof message === 'string' ? message : '' };
  }
  return { error: 'Error', message: String(err) };
}

/** A one-line description of any thrown value, for job reasons and error artifacts. */
export function describeError(err: unknown): string {
  const f = failureOf(err);
  return f.message ? `${f.error}: ${f.message}` : f.error;
}
