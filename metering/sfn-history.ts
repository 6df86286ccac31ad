// Billed Step Functions state transitions, counted from GetExecutionHistory events: one code path for
// the local service and for AWS. AWS bills "each time a step of your workflow is executed ...
// including retries" and publishes no per-event formula, so this is an estimate: one transition per
// state entered, plus one per retry. A retry is an attempt start (TaskScheduled,
// LambdaFunctionScheduled, MapStateStarted, ParallelStateStarted) whose previous event is not its
// state's entry (AWS chains it to the failure it retries). Inline Map iterations are not billed
// themselves; the states inside them are.

import { GetExecutionHistoryCommand, type HistoryEvent, type SFNClient } from '@aws-sdk/client-sfn';

/** The fields of a history event the counts read (HistoryEvent of @aws-sdk/client-sfn fits). */
export interface TransitionEvent {
  type?: string | undefined;
  id?: number | undefined;
  previousEventId?: number | undefined;
  taskScheduledEventDetails?:
    { resourceType?: string | undefined; resource?: string | undefined } | undefined;
}

/** Every event of an execution, paging through GetExecutionHistory. */
export async function readExecutionHistory(client: SFNClient, executionArn: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await client.send(
      new GetExecutionHistoryCommand({ executionArn, maxResults: 1000, nextToken }),
    );
    events.push(...(page.events ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return events;
}

/**
 * Lambda invocations the execution's Tasks made, each attempt counted (retries are invocations too):
 * a Task on a plain function ARN (LambdaFunctionScheduled) or on `lambda:invoke` in any pattern.
 */
export function countLambdaInvocations(events: readonly TransitionEvent[]): number {
  return events.filter(
    (e) =>
      e.type === 'LambdaFunctionScheduled' ||
      (e.type === 'TaskScheduled' &&
        e.taskScheduledEventDetails?.resourceType === 'lambda' &&
        /^invoke(\.|$)/.test(e.taskScheduledEventDetails.resource ?? '')),
  ).length;
}

const ATTEMPT_STARTS = new Set([
  'TaskScheduled',
  'LambdaFunctionScheduled',
  'MapStateStarted',
  'ParallelStateStarted',
]);

export interface TransitionCount {
  /** States entered plus retries: the estimate of billed transitions. */
  transitions: number;
  statesEntered: number;
  retries: number;
}

export function countTransitions(events: readonly TransitionEvent[]): TransitionCount {
  const typeById = new Map<number, string>();
  for (const event of events) if (event.id !== undefined) typeById.set(event.id, event.type ?? '');
  let statesEntered = 0;
  let retries = 0;
  for (const event of events) {
    const type = event.type ?? '';
    if (type.endsWith('StateEntered')) statesEntered++;
    else if (ATTEMPT_STARTS.has(type)) {
      const previous = typeById.get(event.previousEventId ?? 0) ?? '';
      if (!previous.endsWith('StateEntered')) retries++;
    }
  }
  return { transitions: statesEntered + retries, statesEntered, retries };
}

/** The estimate of billed state transitions of one execution. */
export function countStateTransitions(events: readonly TransitionEvent[]): number {
  return countTransitions(events).transitions;
}
