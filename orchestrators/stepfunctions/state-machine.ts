// The state machine, written once in TypeScript: `npm run asl` turns it into state-machine.asl.json,
// the file that deploys (CDK) and that the local cloud runs; a test fails when the two differ. What
// ASL makes a writer repeat is written once here: the task Lambda's Retry (from the shared
// RETRYABLE_ERROR_NAMES, so the durable function and the ASL retry the same names), the task call
// itself, the catch into the failure path, a bounded loop's round, and the record-release-notify
// ending. The states stay the design's flow state for state (README.md beside this file): ASL has no
// subroutine, and joining the three endings into one path costs a Choice transition per job
// (README.md, "One ending per outcome"), so each outcome keeps its own ending, built by one function.
import { RETRYABLE_ERROR_NAMES } from '../../shared/errors.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

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
type State =
  | TaskState
  | ChoiceState
  | { Type: 'Pass'; Parameters: JsonObject; ResultPath: string; Next: string; Comment?: string }
  | { Type: 'Wait'; SecondsPath: string; Next: string; Comment?: string }
  | { Type: 'Succeed'; Comment?: string }
  | { Type: 'Fail'; Comment?: string; ErrorPath: string; CausePath: string };

export interface StateMachineDefinition {
  Comment: string;
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
const DESCRIBE_RETRY: Retrier[] = [
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
const catchAll = (resultPath: string | null, next: string): Catcher => ({
  ErrorEquals: ['States.ALL'],
  ResultPath: resultPath,
  Next: next,
});

/** Any error into the failure path, as `$.caught` = {Error, Cause}. */
const toFailurePath = (): Catcher[] => [catchAll('$.caught', FAILURE_PATH)];

interface TaskOptions {
  comment?: string;
  /** Fields picked from the Lambda's answer (`$.Payload...`), or from the token's answer. */
  select?: JsonObject;
  resultPath?: string | null;
  catch?: Catcher[];
  next: string;
}

/** One call of the task Lambda: `{ task, ...payload }` → the activity of that name (tasks.ts). */
function lambdaTask(task: string, payload: JsonObject, o: TaskOptions): TaskState {
  return taskState('arn:aws:states:::lambda:invoke', task, payload, o);
}

/**
 * A task Lambda call that waits for its task token, at most `timeoutPath` seconds; a timeout goes to
 * `onTimeout` (one check) before any other catch.
 */
function tokenTask(
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
const fromPayload = (...fields: string[]): JsonObject =>
  Object.fromEntries(fields.map((f) => [`${f}.$`, `$.Payload.${f}`]));

/**
 * The next round of a bounded loop: its counter `$.{loop}` gets `round + 1` and the round's seconds
 * from the settings (`$.settings.{setting}.waits`).
 */
function nextRound(loop: string, setting: string, comment: string, next: string): State {
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
const boundReached = (loop: string, setting: string, next: string): ChoiceRule => ({
  Variable: `$.${loop}.round`,
  NumericGreaterThanEqualsPath: `$.settings.${setting}.rounds`,
  Next: next,
});

const inEventMode = (next: string): ChoiceRule => ({
  Variable: '$.settings.waitMode',
  StringEquals: 'event',
  Next: next,
});

/** A bound that ran out, as the failure it is (`$.caught`), for the failure path. */
function timedOut(error: string, cause: string): State {
  return {
    Type: 'Pass',
    Parameters: { Error: error, 'Cause.$': cause },
    ResultPath: '$.caught',
    Next: FAILURE_PATH,
  };
}

/** The lifecycle's look at the endpoint (checkEndpoint), folding `observed` when given. */
function checkEndpoint(name: string, generationPath: string, extra: JsonObject = {}, comment?: string) {
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
function recordReleaseNotify(e: Ending): Record<string, State> {
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

/** The ASL of one job of the Step Functions orchestrator. */
export function stateMachineDefinition(): StateMachineDefinition {
  return {
    Comment:
      'One job of the Step Functions orchestrator: admit, wait for the mask, acquire the endpoint (start it when this job is the starter), wait for InService, invoke, record, release, notify, idle wait, guarded stop. JSONPath only. Settings come from the admit task. Generated from state-machine.ts by `npm run asl`; see README.md beside this file.',
    StartAt: 'Admit',
    States: {
      // 2. Admit.
      Admit: lambdaTask(
        'admit',
        { 'event.$': '$', 'executionId.$': '$$.Execution.Id' },
        {
          comment:
            "Admits the upload's job idempotently (or records it REJECTED) and hands the execution its settings, from the task Lambda's configuration: the one source of every number below.",
          select: {
            ...fromPayload('job', 'admission', 'settings'),
            steps: {},
            maskWait: { round: 0 },
            endpointWait: { round: 0 },
            stopWait: { round: 0 },
          },
          next: 'IsAdmitted',
        },
      ),
      IsAdmitted: {
        Type: 'Choice',
        Choices: [
          { Variable: '$.admission.admitted', BooleanEquals: false, Next: 'ReportRejection' },
          { Variable: '$.admission.created', BooleanEquals: false, Next: 'JoinedExistingJob' },
        ],
        Default: 'CheckMask',
      },
      JoinedExistingJob: {
        Type: 'Succeed',
        Comment: 'A duplicate delivery of an upload another execution admitted: that execution runs the job.',
      },
      ReportRejection: lambdaTask(
        'reportFailure',
        { 'job.$': '$.job', 'failure.$': '$.admission.failure' },
        { select: fromPayload('errorKey'), resultPath: '$.steps.report', next: 'RecordRejection' },
      ),
      ...recordReleaseNotify({
        outcome: { status: 'REJECTED', 'failure.$': '$.admission.failure' },
        record: 'RecordRejection',
        notify: 'NotifyRejection',
        keepGoing: false,
        next: 'Rejected',
      }),
      Rejected: { Type: 'Succeed' },

      // 3. The mask, bounded, in the wait mode.
      CheckMask: lambdaTask(
        'checkMask',
        { 'job.$': '$.job' },
        {
          select: fromPayload('present', 'at'),
          resultPath: '$.steps.mask',
          catch: toFailurePath(),
          next: 'IsMaskPresent',
        },
      ),
      IsMaskPresent: {
        Type: 'Choice',
        Choices: [
          { Variable: '$.steps.mask.present', BooleanEquals: true, Next: 'AcquireEndpoint' },
          boundReached('maskWait', 'mask', 'MaskTimedOut'),
          inEventMode('MaskEventRound'),
        ],
        Default: 'MaskPollRound',
      },
      MaskPollRound: nextRound(
        'maskWait',
        'mask',
        'poll mode: the next interval of the bounded mask loop',
        'MaskPollWait',
      ),
      MaskPollWait: { Type: 'Wait', SecondsPath: '$.maskWait.seconds', Next: 'CheckMask' },
      MaskEventRound: nextRound(
        'maskWait',
        'mask',
        "event mode: the next bounded wait for the mask's Object Created event",
        'WaitForMask',
      ),
      WaitForMask: tokenTask(
        'registerMaskWaiter',
        { 'job.$': '$.job' },
        {
          comment:
            "Registers this task's token on the job; the mask's Object Created event (or the registration itself, when the mask is already there) answers it. A timeout falls back to one check.",
          timeoutPath: '$.maskWait.seconds',
          onTimeout: 'CheckMask',
          select: { 'present.$': '$.present' },
          resultPath: '$.steps.mask',
          catch: toFailurePath(),
          next: 'IsMaskPresent',
        },
      ),
      MaskTimedOut: timedOut(
        'MaskTimeoutError',
        "States.Format('the mask {} did not arrive within {} seconds', $.job.maskKey, $.settings.mask.boundSeconds)",
      ),

      // 4. Acquire the endpoint; the starter starts it.
      AcquireEndpoint: lambdaTask(
        'acquireEndpoint',
        { 'job.$': '$.job' },
        {
          select: fromPayload('role', 'generation', 'at'),
          resultPath: '$.steps.acquire',
          catch: toFailurePath(),
          next: 'IsStarter',
        },
      ),
      IsStarter: {
        Type: 'Choice',
        Choices: [{ Variable: '$.steps.acquire.role', StringEquals: 'starter', Next: 'StartEndpoint' }],
        Default: 'CheckEndpoint',
      },
      StartEndpoint: lambdaTask(
        'startEndpoint',
        { 'job.$': '$.job', 'generation.$': '$.steps.acquire.generation' },
        {
          select: fromPayload('outcome'),
          resultPath: '$.steps.start',
          catch: toFailurePath(),
          next: 'CheckEndpoint',
        },
      ),

      // 5. Wait for InService, bounded, in the wait mode.
      ...checkEndpoint('CheckEndpoint', '$.steps.acquire.generation'),
      IsEndpointReady: {
        Type: 'Choice',
        Choices: [
          { Variable: '$.steps.ready.status', StringEquals: 'ready', Next: 'Invoke' },
          { Variable: '$.steps.ready.status', StringEquals: 'start', Next: 'TakeOverStart' },
          boundReached('endpointWait', 'endpoint', 'EndpointTimedOut'),
          inEventMode('EndpointEventRound'),
        ],
        Default: 'EndpointPollRound',
      },
      TakeOverStart: lambdaTask(
        'startEndpoint',
        { 'job.$': '$.job', 'generation.$': '$.steps.ready.generation' },
        {
          comment:
            'This job took over a start that could not finish (its starter died before CreateEndpoint, or the endpoint vanished): it starts the new generation, then keeps waiting.',
          select: fromPayload('outcome'),
          resultPath: '$.steps.start',
          catch: toFailurePath(),
          next: 'WaitForEndpointAgain',
        },
      ),
      WaitForEndpointAgain: {
        Type: 'Choice',
        Choices: [
          boundReached('endpointWait', 'endpoint', 'EndpointTimedOut'),
          inEventMode('EndpointEventRound'),
        ],
        Default: 'EndpointPollRound',
      },
      EndpointPollRound: nextRound(
        'endpointWait',
        'endpoint',
        'poll mode: the next interval of the bounded InService loop',
        'EndpointPollWait',
      ),
      EndpointPollWait: { Type: 'Wait', SecondsPath: '$.endpointWait.seconds', Next: 'DescribeEndpoint' },
      DescribeEndpoint: {
        Type: 'Task',
        Comment: "Step Functions' own SageMaker call: no Lambda while the status does not change.",
        Resource: 'arn:aws:states:::aws-sdk:sagemaker:describeEndpoint',
        Parameters: { 'EndpointName.$': '$.job.endpointName' },
        ResultPath: '$.observed',
        Retry: DESCRIBE_RETRY,
        Catch: [
          {
            // What a missing endpoint is named (README.md, "Notes for the deployment").
            ErrorEquals: ['SageMaker.ValidationException', 'SageMaker.SageMakerException'],
            ResultPath: '$.observed',
            Next: 'FoldEndpointStatus',
          },
          ...toFailurePath(),
        ],
        Next: 'HasEndpointStatusChanged',
      },
      HasEndpointStatusChanged: {
        Type: 'Choice',
        Choices: [
          {
            And: [
              stillChanging(),
              { Variable: '$.endpointWait.round', NumericLessThanPath: '$.settings.endpoint.rounds' },
            ],
            Next: 'EndpointPollRound',
          },
          { ...stillChanging(), Next: 'EndpointTimedOut' },
        ],
        Default: 'FoldEndpointStatus',
      },
      ...checkEndpoint(
        'FoldEndpointStatus',
        '$.steps.ready.generation',
        { 'observed.$': '$.observed' },
        'The status changed (InService, Failed, gone, ...): the lifecycle folds what DescribeEndpoint said into the endpoint item.',
      ),
      EndpointEventRound: nextRound(
        'endpointWait',
        'endpoint',
        "event mode: the next bounded wait for SageMaker's Endpoint State Change",
        'WaitForEndpoint',
      ),
      WaitForEndpoint: tokenTask(
        'registerEndpointWaiter',
        { 'job.$': '$.job', 'generation.$': '$.steps.ready.generation' },
        {
          comment:
            "Registers this task's token on the endpoint item, then checks once more; the waker (SageMaker's Endpoint State Change) or that check answers it. A timeout falls back to one check.",
          timeoutPath: '$.endpointWait.seconds',
          onTimeout: 'CheckEndpointAfterTimeout',
          select: { 'status.$': '$.status', 'generation.$': '$.generation' },
          resultPath: '$.steps.ready',
          catch: toFailurePath(),
          next: 'IsEndpointReady',
        },
      ),
      ...checkEndpoint('CheckEndpointAfterTimeout', '$.steps.ready.generation'),
      EndpointTimedOut: timedOut(
        'EndpointTimeoutError',
        "States.Format('endpoint {} did not reach InService within {} seconds', $.job.endpointName, $.settings.endpoint.boundSeconds)",
      ),

      // 6. Infer. 7. Record, release, notify.
      Invoke: lambdaTask(
        'invoke',
        { 'job.$': '$.job' },
        {
          select: fromPayload('result', 'startedAt', 'at'),
          resultPath: '$.steps.inference',
          catch: toFailurePath(),
          next: 'RecordCompleted',
        },
      ),
      ...recordReleaseNotify({
        outcome: { status: 'COMPLETED', 'result.$': '$.steps.inference.result' },
        record: 'RecordCompleted',
        release: 'ReleaseLease',
        notify: 'NotifyCompleted',
        recordCatch: toFailurePath(),
        keepGoing: true,
        next: 'IdleWait',
      }),

      // The failure path: it keeps going when one of its own steps fails.
      ReportFailure: lambdaTask(
        'reportFailure',
        { 'job.$': '$.job', 'failure.$': '$.caught' },
        {
          comment:
            'Every failure after admission comes here with $.caught = {Error, Cause}: output/sf/{name}_error.json, the job FAILED, its lease released, Job Failed sent.',
          select: fromPayload('errorKey'),
          resultPath: '$.steps.report',
          catch: [catchAll('$.reportError', 'RecordFailed')],
          next: 'RecordFailed',
        },
      ),
      ...recordReleaseNotify({
        outcome: { status: 'FAILED', 'failure.$': '$.caught' },
        record: 'RecordFailed',
        release: 'ReleaseAfterFailure',
        notify: 'NotifyFailed',
        recordCatch: [catchAll('$.recordError', 'ReleaseAfterFailure')],
        keepGoing: true,
        next: 'HeldEndpoint',
      }),
      HeldEndpoint: {
        Type: 'Choice',
        Comment: 'A job that held the endpoint takes part in the idle stop, whatever its outcome.',
        Choices: [{ Variable: '$.steps.acquire', IsPresent: true, Next: 'IdleWait' }],
        Default: 'JobFailed',
      },

      // 8. Idle stop.
      IdleWait: {
        Type: 'Wait',
        Comment: 'The idle window: free while it waits (Wait states bill one transition, not time).',
        SecondsPath: '$.settings.idleWindowSeconds',
        Next: 'BeginStop',
      },
      BeginStop: lambdaTask(
        'beginStop',
        {},
        {
          comment:
            'The guarded stop: only if nothing used the endpoint since the window began; any later job keeps it and stops it itself.',
          select: fromPayload('outcome'),
          resultPath: '$.steps.stop',
          catch: [catchAll('$.stopError', 'Finished')],
          next: 'IsStopping',
        },
      ),
      IsStopping: {
        Type: 'Choice',
        Choices: [{ Variable: '$.steps.stop.outcome', StringEquals: 'stopping', Next: 'StopPollRound' }],
        Default: 'Finished',
      },
      StopPollRound: nextRound(
        'stopWait',
        'stop',
        'the next interval of the bounded deletion loop',
        'StopPollWait',
      ),
      StopPollWait: { Type: 'Wait', SecondsPath: '$.stopWait.seconds', Next: 'FinishStop' },
      FinishStop: lambdaTask(
        'finishStop',
        {},
        {
          select: fromPayload('done'),
          resultPath: '$.steps.stopped',
          catch: [catchAll('$.stopError', 'Finished')],
          next: 'IsStopped',
        },
      ),
      IsStopped: {
        Type: 'Choice',
        Choices: [
          { Variable: '$.steps.stopped.done', BooleanEquals: true, Next: 'Finished' },
          boundReached('stopWait', 'stop', 'Finished'),
        ],
        Default: 'StopPollRound',
      },
      Finished: {
        Type: 'Choice',
        Comment: 'A deletion still running after the loop is finished by the next acquire.',
        Choices: [{ Variable: '$.caught', IsPresent: true, Next: 'JobFailed' }],
        Default: 'Completed',
      },
      Completed: { Type: 'Succeed' },
      JobFailed: {
        Type: 'Fail',
        Comment: "The job is recorded FAILED; the execution fails with the job's error.",
        ErrorPath: '$.caught.Error',
        CausePath: '$.caught.Cause',
      },
    },
  };
}

/** DescribeEndpoint still says the endpoint is on its way (no change worth a Lambda). */
function stillChanging(): JsonObject {
  return {
    Or: ['Creating', 'Updating', 'SystemUpdating'].map((status) => ({
      Variable: '$.observed.EndpointStatus',
      StringEquals: status,
    })),
  };
}
