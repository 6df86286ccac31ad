// The job: one upload (image + mask) processed by one orchestrator. Its status only moves forward
// through the phases below, each phase stamped once with the time it was first reached.
import { createHash } from 'node:crypto';

/** Phases in the order a job passes them; the last three end it. */
export const JOB_STATUSES = [
  'RECEIVED',
  'MASK_READY',
  'ENDPOINT_ACQUIRED',
  'ENDPOINT_READY',
  'INFERRING',
  'INFERRED',
  'COMPLETED',
  'FAILED',
  'REJECTED',
] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/**
 * How long one job's execution may run, in either orchestrator (the durable function's
 * ExecutionTimeout, the state machine's TimeoutSeconds): its longest legitimate life (mask wait,
 * endpoint wait, idle window, stop) is far shorter; a day bounds it. The platform then ends it
 * TIMED_OUT, and the job is recorded FAILED by shared/execution-endings.ts.
 */
export const EXECUTION_TIMEOUT_SECONDS = 86_400;

export const ENDING_STATUSES: readonly JobStatus[] = ['COMPLETED', 'FAILED', 'REJECTED'];

export function isJobStatus(value: unknown): value is JobStatus {
  return typeof value === 'string' && (JOB_STATUSES as readonly string[]).includes(value);
}

export function isEnding(status: JobStatus): boolean {
  return ENDING_STATUSES.includes(status);
}

/**
 * A status's place in the order. Every ending shares the top rank, so a job can reach an ending
 * from any phase (it may fail anywhere) but never leave one, not even for another ending.
 */
export function statusRank(status: JobStatus): number {
  return isEnding(status) ? 100 : JOB_STATUSES.indexOf(status);
}

/** The upload a job is for. `versionId` (versioned bucket) or `etag` tells two uploads of one key apart. */
export interface UploadRef {
  bucket: string;
  key: string;
  versionId?: string | undefined;
  etag?: string | undefined;
}

/**
 * The job id of an upload: the same upload always gives the same id (so a duplicate event joins the
 * job), a new upload of the same key gives a new one. Deliberately not orchestrator-specific: both
 * orchestrators process every upload under one id, in their own key spaces.
 */
export function jobIdOf(upload: UploadRef): string {
  const version =
    upload.versionId ?? (upload.etag === undefined ? '' : `etag:${upload.etag.replace(/"/g, '')}`);
  return createHash('sha256')
    .update(`${upload.bucket}\n${upload.key}\n${version}`)
    .digest('hex')
    .slice(0, 32);
}
