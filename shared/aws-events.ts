// The EventBridge envelopes this project sends and receives, typed once.
import type { EndpointStatus } from '@aws-sdk/client-sagemaker';

export interface EventBridgeEvent<TDetailType extends string, TDetail> {
  version: '0';
  id: string;
  'detail-type': TDetailType;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: TDetail;
}

/** S3 → EventBridge `Object Created` (AmazonS3/latest/userguide/ev-events.html). */
export interface S3ObjectCreatedDetail {
  version: '0';
  bucket: { name: string };
  object: { key: string; size?: number; etag?: string; 'version-id'?: string; sequencer?: string };
  'request-id': string;
  requester: string;
  'source-ip-address'?: string;
  reason: 'PutObject' | 'POST Object' | 'CopyObject' | 'CompleteMultipartUpload';
}
export type S3ObjectCreatedEvent = EventBridgeEvent<'Object Created', S3ObjectCreatedDetail>;

/**
 * SageMaker → EventBridge `SageMaker Endpoint State Change`. The event spells statuses in upper
 * snake case (IN_SERVICE, CREATING, FAILED, ...), unlike DescribeEndpoint (InService, Creating, ...).
 */
export interface SageMakerEndpointStateChangeDetail {
  EndpointName: string;
  EndpointArn: string;
  EndpointConfigName?: string;
  EndpointStatus: string;
  FailureReason?: string;
  CreationTime?: number;
  LastModifiedTime?: number;
  Tags?: Record<string, string>;
}
export type SageMakerEndpointStateChangeEvent = EventBridgeEvent<
  'SageMaker Endpoint State Change',
  SageMakerEndpointStateChangeDetail
>;

/**
 * Step Functions → EventBridge `Step Functions Execution Status Change`, sent for every status of a
 * Standard workflow's execution (step-functions/latest/dg/cw-events.html): the detail is what
 * DescribeExecution gives, with dates as epoch milliseconds and fields an execution lacks as null.
 */
export interface StepFunctionsExecutionStatusChangeDetail {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'PENDING_REDRIVE';
  startDate: number;
  stopDate: number | null;
  input: string | null;
  output: string | null;
  inputDetails: { included: boolean } | null;
  outputDetails: { included: boolean } | null;
  error: string | null;
  cause: string | null;
  redriveCount?: number;
  redriveDate?: number | null;
  redriveStatus?: string;
  redriveStatusReason?: string;
}
export type StepFunctionsExecutionStatusChangeEvent = EventBridgeEvent<
  'Step Functions Execution Status Change',
  StepFunctionsExecutionStatusChangeDetail
>;

const EVENT_TO_API_STATUS: Record<string, EndpointStatus> = {
  OUT_OF_SERVICE: 'OutOfService',
  CREATING: 'Creating',
  UPDATING: 'Updating',
  SYSTEM_UPDATING: 'SystemUpdating',
  ROLLING_BACK: 'RollingBack',
  IN_SERVICE: 'InService',
  DELETING: 'Deleting',
  FAILED: 'Failed',
  UPDATE_ROLLBACK_FAILED: 'UpdateRollbackFailed',
};

/** The DescribeEndpoint spelling of an event's status (accepts either spelling). */
export function endpointStatusOf(
  detail: Pick<SageMakerEndpointStateChangeDetail, 'EndpointStatus'>,
): EndpointStatus | undefined {
  const raw = detail.EndpointStatus;
  if (raw in EVENT_TO_API_STATUS) return EVENT_TO_API_STATUS[raw];
  return Object.values(EVENT_TO_API_STATUS).find((s) => s === raw);
}

/** The event spelling of a DescribeEndpoint status. */
export function eventStatusOf(status: EndpointStatus): string {
  return Object.entries(EVENT_TO_API_STATUS).find(([, s]) => s === status)?.[0] ?? status.toUpperCase();
}
