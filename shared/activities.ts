// The step-sized domain API both orchestrators call: each activity makes one attempt with one side
// effect (or one idempotent unit of them) and returns at once, or throws a named error (errors.ts).
// None sleeps or polls: every wait belongs to the workflow (durable `wait` / `waitForCondition` /
// `waitForCallback`, the ASL's `Wait` and `.waitForTaskToken`), so both are billed for what they do.
// Every activity is safe to run twice (a crashed step or a retried task runs it again). Inputs and
// outputs are plain JSON, so they pass through durable checkpoints and Step Functions states alike.
// shared/README.md lists each activity with its side effect and errors.
import { publishConsumedCapacity } from './observability.ts';
import { jobStoreOf, lifecycleFor, type Deps } from './deps.ts';
import type { Readiness, Registration, StartOutcome, StopOutcome } from './endpoint-lifecycle/lifecycle.ts';
import type { SageMakerState } from './endpoint-lifecycle/sagemaker-control.ts';
import type { WaiterKind } from './endpoint-lifecycle/endpoint-store.ts';
import { answerWaiter } from './endpoint-lifecycle/waiter-senders.ts';
import type { Failure } from './errors.ts';
import { invokeGenerate3d, type Generate3dResult } from './inference.ts';
import { publishJobEvent, writeErrorReport } from './job-events.ts';
import type { JobStatus } from './job-model.ts';
import type { Job, JobRef } from './job-store.ts';
import { jobIdOf } from './job-model.ts';
import { parseEventKey, type Orchestrator } from './keys.ts';
import { phasesOf, type StepsSeen } from './phases.ts';

/** Everything a step needs to know about its job; returned by `admit`, passed to every later step. */
export interface JobContext {
  orchestrator: Orchestrator;
  jobId: string;
  userId: string;
  name: string;
  bucket: string;
  imageKey: string;
  maskKey: string;
  outputKey: string;
  /** Null for an upload whose key names no user or name: there is nowhere to write an artifact. */
  errorKey: string | null;
  /** This orchestrator's own endpoint. */
  endpointName: string;
}

export type Admission =
  /** `created`: this execution admitted the job; false for a duplicate delivery that joined it. */
  | { admitted: true; job: JobContext; created: boolean; at: string }
  /** The upload cannot be processed; the job is recorded REJECTED with the reason. */
  | { admitted: false; job: JobContext; failure: Failure; at: string };

/** How to wake a waiting execution: a Step Functions task token or a durable callback id. */
export interface WaiterRef {
  kind: WaiterKind;
  token: string;
}

export interface Inference {
  result: Generate3dResult;
  /** When the invocation began and ended (INFERRING and INFERRED). */
  startedAt: string;
  at: string;
}

export type JobOutcome =
  { status: 'COMPLETED'; result: Generate3dResult } | { status: 'FAILED' | 'REJECTED'; failure: Failure };

export type { Phases, StepsSeen } from './phases.ts';
export type { Registration };

export interface Activities {
  admit(event: unknown, executionId: string): Promise<Admission>;
  checkMask(job: JobContext): Promise<{ present: boolean; at: string }>;
  registerMaskWaiter(job: JobContext, waiter: WaiterRef): Promise<{ present: boolean; at: string }>;
  acquireEndpoint(job: JobContext): Promise<{ role: 'starter' | 'joiner'; generation: number; at: string }>;
  startEndpoint(job: JobContext, generation: number): Promise<{ outcome: StartOutcome }>;
  /** `observed`: a DescribeEndpoint the caller already made (the state machine's native call). */
  checkEndpoint(
    job: JobContext,
    generation: number,
    observed?: SageMakerState,
  ): Promise<Readiness & { at: string }>;
  registerEndpointWaiter(job: JobContext, generation: number, waiter: WaiterRef): Promise<Registration>;
  renewLease(job: JobContext): Promise<void>;
  invoke(job: JobContext): Promise<Inference>;
  releaseLease(job: JobContext): Promise<void>;
  reportFailure(job: JobContext, failure: Failure): Promise<{ errorKey: string | null }>;
  /** Records the ending with the phase times of what the workflow saw (phases.ts). */
  recordOutcome(job: JobContext, outcome: JobOutcome, seen: StepsSeen): Promise<{ status: JobStatus }>;
  notify(job: JobContext, outcome: JobOutcome): Promise<void>;
  beginStop(): Promise<StopOutcome>;
  finishStop(): Promise<{ done: boolean }>;
}

export function createActivities(deps: Deps, orchestrator: Orchestrator): Activities {
  const jobs = jobStoreOf(deps);
  const lifecycle = lifecycleFor(deps, orchestrator);
  const at = (): string => new Date(deps.now()).toISOString();
  const ref = (job: JobContext) => ({ orchestrator, userId: job.userId, jobId: job.jobId });
  const contextOf = (job: Job): JobContext => jobContextOf(job, lifecycle.name);
  const maskPresent = (job: JobContext): Promise<boolean> => deps.objects.exists(job.bucket, job.maskKey);

  return meteredActivities(deps, {
    async admit(event, executionId) {
      const upload = uploadOf(event);
      const parsed = upload.key === undefined ? undefined : parseEventKey(upload.key);
      const reason =
        upload.problem ??
        (parsed && !parsed.ok ? parsed.reason : undefined) ??
        (parsed?.ok && parsed.value.kind !== 'image'
          ? `key '${parsed.value.key}' is a mask, not an image`
          : undefined);
      const uploadRef = uploadRefOf(upload, parsed);
      if (reason !== undefined || !parsed?.ok) {
        // A key in a user's input folder is that user's rejected job (listed with their jobs); an
        // artifact needs the name too, so only a key that parsed whole gets an _error.json.
        const known = parsed?.ok
          ? { userId: parsed.value.userId, name: parsed.value.name }
          : parsed?.userId !== undefined
            ? { userId: parsed.userId }
            : {};
        const { job } = await jobs.reject({
          orchestrator,
          upload: uploadRef,
          reason: reason ?? 'the event names no object',
          executionId,
          ...known,
        });
        return {
          admitted: false,
          job: contextOf(job),
          failure: { error: 'InvalidInputError', message: job.reason ?? reason ?? '' },
          at: job.createdAt,
        };
      }
      const { job, created } = await jobs.admit({
        orchestrator,
        upload: uploadRef,
        userId: parsed.value.userId,
        name: parsed.value.name,
        executionId,
      });
      return { admitted: true, job: contextOf(job), created, at: job.createdAt };
    },

    async checkMask(job) {
      return { present: await maskPresent(job), at: at() };
    },

    async registerMaskWaiter(job, waiter) {
      await jobs.setMaskWaiter(ref(job), waiter);
      // The mask may have landed just before the waiter was stored: its event found nobody waiting.
      // Claimed before it is answered, as the waker does; a failed send fails the registration, which
      // is retried and registers the waiter again.
      const present = await maskPresent(job);
      if (present) {
        await answerWaiter(
          deps.senders,
          { ...waiter, claim: () => jobs.claimMaskWaiter(ref(job), waiter.token) },
          (sender) => sender.succeed(waiter.token, { present: true }),
        );
      }
      return { present, at: at() };
    },

    async acquireEndpoint(job) {
      const acquired = await lifecycle.acquire(job.jobId);
      return { role: acquired.role, generation: acquired.generation, at: at() };
    },

    async startEndpoint(_job, generation) {
      return { outcome: await lifecycle.startEndpoint(generation) };
    },

    async checkEndpoint(job, generation, observed) {
      const readiness = await lifecycle.checkEndpoint(job.jobId, generation, observed);
      return { ...readiness, at: at() };
    },

    registerEndpointWaiter(job, generation, waiter) {
      return lifecycle.registerWaiter(job.jobId, generation, waiter, deps.senders);
    },

    renewLease(job) {
      return lifecycle.renew(job.jobId);
    },

    async invoke(job) {
      const startedAt = at();
      const result = await invokeGenerate3d(deps.runtime, job.endpointName, {
        bucket: job.bucket,
        imageKey: job.imageKey,
        maskKey: job.maskKey,
        outputKey: job.outputKey,
      });
      return { result, startedAt, at: at() };
    },

    releaseLease(job) {
      return lifecycle.release(job.jobId);
    },

    async reportFailure(job, failure) {
      if (job.errorKey === null) return { errorKey: null };
      await writeErrorReport(deps.objects, job.bucket, job.errorKey, {
        orchestrator,
        jobId: job.jobId,
        userId: job.userId,
        name: job.name,
        status: failure.error === 'InvalidInputError' ? 'REJECTED' : 'FAILED',
        error: failure,
        imageKey: job.imageKey,
        at: at(),
      });
      return { errorKey: job.errorKey };
    },

    async recordOutcome(job, outcome, seen) {
      const phases = phasesOf(seen);
      const stored =
        outcome.status === 'COMPLETED'
          ? await jobs.advance(ref(job), 'COMPLETED', { result: { ...outcome.result }, phases })
          : outcome.status === 'REJECTED'
            ? await jobs.get(ref(job))
            : await jobs.advance(ref(job), 'FAILED', {
                reason: `${outcome.failure.error}: ${outcome.failure.message}`,
                phases,
              });
      return { status: stored?.status ?? outcome.status };
    },

    async notify(job, outcome) {
      await publishJobEvent(deps.events, deps.eventBusName, {
        orchestrator,
        jobId: job.jobId,
        userId: job.userId,
        name: job.name,
        status: outcome.status,
        ...(outcome.status === 'COMPLETED'
          ? { outputKey: outcome.result.output_s3_key }
          : { error: outcome.failure, ...(job.errorKey === null ? {} : { errorKey: job.errorKey }) }),
      });
    },

    beginStop() {
      return lifecycle.beginStop();
    },

    finishStop() {
      return lifecycle.finishStop();
    },
  });
}

/** The context every step is handed, for a stored job and its orchestrator's endpoint. */
export function jobContextOf(job: Job, endpointName: string): JobContext {
  return {
    orchestrator: job.orchestrator,
    jobId: job.jobId,
    userId: job.userId,
    name: job.name,
    bucket: job.bucket,
    imageKey: job.imageKey,
    maskKey: job.maskKey ?? '',
    outputKey: job.outputKey ?? '',
    errorKey: job.errorKey ?? null,
    endpointName,
  };
}

/**
 * The job an execution started by `event` admitted, found the way `admit` derives it (the upload's
 * key and version); undefined when the event names no image upload `admit` would admit (a rejected
 * upload is recorded at admission and never waits for anything).
 */
export function admittedJobRef(orchestrator: Orchestrator, event: unknown): JobRef | undefined {
  const upload = uploadOf(event);
  if (upload.problem !== undefined || upload.key === undefined) return undefined;
  const parsed = parseEventKey(upload.key);
  if (!parsed.ok || parsed.value.kind !== 'image') return undefined;
  return { orchestrator, userId: parsed.value.userId, jobId: jobIdOf(uploadRefOf(upload, parsed)) };
}

/** The upload a job is keyed to (its id is jobIdOf of it): admission and admittedJobRef alike. */
function uploadRefOf(
  upload: ReturnType<typeof uploadOf>,
  parsed: ReturnType<typeof parseEventKey> | undefined,
) {
  return {
    bucket: upload.bucket ?? 'unknown',
    key: parsed?.ok ? parsed.value.key : (upload.key ?? ''),
    etag: upload.etag,
    versionId: upload.versionId,
  };
}

/**
 * Each activity, once it has returned or thrown, publishes the DynamoDB units its requests consumed
 * (shared/consumed-capacity.ts): one place for both orchestrators, since both call only activities.
 */
function meteredActivities(deps: Deps, activities: Activities): Activities {
  const metered = {} as Record<string, unknown>;
  for (const [name, fn] of Object.entries(activities) as [string, (...args: unknown[]) => Promise<unknown>][])
    metered[name] = async (...args: unknown[]) => {
      try {
        return await fn(...args);
      } finally {
        publishConsumedCapacity(deps.capacity);
      }
    };
  return metered as unknown as Activities;
}

/**
 * Attempt `attempt` (1-based) of a job's inference, the invoke step of both orchestrators: a retry may
 * come long after the first attempt, so it renews the lease first, and a job whose lease is gone ends
 * with LeaseLostError instead of invoking an endpoint it no longer holds. The renewal is the retry's
 * precondition, not an effect of its own (orchestrators/durable/README.md, "Steps with one effect").
 */
export async function invokeHoldingLease(
  activities: Pick<Activities, 'renewLease' | 'invoke'>,
  job: JobContext,
  attempt: number,
): Promise<Inference> {
  if (attempt > 1) await activities.renewLease(job);
  return activities.invoke(job);
}

/** The upload an `Object Created` event names, or what is wrong with the event. */
function uploadOf(event: unknown): {
  bucket?: string;
  key?: string;
  etag?: string;
  versionId?: string;
  problem?: string;
} {
  const detail = (event as { detail?: unknown } | null)?.detail as
    | { bucket?: { name?: unknown }; object?: { key?: unknown; etag?: unknown; 'version-id'?: unknown } }
    | undefined;
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
  const bucket = str(detail?.bucket?.name);
  const key = str(detail?.object?.key);
  const etag = str(detail?.object?.etag);
  const versionId = str(detail?.object?.['version-id']);
  const problem =
    bucket === undefined || key === undefined
      ? 'the event is not an S3 Object Created event with detail.bucket.name and detail.object.key'
      : undefined;
  return {
    ...(bucket === undefined ? {} : { bucket }),
    ...(key === undefined ? {} : { key }),
    ...(etag === undefined ? {} : { etag }),
    ...(versionId === undefined ? {} : { versionId }),
    ...(problem === undefined ? {} : { problem }),
  };
}
