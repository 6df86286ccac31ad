// The one task Lambda of the state machine: `{ task: '<activity>', ...arguments }` in, the activity's
// answer out. It only adapts what Step Functions can express to the activities' signatures: the ASL
// cannot leave a missing field out, so step results arrive as `$.steps` (recordOutcome turns them
// into phase times, shared/phases.ts), a caught error arrives as `{ Error, Cause }` and is turned into a Failure, and the
// native `describeEndpoint` answer (or its caught error) is turned into a SageMakerState. A thrown
// error keeps its `name`; Lambda reports it as the error type, which is what the ASL's Retry and
// Catch match (shared/errors.ts).
import {
  invokeHoldingLease,
  type Activities,
  type Admission,
  type JobContext,
  type JobOutcome,
  type StepsSeen,
  type WaiterRef,
} from '../../shared/activities.ts';
import type { WaiterKind } from '../../shared/endpoint-lifecycle/endpoint-store.ts';
import type { SageMakerState } from '../../shared/endpoint-lifecycle/sagemaker-control.ts';
import { InvalidInputError, type Failure } from '../../shared/errors.ts';
import type { Generate3dResult } from '../../shared/inference.ts';
import {
  recordAdmission,
  recordEndpointStart,
  recordEndpointStop,
  recordJobEnded,
  type MetricsSink,
} from '../../shared/job-metrics.ts';
import { phasesOf } from '../../shared/phases.ts';
import type { StateMachineSettings } from './settings.ts';

type Request = Record<string, unknown>;
type Task = (request: Request) => Promise<unknown>;

/** What the admit task answers: the execution's initial state (the ASL's Admit keeps these three). */
export interface AdmitAnswer {
  job: JobContext;
  admission: Omit<Admission, 'job'>;
  settings: StateMachineSettings;
}

/** The task names the ASL may send: every activity. */
export const TASK_NAMES = [
  'admit',
  'checkMask',
  'registerMaskWaiter',
  'acquireEndpoint',
  'startEndpoint',
  'checkEndpoint',
  'registerEndpointWaiter',
  'renewLease',
  'invoke',
  'releaseLease',
  'reportFailure',
  'recordOutcome',
  'notify',
  'beginStop',
  'finishStop',
] as const satisfies readonly (keyof Activities)[];

/**
 * The dispatcher. `metrics` gets the job metrics the durable workflow emits too (shared/job-metrics.ts),
 * each once a task succeeds: the admission, the endpoint's start and stop, the job's ending.
 */
export function createTaskHandler(
  activities: Activities,
  settings: StateMachineSettings,
  metrics: MetricsSink,
): (request: unknown) => Promise<unknown> {
  const tasks: Record<(typeof TASK_NAMES)[number], Task> = {
    async admit(r) {
      const { job, ...admission } = await activities.admit(r.event, text(r, 'executionId'));
      if (admission.admitted) recordAdmission(metrics, admission.created);
      return { job, admission, settings } satisfies AdmitAnswer;
    },
    checkMask: (r) => activities.checkMask(jobOf(r)),
    registerMaskWaiter: (r) => activities.registerMaskWaiter(jobOf(r), waiterOf(r)),
    acquireEndpoint: (r) => activities.acquireEndpoint(jobOf(r)),
    async startEndpoint(r) {
      const answer = await activities.startEndpoint(jobOf(r), generationOf(r));
      recordEndpointStart(metrics, answer.outcome);
      return answer;
    },
    checkEndpoint: (r) =>
      activities.checkEndpoint(
        jobOf(r),
        generationOf(r),
        r.observed === undefined || r.observed === null ? undefined : sageMakerStateOf(r.observed),
      ),
    registerEndpointWaiter: (r) => activities.registerEndpointWaiter(jobOf(r), generationOf(r), waiterOf(r)),
    renewLease: (r) => activities.renewLease(jobOf(r)),
    invoke: (r) => invokeHoldingLease(activities, jobOf(r), attemptOf(r)),
    releaseLease: (r) => activities.releaseLease(jobOf(r)),
    reportFailure: (r) => activities.reportFailure(jobOf(r), failureFrom(r.failure)),
    async recordOutcome(r) {
      // What the execution saw: `$.admission` and the step results the ASL keeps under `$.steps`.
      const seen = { admission: r.admission, ...(r.steps ?? {}) } as StepsSeen;
      const outcome = outcomeOf(r);
      const answer = await activities.recordOutcome(jobOf(r), outcome, seen);
      // The Lambda does not see its Invoke state's retries (the history counts them): no InferenceRetries.
      recordJobEnded(metrics, outcome, phasesOf(seen));
      return answer;
    },
    notify: (r) => activities.notify(jobOf(r), outcomeOf(r)),
    beginStop: () => activities.beginStop(),
    async finishStop() {
      const answer = await activities.finishStop();
      recordEndpointStop(metrics, answer.done);
      return answer;
    },
  };
  return async (request) => {
    if (typeof request !== 'object' || request === null || Array.isArray(request)) {
      throw new InvalidInputError(`a task request must be a JSON object, got ${JSON.stringify(request)}`);
    }
    const r = request as Request;
    const task = Object.hasOwn(tasks, r.task as string) ? tasks[r.task as keyof typeof tasks] : undefined;
    if (!task) {
      throw new InvalidInputError(
        `unknown task ${JSON.stringify(r.task)}; expected one of ${TASK_NAMES.join(', ')}`,
      );
    }
    // Lambda turns `undefined` into null; say nothing instead.
    return (await task(r)) ?? {};
  };
}

/**
 * A Failure from what the ASL holds: a Failure already, or a caught error `{ Error, Cause }`, whose
 * Cause for a Lambda task is the function's error payload as JSON text.
 */
export function failureFrom(value: unknown): Failure {
  const v = (value ?? {}) as { error?: unknown; message?: unknown; Error?: unknown; Cause?: unknown };
  if (typeof v.error === 'string')
    return { error: v.error, message: typeof v.message === 'string' ? v.message : '' };
  if (v.Error === undefined && v.Cause === undefined) {
    throw new InvalidInputError(
      `'failure' must be {error, message} or {Error, Cause}, got ${JSON.stringify(value)}`,
    );
  }
  const error = typeof v.Error === 'string' && v.Error !== '' ? v.Error : 'States.TaskFailed';
  const cause = typeof v.Cause === 'string' ? v.Cause : v.Cause == null ? '' : JSON.stringify(v.Cause);
  try {
    const payload = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof payload.errorMessage === 'string') return { error, message: payload.errorMessage };
  } catch {
    // Not a Lambda error payload: the cause is the message.
  }
  return { error, message: cause };
}

function outcomeOf(r: Request): JobOutcome {
  const outcome = r.outcome as { status?: unknown; result?: unknown; failure?: unknown } | undefined;
  switch (outcome?.status) {
    case 'COMPLETED':
      if (typeof outcome.result !== 'object' || outcome.result === null)
        throw new InvalidInputError("a COMPLETED outcome needs 'result'");
      return { status: 'COMPLETED', result: outcome.result as Generate3dResult };
    case 'FAILED':
    case 'REJECTED':
      return { status: outcome.status, failure: failureFrom(outcome.failure) };
    default:
      throw new InvalidInputError(
        `'outcome.status' must be COMPLETED, FAILED or REJECTED, got ${JSON.stringify(outcome?.status)}`,
      );
  }
}

function text(r: Request, field: string): string {
  const value = r[field];
  if (typeof value !== 'string' || value === '')
    throw new InvalidInputError(`task ${String(r.task)}: '${field}' must be a non-empty string`);
  return value;
}

function generationOf(r: Request): number {
  const value = r.generation;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0)
    throw new InvalidInputError(`task ${String(r.task)}: 'generation' must be a whole number`);
  return value;
}

/**
 * Which attempt of its state this task is, 1-based, from `retryCount` (the ASL passes
 * `$$.State.RetryCount`, 0 on the first attempt); 1 when the request carries none.
 */
function attemptOf(r: Request): number {
  const value = r.retryCount;
  if (value === undefined || value === null) return 1;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0)
    throw new InvalidInputError(`task ${String(r.task)}: 'retryCount' must be a whole number`);
  return value + 1;
}

const JOB_FIELDS = ['orchestrator', 'jobId', 'userId', 'name', 'bucket', 'imageKey', 'endpointName'] as const;

function jobOf(r: Request): JobContext {
  const job = r.job as Record<string, unknown> | undefined;
  const missing = JOB_FIELDS.filter((f) => typeof job?.[f] !== 'string');
  if (missing.length > 0)
    throw new InvalidInputError(`task ${String(r.task)}: 'job' lacks ${missing.join(', ')}`);
  return job as unknown as JobContext;
}

const WAITER_KINDS: readonly WaiterKind[] = ['sfn-task-token', 'durable-callback'];

function waiterOf(r: Request): WaiterRef {
  const waiter = r.waiter as { kind?: unknown; token?: unknown } | undefined;
  if (
    !WAITER_KINDS.includes(waiter?.kind as WaiterKind) ||
    typeof waiter?.token !== 'string' ||
    !waiter.token
  )
    throw new InvalidInputError(
      `task ${String(r.task)}: 'waiter' must be {kind: ${WAITER_KINDS.join(' | ')}, token}`,
    );
  return { kind: waiter.kind as WaiterKind, token: waiter.token };
}

/**
 * A DescribeEndpoint answer as the lifecycle folds it, from the state machine's spellings: Step
 * Functions' `aws-sdk:sagemaker:describeEndpoint` output (timestamps as text or numbers), the SDK's
 * output, or a caught "could not find endpoint" error (`{ missing: true }` or the error itself).
 */
export function sageMakerStateOf(observed: unknown): SageMakerState {
  const o = observed as {
    EndpointStatus?: unknown;
    FailureReason?: unknown;
    CreationTime?: unknown;
    status?: unknown;
    missing?: unknown;
    Error?: unknown;
    Cause?: unknown;
  };
  if (o.missing === true || o.status === 'missing') return { status: 'missing' };
  if (typeof o.Error === 'string') {
    const cause = typeof o.Cause === 'string' ? o.Cause : JSON.stringify(o.Cause ?? '');
    if (/could not find endpoint/i.test(cause)) return { status: 'missing' };
    throw new Error(`DescribeEndpoint failed: ${o.Error}: ${cause}`);
  }
  const status = typeof o.EndpointStatus === 'string' ? o.EndpointStatus : undefined;
  if (status === undefined)
    throw new Error(`not a DescribeEndpoint answer: ${JSON.stringify(observed).slice(0, 300)}`);
  const created =
    o.CreationTime instanceof Date
      ? o.CreationTime.getTime()
      : typeof o.CreationTime === 'number'
        ? o.CreationTime < 1e11
          ? o.CreationTime * 1000
          : o.CreationTime
        : typeof o.CreationTime === 'string'
          ? Date.parse(o.CreationTime)
          : undefined;
  const state = {
    status: status as SageMakerState['status'],
    ...(typeof o.FailureReason === 'string' ? { failureReason: o.FailureReason } : {}),
    ...(created !== undefined && Number.isFinite(created) ? { createdAt: created } : {}),
  };
  return state;
}
