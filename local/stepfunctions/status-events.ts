// The `Step Functions Execution Status Change` event Step Functions sends to the default bus when a
// Standard workflow's execution starts and when it ends (step-functions/latest/dg/cw-events.html):
// the envelope with source `aws.states` and the execution's ARN as its resource, and a detail that
// holds what DescribeExecution says, dates in epoch milliseconds, what the execution lacks as null.
import type {
  StepFunctionsExecutionStatusChangeDetail,
  StepFunctionsExecutionStatusChangeEvent,
} from '../../shared/aws-events.ts';
import type { Execution } from './execution.ts';

export function statusChangeEvent(
  execution: Execution,
  where: { region: string; account: string; at: Date },
): StepFunctionsExecutionStatusChangeEvent {
  const { settings } = execution;
  const detail: StepFunctionsExecutionStatusChangeDetail = {
    executionArn: settings.executionArn,
    stateMachineArn: settings.stateMachineArn,
    name: settings.name,
    status: execution.status,
    startDate: execution.startDate.getTime(),
    stopDate: execution.stopDate?.getTime() ?? null,
    input: settings.input,
    output: execution.output ?? null,
    inputDetails: { included: true },
    outputDetails: execution.output === undefined ? null : { included: true },
    error: execution.error ?? null,
    cause: execution.cause ?? null,
    redriveCount: 0,
    redriveDate: null,
    redriveStatus: 'NOT_REDRIVABLE',
    redriveStatusReason: `Execution is ${execution.status} and cannot be redriven`,
  };
  return {
    version: '0',
    id: crypto.randomUUID(),
    'detail-type': 'Step Functions Execution Status Change',
    source: 'aws.states',
    account: where.account,
    time: where.at.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: where.region,
    resources: [settings.executionArn],
    detail,
  };
}
