// What a failed job records, from what the durable SDK throws. A step's failure arrives as the SDK's
// StepError whose `cause` carries the activity's error name and message (checkpointed, so a replay
// rebuilds the same); callbacks and child contexts wrap it once more. The innermost named cause is
// the failure.
import { DomainError, failureOf, isErrorName, type Failure } from '../../shared/errors.ts';

const WRAPPERS = new Set([
  'StepError',
  'WaitForConditionError',
  'ChildContextError',
  'CallbackSubmitterError',
  'CallbackExternalError',
]);

/**
 * The job's Failure for any error the workflow caught: the innermost cause with a name of its own.
 * A failure that crossed a child context (a callback's submitter) has lost its name in the SDK's
 * serialization; then the outermost error type and the message are what is left.
 */
export function failureOfDurable(err: unknown): Failure {
  const typeOf = (e: unknown): unknown => {
    const o = e as { errorType?: unknown; name?: unknown } | null;
    return typeof o?.errorType === 'string' ? o.errorType : o?.name;
  };
  let node: unknown = err;
  for (let depth = 0; depth < 5; depth++) {
    const type = typeOf(node);
    if (typeof type !== 'string' || !WRAPPERS.has(type)) return failureOf(node);
    const cause = (node as { cause?: unknown }).cause;
    if (!(cause instanceof Error)) break;
    node = cause;
  }
  const outer = failureOf(err);
  const type = typeOf(err);
  return { error: typeof type === 'string' ? type : outer.error, message: outer.message };
}

/** Throws a Failure again as the named error it was (for failures carried through durable state). */
export function raise(failure: Failure): never {
  if (isErrorName(failure.error)) throw new DomainError(failure.error, failure.message);
  throw Object.assign(new Error(failure.message), { name: failure.error });
}

/** The SDK's error type of a callback or step failure (stable across replays, unlike its cause). */
export function durableErrorType(err: unknown): string | undefined {
  const e = err as { errorType?: unknown } | null;
  return typeof e?.errorType === 'string' ? e.errorType : undefined;
}
