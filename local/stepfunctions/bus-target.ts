// A state machine as an EventBridge rule target, as EventBridge delivers to one: StartExecution with
// the whole event as the execution's input and a generated name, through the real SFN client against
// the local Step Functions service. A failed start throws, so the bus retries it like any delivery.
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { ClientConfig } from '../../shared/aws.ts';
import type { BusEvent, TargetHandler } from '../eventbridge/event-bus.ts';

export interface StateMachineTarget {
  handler: TargetHandler;
  /** Executions started so far, by the event id that started each. */
  started: Map<string, string>;
  destroy(): void;
}

export function stateMachineTarget(
  stateMachineArn: string,
  sfnClientConfig: ClientConfig,
): StateMachineTarget {
  const client = new SFNClient(sfnClientConfig);
  const started = new Map<string, string>();
  return {
    started,
    handler: async (event: BusEvent) => {
      const { executionArn } = await client.send(
        new StartExecutionCommand({ stateMachineArn, input: JSON.stringify(event) }),
      );
      if (executionArn) started.set(event.id, executionArn);
    },
    destroy: () => client.destroy(),
  };
}
