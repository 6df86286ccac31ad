// One execution's history as a timeline: a lane per state (Step Functions) or per named durable
// operation, each visit or operation a span from its start to its end, and for the durable function a
// lane of its Lambda invocations, which shows where it ran and where it was suspended. Pure: built
// from GetExecutionHistory's and GetDurableExecutionHistory's events as the SDK returns them, so the
// same code draws the local cloud and a deployed stack.
import type { Event as DurableEvent } from '@aws-sdk/client-lambda';
import type { HistoryEvent as SfnEvent } from '@aws-sdk/client-sfn';

/** What a lane shows: the ASL state type, the durable operation type, or the handler's invocations. */
export type LaneKind =
  | 'Task'
  | 'Wait'
  | 'Choice'
  | 'Pass'
  | 'Succeed'
  | 'Fail'
  | 'Map'
  | 'Parallel'
  | 'Step'
  | 'WaitForCondition'
  | 'WaitForCallback'
  | 'Callback'
  | 'Context'
  | 'ChainedInvoke'
  | 'Invocation';

export type SpanOutcome = 'succeeded' | 'failed' | 'running';

export interface Span {
  startMs: number;
  /** Absent while it runs. */
  endMs?: number;
  outcome: SpanOutcome;
  /** Attempts or looks: a retried Task's attempts, a step's attempts, a waitForCondition's looks. */
  attempts: number;
  /** The error name of a failed span. */
  error?: string;
}

export interface Lane {
  name: string;
  kind: LaneKind;
  spans: Span[];
}

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'STOPPED';

export interface ExecutionTimeline {
  status: ExecutionStatus;
  startMs?: number;
  /** When the execution ended; absent while it runs. */
  endMs?: number;
  /** In the order each lane first started. */
  lanes: Lane[];
}

const ms = (d: Date | string | undefined): number | undefined =>
  d === undefined ? undefined : new Date(d).getTime();

const SFN_ENDINGS: Record<string, ExecutionStatus> = {
  ExecutionSucceeded: 'SUCCEEDED',
  ExecutionFailed: 'FAILED',
  ExecutionTimedOut: 'TIMED_OUT',
  ExecutionAborted: 'STOPPED',
};
const SFN_KINDS: readonly LaneKind[] = [
  'Task',
  'Wait',
  'Choice',
  'Pass',
  'Succeed',
  'Fail',
  'Map',
  'Parallel',
];

/** Lanes in first-start order, each found by its key. */
class Lanes {
  readonly list: Lane[] = [];
  private readonly byKey = new Map<string, Lane>();
  get(key: string, name: string, kind: LaneKind): Lane {
    let lane = this.byKey.get(key);
    if (!lane) {
      lane = { name, kind, spans: [] };
      this.byKey.set(key, lane);
      this.list.push(lane);
    }
    return lane;
  }
}

/** A Step Functions execution: a lane per state, a span per visit (entered to exited). */
export function sfnTimeline(events: readonly SfnEvent[]): ExecutionTimeline {
  const lanes = new Lanes();
  let status: ExecutionStatus = 'RUNNING';
  let startMs: number | undefined;
  let endMs: number | undefined;
  let open: Span | undefined;
  for (const e of events) {
    const type = e.type ?? '';
    const at = ms(e.timestamp);
    if (type === 'ExecutionStarted') startMs = at;
    const ending = SFN_ENDINGS[type];
    if (ending) {
      status = ending;
      endMs = at;
      if (open && open.endMs === undefined) {
        open.endMs = at;
        open.outcome = ending === 'SUCCEEDED' ? 'succeeded' : 'failed';
      }
      continue;
    }
    if (at === undefined) continue;
    const entered = /^(\w+?)StateEntered$/.exec(type);
    if (entered) {
      const kind = SFN_KINDS.find((k) => k === entered[1]) ?? 'Task';
      const name = e.stateEnteredEventDetails?.name ?? '?';
      open = { startMs: at, outcome: 'running', attempts: 0 };
      lanes.get(name, name, kind).spans.push(open);
      continue;
    }
    if (!open) continue;
    if (/StateExited$/.test(type)) {
      open.endMs = at;
      if (open.outcome === 'running') open.outcome = 'succeeded';
      open = undefined;
    } else if (type === 'TaskScheduled' || type === 'LambdaFunctionScheduled') {
      open.attempts++;
    } else if (/^(Task|LambdaFunction)(Succeeded)$/.test(type)) {
      // A retried attempt that failed earlier: the visit ends well if this one does.
      delete open.error;
    } else if (
      /^(Task|LambdaFunction)(Failed|TimedOut|StartFailed|ScheduleFailed|SubmitFailed)$/.test(type)
    ) {
      const details =
        e.taskFailedEventDetails ?? e.lambdaFunctionFailedEventDetails ?? e.taskTimedOutEventDetails;
      open.error = details?.error ?? type;
    }
  }
  closeAtEnd(lanes.list, status, endMs);
  // A visit whose last attempt failed and that moved on by a Catch exits like any other: mark it.
  for (const lane of lanes.list)
    for (const span of lane.spans)
      if (span.error !== undefined && span.endMs !== undefined) span.outcome = 'failed';
  return {
    status,
    ...(startMs === undefined ? {} : { startMs }),
    ...(endMs === undefined ? {} : { endMs }),
    lanes: lanes.list,
  };
}

/** Whatever still runs when the execution has ended ended with it (stopped, timed out, failed). */
function closeAtEnd(lanes: readonly Lane[], status: ExecutionStatus, endMs: number | undefined): void {
  if (status === 'RUNNING' || endMs === undefined) return;
  for (const lane of lanes)
    for (const span of lane.spans)
      if (span.endMs === undefined) {
        span.endMs = endMs;
        span.outcome = status === 'SUCCEEDED' ? 'succeeded' : 'failed';
      }
}

const DURABLE_ENDINGS: Record<string, ExecutionStatus> = {
  ExecutionSucceeded: 'SUCCEEDED',
  ExecutionFailed: 'FAILED',
  ExecutionTimedOut: 'TIMED_OUT',
  ExecutionStopped: 'STOPPED',
};
const DURABLE_KINDS: readonly LaneKind[] = [
  'Step',
  'WaitForCondition',
  'WaitForCallback',
  'Wait',
  'Callback',
  'Context',
  'ChainedInvoke',
];
const DURABLE_EVENT =
  /^(Step|Wait|Callback|Context|ChainedInvoke)(Started|Succeeded|Failed|TimedOut|Cancelled|Stopped)$/;

/** The details object of a durable event (`StepSucceededDetails`, ...), whatever its type. */
function detailsOf(e: DurableEvent): Record<string, unknown> {
  const key = `${e.EventType ?? ''}Details`;
  return ((e as unknown as Record<string, unknown>)[key] ?? {}) as Record<string, unknown>;
}

/**
 * A durable execution: a lane per operation name, a span per operation (its id), from its first start
 * to its ending; a step's retries and a waitForCondition's looks are attempts of one span (an event
 * with a next attempt scheduled does not end it). The handler's invocations get their own lane.
 */
export function durableTimeline(events: readonly DurableEvent[]): ExecutionTimeline {
  const lanes = new Lanes();
  const invocations: Span[] = [];
  const spans = new Map<string, Span>();
  const names = new Map<string, string>();
  let status: ExecutionStatus = 'RUNNING';
  let startMs: number | undefined;
  let endMs: number | undefined;
  for (const e of events) {
    const type = e.EventType ?? '';
    const at = ms(e.EventTimestamp);
    if (type === 'ExecutionStarted') {
      startMs = at;
      continue;
    }
    if (DURABLE_ENDINGS[type]) {
      status = DURABLE_ENDINGS[type];
      endMs = at;
      continue;
    }
    if (type === 'InvocationCompleted') {
      const d = e.InvocationCompletedDetails;
      const start = ms(d?.StartTimestamp);
      const end = ms(d?.EndTimestamp);
      if (start !== undefined && end !== undefined) {
        const failed = d?.Error !== undefined;
        invocations.push({
          startMs: start,
          endMs: end,
          outcome: failed ? 'failed' : 'succeeded',
          attempts: 1,
          ...(failed ? { error: d?.Error?.Payload?.ErrorType ?? 'InvocationFailed' } : {}),
        });
      }
      continue;
    }
    const match = DURABLE_EVENT.exec(type);
    if (!match || at === undefined || e.Id === undefined) continue;
    const [, family, phase] = match;
    const kind = (DURABLE_KINDS.find((k) => k === e.SubType) ?? family) as LaneKind;
    // A waitForCallback's own callback and submitter step are unnamed children: named after it.
    if (e.Name !== undefined) names.set(e.Id, e.Name);
    const parent = e.ParentId === undefined ? undefined : names.get(e.ParentId);
    const name =
      e.Name ??
      (parent === undefined ? kind : `${parent} (${kind === 'Step' ? 'submitter' : kind.toLowerCase()})`);
    let span = spans.get(e.Id);
    if (!span) {
      span = { startMs: at, outcome: 'running', attempts: 0 };
      spans.set(e.Id, span);
      lanes.get(`${name}\u0000${kind}`, name, kind).spans.push(span);
    }
    if (phase === 'Started') {
      span.attempts++;
      continue;
    }
    const retry = detailsOf(e).RetryDetails as { NextAttemptDelaySeconds?: number } | undefined;
    if (retry?.NextAttemptDelaySeconds !== undefined) continue; // another attempt or look follows
    span.endMs = at;
    span.outcome = phase === 'Succeeded' ? 'succeeded' : 'failed';
    if (phase !== 'Succeeded') {
      const error = (detailsOf(e).Error as { Payload?: { ErrorType?: string } } | undefined)?.Payload
        ?.ErrorType;
      span.error = error ?? `${family}${phase}`;
    }
  }
  if (invocations.length > 0)
    lanes.get('\u0000invocations', 'Lambda invocations', 'Invocation').spans.push(...invocations);
  closeAtEnd(lanes.list, status, endMs);
  return {
    status,
    ...(startMs === undefined ? {} : { startMs }),
    ...(endMs === undefined ? {} : { endMs }),
    lanes: lanes.list,
  };
}
