// The EventBridge rules of the project, defined once: the CDK stack deploys these patterns and the
// local event bus routes with the very same ones, so local routing is the deployed routing.
import { IMAGE_SUFFIX, MASK_SUFFIX } from './keys.ts';

export type RuleDefinition = {
  /** Stable name, also the local rule's name. */
  name: string;
  description: string;
} & (
  | { eventPattern: Record<string, unknown>; scheduleExpression?: undefined }
  /** A scheduled rule: EventBridge sends its targets a `Scheduled Event` each period. */
  | { scheduleExpression: string; eventPattern?: undefined }
);

/**
 * S3 `Object Created` for an image in the uploads bucket: starts both orchestrators. Only the suffix
 * is filtered; a key in the wrong place still starts them, so it ends as a REJECTED job with its
 * reason instead of vanishing unseen. Masks do not match: the workflow waits for its mask itself.
 */
export function uploadRule(bucketName: string): RuleDefinition {
  return {
    name: 'image-uploaded',
    description: 'An image upload starts both orchestrators',
    eventPattern: {
      source: ['aws.s3'],
      'detail-type': ['Object Created'],
      detail: { bucket: { name: [bucketName] }, object: { key: [{ suffix: IMAGE_SUFFIX }] } },
    },
  };
}

/**
 * S3 `Object Created` for a mask: wakes the jobs waiting for it (event wait mode). In poll mode nobody
 * waits on it and the waker finds no waiter, at the price of one query.
 */
export function maskUploadRule(bucketName: string): RuleDefinition {
  return {
    name: 'mask-uploaded',
    description: 'A mask upload wakes the jobs waiting for it',
    eventPattern: {
      source: ['aws.s3'],
      'detail-type': ['Object Created'],
      detail: { bucket: { name: [bucketName] }, object: { key: [{ suffix: MASK_SUFFIX }] } },
    },
  };
}

/** SageMaker `Endpoint State Change` for the project's endpoints: wakes the waiters (event wait mode). */
export function endpointStateRule(endpointNamePrefix: string): RuleDefinition {
  return {
    name: 'endpoint-state-changed',
    description: 'SageMaker endpoint status changes wake the jobs waiting for the endpoint',
    eventPattern: {
      source: ['aws.sagemaker'],
      'detail-type': ['SageMaker Endpoint State Change'],
      detail: { EndpointName: [{ prefix: endpointNamePrefix }] },
    },
  };
}

/**
 * Step Functions `Execution Status Change` for an execution that the platform ended or that failed
 * (ABORTED, TIMED_OUT, FAILED): the job is recorded FAILED from outside when its workflow did not
 * record it (shared/execution-endings.ts). SUCCEEDED and RUNNING are not wanted. The deployers hold
 * it to the app's own state machine (`forStateMachine`), whose ARN only they know.
 */
export function executionEndedRule(): RuleDefinition {
  return {
    name: 'execution-ended',
    description: 'A state machine execution that ended without success records its job',
    eventPattern: {
      source: ['aws.states'],
      'detail-type': ['Step Functions Execution Status Change'],
      detail: { status: ['ABORTED', 'TIMED_OUT', 'FAILED'] },
    },
  };
}

/** The rule held to the events of one state machine (`detail.stateMachineArn`, as Step Functions sends it). */
export function forStateMachine(rule: RuleDefinition, stateMachineArn: string): RuleDefinition {
  if (rule.eventPattern === undefined) throw new Error(`rule ${rule.name} has a schedule, not a pattern`);
  const detail = (rule.eventPattern.detail ?? {}) as Record<string, unknown>;
  return {
    ...rule,
    eventPattern: { ...rule.eventPattern, detail: { ...detail, stateMachineArn: [stateMachineArn] } },
  };
}

/**
 * The reconciler's schedule: every `minutes`, jobs whose execution has ended unrecorded are recorded
 * FAILED, and endpoints idle past their window are stopped.
 */
export function reconcileScheduleRule(minutes: number): RuleDefinition {
  if (!Number.isInteger(minutes) || minutes < 1)
    throw new RangeError(`the reconcile interval must be a whole number of minutes >= 1, got ${minutes}`);
  return {
    name: 'reconcile-jobs',
    description: 'Records jobs whose execution the platform ended; stops endpoints left idle',
    scheduleExpression: minutes === 1 ? 'rate(1 minute)' : `rate(${minutes} minutes)`,
  };
}

/** The project's own events on its bus (`Job Completed` / `Job Failed`). */
export const JOB_EVENT_SOURCE = 'durable-vs-sfn';
