// How a durable invocation ends, as the handler reports it: its returned output ({Status, Result?,
// Error?}) or an EXECUTION update it checkpointed (a result too large for its response). The execution
// and its replay read both the same way.
import type { ErrorObject, OperationUpdate } from '@aws-sdk/client-lambda';
import type { InvocationOutcome } from './sandbox.ts';

/** The outcome a handler checkpointed as an EXECUTION update (a result too large for its response). */
export interface CheckpointedEnd {
  status: 'SUCCEEDED' | 'FAILED';
  result?: string;
  error?: ErrorObject;
}

export function checkpointedEndOf(u: OperationUpdate): CheckpointedEnd {
  return u.Action === 'SUCCEED'
    ? { status: 'SUCCEEDED', ...(u.Payload !== undefined ? { result: u.Payload } : {}) }
    : { status: 'FAILED', ...(u.Error ? { error: u.Error } : {}) };
}

export interface InvocationOutput {
  Status: 'SUCCEEDED' | 'FAILED' | 'PENDING';
  Result?: string;
  Error?: ErrorObject;
}

/** The durable output a handler returned ({Status, Result?, Error?}), or undefined when it is not one. */
export function parseOutput(payload: string): InvocationOutput | undefined {
  try {
    const value = JSON.parse(payload) as Partial<InvocationOutput> | null;
    if (value && (value.Status === 'SUCCEEDED' || value.Status === 'FAILED' || value.Status === 'PENDING')) {
      return value as InvocationOutput;
    }
  } catch {
    // not JSON: an invalid response, reported by the caller
  }
  return undefined;
}

/** An invocation's durable output, or the error it ended with (thrown, crashed, or not an output). */
export function readInvocation(outcome: InvocationOutcome): {
  output: InvocationOutput | undefined;
  error: ErrorObject | undefined;
} {
  if (!outcome.ok) {
    return {
      output: undefined,
      error: { ErrorType: outcome.error.errorType, ErrorMessage: outcome.error.errorMessage },
    };
  }
  const output = parseOutput(outcome.payload);
  return output
    ? { output, error: undefined }
    : {
        output,
        error: {
          ErrorType: 'Runtime.InvalidResponse',
          ErrorMessage: 'The handler did not return a durable invocation output.',
        },
      };
}
