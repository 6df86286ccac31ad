// The `SageMaker Endpoint State Change` event SageMaker sends to EventBridge on every status change
// (statuses in upper snake case).
import { eventStatusOf, type SageMakerEndpointStateChangeEvent } from '../../shared/aws-events.ts';
import type { EndpointStatus } from './requests.ts';

export interface EndpointState {
  name: string;
  arn: string;
  configName: string;
  status: EndpointStatus;
  failureReason?: string;
  creationTime: Date;
  lastModifiedTime: Date;
}

export function stateChangeEvent(
  endpoint: EndpointState,
  where: { region: string; account: string; at?: Date },
): SageMakerEndpointStateChangeEvent {
  return {
    version: '0',
    id: crypto.randomUUID(),
    'detail-type': 'SageMaker Endpoint State Change',
    source: 'aws.sagemaker',
    account: where.account,
    time: (where.at ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: where.region,
    resources: [endpoint.arn],
    detail: {
      EndpointName: endpoint.name,
      EndpointArn: endpoint.arn,
      EndpointConfigName: endpoint.configName,
      EndpointStatus: eventStatusOf(endpoint.status),
      ...(endpoint.failureReason && endpoint.status === 'Failed'
        ? { FailureReason: endpoint.failureReason }
        : {}),
      CreationTime: endpoint.creationTime.getTime(),
      LastModifiedTime: endpoint.lastModifiedTime.getTime(),
      Tags: {},
    },
  };
}
