// The state machine, written once in TypeScript: `npm run asl` turns it into state-machine.asl.json,
// the file that deploys (CDK) and that the local cloud runs; a test fails when the two differ. What
// ASL makes a writer repeat is written once, in asl-builders.ts: the task Lambda's Retry (from the
// shared RETRYABLE_ERROR_NAMES, so the durable function and the ASL retry the same names), the task
// call, the catch into the failure path, a bounded loop's round, the record-release-notify ending.
// The states below are the design's flow state for state, in its order (README.md beside this file).
// ASL has no subroutine, and joining the three endings into one path costs a Choice transition per
// job (README.md, "One ending per outcome"), so each outcome keeps its own ending, built by one
// function.
import {
  DESCRIBE_RETRY,
  type StateMachineDefinition,
  boundReached,
  catchAll,
  checkEndpoint,
  fromPayload,
  inEventMode,
  lambdaTask,
  nextRound,
  recordReleaseNotify,
  stillChanging,
  timedOut,
  toFailurePath,
  tokenTask,
} from './asl-builders.ts';
import { EXECUTION_TIMEOUT_SECONDS } from '../../shared/job-model.ts';

/** The ASL of one job of the Step Functions orchestrator. */
export function stateMachineDefinition(): StateMachineDefinition {
  return {
    Comment:
      'One job of the Step Functions orchestrator: admit, wait for the mask, acquire the endpoint (start it when this job is the starter), wait for InService, invoke, record, release, notify, idle wait, guarded stop. JSONPath only. Settings come from the admit task. Generated from state-machine.ts by `npm run asl`; see README.md beside this file.',
    // The platform ends a run past this TIMED_OUT; the job is then recorded FAILED from outside.
    TimeoutSeconds: EXECUTION_TIMEOUT_SECONDS,
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
