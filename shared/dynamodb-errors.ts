// DynamoDB's throttling and service failures under the shared error names. The SDK retries a
// throttled or failed call itself (a few attempts, milliseconds apart); once it gives up, the error
// reaches the activity under DynamoDB's own name, which neither orchestrator's Retry knows, so a hot
// endpoint item would fail the job. Named here, once, on the client, so every store (jobs, endpoint
// lifecycle, waiters) throws ThrottledError or ServiceUnavailableError and both orchestrators retry
// it by name with their backoff. Every other error (a failed condition above all) passes unchanged.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { isTransientAwsError, ServiceUnavailableError, ThrottledError } from './errors.ts';

/** DynamoDB's throttling errors (AWS's "Error handling with DynamoDB"; the SDK retries these too). */
export const DYNAMODB_THROTTLING = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
]);

/** The shared named error for a DynamoDB error the SDK gave up on, or the error itself. */
export function namedDynamoDBError(err: unknown, operation: string): unknown {
  const e = err as { name?: unknown; message?: unknown; $metadata?: { attempts?: number } } | null;
  const name = typeof e?.name === 'string' ? e.name : undefined;
  if (name === undefined) return err;
  const attempts = e?.$metadata?.attempts;
  const said = `DynamoDB ${operation}${attempts ? ` (${attempts} attempts)` : ''}: ${name}: ${typeof e?.message === 'string' ? e.message : ''}`;
  if (DYNAMODB_THROTTLING.has(name)) return new ThrottledError(said, { cause: err });
  if (isTransientAwsError(err)) return new ServiceUnavailableError(said, { cause: err });
  return err;
}

/** Makes every call of `client` (and of a document client built on it) throw the shared names. */
export function nameDynamoDBErrors(client: DynamoDBClient): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      try {
        return await next(args);
      } catch (err) {
        throw namedDynamoDBError(err, (context.commandName ?? 'call').replace(/Command$/, ''));
      }
    },
    // Outermost (initialize): it sees what is left once the SDK's own retries are spent.
    { step: 'initialize', name: 'nameDynamoDBErrors' },
  );
}
