// The durable workflow: the design's flow (admit, mask, acquire, InService, infer, record, release,
// notify, idle stop) made only of durable operations with stable names, each step calling one
// activity (shared/activities.ts). Code between operations is a pure function of the event and of
// checkpointed results: no clock, no I/O, no randomness, so every replay takes the same path.
// README.md beside this file lists the operations and what each wait mode costs.
// Over 400 lines on purpose: the flow reads top to bottom in one file, as the ASL does in its own;
// splitting it would hide the order of the durable operations, which is what replay depends on.
import type { DurableContext, DurableExecutionHandler, DurableLogger } from '@aws/durable-execution-sdk-js';
import {
  invokeHoldingLease,
  type Activities,
  type JobContext,
  type JobOutcome,
} from '../../shared/activities.ts';
import { delayAfterLook, eventLoop, waitedBeforeLook, wholeSeconds } from '../../shared/backoff.ts';
import type { Config } from '../../shared/config.ts';
import type { Readiness } from '../../shared/endpoint-lifecycle/lifecycle.ts';
import { EndpointTimeoutError, MaskTimeoutError, type Failure } from '../../shared/errors.ts';
import {
  recordAdmission,
  recordEndpointStart,
  recordEndpointStop,
  recordJobEnded,
  type MetricsSink,
} from '../../shared/job-metrics.ts';
import { phasesOf, type StepsSeen } from '../../shared/phases.ts';
import { durableErrorType, failureOfDurable, raise } from './failures.ts';
import { isTerminalName, retryOnNames } from './retry.ts';

export type WorkflowSettings = Pick<
  Config,
  | 'waitMode'
  | 'maskWaitSeconds'
  | 'endpointWaitSeconds'
  | 'pollSeconds'
  | 'pollMaxSeconds'
  | 'eventFallbackSeconds'
  | 'idleWindowSeconds'
>;

export interface WorkflowOptions {
  activities: Activities;
  settings: WorkflowSettings;
  /** Where metrics go; once per execution, from inside step bodies (a replay never runs them again). */
  metrics: MetricsSink;
  /** A logger for ctx.logger (kept replay-aware); the SDK's console logger when absent. */
  logger?: DurableLogger;
}

export type StopResult =
  | { outcome: 'stopped' | 'stopping'; generation: number }
  | { outcome: 'kept'; reason: string }
  | { outcome: 'error'; failure: Failure };

/**
 * The result of an execution that succeeded: a completed job (with what the idle stop did), a rejected
 * upload, or a duplicate delivery. An execution whose job FAILED fails with the job's error instead.
 */
export interface JobResult {
  jobId: string;
  status: 'COMPLETED' | 'REJECTED' | 'DUPLICATE';
  outputKey?: string;
  failure?: Failure;
  stop?: StopResult;
}

/** Stable operation names: a renamed operation breaks the replay of executions in flight. */
export const OP = {
  admit: 'admit',
  waitForMask: 'wait-for-mask',
  checkMask: 'check-mask',
  acquire: 'acquire-endpoint',
  start: 'start-endpoint',
  waitForEndpoint: 'wait-for-endpoint',
  checkEndpoint: 'check-endpoint',
  invoke: 'invoke-endpoint',
  reportFailure: 'report-failure',
  record: 'record-outcome',
  release: 'release-lease',
  notify: 'notify',
  idle: 'idle-window',
  beginStop: 'begin-stop',
  finishStop: 'finish-stop',
} as const;

/** Attempts of a step that is not a wait (invoke, bookkeeping): the first and five retries. */
const STEP_ATTEMPTS = 6;

type Ctx = DurableContext;

/** One look of a poll loop: `done` ends it; `value` is what was found. */
interface Look<T> {
  done: boolean;
  value?: T;
}

/** A poll loop's checkpointed state. */
interface PollState<T> extends Look<T> {
  looks: number;
  /** A terminal named error a look ran into: it ends the loop and the job. */
  error?: Failure;
  /** The last transient error, kept for the logs. */
  transient?: Failure;
}

export function createWorkflow(options: WorkflowOptions): DurableExecutionHandler<unknown, JobResult> {
  const { activities: a, settings: s, metrics } = options;
  const poll = { pollSeconds: s.pollSeconds, pollMaxSeconds: s.pollMaxSeconds };
  const bookkeeping = {
    retryStrategy: retryOnNames(poll, {
      boundSeconds: s.endpointWaitSeconds,
      maxAttempts: STEP_ATTEMPTS,
      alsoUnnamed: true,
    }),
  };
  const lifecycleRetry = { retryStrategy: retryOnNames(poll, { boundSeconds: s.endpointWaitSeconds }) };
  const stepRetry = {
    retryStrategy: retryOnNames(poll, { boundSeconds: s.endpointWaitSeconds, maxAttempts: STEP_ATTEMPTS }),
  };

  /**
   * `waitForCondition` with capped backoff inside `boundSeconds`. The look never throws: a thrown
   * error would end the operation at once, so a transient error is kept in the state and looked past,
   * and a terminal named one ends the loop in the state for the caller to raise.
   */
  async function pollUntil<T>(
    ctx: Ctx,
    name: string,
    boundSeconds: number,
    look: () => Promise<Look<T>>,
  ): Promise<PollState<T> & { waited: number }> {
    const state = await ctx.waitForCondition<PollState<T>>(
      name,
      async (_previous, check) => {
        try {
          return { ...(await look()), looks: check.attempt };
        } catch (err) {
          const failure = failureOfDurable(err);
          check.logger.warn(`${name}: look ${check.attempt} failed`, logFields(failure));
          return isTerminalName(failure.error)
            ? { done: false, looks: check.attempt, error: failure }
            : { done: false, looks: check.attempt, transient: failure };
        }
      },
      {
        initialState: { done: false, looks: 0 },
        waitStrategy: (current, attempt) => {
          if (current.done || current.error) return { shouldContinue: false };
          const delay = delayAfterLook(poll, boundSeconds, attempt);
          return delay === undefined
            ? { shouldContinue: false }
            : { shouldContinue: true, delay: { seconds: delay } };
        },
      },
    );
    return { ...state, waited: waitedBeforeLook(poll, boundSeconds, state.looks) };
  }

  /** Resolves with the time the mask was seen, or undefined when a callback said so (no time given). */
  async function waitForMask(ctx: Ctx, job: JobContext): Promise<string | undefined> {
    const timedOut = () =>
      new MaskTimeoutError(`the mask ${job.maskKey} did not arrive within ${s.maskWaitSeconds} s`);
    if (s.waitMode === 'poll') {
      const state = await pollUntil(ctx, OP.waitForMask, s.maskWaitSeconds, async () => {
        const mask = await a.checkMask(job);
        return { done: mask.present, value: mask.at };
      });
      if (state.error) raise(state.error);
      if (!state.done) throw timedOut();
      return state.value;
    }
    // Event mode: look once; only a mask that is not there yet is waited for, by its own event.
    let mask = await ctx.step(OP.checkMask, () => a.checkMask(job), stepRetry);
    const rounds = eventLoop(s, s.maskWaitSeconds).waits;
    let round = 0;
    let registration: Error | undefined;
    while (!mask.present) {
      const timeout = rounds[round++];
      if (timeout === undefined) throw timedOut();
      try {
        await ctx.waitForCallback(
          OP.waitForMask,
          async (callbackId) => {
            // Stores the waiter on the job, then looks again: a mask that landed just before the
            // waiter was stored has its waiter answered here, since its event found nobody waiting.
            await a.registerMaskWaiter(job, { kind: 'durable-callback', token: callbackId });
          },
          { timeout: { seconds: timeout }, ...stepRetry },
        );
        return undefined;
      } catch (err) {
        if (durableErrorType(err) === 'CallbackSubmitterError') registration = err as Error;
      }
      // No wake-up in time (an event lost between the waker's claim and its send), or no waiter
      // stored: look once.
      mask = await ctx.step(OP.checkMask, () => a.checkMask(job), stepRetry);
      if (!mask.present && registration !== undefined) throw registration;
    }
    return mask.at;
  }

  async function startEndpoint(ctx: Ctx, job: JobContext, generation: number): Promise<void> {
    await ctx.step(
      OP.start,
      async () => {
        const { outcome } = await a.startEndpoint(job, generation);
        recordEndpointStart(metrics, outcome);
        return outcome;
      },
      lifecycleRetry,
    );
  }

  /** Waits until the endpoint serves this job, starting a generation it took over; the ready time if known. */
  async function waitForEndpoint(
    ctx: Ctx,
    job: JobContext,
    firstGeneration: number,
  ): Promise<string | undefined> {
    let generation = firstGeneration;
    let waited = 0;
    const timedOut = () =>
      new EndpointTimeoutError(
        `endpoint ${job.endpointName} did not reach InService within ${s.endpointWaitSeconds} s`,
      );
    if (s.waitMode === 'poll') {
      for (;;) {
        const current = generation;
        const state = await pollUntil(ctx, OP.waitForEndpoint, s.endpointWaitSeconds - waited, async () => {
          const found = await a.checkEndpoint(job, current);
          return { done: found.status !== 'waiting', value: found };
        });
        if (state.error) raise(state.error);
        if (!state.done || !state.value) throw timedOut();
        if (state.value.status === 'ready') return state.value.at;
        // `start`: this job took over a start that cannot finish.
        waited += state.waited;
        generation = await takeOver(ctx, job, state.value.generation);
      }
    }
    // Event mode: look once; only an endpoint that is not serving yet is waited for, by its event.
    let readiness: Readiness & { at?: string } = await checkEndpoint(ctx, job, generation);
    const rounds = eventLoop(s, s.endpointWaitSeconds).waits;
    let round = 0;
    let registration: Error | undefined;
    for (;;) {
      if (readiness.status === 'ready') return readiness.at;
      generation =
        readiness.status === 'start' ? await takeOver(ctx, job, readiness.generation) : readiness.generation;
      const timeout = rounds[round++];
      if (timeout === undefined) throw timedOut();
      const current = generation;
      let answer: unknown;
      try {
        answer = await ctx.waitForCallback<unknown>(
          OP.waitForEndpoint,
          async (callbackId) => {
            // Registers, checks again, and answers the callback itself when that check settles it.
            await a.registerEndpointWaiter(job, current, { kind: 'durable-callback', token: callbackId });
          },
          { timeout: { seconds: timeout }, serdes: jsonSerdes, ...stepRetry },
        );
      } catch (err) {
        if (durableErrorType(err) === 'CallbackSubmitterError') registration = err as Error;
      }
      // No answer in time, a failure sent by the waker, or no waiter stored: one check says which,
      // under the error's own name (a callback failure keeps only its message across replays).
      readiness = readinessOf(answer) ?? (await checkEndpoint(ctx, job, current));
      if (readiness.status === 'waiting' && registration !== undefined) throw registration;
    }
  }

  /** This job took over a start that cannot finish: it starts the new generation and waits for that. */
  async function takeOver(ctx: Ctx, job: JobContext, generation: number): Promise<number> {
    ctx.logger.info(`took over the start of ${job.endpointName}, generation ${generation}`);
    await startEndpoint(ctx, job, generation);
    return generation;
  }

  function checkEndpoint(ctx: Ctx, job: JobContext, generation: number) {
    return ctx.step(OP.checkEndpoint, () => a.checkEndpoint(job, generation), stepRetry);
  }

  /** The guarded stop after the idle window; never fails the execution (the job is already recorded). */
  async function stopIfIdle(ctx: Ctx): Promise<StopResult> {
    await ctx.wait(OP.idle, { seconds: wholeSeconds(s.idleWindowSeconds) });
    try {
      const begun = await ctx.step(OP.beginStop, () => a.beginStop(), bookkeeping);
      if (begun.outcome === 'kept') return begun;
      const state = await pollUntil(ctx, OP.finishStop, s.endpointWaitSeconds, async () => {
        const { done } = await a.finishStop();
        recordEndpointStop(metrics, done);
        return { done, value: done };
      });
      if (state.error) raise(state.error);
      if (!state.done) ctx.logger.warn(`endpoint still deleting after ${s.endpointWaitSeconds} s`);
      return { outcome: state.done ? 'stopped' : 'stopping', generation: begun.generation };
    } catch (err) {
      const failure = failureOfDurable(err);
      ctx.logger.error('idle stop failed; a later job stops the endpoint', logFields(failure));
      return { outcome: 'error', failure };
    }
  }

  async function bestEffort(ctx: Ctx, name: string, fn: () => Promise<void>): Promise<void> {
    try {
      await ctx.step(name, fn, bookkeeping);
    } catch (err) {
      ctx.logger.error(`${name} failed for good`, logFields(failureOfDurable(err)));
    }
  }

  return async (event, ctx) => {
    if (options.logger) ctx.configureLogger({ customLogger: options.logger });
    const executionId = ctx.executionContext.durableExecutionArn;
    const admission = await ctx.step(
      OP.admit,
      async () => {
        const admitted = await a.admit(event, executionId);
        if (admitted.admitted) recordAdmission(metrics, admitted.created);
        return admitted;
      },
      bookkeeping,
    );
    const job = admission.job;

    if (!admission.admitted) {
      ctx.logger.warn(`upload rejected: ${admission.failure.message}`);
      const outcome: JobOutcome = { status: 'REJECTED', failure: admission.failure };
      await ctx.step(OP.reportFailure, () => a.reportFailure(job, admission.failure), bookkeeping);
      await ctx.step(OP.record, () => a.recordOutcome(job, outcome, { admission }), bookkeeping);
      await ctx.step(
        OP.notify,
        async () => {
          await a.notify(job, outcome);
          recordJobEnded(metrics, outcome, {}, 0);
        },
        bookkeeping,
      );
      return { jobId: job.jobId, status: 'REJECTED', failure: admission.failure };
    }
    if (!admission.created) {
      // A duplicate delivery started a second execution: the job's own execution processes it.
      ctx.logger.info(`job ${job.jobId} was admitted by another execution; this delivery ends here`);
      return { jobId: job.jobId, status: 'DUPLICATE' };
    }

    // What the steps answered, for the phase times recordOutcome records (shared/phases.ts).
    const seen: StepsSeen = { admission };
    let acquiring = false;
    let inferenceAttempts = 0;
    let outcome: JobOutcome;
    try {
      // Woken by a callback, the mask is seen without a time.
      seen.mask = { present: true, at: await waitForMask(ctx, job) };
      acquiring = true;
      const acquired = await ctx.step(OP.acquire, () => a.acquireEndpoint(job), lifecycleRetry);
      seen.acquire = acquired;
      if (acquired.role === 'starter') await startEndpoint(ctx, job, acquired.generation);
      seen.ready = { status: 'ready', at: await waitForEndpoint(ctx, job, acquired.generation) };
      const inference = await ctx.step(
        OP.invoke,
        async (step) => ({ ...(await invokeHoldingLease(a, job, step.attempt)), attempt: step.attempt }),
        stepRetry,
      );
      inferenceAttempts = inference.attempt;
      seen.inference = inference;
      outcome = { status: 'COMPLETED', result: inference.result };
      const completed = outcome;
      await ctx.step(OP.record, () => a.recordOutcome(job, completed, seen), bookkeeping);
    } catch (err) {
      // The step returns the failure it wrote, so later code uses the checkpointed one. An artifact
      // that cannot be written must not keep the job from being recorded.
      let failure: Failure;
      try {
        failure = await ctx.step(
          OP.reportFailure,
          async () => {
            const found = failureOfDurable(err);
            await a.reportFailure(job, found);
            return found;
          },
          bookkeeping,
        );
      } catch (reportErr) {
        failure = failureOfDurable(err);
        ctx.logger.error('could not write the error report', logFields(failureOfDurable(reportErr)));
      }
      ctx.logger.error(`job ${job.jobId} failed`, logFields(failure));
      outcome = { status: 'FAILED', failure };
      const failed = outcome;
      await ctx.step(OP.record, () => a.recordOutcome(job, failed, seen), bookkeeping);
    }
    // The job is recorded: a release or a notification that fails for good is logged, and the
    // execution goes on to its ending (an unreleased lease expires; the stop guard ignores it then).
    if (acquiring) await bestEffort(ctx, OP.release, () => a.releaseLease(job));
    const ended = outcome;
    await bestEffort(ctx, OP.notify, async () => {
      await a.notify(job, ended);
      recordJobEnded(metrics, ended, phasesOf(seen), inferenceAttempts);
    });
    ctx.logger.info(`job ${job.jobId} ${ended.status}`);
    // Only a job that used the endpoint may be the last one to use it.
    const stop = acquiring ? await stopIfIdle(ctx) : undefined;
    // A failed job fails its execution with the job's own error (as the state machine's does), so
    // the service's execution list tells failed jobs apart; the job item says the same.
    if (ended.status !== 'COMPLETED') raise(ended.failure);
    return {
      jobId: job.jobId,
      status: 'COMPLETED',
      outputKey: ended.result.output_s3_key,
      ...(stop === undefined ? {} : { stop }),
    };
  };
}

/** Callback results are JSON (the waiter senders send JSON.stringify of the answer). */
const jsonSerdes = {
  deserialize: (data: string | undefined): Promise<unknown> =>
    Promise.resolve(data === undefined ? undefined : (JSON.parse(data) as unknown)),
};

/** A callback's answer as Readiness, or undefined when it is not one (then one check decides). */
function readinessOf(answer: unknown): Readiness | undefined {
  const r = answer as { status?: unknown; generation?: unknown } | null;
  if (typeof r?.generation !== 'number') return undefined;
  if (r.status === 'ready' || r.status === 'start') return { status: r.status, generation: r.generation };
  return undefined;
}

/** A failure as log fields: `message` is the log line's own key, so the failure's goes as `reason`. */
function logFields(failure: Failure): { error: string; reason: string } {
  return { error: failure.error, reason: failure.message };
}
