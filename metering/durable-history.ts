// Counting a durable execution's billable units from its history (GetDurableExecutionHistory), the
// one code path that measures the local Lambda and a deployed function alike.
import {
  GetDurableExecutionHistoryCommand,
  type Event as HistoryEvent,
  type LambdaClient,
} from '@aws-sdk/client-lambda';

export interface DurableHistoryCounts {
  /** Durable operations started (each step, wait, callback, child context, chained invoke), replays excluded. */
  operations: number;
  /** Operations by type: Step, Wait, Callback, Context, ChainedInvoke. */
  byType: Record<string, number>;
  /** Step attempts (a retried step counts each attempt). */
  stepAttempts: number;
  /** Handler invocations, replays and failed invocations included. */
  invocations: number;
  failedInvocations: number;
  /** Bytes of results and errors the history recorded (what was checkpointed as data). */
  dataBytes: number;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'STOPPED' | 'TIMED_OUT';
}

const TERMINAL: Record<string, DurableHistoryCounts['status']> = {
  ExecutionSucceeded: 'SUCCEEDED',
  ExecutionFailed: 'FAILED',
  ExecutionStopped: 'STOPPED',
  ExecutionTimedOut: 'TIMED_OUT',
};

/** Every event of an execution, paging through the API. */
export async function readDurableHistory(
  client: LambdaClient,
  durableExecutionArn: string,
): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let marker: string | undefined;
  do {
    const page = await client.send(
      new GetDurableExecutionHistoryCommand({
        DurableExecutionArn: durableExecutionArn,
        MaxItems: 1000,
        Marker: marker,
      }),
    );
    events.push(...(page.Events ?? []));
    marker = page.NextMarker;
  } while (marker);
  return events;
}

const payloadBytes = (value: unknown): number =>
  value === undefined ? 0 : Buffer.byteLength(typeof value === 'string' ? value : JSON.stringify(value));

export function countDurableHistory(events: readonly HistoryEvent[]): DurableHistoryCounts {
  const started = new Set<string>();
  const byType: Record<string, number> = {};
  const counts: DurableHistoryCounts = {
    operations: 0,
    byType,
    stepAttempts: 0,
    invocations: 0,
    failedInvocations: 0,
    dataBytes: 0,
    status: 'RUNNING',
  };
  for (const event of events) {
    const type = event.EventType ?? '';
    if (type === 'InvocationCompleted') {
      counts.invocations++;
      if (event.InvocationCompletedDetails?.Error) counts.failedInvocations++;
      continue;
    }
    if (TERMINAL[type]) counts.status = TERMINAL[type];
    const kind = /^(Step|Wait|Callback|Context|ChainedInvoke)Started$/.exec(type)?.[1];
    if (kind && event.Id) {
      if (kind === 'Step') counts.stepAttempts++;
      if (!started.has(event.Id)) {
        started.add(event.Id);
        counts.operations++;
        byType[kind] = (byType[kind] ?? 0) + 1;
      }
    }
    for (const [key, details] of Object.entries(event)) {
      if (!key.endsWith('Details') || !details || typeof details !== 'object') continue;
      const d = details as { Result?: { Payload?: unknown }; Error?: { Payload?: unknown } };
      counts.dataBytes += payloadBytes(d.Result?.Payload) + payloadBytes(d.Error?.Payload);
    }
  }
  return counts;
}
