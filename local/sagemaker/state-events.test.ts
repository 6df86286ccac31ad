import { describe, expect, it } from 'vitest';
import type { SageMakerEndpointStateChangeEvent } from '../../shared/aws-events.ts';
import { Faults } from './faults.ts';
import type { EndpointStatus } from './requests.ts';
import { stateChangeEvent, StateEventStream } from './state-events.ts';

const WHERE = { region: 'us-east-1', account: '000000000000' };

function streamWith(faults: Faults) {
  const sent: SageMakerEndpointStateChangeEvent[] = [];
  const stream = new StateEventStream((e) => sent.push(e), faults);
  const send = (name: string, status: EndpointStatus): void =>
    stream.send(
      status,
      stateChangeEvent(
        {
          name,
          arn: `arn:aws:sagemaker:us-east-1:000000000000:endpoint/${name}`,
          configName: 'c',
          status,
          creationTime: new Date(0),
          lastModifiedTime: new Date(0),
        },
        WHERE,
      ),
    );
  const statuses = (): string[] => sent.map((e) => `${e.detail.EndpointName} ${e.detail.EndpointStatus}`);
  return { send, sent, statuses };
}

describe('state-change event faults', () => {
  it('without faults, sends every event once, in order', () => {
    const s = streamWith(new Faults());
    for (const status of ['Creating', 'InService', 'Deleting'] as const) s.send('a', status);
    expect(s.statuses()).toEqual(['a CREATING', 'a IN_SERVICE', 'a DELETING']);
  });

  it('loses, duplicates (the same event id) and holds an event until the endpoint’s next one', () => {
    const faults = new Faults()
      .stateEvents('Creating', 'duplicate')
      .stateEvents('InService', 'hold')
      .stateEvents('Deleting', 'lose');
    const s = streamWith(faults);
    s.send('a', 'Creating');
    s.send('a', 'InService');
    s.send('b', 'Creating'); // another endpoint's event does not release a's held one
    s.send('a', 'Deleting');
    expect(s.statuses()).toEqual(['a CREATING', 'a CREATING', 'b CREATING', 'a IN_SERVICE']);
    expect(s.sent[0]!.id).toBe(s.sent[1]!.id);
    expect(faults.armed().eventFaults).toBe(0);
  });
});
