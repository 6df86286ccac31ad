// What one execution did, read from its history as the service returns it (GetDurableExecutionHistory,
// GetExecutionHistory): its billed units, whether it started or stopped the endpoint, when it released,
// notified and stopped, and the Lambda time it was billed for. One reader per orchestrator, the same
// facts out of both, so the collector never asks which orchestrator it is looking at.
import type { Event as DurableEvent } from '@aws-sdk/client-lambda';
import type { HistoryEvent as SfnEvent } from '@aws-sdk/client-sfn';
import { countDurableHistory } from '../../metering/durable-history.ts';
import { countLambdaInvocations, countStateTransitions } from '../../metering/sfn-history.ts';
import { OP } from '../../orchestrators/durable/workflow.ts';
import type { OrchestratorId } from '../report/results.ts';

/** The moments after the job was recorded that only the execution knows (ms since the epoch). */
export interface ExecutionMoments {
  released?: number;
  /** Its idle stop moved the endpoint to Stopping (the begin-stop step that answered `stopping`). */
  stopBegan?: number;
  notified?: number;
  stopped?: number;
}

export interface ExecutionFacts {
  orchestrator: OrchestratorId;
  status: string;
  /** This execution called CreateEndpoint (a start or a take-over). */
  started: boolean;
  /**
   * Each start it made that SageMaker answered by creating the endpoint (outcome `created`; a retried
   * start that found its own endpoint answers `joined`), with the generation it started when the
   * history shows it: what the invariant checker compares with the endpoint item's generations.
   */
  creates: { generation?: number; at?: number }[];
  /** This execution's idle stop moved the endpoint to Stopping and deleted it. */
  stoppedEndpoint: boolean;
  moments: ExecutionMoments;
  stateTransitions: number;
  operationsBilled: number;
  operationsDistinct: number;
  bytesWritten: number;
  /** Handler invocations: the durable function's (replays included) or the task Lambda's. */
  lambdaRequests: number;
  /** The invocations' own time, start to end, as the history records each one. */
  lambdaMs: number;
  /** Looks for the mask in S3 (HEAD requests), each attempt of a mask check. */
  maskLooks: number;
  /** InvokeEndpoint attempts: each reads the image and the mask (2 GETs) and writes the PLY (1 PUT). */
  inferenceAttempts: number;
  /** Error artifacts written (`_error.json`, 1 PUT each). */
  failureReports: number;
  /** `Job Completed` / `Job Failed` events put on the project's bus (custom events). */
  notifications: number;
}

const ms = (d: Date | undefined): number | undefined => (d === undefined ? undefined : d.getTime());

/** The facts of a durable execution, from GetDurableExecutionHistory's events. */
export function durableFacts(events: readonly DurableEvent[]): ExecutionFacts {
  const counts = countDurableHistory(events);
  const starts = (name: string): number =>
    events.filter((e) => e.EventType === 'StepStarted' && e.Name === name).length;
  const lastSuccess = (name: string): number | undefined =>
    events
      .filter((e) => e.EventType === 'StepSucceeded' && e.Name === name)
      .map((e) => ms(e.EventTimestamp))
      .at(-1);
  let lambdaMs = 0;
  for (const e of events) {
    const d = e.InvocationCompletedDetails;
    if (e.EventType !== 'InvocationCompleted' || !d?.StartTimestamp || !d.EndTimestamp) continue;
    lambdaMs += Math.max(0, d.EndTimestamp.getTime() - d.StartTimestamp.getTime());
  }
  const stoppedAt = lastSuccess(OP.finishStop);
  const moments: ExecutionMoments = {};
  // A start runs for the generation the step before it answered (acquire, or a wait that found a
  // start to take over), so each start is paired with the latest generation a step result carried.
  const creates: ExecutionFacts['creates'] = [];
  let generation: number | undefined;
  for (const e of events) {
    if (e.EventType !== 'StepSucceeded') continue;
    const result = parsePayload(e.StepSucceededDetails?.Result?.Payload);
    const at = ms(e.EventTimestamp);
    if (e.Name === OP.start && result === 'created') creates.push(withDefined({ generation, at }));
    if (e.Name === OP.beginStop && outcomeOf(result) === 'stopping' && at !== undefined)
      moments.stopBegan ??= at;
    generation = generationOf(result) ?? generation;
  }
  const released = lastSuccess(OP.release);
  const notified = lastSuccess(OP.notify);
  if (released !== undefined) moments.released = released;
  if (notified !== undefined) moments.notified = notified;
  if (stoppedAt !== undefined) moments.stopped = stoppedAt;
  return {
    orchestrator: 'ldf',
    status: counts.status,
    started: starts(OP.start) > 0,
    creates,
    stoppedEndpoint: stoppedAt !== undefined,
    moments,
    stateTransitions: 0,
    operationsBilled: counts.billedOperations,
    operationsDistinct: counts.operations,
    bytesWritten: counts.writtenBytes,
    lambdaRequests: counts.invocations,
    lambdaMs,
    // The event mode's mask callback looks once after registering (the waiter's re-check).
    maskLooks:
      starts(OP.checkMask) +
      events.filter((e) => e.EventType === 'ContextStarted' && e.Name === OP.waitForMask).length,
    inferenceAttempts: starts(OP.invoke),
    failureReports: starts(OP.reportFailure),
    notifications: events.filter((e) => e.EventType === 'StepSucceeded' && e.Name === OP.notify).length,
  };
}

/** The states whose end is a moment of the job, by the ASL's names. */
const SFN_MOMENTS: Record<string, keyof ExecutionMoments> = {
  ReleaseLease: 'released',
  ReleaseAfterFailure: 'released',
  NotifyCompleted: 'notified',
  NotifyFailed: 'notified',
  NotifyRejection: 'notified',
  FinishStop: 'stopped',
};
const SFN_STATUS: Record<string, string> = {
  ExecutionSucceeded: 'SUCCEEDED',
  ExecutionFailed: 'FAILED',
  ExecutionAborted: 'STOPPED',
  ExecutionTimedOut: 'TIMED_OUT',
};

/** The states that start the endpoint, and the step of the state's input that holds the generation. */
const SFN_START_GENERATION: Record<string, string> = { StartEndpoint: 'acquire', TakeOverStart: 'ready' };

/** `$.steps[step]` of a state's input or output (JSON text), if there is one. */
function stepOf(json: string | undefined, step: string): unknown {
  const state = parsePayload(json) as { steps?: Record<string, unknown> } | undefined;
  return state?.steps?.[step];
}

/** A checkpointed payload or a state's JSON; undefined when absent or not JSON. */
function parsePayload(json: string | undefined): unknown {
  if (json === undefined) return undefined;
  try {
    return JSON.parse(json) as unknown;
  } catch {
    return undefined;
  }
}

/** The generation a step answered: its own (`acquire`) or its found value's (a wait's final look). */
function generationOf(result: unknown): number | undefined {
  const r = result as { generation?: unknown; value?: { generation?: unknown } } | null | undefined;
  const g = r?.generation ?? r?.value?.generation;
  return typeof g === 'number' ? g : undefined;
}

function outcomeOf(result: unknown): unknown {
  return (result as { outcome?: unknown } | null | undefined)?.outcome;
}

function withDefined<T extends Record<string, unknown>>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** A Lambda attempt of a Task: a plain function ARN or `lambda:invoke` (counted as countLambdaInvocations does). */
const isLambdaAttempt = (e: SfnEvent): boolean => countLambdaInvocations([e]) === 1;

/** The facts of a Step Functions execution, from GetExecutionHistory's events. */
export function sfnFacts(events: readonly SfnEvent[]): ExecutionFacts {
  const entered = new Map<string, number>();
  const attempts = new Map<string, number>();
  const moments: ExecutionMoments = {};
  let state = '';
  let status = 'RUNNING';
  let lambdaMs = 0;
  let lambdaStarted: number | undefined;
  let lambdaAttempt = false;
  const creates: ExecutionFacts['creates'] = [];
  let startGeneration: number | undefined;
  for (const e of events) {
    const type = e.type ?? '';
    const at = ms(e.timestamp);
    if (type.endsWith('StateEntered')) {
      state = e.stateEnteredEventDetails?.name ?? '';
      entered.set(state, (entered.get(state) ?? 0) + 1);
      const from = SFN_START_GENERATION[state];
      if (from) startGeneration = generationOf(stepOf(e.stateEnteredEventDetails?.input, from));
    } else if (type.endsWith('StateExited')) {
      const name = e.stateExitedEventDetails?.name ?? '';
      const moment = SFN_MOMENTS[name];
      if (moment && at !== undefined) moments[moment] = at;
      const output = e.stateExitedEventDetails?.output;
      if (SFN_START_GENERATION[name] && outcomeOf(stepOf(output, 'start')) === 'created')
        creates.push(withDefined({ generation: startGeneration, at }));
      if (name === 'BeginStop' && outcomeOf(stepOf(output, 'stop')) === 'stopping' && at !== undefined)
        moments.stopBegan ??= at;
    } else if (isLambdaAttempt(e)) {
      attempts.set(state, (attempts.get(state) ?? 0) + 1);
      lambdaAttempt = true;
    } else if (type === 'LambdaFunctionStarted' || type === 'TaskStarted') {
      if (lambdaAttempt) lambdaStarted = at;
    } else if (/^(LambdaFunction|Task)(Succeeded|Failed|TimedOut)$/.test(type)) {
      if (lambdaStarted !== undefined && at !== undefined) lambdaMs += Math.max(0, at - lambdaStarted);
      lambdaStarted = undefined;
      lambdaAttempt = false;
    }
    if (SFN_STATUS[type]) status = SFN_STATUS[type];
  }
  const n = (name: string): number => attempts.get(name) ?? 0;
  return {
    orchestrator: 'sf',
    status,
    started: (entered.get('StartEndpoint') ?? 0) + (entered.get('TakeOverStart') ?? 0) > 0,
    creates,
    stoppedEndpoint: moments.stopped !== undefined,
    moments,
    stateTransitions: countStateTransitions(events),
    operationsBilled: 0,
    operationsDistinct: 0,
    bytesWritten: 0,
    lambdaRequests: countLambdaInvocations(events),
    lambdaMs,
    maskLooks: n('CheckMask') + n('WaitForMask'),
    inferenceAttempts: n('Invoke'),
    failureReports: n('ReportFailure'),
    notifications: n('NotifyCompleted') + n('NotifyFailed') + n('NotifyRejection'),
  };
}
