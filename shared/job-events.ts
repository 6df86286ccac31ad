// What a job tells the world when it ends: the `_error.json` artifact beside its output (failures),
// and a `Job Completed` / `Job Failed` event on the project's bus. Both are safe to repeat: the
// artifact is overwritten with the same content, and the event carries the job id for consumers
// to de-duplicate (EventBridge delivers at least once anyway).
import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { JOB_EVENT_SOURCE } from './event-rules.ts';
import type { Failure } from './errors.ts';
import type { JobStatus } from './job-model.ts';
import type { Orchestrator } from './keys.ts';
import type { ObjectStore } from './object-store.ts';

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

export function writeErrorReport(
  objects: ObjectStore,
  bucket: string,
  key: string,
  report: ErrorReport,
): Promise<void> {
  return objects.putJson(bucket, key, report);
}
