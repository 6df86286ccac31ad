// Jobs whose execution the platform ended: a Step Functions execution stopped (StopExecution), timed
// out or failed outside any Catch; a durable execution stopped (StopDurableExecution), timed out, or
// failed after its invocations kept dying without progress. The workflow never got to record these,
// so the job would stay RECEIVED (or wherever it was) and its lease would wait to expire. Two ways in,
// one way to record: Step Functions' own `Step Functions Execution Status Change` event
// (`executionEnded`), and the reconciler (`reconcile`, on a schedule) that finds every job not ended
// whose execution has (Lambda sends no event of its own for durable executions, so for those it is
// the only way). Each ending releases the job's lease and waiter, writes its `_error.json`, records
// it FAILED with the execution's error through one conditional write, and notifies `Job Failed`:
// when both ways see the same ending, only the write that ended the job notifies. Every piece is the
// orchestrators' own (activities.ts, job-store.ts, the endpoint lifecycle); nothing sleeps.
import { admittedJobRef, createActivities, jobContextOf, type Activities } from './activities.ts';
import type { StepFunctionsExecutionStatusChangeEvent } from './aws-events.ts';
import { jobStoreOf, lifecycleFor, type Deps } from './deps.ts';
import type { EndpointLifecycle } from './endpoint-lifecycle/lifecycle.ts';
import { ErrorNames, type Failure } from './errors.ts';
import { isExecutionArn, type ExecutionStatus } from './execution-status.ts';
import { isEnding, JOB_STATUSES, type JobStatus } from './job-model.ts';
import type { Job } from './job-store.ts';
import { ORCHESTRATORS, type Orchestrator } from './keys.ts';

/** What one ending came to, for the handler's answer and the logs. */
export type EndingOutcome =
  /** This call recorded the job FAILED (and released its lease, wrote `_error.json`, notified). */
  | 'recorded'
  /** The job had ended already (its workflow recorded it, or the other way in came first). */
  | 'ended-already'
  /** The execution was a duplicate delivery's: the job belongs to the execution that admitted it. */
  | 'not-its-job'
  /** No job names the execution: it ended before admitting its upload. */
  | 'no-job';

/** An execution the platform ended, in its service's words. */
export interface EndedExecution {
  orchestrator: Orchestrator;
  arn: string;
  status: string;
  error?: string;
  cause?: string;
}

/**
 * How long past the idle window the reconciler waits before it stops an endpoint: the last job's own
 * idle stop runs at the window's end, so the reconciler stops only what no workflow will (an
 * execution the platform ended), and never races one.
 */
export const BACKSTOP_GRACE_MS = 60_000;

/** The statuses a job passes before it ends: where the reconciler looks. */
const NOT_ENDED: readonly JobStatus[] = JOB_STATUSES.filter((s) => !isEnding(s));

const SERVICE: Record<Orchestrator, string> = { sf: 'Step Functions', ldf: 'durable' };

/** What the job records: the execution's own error, or ExecutionEndedError when it gave none. */
export function failureOfEnding(e: EndedExecution): Failure {
  return {
    error: e.error ?? ErrorNames.ExecutionEnded,
    message: `the ${SERVICE[e.orchestrator]} execution ${e.arn} ended ${e.status}${e.cause ? ` (${e.cause})` : ''} before its job was recorded`,
  };
}

export interface ExecutionEndings {
  /** Step Functions' status change for an execution that ended ABORTED, TIMED_OUT or FAILED. */
  executionEnded(event: StepFunctionsExecutionStatusChangeEvent): Promise<EndingOutcome>;
  /**
   * One pass: every job not ended whose execution has is recorded; then each endpoint idle past its
   * window is stopped (an ended execution's own idle stop never runs). Returns what it did, by job.
   */
  reconcile(): Promise<string[]>;
}

export function createExecutionEndings(deps: Deps): ExecutionEndings {
  const jobs = jobStoreOf(deps);
  const per = Object.fromEntries(
    ORCHESTRATORS.map((o) => [
      o,
      { activities: createActivities(deps, o), lifecycle: lifecycleFor(deps, o) },
    ]),
  ) as Record<Orchestrator, { activities: Activities; lifecycle: EndpointLifecycle }>;

  async function record(ended: EndedExecution, job: Job): Promise<EndingOutcome> {
    if (job.createdBy !== ended.arn) return 'not-its-job';
    const { activities, lifecycle } = per[job.orchestrator];
    // The execution is gone: nothing of it can use the endpoint, and nothing of it waits.
    await lifecycle.abandon(job.jobId);
    if (isEnding(job.status)) return 'ended-already';
    const failure = failureOfEnding(ended);
    const context = jobContextOf(job, lifecycle.name);
    // The artifact first, as the workflows do: writing it twice writes the same report.
    await activities.reportFailure(context, failure);
    const { recorded } = await jobs.recordEnding(job, ended.arn, {
      reason: `${failure.error}: ${failure.message}`,
    });
    if (!recorded) return 'ended-already';
    await activities.notify(context, { status: 'FAILED', failure });
    deps.log?.(`job ${job.orchestrator}/${job.jobId} recorded FAILED: ${failure.error}`);
    return 'recorded';
  }

  async function reconcileJobs(o: Orchestrator, done: string[]): Promise<void> {
    for (const status of NOT_ENDED) {
      let cursor: string | undefined;
      do {
        const page = await jobs.listByStatus(o, status, cursor === undefined ? {} : { cursor });
        for (const listed of page.jobs) {
          if (!isExecutionArn(o, listed.createdBy)) continue; // not an execution's job (a test's holder)
          const execution = await deps.executions.read(o, listed.createdBy);
          if (execution !== 'unknown' && execution.running) continue;
          // The index lags; the item itself says whether the job still waits to be recorded.
          const job = await jobs.get(listed);
          if (job === undefined || isEnding(job.status)) continue;
          const outcome = await record(endedOf(o, listed.createdBy, execution), job);
          done.push(`${o}/${job.jobId}: ${outcome}`);
        }
        cursor = page.cursor;
      } while (cursor !== undefined);
    }
  }

  return {
    async executionEnded(event) {
      const d = event.detail;
      const ref = admittedJobRef('sf', JSON.parse(d.input ?? 'null') as unknown);
      const job = ref && (await jobs.get(ref));
      if (!job) return 'no-job';
      return record(
        {
          orchestrator: 'sf',
          arn: d.executionArn,
          status: d.status,
          ...(d.error ? { error: d.error } : {}),
          ...(d.cause ? { cause: d.cause } : {}),
        },
        job,
      );
    },

    async reconcile() {
      const done: string[] = [];
      for (const o of ORCHESTRATORS) {
        await reconcileJobs(o, done);
        // The guarded stop: a no-op unless the endpoint is idle past its window (and the grace) with
        // no live lease.
        const { lifecycle } = per[o];
        await lifecycle.foldStart(); // a start whose jobs are gone, its InService event lost
        const stop = await lifecycle.beginStop({ graceMs: BACKSTOP_GRACE_MS });
        if (stop.outcome === 'stopping') {
          const { done: stopped } = await lifecycle.finishStop();
          done.push(`${o}: endpoint ${lifecycle.name} ${stopped ? 'stopped' : 'stopping'}`);
        }
      }
      return done;
    },
  };
}

function endedOf(o: Orchestrator, arn: string, execution: ExecutionStatus | 'unknown'): EndedExecution {
  if (execution === 'unknown') {
    return { orchestrator: o, arn, status: 'unknown to its service (past its retention)' };
  }
  return {
    orchestrator: o,
    arn,
    status: execution.status,
    ...(execution.error ? { error: execution.error } : {}),
    ...(execution.cause ? { cause: execution.cause } : {}),
  };
}
