// The step-sized domain API both orchestrators call: each activity makes one attempt with one side
// effect (or one idempotent unit of them) and returns at once, or throws a named error (errors.ts).
// None sleeps or polls: every wait belongs to the workflow (durable `wait` / `waitForCondition` /
// `waitForCallback`, the ASL's `Wait` and `.waitForTaskToken`), so both are billed for what they do.
// Every activity is safe to run twice (a crashed step or a retried task runs it again). Inputs and
// outputs are plain JSON, so they pass through durable checkpoints and Step Functions states alike.
// shared/README.md lists each activity with its side effect and errors.
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import type { S3ObjectCreatedEvent, SageMakerEndpointStateChangeEvent } from './aws-events.ts';
import type { Deps } from './deps.ts';
import { EndpointStore } from './endpoint-lifecycle/endpoint-store.ts';
import {
  EndpointLifecycle,
  type Readiness,
  type StartOutcome,
  type StopOutcome,
} from './endpoint-lifecycle/lifecycle.ts';
import { sageMakerControl, type SageMakerState } from './endpoint-lifecycle/sagemaker-control.ts';
import type { WaiterKind } from './endpoint-lifecycle/endpoint-store.ts';
import { createWaker } from './endpoint-lifecycle/waker.ts';
import { failureOf, type Failure } from './errors.ts';
import { invokeGenerate3d, type Generate3dResult } from './inference.ts';
import { publishJobEvent, writeErrorReport } from './job-events.ts';
import type { JobStatus } from './job-model.ts';
import { JobStore, type Job } from './job-store.ts';
import { ORCHESTRATORS, parseEventKey, type Orchestrator } from './keys.ts';

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

/** What `registerEndpointWaiter` found right after registering (the waiter is answered when settled). */
export type Registration = Readiness | { status: 'failed'; error: string; message: string };

export interface Inference {
  result: Generate3dResult;
  /** When the invocation began and ended (INFERRING and INFERRED). */
  startedAt: string;
  at: string;
}

export type JobOutcome =
  { status: 'COMPLETED'; result: Generate3dResult } | { status: 'FAILED' | 'REJECTED'; failure: Failure };

/** Phase times the workflow saw, recorded on the job when it ends. */
export type Phases = Partial<Record<JobStatus, string>>;

export interface Activities {
  admit(event: unknown, executionId: string): Promise<Admission>;
  checkMask(job: JobContext): Promise<{ present: boolean; at: string }>;
  registerMaskWaiter(job: JobContext, waiter: WaiterRef): Promise<{ present: boolean; at: string }>;
  acquireEndpoint(job: JobContext): Promise<{ role: 'starter' | 'joiner'; generation: number; at: string }>;
  startEndpoint(job: JobContext, generation: number): Promise<{ outcome: StartOutcome }>;
  checkEndpoint(job: JobContext, generation: number, observed?: unknown): Promise<Readiness & { at: string }>;
  registerEndpointWaiter(job: JobContext, generation: number, waiter: WaiterRef): Promise<Registration>;
  renewLease(job: JobContext): Promise<void>;
  invoke(job: JobContext): Promise<Inference>;
  releaseLease(job: JobContext): Promise<void>;
  reportFailure(job: JobContext, failure: Failure): Promise<{ errorKey: string | null }>;
  recordOutcome(job: JobContext, outcome: JobOutcome, phases: Phases): Promise<{ status: JobStatus }>;
  notify(job: JobContext, outcome: JobOutcome): Promise<void>;
  beginStop(): Promise<StopOutcome>;
  finishStop(): Promise<{ done: boolean }>;
}

/** The one lifecycle of an orchestrator's endpoint. */
export function lifecycleFor(deps: Deps, orchestrator: Orchestrator): EndpointLifecycle {
  return new EndpointLifecycle({
    store: new EndpointStore(deps.doc, deps.tableName, orchestrator),
    control: sageMakerControl(deps.sagemaker),
    endpointName: deps.endpointNameFor(orchestrator),
    endpointConfigName: deps.endpointConfigName,
    leaseTtlMs: deps.leaseTtlMs,
    idleWindowMs: deps.idleWindowMs,
    stalledStartMs: deps.stalledStartMs,
    now: deps.now,
    log: deps.log,
  });
}

export function jobStoreOf(deps: Deps): JobStore {
  return new JobStore(deps.doc, deps.tableName, {
    retentionDays: deps.jobRetentionDays,
    now: () => new Date(deps.now()),
  });
}

export function createActivities(deps: Deps, orchestrator: Orchestrator): Activities {
  const jobs = jobStoreOf(deps);
  const lifecycle = lifecycleFor(deps, orchestrator);
  const at = (): string => new Date(deps.now()).toISOString();
  const ref = (job: JobContext) => ({ orchestrator, userId: job.userId, jobId: job.jobId });
  const contextOf = (job: Job): JobContext => ({
    orchestrator,
    jobId: job.jobId,
    userId: job.userId,
    name: job.name,
    bucket: job.bucket,
    imageKey: job.imageKey,
    maskKey: job.maskKey ?? '',
    outputKey: job.outputKey ?? '',
    errorKey: job.errorKey ?? null,
    endpointName: lifecycle.name,
  });
  const maskPresent = async (job: JobContext): Promise<boolean> => {
    try {
      await deps.s3.send(new HeadObjectCommand({ Bucket: job.bucket, Key: job.maskKey }));
      return true;
    } catch (err) {
      const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404)
        return false;
      throw err;
    }
  };

  return {
    async admit(event, executionId) {
      const upload = uploadOf(event);
      const parsed = upload.key === undefined ? undefined : parseEventKey(upload.key);
      const reason =
        upload.problem ??
        (parsed && !parsed.ok ? parsed.reason : undefined) ??
        (parsed?.ok && parsed.value.kind !== 'image'
          ? `key '${parsed.value.key}' is a mask, not an image`
          : undefined);
      const uploadRef = {
        bucket: upload.bucket ?? 'unknown',
        key: parsed?.ok ? parsed.value.key : (upload.key ?? ''),
        etag: upload.etag,
        versionId: upload.versionId,
      };
      if (reason !== undefined || !parsed?.ok) {
        const known = parsed?.ok ? { userId: parsed.value.userId, name: parsed.value.name } : {};
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
      const present = await maskPresent(job);
      if (present && (await jobs.claimMaskWaiter(ref(job), waiter.token))) {
        await senderFor(deps, waiter.kind).succeed(waiter.token, { present: true });
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
      const readiness = await lifecycle.checkEndpoint(
        job.jobId,
        generation,
        observed === undefined || observed === null ? undefined : sageMakerStateOf(observed),
      );
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
      await writeErrorReport(deps.s3, job.bucket, job.errorKey, {
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

    async recordOutcome(job, outcome, phases) {
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
  };
}

/**
 * The waker's two jobs, for both orchestrators: SageMaker's `Endpoint State Change` completes the
 * endpoint waiters, a mask's `Object Created` completes the jobs waiting for that mask.
 */
export function createWakers(deps: Deps): {
  endpointStateChanged(event: SageMakerEndpointStateChangeEvent): Promise<string[]>;
  maskUploaded(event: S3ObjectCreatedEvent): Promise<string[]>;
} {
  const jobs = jobStoreOf(deps);
  return {
    endpointStateChanged: createWaker({
      lifecyclesFor: (name) =>
        ORCHESTRATORS.filter((o) => deps.endpointNameFor(o) === name).map((o) => lifecycleFor(deps, o)),
      senders: deps.senders,
      ...(deps.log ? { log: deps.log } : {}),
    }),
    async maskUploaded(event) {
      const parsed = parseEventKey(event.detail.object.key);
      if (!parsed.ok || parsed.value.kind !== 'mask') return ['not a mask upload'];
      const { userId, name } = parsed.value;
      const results = await Promise.allSettled(
        ORCHESTRATORS.map(async (orchestrator) => {
          let woken = 0;
          for (const job of await jobs.jobsWaitingForMask(orchestrator, userId, name)) {
            const waiter = job.maskWaiter;
            if (!waiter) continue;
            // Claim before answering: of concurrent deliveries only one answers.
            if (!(await jobs.claimMaskWaiter({ orchestrator, userId, jobId: job.jobId }, waiter.token)))
              continue;
            try {
              await senderFor(deps, waiter.kind).succeed(waiter.token, { present: true });
              woken++;
            } catch (err) {
              // Put it back for the bus's next delivery.
              await jobs.setMaskWaiter({ orchestrator, userId, jobId: job.jobId }, waiter);
              throw err;
            }
          }
          return `${orchestrator}: woke ${woken} job(s)`;
        }),
      );
      return settle(results, `mask waker for ${userId}/${name}`);
    },
  };
}

function settle(results: PromiseSettledResult<string>[], what: string): string[] {
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed.length > 0) {
    throw new AggregateError(
      failed.map((f) => f.reason as unknown),
      `${what} failed: ${failed.map((f) => failureOf(f.reason).message).join('; ')}`,
    );
  }
  return results.map((r) => (r as PromiseFulfilledResult<string>).value);
}

function senderFor(deps: Deps, kind: WaiterKind) {
  const sender = deps.senders[kind];
  if (!sender) throw new Error(`no sender for waiter kind '${kind}' in this handler's dependencies`);
  return sender;
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

/**
 * A DescribeEndpoint answer as the lifecycle folds it, from any of its spellings: the SDK's output,
 * Step Functions' `aws-sdk:sagemaker:describeEndpoint` output (timestamps as text), or a caught
 * "could not find endpoint" error (`{ missing: true }` or the error itself).
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
