// What CheckpointDurableExecution refuses before it changes anything: malformed updates, actions an
// operation type does not have, updates to operations that already ended, and Lambda's size limits.
import type { Operation, OperationUpdate } from '@aws-sdk/client-lambda';
import { invalidParameter } from './errors.ts';

/** Lambda's limits that the service enforces on checkpoints. */
export const LIMITS = {
  operationPayloadBytes: 256 * 1024,
  errorBytes: 32 * 1024,
  operationsPerExecution: 3000,
  /**
   * Failed invocations in a row (throws, crashes, timeouts) with no operation completed in between,
   * before the execution fails.
   */
  invocationAttempts: 4,
} as const;

const ALLOWED_ACTIONS: Record<string, string[]> = {
  STEP: ['START', 'SUCCEED', 'FAIL', 'RETRY'],
  CONTEXT: ['START', 'SUCCEED', 'FAIL'],
  WAIT: ['START', 'CANCEL'],
  CALLBACK: ['START', 'CANCEL'],
  CHAINED_INVOKE: ['START', 'CANCEL'],
  EXECUTION: ['SUCCEED', 'FAIL'],
};

const bytes = (s: string | undefined): number => (s === undefined ? 0 : Buffer.byteLength(s));

/** Throws Lambda's InvalidParameterValueException for the first update `ops` cannot take. */
export function validateUpdates(updates: OperationUpdate[], ops: ReadonlyMap<string, Operation>): void {
  const seen = new Map<string, OperationUpdate>();
  updates.forEach((u, index) => {
    if (typeof u !== 'object' || u === null || typeof u.Id !== 'string' || !u.Type || !u.Action) {
      throw invalidParameter('Each update needs Id, Type and Action.');
    }
    if (u.Payload !== undefined && typeof u.Payload !== 'string')
      throw invalidParameter('Payload must be a string.');
    if (u.Error !== undefined && (typeof u.Error !== 'object' || u.Error === null)) {
      throw invalidParameter('Error must be an ErrorObject.');
    }
    if (!ALLOWED_ACTIONS[u.Type]?.includes(u.Action)) {
      throw invalidParameter(`Invalid action ${u.Action} for operation type ${u.Type}.`);
    }
    if (u.Type === 'EXECUTION' && index !== updates.length - 1) {
      throw invalidParameter('The EXECUTION update must be the last update of a checkpoint.');
    }
    if (bytes(u.Payload) > LIMITS.operationPayloadBytes) {
      throw invalidParameter(
        `Operation payload size ${bytes(u.Payload)} exceeds the limit of ${LIMITS.operationPayloadBytes} bytes.`,
      );
    }
    if (u.Error && bytes(JSON.stringify(u.Error)) > LIMITS.errorBytes) {
      throw invalidParameter(`Operation error size exceeds the limit of ${LIMITS.errorBytes} bytes.`);
    }
    if (u.ParentId && !ops.has(u.ParentId) && seen.get(u.ParentId)?.Type !== 'CONTEXT') {
      throw invalidParameter(`Parent operation ${u.ParentId} does not exist.`);
    }
    const existing = u.Type === 'EXECUTION' ? undefined : ops.get(u.Id);
    const earlier = seen.get(u.Id);
    if (earlier && !(earlier.Action === 'START' && u.Action !== 'START')) {
      throw invalidParameter(`Operation ${u.Id} appears more than once in the checkpoint.`);
    }
    if (u.Action === 'START' && existing) {
      if (u.Type !== 'STEP' || existing.Status !== 'READY') {
        throw invalidParameter(
          `Cannot start operation ${u.Id}: it already exists with status ${existing.Status}.`,
        );
      }
    }
    if (
      (u.Action === 'SUCCEED' || u.Action === 'FAIL' || u.Action === 'RETRY') &&
      existing &&
      !['STARTED', 'READY'].includes(existing.Status!)
    ) {
      throw invalidParameter(`Cannot ${u.Action} operation ${u.Id} with status ${existing.Status}.`);
    }
    if (u.Action === 'RETRY' && !u.StepOptions) throw invalidParameter('A RETRY update needs StepOptions.');
    seen.set(u.Id, u);
  });
  const newOps = updates.filter((u) => u.Action === 'START' && !ops.has(u.Id!)).length;
  if (ops.size - 1 + newOps > LIMITS.operationsPerExecution) {
    throw invalidParameter(`The execution exceeds the limit of ${LIMITS.operationsPerExecution} operations.`);
  }
}
