// The EventBridge rules of the project, defined once: the CDK stack deploys these patterns and the
// local event bus routes with the very same ones, so local routing is the deployed routing.
import { IMAGE_SUFFIX, MASK_SUFFIX } from './keys.ts';

export interface RuleDefinition {
  /** Stable name, also the local rule's name. */
  name: string;
  description: string;
  eventPattern: Record<string, unknown>;
}

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

/** The project's own events on its bus (`Job Completed` / `Job Failed`). */
export const JOB_EVENT_SOURCE = 'durable-vs-sfn';
