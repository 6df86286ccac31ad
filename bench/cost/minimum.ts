// The analytic minimum: the fewest units each orchestrator's flow could bill for a job of a given
// shape, read off the flows themselves. Step Functions: the states a job must enter, in order, on the
// ASL (the test walks each path on the real file, edge by edge); its task Lambda requests are the
// path's lambda:invoke states. Durable: the operations workflow.ts must run, weighted as AWS meters
// them (step 1, waitForCondition 1 + polls, waitForCallback 3, wait 1), and the invocations its
// suspensions cause. Poll rounds follow the workflows' own backoff (shared/backoff.ts).
import { readFileSync } from 'node:fs';
import { pollDelaySeconds } from '../../shared/backoff.ts';
import { STATE_MACHINE_ASL_PATH } from '../../orchestrators/stepfunctions/definition.ts';
import { OP } from '../../orchestrators/durable/workflow.ts';
import type { OrchestratorId, Shape, WaitModeId } from '../report/results.ts';

export interface FlowTimes {
  /** The endpoint's own time from the job's acquire to InService (0 when warm). */
  inServiceWaitSeconds: number;
  /** The endpoint's deletion time, for the job whose idle stop deletes it. */
  deleteSeconds: number;
  pollSeconds: number;
  pollMaxSeconds: number;
  /** Event mode: each wait for a wake-up lasts this long before it looks itself. */
  eventFallbackSeconds: number;
}

export interface JobSpec {
  orchestrator: OrchestratorId;
  waitMode: WaitModeId;
  shape: Shape;
  /** The job started the endpoint (a cold joiner does not). */
  started: boolean;
  /** The job's idle stop deleted the endpoint. */
  stoppedEndpoint: boolean;
}

export interface Minimum {
  /** State transitions (sf) or durable operations as billed (ldf). */
  billed: number;
  billedUnit: 'state transitions' | 'durable operations';
  lambdaRequests: number;
  /** The states entered (sf) or operations run (ldf), in order, with their count. */
  path: { name: string; times: number }[];
}

/**
 * The poll rounds until `seconds` have passed (the fewest intervals of the backoff that add up to
 * it), and the seconds they wait: when the look that sees the change comes.
 */
export function pollSchedule(
  times: Pick<FlowTimes, 'pollSeconds' | 'pollMaxSeconds'>,
  seconds: number,
): { rounds: number; waited: number } {
  let waited = 0;
  let rounds = 0;
  while (waited < seconds) waited += pollDelaySeconds(times, ++rounds);
  return { rounds, waited };
}

export const pollRounds = (
  times: Pick<FlowTimes, 'pollSeconds' | 'pollMaxSeconds'>,
  seconds: number,
): number => pollSchedule(times, seconds).rounds;

/** Event rounds that time out (each of eventFallbackSeconds) before InService; the next one is woken. */
export const timedOutRounds = (times: FlowTimes): number =>
  Math.max(0, Math.ceil(times.inServiceWaitSeconds / times.eventFallbackSeconds) - 1);

type Path = { name: string; times: number }[];
const seq = (names: string[], times = 1): Path => names.map((name) => ({ name, times }));

/** The ASL states a job of this shape enters, in order (a repeated round once, with its count). */
export function sfPath(spec: JobSpec, t: FlowTimes): Path {
  const cold = spec.shape === 'cold';
  const wait: Path = !cold
    ? []
    : spec.waitMode === 'poll'
      ? [
          ...seq(
            ['EndpointPollRound', 'EndpointPollWait', 'DescribeEndpoint', 'HasEndpointStatusChanged'],
            pollRounds(t, t.inServiceWaitSeconds),
          ),
          ...seq(['FoldEndpointStatus', 'IsEndpointReady']),
        ]
      : [
          ...seq(
            ['EndpointEventRound', 'WaitForEndpoint', 'CheckEndpointAfterTimeout', 'IsEndpointReady'],
            timedOutRounds(t),
          ),
          ...seq(['EndpointEventRound', 'WaitForEndpoint', 'IsEndpointReady']),
        ];
  return [
    ...seq(['Admit', 'IsAdmitted', 'CheckMask', 'IsMaskPresent', 'AcquireEndpoint', 'IsStarter']),
    ...(spec.started ? seq(['StartEndpoint']) : []),
    ...seq(['CheckEndpoint', 'IsEndpointReady']),
    ...wait,
    ...seq([
      'Invoke',
      'RecordCompleted',
      'ReleaseLease',
      'NotifyCompleted',
      'IdleWait',
      'BeginStop',
      'IsStopping',
    ]),
    ...(spec.stoppedEndpoint
      ? seq(['StopPollRound', 'StopPollWait', 'FinishStop', 'IsStopped'], pollRounds(t, t.deleteSeconds))
      : []),
    ...seq(['Finished', 'Completed']),
  ].filter((step) => step.times > 0);
}

interface AslState {
  Type: string;
  Resource?: string;
}
let aslStates: Record<string, AslState> | undefined;
/** The state machine's states, read once from the very file the stack deploys. */
export function stateMachineStates(): Record<string, AslState> {
  aslStates ??= (
    JSON.parse(readFileSync(STATE_MACHINE_ASL_PATH, 'utf8')) as { States: Record<string, AslState> }
  ).States;
  return aslStates;
}

const isLambdaTask = (state: AslState | undefined): boolean =>
  state?.Type === 'Task' && (state.Resource ?? '').startsWith('arn:aws:states:::lambda:invoke');

type OpKind = 'step' | 'waitForCondition' | 'waitForCallback' | 'wait';
/** Billed operations of one run of each kind (per the Lambda durable pricing's metering table). */
const BILLED: Record<OpKind, number> = { step: 1, waitForCondition: 1, waitForCallback: 3, wait: 1 };

/** The workflow's operations for this shape: [name, kind, billed operations in all]. */
export function durableOperations(
  spec: JobSpec,
  t: FlowTimes,
): { name: string; kind: OpKind; billed: number }[] {
  const op = (name: string, kind: OpKind, times = 1) => ({ name, kind, billed: BILLED[kind] * times });
  const cold = spec.shape === 'cold';
  const poll = spec.waitMode === 'poll';
  // A waitForCondition's first look is its 1; every further look is one poll.
  const looks = cold ? 1 + pollRounds(t, t.inServiceWaitSeconds) : 1;
  const timedOut = timedOutRounds(t);
  return [
    op(OP.admit, 'step'),
    poll ? op(OP.waitForMask, 'waitForCondition') : op(OP.checkMask, 'step'),
    op(OP.acquire, 'step'),
    ...(spec.started ? [op(OP.start, 'step')] : []),
    ...(poll
      ? [op(OP.waitForEndpoint, 'waitForCondition', looks)]
      : [
          op(OP.checkEndpoint, 'step', cold ? 1 + timedOut : 1),
          ...(cold ? [op(OP.waitForEndpoint, 'waitForCallback', timedOut + 1)] : []),
        ]),
    op(OP.invoke, 'step'),
    op(OP.record, 'step'),
    op(OP.release, 'step'),
    op(OP.notify, 'step'),
    op(OP.idle, 'wait'),
    op(OP.beginStop, 'step'),
    ...(spec.stoppedEndpoint
      ? [op(OP.finishStop, 'waitForCondition', 1 + pollRounds(t, t.deleteSeconds))]
      : []),
  ];
}

/**
 * Durable invocations: the first, one after each suspension (a poll interval, a callback, the idle
 * window, each deletion poll), none for a step that succeeds at once.
 */
function durableInvocations(spec: JobSpec, t: FlowTimes): number {
  const waits =
    spec.shape === 'warm'
      ? 0
      : spec.waitMode === 'poll'
        ? pollRounds(t, t.inServiceWaitSeconds)
        : timedOutRounds(t) + 1;
  return 1 + waits + 1 + (spec.stoppedEndpoint ? pollRounds(t, t.deleteSeconds) : 0);
}

/** The fewest units this orchestrator's flow could bill for a job of this shape. */
export function analyticMinimum(spec: JobSpec, times: FlowTimes): Minimum {
  if (spec.orchestrator === 'sf') {
    const path = sfPath(spec, times);
    const states = stateMachineStates();
    return {
      billed: path.reduce((n, s) => n + s.times, 0),
      billedUnit: 'state transitions',
      lambdaRequests: path.reduce((n, s) => n + (isLambdaTask(states[s.name]) ? s.times : 0), 0),
      path,
    };
  }
  const ops = durableOperations(spec, times);
  return {
    billed: ops.reduce((n, o) => n + o.billed, 0),
    billedUnit: 'durable operations',
    lambdaRequests: durableInvocations(spec, times),
    path: ops.map((o) => ({ name: `${o.name} (${o.kind})`, times: o.billed })),
  };
}
