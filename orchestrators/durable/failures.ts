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

/** The job's Failure for any error the workflow caught. */
export function failureOfDurable(err: unknown): Failure {
  let node: unknown = err;
  for (let depth = 0; depth < 5; depth++) {
    const e = node as { name?: unknown; errorType?: unknown; cause?: unknown } | null;
    const type = typeof e?.errorType === 'string' ? e.errorType : e?.name;
    if (typeof type !== 'string' || !WRAPPERS.has(type) || !(e?.cause instanceof Error)) break;
    node = e.cause;
  }
  return failureOf(node);
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
