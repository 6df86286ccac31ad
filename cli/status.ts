// `dvs status`: the jobs in the table, both orchestrators' items of one upload side by side (`sf#`,
// `ldf#`), each phase as simulated seconds after the upload's first admission, with the status and
// the reason. Read with the real DynamoDB client through the JobStore, from a running local cloud or a
// deployed stack.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Target } from '../bench/collect/target.ts';
import { clockLabel } from '../bench/report/results.ts';
import { JOB_STATUSES, type JobStatus } from '../shared/job-model.ts';
import { JobStore, type Job, type Page } from '../shared/job-store.ts';
import { ORCHESTRATORS, type Orchestrator } from '../shared/keys.ts';
import type { CliIo } from './io.ts';
import { EXIT } from './exit.ts';
import type { StatusOptions } from './options.ts';
import { resolveTarget, whenUnreachable, type ResolveHooks } from './targets.ts';

/** One upload: each orchestrator's job item for it, when there is one. */
export interface UploadStatus {
  jobId: string;
  userId: string;
  name: string;
  /** The first admission's time (ISO): the phases count from it. */
  firstAdmitted: string;
  jobs: Partial<Record<Orchestrator, Job>>;
}

/** Every page of a listing. */
async function all(
  list: (cursor?: string) => Promise<Page>,
  enough: (jobs: Job[]) => boolean,
): Promise<Job[]> {
  const jobs: Job[] = [];
  let cursor: string | undefined;
  do {
    const page = await list(cursor);
    jobs.push(...page.jobs);
    cursor = page.cursor;
  } while (cursor !== undefined && !enough(jobs));
  return jobs;
}

/** The uploads the options ask for, newest first, both orchestrators' items of each together. */
export async function readUploads(
  store: JobStore,
  options: Pick<StatusOptions, 'jobId' | 'userId' | 'limit'>,
): Promise<UploadStatus[]> {
  const { jobId, userId } = options;
  const matches = (job: Job): boolean => jobId === undefined || job.jobId.startsWith(jobId);
  const jobs: Job[] = [];
  for (const o of ORCHESTRATORS) {
    if (userId !== undefined) {
      jobs.push(
        ...(await all(
          (cursor) => store.listByUser(o, userId, cursor ? { cursor } : {}),
          () => false,
        )),
      );
    } else {
      // Every status's index partition, newest first; without --job, `limit` of each is enough.
      for (const status of JOB_STATUSES) {
        const page = (cursor?: string): Promise<Page> =>
          store.listByStatus(o, status, {
            limit: jobId === undefined ? options.limit : 100,
            ...(cursor ? { cursor } : {}),
          });
        jobs.push(...(await all(page, (found) => jobId === undefined && found.length >= options.limit)));
      }
    }
  }
  const uploads = new Map<string, UploadStatus>();
  for (const job of jobs.filter(matches)) {
    const admitted = job.phases.RECEIVED ?? job.phases.REJECTED ?? job.createdAt;
    const upload = uploads.get(job.jobId) ?? {
      jobId: job.jobId,
      userId: job.userId,
      name: job.name,
      firstAdmitted: admitted,
      jobs: {},
    };
    if (admitted < upload.firstAdmitted) upload.firstAdmitted = admitted;
    upload.jobs[job.orchestrator] = job;
    uploads.set(job.jobId, upload);
  }
  return [...uploads.values()]
    .sort((a, b) => (a.firstAdmitted < b.firstAdmitted ? 1 : a.firstAdmitted > b.firstAdmitted ? -1 : 0))
    .slice(0, options.limit);
}

/** Each phase reached, as simulated seconds after the upload's first admission. */
export function phaseSeconds(
  upload: UploadStatus,
  job: Job,
  target: Pick<Target, 'simulatedSeconds'>,
): Partial<Record<JobStatus, number>> {
  const start = Date.parse(upload.firstAdmitted);
  const out: Partial<Record<JobStatus, number>> = {};
  for (const status of JOB_STATUSES) {
    const at = job.phases[status];
    if (at !== undefined) out[status] = Number(target.simulatedSeconds(Date.parse(at) - start).toFixed(3));
  }
  return out;
}

function jobJson(upload: UploadStatus, job: Job | undefined, target: Target): unknown {
  if (job === undefined) return null;
  return {
    status: job.status,
    ...(job.reason === undefined ? {} : { reason: job.reason }),
    phases: phaseSeconds(upload, job, target),
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
    deliveries: job.deliveries,
    ...(job.outputKey === undefined ? {} : { outputKey: job.outputKey }),
  };
}

/** The uploads as text: one block per upload, a row per phase, a column per orchestrator. */
export function formatUploads(uploads: UploadStatus[], target: Target): string {
  const lines: string[] = [];
  const clock =
    target.clock.kind === 'scale' ? `simulated seconds (clock ${clockLabel(target.clock)})` : 'seconds';
  for (const upload of uploads) {
    lines.push(`upload ${upload.name} of user ${upload.userId}, job ${upload.jobId}`);
    lines.push(`  ${clock} after the first admission, ${upload.firstAdmitted}`);
    const cells = (job: Job | undefined, status: JobStatus): string => {
      if (job === undefined) return '';
      const s = phaseSeconds(upload, job, target)[status];
      return s === undefined ? '' : s.toFixed(1);
    };
    const rows: string[][] = [['phase', ...ORCHESTRATORS]];
    for (const status of JOB_STATUSES) {
      if (ORCHESTRATORS.some((o) => upload.jobs[o]?.phases[status] !== undefined))
        rows.push([status, ...ORCHESTRATORS.map((o) => cells(upload.jobs[o], status))]);
    }
    rows.push(['status', ...ORCHESTRATORS.map((o) => upload.jobs[o]?.status ?? '(no item)')]);
    if (ORCHESTRATORS.some((o) => upload.jobs[o]?.reason !== undefined))
      rows.push(['reason', ...ORCHESTRATORS.map((o) => upload.jobs[o]?.reason ?? '')]);
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const row of rows)
      lines.push(
        `  ${row
          .map((c, i) => c.padEnd(widths[i]!))
          .join('  ')
          .trimEnd()}`,
      );
    lines.push('');
  }
  return lines.join('\n');
}

export async function statusAction(
  options: StatusOptions,
  io: CliIo,
  hooks: ResolveHooks = {},
): Promise<number> {
  const target = await resolveTarget(options.target, hooks);
  const dynamodb = new DynamoDBClient({ ...target.clientConfig('dynamodb'), maxAttempts: 2 });
  try {
    const store = new JobStore(DynamoDBDocumentClient.from(dynamodb), target.tableName, { retentionDays: 1 });
    let uploads: UploadStatus[];
    try {
      uploads = await readUploads(store, options);
    } catch (e) {
      throw whenUnreachable(e, target, 'dynamodb');
    }
    if (options.json) {
      io.stdout.write(
        `${JSON.stringify({
          clock: target.clock,
          table: target.tableName,
          uploads: uploads.map((u) => ({
            jobId: u.jobId,
            userId: u.userId,
            name: u.name,
            firstAdmitted: u.firstAdmitted,
            ...Object.fromEntries(ORCHESTRATORS.map((o) => [o, jobJson(u, u.jobs[o], target)])),
          })),
        })}\n`,
      );
    } else if (uploads.length === 0) {
      io.stdout.write(
        `no jobs${options.jobId ? ` with id ${options.jobId}` : ''}${options.userId ? ` of user ${options.userId}` : ''} in ${target.tableName}\n`,
      );
    } else io.stdout.write(formatUploads(uploads, target));
    return options.jobId !== undefined && uploads.length === 0 ? EXIT.failed : EXIT.ok;
  } finally {
    dynamodb.destroy();
    await target.close();
  }
}
