// Where a job's execution stands, read from its own service by the ARN the job records
// (`createdBy`): Step Functions' DescribeExecution or Lambda's GetDurableExecution. The reconciler
// (shared/execution-endings.ts) asks this of every job that has not ended.
import { GetDurableExecutionCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { DescribeExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { Orchestrator } from './keys.ts';

/** An execution as its service reports it: `status` in the service's own words. */
export interface ExecutionStatus {
  status: string;
  running: boolean;
  error?: string;
  cause?: string;
}

export interface ExecutionStatusReader {
  /** The execution's status; `unknown` when the ARN is not one of that service's executions, or it has none such. */
  read(orchestrator: Orchestrator, arn: string): Promise<ExecutionStatus | 'unknown'>;
}

const SFN_EXECUTION = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:execution:[^:]+:[^:]+$/;
const DURABLE_EXECUTION =
  /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[^:]+:[^/]+\/durable-execution\//;

/** Whether `arn` names an execution of the orchestrator's kind (a test's holder names none). */
export function isExecutionArn(orchestrator: Orchestrator, arn: string | undefined): arn is string {
  return arn !== undefined && (orchestrator === 'sf' ? SFN_EXECUTION : DURABLE_EXECUTION).test(arn);
}

export function awsExecutionStatus(clients: { sfn: SFNClient; lambda: LambdaClient }): ExecutionStatusReader {
  return {
    async read(orchestrator, arn) {
      if (!isExecutionArn(orchestrator, arn)) return 'unknown';
      try {
        if (orchestrator === 'sf') {
          const out = await clients.sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
          const status = out.status ?? 'RUNNING';
          return {
            status,
            running: status === 'RUNNING' || status === 'PENDING_REDRIVE',
            ...(out.error ? { error: out.error } : {}),
            ...(out.cause ? { cause: out.cause } : {}),
          };
        }
        // With its execution data: the error is part of it (the input is the small upload event).
        const out = await clients.lambda.send(new GetDurableExecutionCommand({ DurableExecutionArn: arn }));
        const status = out.Status ?? 'RUNNING';
        return {
          status,
          running: status === 'RUNNING',
          ...(out.Error?.ErrorType ? { error: out.Error.ErrorType } : {}),
          ...(out.Error?.ErrorMessage ? { cause: out.Error.ErrorMessage } : {}),
        };
      } catch (err) {
        // Past its retention (or never one): nothing runs it.
        const name = (err as Error).name;
        if (name === 'ExecutionDoesNotExist' || name === 'ResourceNotFoundException') return 'unknown';
        throw err;
      }
    },
  };
}
