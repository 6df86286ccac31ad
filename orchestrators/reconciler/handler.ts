// The job reconciler Lambda (a plain function, both orchestrators): the target of the rule on Step
// Functions' execution status changes (ABORTED, TIMED_OUT, FAILED) and of the scheduled rule that
// finds jobs whose execution the platform ended (durable executions send no event of their own).
// Wiring only: each event goes to shared/execution-endings.ts.
import type { StepFunctionsExecutionStatusChangeEvent } from '../../shared/aws-events.ts';
import { loadConfig } from '../../shared/config.ts';
import { createDeps } from '../../shared/deps.ts';
import { InvalidInputError } from '../../shared/errors.ts';
import { createExecutionEndings } from '../../shared/execution-endings.ts';
import { logger } from '../../shared/observability.ts';

const endings = createExecutionEndings(createDeps(loadConfig(), { log: (line) => logger.info(line) }));

export async function handler(event: unknown): Promise<string[]> {
  const detailType = (event as { 'detail-type'?: unknown } | null)?.['detail-type'];
  if (detailType === 'Step Functions Execution Status Change') {
    return [await endings.executionEnded(event as StepFunctionsExecutionStatusChangeEvent)];
  }
  if (detailType === 'Scheduled Event') return endings.reconcile();
  throw new InvalidInputError(
    `the reconciler takes 'Step Functions Execution Status Change' and 'Scheduled Event' events, not ${JSON.stringify(detailType ?? null)}`,
  );
}
