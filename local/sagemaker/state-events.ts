// The `SageMaker Endpoint State Change` event SageMaker sends to EventBridge on every status change
// (statuses in upper snake case).
import { eventStatusOf, type SageMakerEndpointStateChangeEvent } from '../../shared/aws-events.ts';
import type { Faults } from './faults.ts';
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

/**
 * Delivers each endpoint's state-change events to the bus, through the armed event faults
 * (faults.ts StateEventFault): lost, duplicated, or held back until the endpoint's next event, so
 * the bus sees an earlier status after a later one, as EventBridge's ordering allows.
 */
export class StateEventStream {
  /** Events held back, by endpoint name: each goes out right after that endpoint's next event. */
  private readonly held = new Map<string, SageMakerEndpointStateChangeEvent[]>();

  constructor(
    private readonly publish: (event: SageMakerEndpointStateChangeEvent) => void,
    private readonly faults: Pick<Faults, 'takeStateEventFault'>,
  ) {}

  send(status: EndpointStatus, event: SageMakerEndpointStateChangeEvent): void {
    const name = event.detail.EndpointName;
    const late = this.held.get(name) ?? [];
    this.held.delete(name);
    const fault = this.faults.takeStateEventFault(status);
    if (fault === 'hold') this.held.set(name, [event]);
    else if (fault !== 'lose') this.publish(event);
    // EventBridge's at-least-once delivery: the same event, id and all, a second time.
    if (fault === 'duplicate') this.publish({ ...event });
    for (const e of late) this.publish(e);
  }
}
