// What a job tells the world when it ends: the `_error.json` artifact beside its output (failures),
// and a `Job Completed` / `Job Failed` event on the project's bus. Both are safe to repeat: the
// artifact is overwritten with the same content, and the event carries the job id for consumers
// to de-duplicate (EventBridge delivers at least once anyway).
import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { JOB_EVENT_SOURCE } from './event-rules.ts';
import type { Failure } from './errors.ts';
import type { JobStatus } from './job-model.ts';
import type { Orchestrator } from './keys.ts';

export const JOB_COMPLETED = 'Job Completed';
export const JOB_FAILED = 'Job Failed';

export interface JobEventDetail {
  orchestrator: Orchestrator;
  jobId: string;
  userId: string;
  name: string;
  status: Extract<JobStatus, 'COMPLETED' | 'FAILED' | 'REJECTED'>;
  outputKey?: string;
  errorKey?: string;
  error?: Failure;
}

export async function publishJobEvent(
  events: EventBridgeClient,
  eventBusName: string,
  detail: JobEventDetail,
): Promise<void> {
  const out = await events.send(
    new PutEventsCommand({
      Entries: [
        {
          EventBusName: eventBusName,
          Source: JOB_EVENT_SOURCE,
          DetailType: detail.status === 'COMPLETED' ? JOB_COMPLETED : JOB_FAILED,
          Detail: JSON.stringify(detail),
        },
      ],
    }),
  );
  if ((out.FailedEntryCount ?? 0) > 0) {
    const entry = out.Entries?.find((e) => e.ErrorCode !== undefined);
    throw new Error(
      `PutEvents refused the job event: ${entry?.ErrorCode ?? '?'}: ${entry?.ErrorMessage ?? ''}`,
    );
  }
}

export interface ErrorReport {
  orchestrator: Orchestrator;
  jobId: string;
  userId: string;
  name: string;
  status: 'FAILED' | 'REJECTED';
  error: Failure;
  imageKey: string;
  at: string;
}

export async function writeErrorReport(
  s3: S3Client,
  bucket: string,
  key: string,
  report: ErrorReport,
): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: `${JSON.stringify(report, null, 2)}\n`,
      ContentType: 'application/json',
    }),
  );
}
