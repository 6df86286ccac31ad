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
  notified?: number;
  stopped?: number;
}

export interface ExecutionFacts {
  orchestrator: OrchestratorId;
  status: string;
  /** This execution called CreateEndpoint (a start or a take-over). */
  started: boolean;
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
  const released = lastSuccess(OP.release);
  const notified = lastSuccess(OP.notify);
  if (released !== undefined) moments.released = released;
  if (notified !== undefined) moments.notified = notified;
  if (stoppedAt !== undefined) moments.stopped = stoppedAt;
  return {
    orchestrator: 'ldf',
    status: counts.status,
    started: starts(OP.start) > 0,
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
  for (const e of events) {
    const type = e.type ?? '';
    const at = ms(e.timestamp);
    if (type.endsWith('StateEntered')) {
      state = e.stateEnteredEventDetails?.name ?? '';
      entered.set(state, (entered.get(state) ?? 0) + 1);
    } else if (type.endsWith('StateExited')) {
      const moment = SFN_MOMENTS[e.stateExitedEventDetails?.name ?? ''];
      if (moment && at !== undefined) moments[moment] = at;
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
