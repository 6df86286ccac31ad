// The pieces state-machine.ts builds the ASL from, each written once: the task Lambda's Retry (from the
// shared RETRYABLE_ERROR_NAMES), a task call, the catch into the failure path, a bounded loop's round
// and bound, a bound that ran out, the lifecycle's look at the endpoint, and the record-release-notify
// ending of one outcome. Typed, so a misspelt field fails the typecheck, not a deployment.
import { RETRYABLE_ERROR_NAMES } from '../../shared/errors.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

interface Catcher extends JsonObject {
  ErrorEquals: string[];
  ResultPath: string | null;
  Next: string;
}
interface Retrier extends JsonObject {
  ErrorEquals: string[];
  IntervalSeconds: number;
  MaxAttempts: number;
  BackoffRate: number;
}
interface TaskState extends JsonObject {
  Type: 'Task';
  Resource: string;
  Parameters: JsonObject;
  Next: string;
}
interface ChoiceRule extends JsonObject {
  Next: string;
}
interface ChoiceState extends JsonObject {
  Type: 'Choice';
  Choices: ChoiceRule[];
  Default: string;
}
export type State =
  | TaskState
  | ChoiceState
  | { Type: 'Pass'; Parameters: JsonObject; ResultPath: string; Next: string; Comment?: string }
  | { Type: 'Wait'; SecondsPath: string; Next: string; Comment?: string }
  | { Type: 'Succeed'; Comment?: string }
  | { Type: 'Fail'; Comment?: string; ErrorPath: string; CausePath: string };

export interface StateMachineDefinition {
  Comment: string;
  TimeoutSeconds: number;
  StartAt: string;
  States: Record<string, State>;
}

/** The task Lambda's ARN, filled in at deployment (definition.ts DEFINITION_SUBSTITUTIONS). */
const TASKS_FUNCTION = '${TasksFunctionArn}';

/**
 * Every task Lambda retries the shared retryable names with capped, jittered backoff, and Lambda's
 * own service errors (a task that died mid-way ran an activity that is safe to repeat) briefly.
 */
export const TASK_RETRY: Retrier[] = [
  {
    ErrorEquals: [...RETRYABLE_ERROR_NAMES],
    IntervalSeconds: 2,
    MaxAttempts: 8,
    BackoffRate: 2,
    MaxDelaySeconds: 60,
    JitterStrategy: 'FULL',
  },
  {
    ErrorEquals: [
      'Lambda.ServiceException',
      'Lambda.AWSLambdaException',
      'Lambda.SdkClientException',
      'Lambda.TooManyRequestsException',
      'Lambda.ClientExecutionTimeoutException',
      'Lambda.Unknown',
      'Runtime.ExitError',
      'Sandbox.Timedout',
    ],
    IntervalSeconds: 1,
    MaxAttempts: 3,
    BackoffRate: 2,
  },
];

/** The native DescribeEndpoint retries SageMaker's throttling and its own failures. */
export const DESCRIBE_RETRY: Retrier[] = [
  {
    ErrorEquals: [
      'SageMaker.ThrottlingException',
      'SageMaker.SdkClientException',
      'SageMaker.InternalFailureException',
      'SageMaker.ServiceUnavailableException',
    ],
    IntervalSeconds: 2,
    MaxAttempts: 5,
    BackoffRate: 2,
    MaxDelaySeconds: 60,
    JitterStrategy: 'FULL',
  },
];

const FAILURE_PATH = 'ReportFailure';

/** Any error into `next`, kept at `resultPath`. */
export const catchAll = (resultPath: string | null, next: string): Catcher => ({
  ErrorEquals: ['States.ALL'],
  ResultPath: resultPath,
  Next: next,
});

/** Any error into the failure path, as `$.caught` = {Error, Cause}. */
export const toFailurePath = (): Catcher[] => [catchAll('$.caught', FAILURE_PATH)];

interface TaskOptions {
  comment?: string;
  /** Fields picked from the Lambda's answer (`$.Payload...`), or from the token's answer. */
  select?: JsonObject;
  resultPath?: string | null;
  catch?: Catcher[];
  next: string;
}

/** One call of the task Lambda: `{ task, ...payload }` → the activity of that name (tasks.ts). */
export function lambdaTask(task: string, payload: JsonObject, o: TaskOptions): TaskState {
  return taskState('arn:aws:states:::lambda:invoke', task, payload, o);
}

/**
 * A task Lambda call that waits for its task token, at most `timeoutPath` seconds; a timeout goes to
 * `onTimeout` (one check) before any other catch.
 */
export function tokenTask(
  task: string,
  payload: JsonObject,
  o: TaskOptions & { timeoutPath: string; onTimeout: string },
): TaskState {
  return taskState(
    'arn:aws:states:::lambda:invoke.waitForTaskToken',
    task,
    { ...payload, waiter: { kind: 'sfn-task-token', 'token.$': '$$.Task.Token' } },
    {
      ...o,
      catch: [{ ErrorEquals: ['States.Timeout'], ResultPath: null, Next: o.onTimeout }, ...(o.catch ?? [])],
    },
    o.timeoutPath,
  );
}

function taskState(
  resource: string,
  task: string,
  payload: JsonObject,
  o: TaskOptions,
  timeoutPath?: string,
): TaskState {
  return {
    Type: 'Task',
    ...(o.comment === undefined ? {} : { Comment: o.comment }),
    Resource: resource,
    Parameters: { FunctionName: TASKS_FUNCTION, Payload: { task, ...payload } },
    ...(timeoutPath === undefined ? {} : { TimeoutSecondsPath: timeoutPath }),
    ...(o.select === undefined ? {} : { ResultSelector: o.select }),
    ...(o.resultPath === undefined ? {} : { ResultPath: o.resultPath }),
    Retry: TASK_RETRY,
    ...(o.catch === undefined ? {} : { Catch: o.catch }),
    Next: o.next,
  };
}

/** `{ "a.$": "$.Payload.a", ... }`: the named fields of the Lambda's answer. */
export const fromPayload = (...fields: string[]): JsonObject =>
  Object.fromEntries(fields.map((f) => [`${f}.$`, `$.Payload.${f}`]));

/**
 * The next round of a bounded loop: its counter `$.{loop}` gets `round + 1` and the round's seconds
 * from the settings (`$.settings.{setting}.waits`).
 */
export function nextRound(loop: string, setting: string, comment: string, next: string): State {
  return {
    Type: 'Pass',
    Comment: comment,
    Parameters: {
      'round.$': `States.MathAdd($.${loop}.round, 1)`,
      'seconds.$': `States.ArrayGetItem($.settings.${setting}.waits, $.${loop}.round)`,
    },
    ResultPath: `$.${loop}`,
    Next: next,
  };
}

/** A bounded loop's counter reached its rounds. */
export const boundReached = (loop: string, setting: string, next: string): ChoiceRule => ({
  Variable: `$.${loop}.round`,
  NumericGreaterThanEqualsPath: `$.settings.${setting}.rounds`,
  Next: next,
});

export const inEventMode = (next: string): ChoiceRule => ({
  Variable: '$.settings.waitMode',
  StringEquals: 'event',
  Next: next,
});

/** A bound that ran out, as the failure it is (`$.caught`), for the failure path. */
export function timedOut(error: string, cause: string): State {
  return {
    Type: 'Pass',
    Parameters: { Error: error, 'Cause.$': cause },
    ResultPath: '$.caught',
    Next: FAILURE_PATH,
  };
}

/** The lifecycle's look at the endpoint (checkEndpoint), folding `observed` when given. */
export function checkEndpoint(
  name: string,
  generationPath: string,
  extra: JsonObject = {},
  comment?: string,
) {
  return {
    [name]: lambdaTask(
      'checkEndpoint',
      { 'job.$': '$.job', 'generation.$': generationPath, ...extra },
      {
        ...(comment === undefined ? {} : { comment }),
        select: fromPayload('status', 'generation', 'at'),
        resultPath: '$.steps.ready',
        catch: toFailurePath(),
        next: 'IsEndpointReady',
      },
    ),
  };
}

interface Ending {
  /** The outcome recorded on the job and sent in the notification. */
  outcome: JsonObject;
  record: string;
  /** Absent for a job that never took a lease (rejected). */
  release?: string;
  notify: string;
  /** Where a failing record goes; absent: the execution fails (nothing is recorded yet to fall back on). */
  recordCatch?: Catcher[];
  /** Once recorded, a failing release or notify is kept in the output (`$.releaseError`, `$.notifyError`). */
  keepGoing: boolean;
  next: string;
}

/** Record the outcome, release the lease, notify: one ending per outcome, built the same way. */
export function recordReleaseNotify(e: Ending): Record<string, State> {
  const afterRecord = e.release ?? e.notify;
  const kept = (resultPath: string, next: string) => (e.keepGoing ? [catchAll(resultPath, next)] : undefined);
  const states: Record<string, State> = {
    [e.record]: lambdaTask(
      'recordOutcome',
      { 'job.$': '$.job', outcome: e.outcome, 'admission.$': '$.admission', 'steps.$': '$.steps' },
      {
        resultPath: null,
        ...(e.recordCatch === undefined ? {} : { catch: e.recordCatch }),
        next: afterRecord,
      },
    ),
  };
  if (e.release !== undefined)
    states[e.release] = lambdaTask(
      'releaseLease',
      { 'job.$': '$.job' },
      {
        ...(e.outcome.status === 'COMPLETED'
          ? {
              comment:
                'The job is recorded: a failure from here on cannot fail it. A lease left behind expires, and the idle stop still runs.',
            }
          : {}),
        resultPath: null,
        ...withCatch(kept('$.releaseError', e.notify)),
        next: e.notify,
      },
    );
  states[e.notify] = lambdaTask(
    'notify',
    { 'job.$': '$.job', outcome: e.outcome },
    { resultPath: null, ...withCatch(kept('$.notifyError', e.next)), next: e.next },
  );
  return states;
}

const withCatch = (c: Catcher[] | undefined) => (c === undefined ? {} : { catch: c });

/** DescribeEndpoint still says the endpoint is on its way (no change worth a Lambda). */
export function stillChanging(): JsonObject {
  return {
    Or: ['Creating', 'Updating', 'SystemUpdating'].map((status) => ({
      Variable: '$.observed.EndpointStatus',
      StringEquals: status,
    })),
  };
}
