// Counting a durable execution's billable units from its history (GetDurableExecutionHistory), the
// one code path that measures the local Lambda and a deployed function alike. README.md beside this
// file gives the billing rule of each operation type and how the history shows it.
import {
  GetDurableExecutionHistoryCommand,
  type Event as HistoryEvent,
  type LambdaClient,
} from '@aws-sdk/client-lambda';

/** The SDK operation a billed start belongs to, named as AWS's metering table names them. */
export type BillingRule =
  | 'Step'
  | 'WaitForCondition'
  | 'WaitForCallback'
  | 'Map'
  | 'Parallel'
  | 'Wait'
  | 'Callback'
  | 'ChildContext'
  | 'ChainedInvoke';

export interface DurableHistoryCounts {
  /** Distinct durable operations started (each step, wait, callback, child context, chained invoke), replays excluded. */
  operations: number;
  /**
   * Durable operations as AWS bills them: Step 1 + retries, WaitForCondition 1 + polls after the
   * first, WaitForCallback 3 + submitter retries, Map/Parallel 1 + branches, Wait 1. Every start in
   * the history counts once, a step's each attempt included.
   */
  billedOperations: number;
  /** The billed operations by the SDK operation they belong to. */
  billedByRule: Partial<Record<BillingRule, number>>;
  /** Operations by type: Step, Wait, Callback, Context, ChainedInvoke. */
  byType: Record<string, number>;
  /** Step attempts (a retried step counts each attempt). */
  stepAttempts: number;
  /** Handler invocations, replays and failed invocations included. */
  invocations: number;
  failedInvocations: number;
  /** Bytes of results and errors the history recorded (what was checkpointed as data). */
  dataBytes: number;
  /**
   * Bytes written as AWS bills them, as far as the history shows it: the payload of every checkpointed
   * step attempt (result, poll state or error), child context, callback and chained invoke; a
   * callback's payload twice (the callback and its waitForCallback context each store it). The
   * execution's input and result are not in it (whether they are billed as written is not known).
   */
  writtenBytes: number;
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

/** The events of the operations an execution checkpoints (not the execution's own, nor invocations). */
const OPERATION_EVENT = /^(Step|Wait|Callback|Context|ChainedInvoke)[A-Z]/;

const payloadBytes = (value: unknown): number =>
  value === undefined ? 0 : Buffer.byteLength(typeof value === 'string' ? value : JSON.stringify(value));

/** Context subtypes that are an SDK operation of their own, and their children's rule. */
const CONTEXT_RULES: Record<string, BillingRule> = {
  WaitForCallback: 'WaitForCallback',
  Map: 'Map',
  MapIteration: 'Map',
  Parallel: 'Parallel',
  ParallelBranch: 'Parallel',
};

/**
 * The rule a started operation is billed under. A waitForCallback is a context (subtype
 * WaitForCallback) holding a callback and a submitter step: all three are its own. A map or
 * parallel is a context (Map, Parallel) with one context per branch (MapIteration, ParallelBranch);
 * what runs inside a branch is billed under its own rule.
 */
function ruleOf(kind: string, event: HistoryEvent, contextSubTypes: Map<string, string>): BillingRule {
  const parent = event.ParentId === undefined ? undefined : contextSubTypes.get(event.ParentId);
  switch (kind) {
    case 'Step':
      if (event.SubType === 'WaitForCondition') return 'WaitForCondition';
      return parent === 'WaitForCallback' ? 'WaitForCallback' : 'Step';
    case 'Callback':
      return parent === 'WaitForCallback' ? 'WaitForCallback' : 'Callback';
    case 'Context':
      return CONTEXT_RULES[event.SubType ?? ''] ?? 'ChildContext';
    default:
      return kind as 'Wait' | 'ChainedInvoke';
  }
}

export function countDurableHistory(events: readonly HistoryEvent[]): DurableHistoryCounts {
  const started = new Set<string>();
  const contextSubTypes = new Map<string, string>();
  const byType: Record<string, number> = {};
  const billedByRule: Partial<Record<BillingRule, number>> = {};
  const counts: DurableHistoryCounts = {
    operations: 0,
    billedOperations: 0,
    billedByRule,
    byType,
    stepAttempts: 0,
    invocations: 0,
    failedInvocations: 0,
    dataBytes: 0,
    writtenBytes: 0,
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
      if (kind === 'Context') contextSubTypes.set(event.Id, event.SubType ?? '');
      const rule = ruleOf(kind, event, contextSubTypes);
      counts.billedOperations++;
      billedByRule[rule] = (billedByRule[rule] ?? 0) + 1;
      if (!started.has(event.Id)) {
        started.add(event.Id);
        counts.operations++;
        byType[kind] = (byType[kind] ?? 0) + 1;
      }
    }
    for (const [key, details] of Object.entries(event)) {
      if (!key.endsWith('Details') || !details || typeof details !== 'object') continue;
      const d = details as { Result?: { Payload?: unknown }; Error?: { Payload?: unknown } };
      const bytes = payloadBytes(d.Result?.Payload) + payloadBytes(d.Error?.Payload);
      counts.dataBytes += bytes;
      if (OPERATION_EVENT.test(type)) counts.writtenBytes += bytes;
    }
  }
  return counts;
}
