// Job items in the single table. Every write is one conditional UpdateItem, so admission is
// idempotent under duplicate deliveries and a status can never move backwards, even when two
// executions race. Over 400 lines on purpose: the one item type's conditional writes, listings and
// its mapping stay in one place, so every write to a job item is visible together.
//
// Item layout (every key carries the orchestrator prefix):
//   pk     = {o}#user#{userId}     sk     = {o}#job#{jobId}        -> a user's jobs: Query on the table
//   gsi1pk = {o}#status#{status}   gsi1sk = {o}#{updatedAt}#{jobId} -> jobs by status, newest first: Query GSI1
// A GSI gives an item one partition key, so it cannot index one item both by user and by status; the
// user listing therefore uses the table's own partition (strongly consistent, no index write cost).
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  GetCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
  type NativeAttributeValue,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { InvalidInputError, JobTransitionError } from './errors.ts';
import { isEnding, jobIdOf, statusRank, type JobStatus, type UploadRef } from './job-model.ts';
import { errorKey, inputMaskKey, outputKey, type Orchestrator } from './keys.ts';
import { TABLE_SPEC } from './table-spec.ts';
import { keyPrefix, tableKey } from './table-keys.ts';

/** The user id recorded for a rejected upload whose key names no valid user (never a real id). */
export const UNKNOWN_USER = '_unknown';
/** The name recorded for a rejected upload whose key names no valid upload. */
export const UNKNOWN_NAME = '_unknown';

export interface JobRef {
  orchestrator: Orchestrator;
  userId: string;
  jobId: string;
}

export interface Job extends JobRef {
  name: string;
  bucket: string;
  imageKey: string;
  maskKey?: string;
  outputKey?: string;
  errorKey?: string;
  status: JobStatus;
  /** Why the job did not complete. */
  reason?: string;
  /** ISO time each phase was first reached. */
  phases: Partial<Record<JobStatus, string>>;
  createdAt: string;
  updatedAt: string;
  /** How many times this upload was delivered (1 = no duplicate). */
  deliveries: number;
  /** The executions that took part (a duplicate delivery starts another). */
  executions?: string[];
  /** The execution that admitted the job first. */
  createdBy?: string;
  /** The execution waiting for the mask's `Object Created` (event wait mode), while it waits. */
  maskWaiter?: MaskWaiter;
  /** What the inference returned, once INFERRED. */
  result?: Record<string, unknown>;
}

/** How to wake an execution waiting for the mask: a Step Functions task token or a durable callback id. */
export interface MaskWaiter {
  kind: 'sfn-task-token' | 'durable-callback';
  token: string;
}

export interface AdmitInput {
  orchestrator: Orchestrator;
  upload: UploadRef;
  userId: string;
  name: string;
  /**
   * The execution admitting the job (SFN execution ARN, durable execution ARN). Admission is keyed to
   * it: the same execution admitting again (a step re-run after a crash) counts nothing and gets the
   * same answer; another execution (a duplicate delivery) counts one more delivery.
   */
  executionId: string;
}

export interface RejectInput {
  orchestrator: Orchestrator;
  upload: UploadRef;
  reason: string;
  /** Known when the key parsed but the objects were bad. */
  userId?: string;
  name?: string;
  executionId: string;
}

/** What a phase change may record besides the status. */
export interface JobUpdate {
  reason?: string;
  result?: Record<string, unknown>;
  errorKey?: string;
  /** Times of earlier phases the workflow saw (each kept only if the job has none for it yet). */
  phases?: Partial<Record<JobStatus, string>>;
}

export interface Admission {
  job: Job;
  /** False when this delivery joined a job admitted before. */
  created: boolean;
}

export interface Page {
  jobs: Job[];
  /** Pass back to get the next page; absent on the last page. */
  cursor?: string;
}

export interface JobStoreOptions {
  /** Days before DynamoDB's TTL removes a job item. */
  retentionDays: number;
  now?: () => Date;
}

export class JobStore {
  private readonly now: () => Date;
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly options: JobStoreOptions,
  ) {
    this.now = options.now ?? (() => new Date());
  }

  /** Admits the upload's job, or joins it if this upload was admitted before. One request. */
  async admit(input: AdmitInput): Promise<Admission> {
    const { orchestrator, userId, name } = input;
    return this.create(input, 'RECEIVED', {
      name,
      imageKey: input.upload.key,
      maskKey: inputMaskKey(userId, name),
      outputKey: outputKey(orchestrator, userId, name),
      errorKey: errorKey(orchestrator, userId, name),
    });
  }

  /** Records an upload that cannot be processed as a REJECTED job with its reason, idempotently. */
  async reject(input: RejectInput): Promise<Admission> {
    const userId = input.userId ?? UNKNOWN_USER;
    const name = input.name ?? UNKNOWN_NAME;
    const known = input.userId !== undefined && input.name !== undefined;
    return this.create({ ...input, userId, name }, 'REJECTED', {
      name,
      imageKey: input.upload.key,
      reason: input.reason,
      ...(known ? { errorKey: errorKey(input.orchestrator, userId, name) } : {}),
    });
  }

  private async create(
    input: AdmitInput,
    status: JobStatus,
    attributes: Record<string, NativeAttributeValue>,
  ): Promise<Admission> {
    const now = this.now();
    const at = now.toISOString();
    const jobId = jobIdOf(input.upload);
    const ref: JobRef = { orchestrator: input.orchestrator, userId: input.userId, jobId };
    const initial: Record<string, NativeAttributeValue> = {
      orchestrator: ref.orchestrator,
      userId: ref.userId,
      jobId,
      bucket: input.upload.bucket,
      ...attributes,
      status,
      statusRank: statusRank(status),
      phases: { [status]: at },
      createdAt: at,
      updatedAt: at,
      ...this.statusIndex(ref, status, at),
      [TABLE_SPEC.ttlAttribute]: Math.floor(now.getTime() / 1000) + this.options.retentionDays * 86_400,
    };
    // Every attribute is set only if absent, so a duplicate delivery changes nothing but the counters.
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = { ':one': 1 };
    const sets = Object.entries(initial).map(([attr, value], i) => {
      names[`#a${i}`] = attr;
      values[`:a${i}`] = value;
      return `#a${i} = if_not_exists(#a${i}, :a${i})`;
    });
    names['#createdBy'] = 'createdBy';
    values[':exec'] = new Set([input.executionId]);
    values[':execId'] = input.executionId;
    sets.push('#createdBy = if_not_exists(#createdBy, :execId)');
    try {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(ref),
          UpdateExpression: `SET ${sets.join(', ')} ADD deliveries :one, executions :exec`,
          // A repeat by an execution that already admitted this job changes nothing.
          ConditionExpression: 'attribute_not_exists(executions) OR NOT contains(executions, :execId)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      const job = toJob(out.Attributes);
      return { job, created: job.createdBy === input.executionId };
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException) || err.Item === undefined) throw err;
      const job = toJob(unmarshall(err.Item));
      return { job, created: job.createdBy === input.executionId };
    }
  }

  /**
   * Moves the job forward to `status`, stamping the phase; an ending also drops the job's mask waiter. Moving to the status it already has is a
   * no-op that returns the stored job (a retried step is harmless); moving backwards, or out of an
   * ending, throws JobTransitionError, as does a job that was never admitted.
   */
  async advance(ref: JobRef, status: JobStatus, update: JobUpdate = {}): Promise<Job> {
    return (await this.transition(ref, status, update)).job;
  }

  /**
   * Ends the job of an execution the platform ended (a stop, a timeout, a failure outside the
   * workflow): FAILED with the reason, only if it has not ended and `executionId` admitted it (a
   * duplicate delivery's execution never ends the job). `recorded` is true for the one caller whose
   * write ended it, so the event handler and the reconciler seeing the same ending record it once.
   */
  async recordEnding(
    ref: JobRef,
    executionId: string,
    update: JobUpdate & { reason: string },
  ): Promise<{ job: Job | undefined; recorded: boolean }> {
    const stored = await this.get(ref);
    if (stored === undefined || stored.createdBy !== executionId || isEnding(stored.status))
      return { job: stored, recorded: false };
    try {
      const { job, changed } = await this.transition(ref, 'FAILED', update);
      return { job, recorded: changed };
    } catch (err) {
      // It ended some other way since it was read (its own workflow, just in time).
      if ((err as Error).name === 'JobTransitionError') return { job: await this.get(ref), recorded: false };
      throw err;
    }
  }

  private async transition(
    ref: JobRef,
    status: JobStatus,
    update: JobUpdate,
  ): Promise<{ job: Job; changed: boolean }> {
    const at = this.now().toISOString();
    const names: Record<string, string> = { '#status': 'status', '#phase': status };
    const values: Record<string, unknown> = {
      ':status': status,
      ':rank': statusRank(status),
      ':at': at,
    };
    const sets = [
      '#status = :status',
      'statusRank = :rank',
      'updatedAt = :at',
      'phases.#phase = if_not_exists(phases.#phase, :at)',
    ];
    const { phases = {}, ...attributes } = update;
    Object.entries(phases).forEach(([phase, time], i) => {
      if (phase === status || time === undefined) return;
      names[`#p${i}`] = phase;
      values[`:p${i}`] = time;
      sets.push(`phases.#p${i} = if_not_exists(phases.#p${i}, :p${i})`);
    });
    for (const [attr, value] of Object.entries({ ...this.statusIndex(ref, status, at), ...attributes })) {
      if (value === undefined) continue;
      names[`#${attr}`] = attr;
      values[`:${attr}`] = value;
      sets.push(`#${attr} = :${attr}`);
    }
    try {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(ref),
          // A job that ended waits for nothing: a mask waiter its wait left (a mask timeout) goes too.
          UpdateExpression: `SET ${sets.join(', ')}${isEnding(status) ? ' REMOVE maskWaiter' : ''}`,
          ConditionExpression: 'attribute_exists(pk) AND statusRank < :rank',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { job: toJob(out.Attributes), changed: true };
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
      if (err.Item === undefined) {
        throw new JobTransitionError(`job ${describeRef(ref)} does not exist: it was never admitted`);
      }
      // The document client unmarshalls Attributes, but not the Item of a conditional-check failure.
      const stored = toJob(unmarshall(err.Item));
      if (stored.status === status) return { job: stored, changed: false };
      throw new JobTransitionError(
        `job ${describeRef(ref)} is ${stored.status}${isEnding(stored.status) ? ' (ended)' : ''}; it cannot move back to ${status}`,
      );
    }
  }

  /**
   * Registers the execution waiting for this job's mask (event wait mode). Only a job that has not
   * ended can wait; JobTransitionError otherwise.
   */
  async setMaskWaiter(ref: JobRef, waiter: MaskWaiter): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(ref),
          UpdateExpression: 'SET maskWaiter = :w',
          ConditionExpression: 'attribute_exists(pk) AND statusRank < :ending',
          ExpressionAttributeValues: { ':w': waiter, ':ending': statusRank('COMPLETED') },
        }),
      );
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
      throw new JobTransitionError(`job ${describeRef(ref)} has ended or was never admitted; it cannot wait`);
    }
  }

  /** Removes the mask waiter if it is still the one with `token`; true for the one caller that removed it. */
  async claimMaskWaiter(ref: JobRef, token: string): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(ref),
          UpdateExpression: 'REMOVE maskWaiter',
          ConditionExpression: 'maskWaiter.#token = :token',
          ExpressionAttributeNames: { '#token': 'token' },
          ExpressionAttributeValues: { ':token': token },
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }

  /** The user's jobs for upload `name` that wait for their mask (event wait mode). */
  async jobsWaitingForMask(orchestrator: Orchestrator, userId: string, name: string): Promise<Job[]> {
    const jobs: Job[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.query(
        {
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :job)',
          FilterExpression: '#name = :name AND attribute_exists(maskWaiter)',
          ExpressionAttributeNames: { '#name': 'name' },
          ExpressionAttributeValues: {
            ':pk': tableKey(orchestrator, 'user', userId),
            ':job': `${keyPrefix(orchestrator)}job#`,
            ':name': name,
          },
          ConsistentRead: true,
        },
        cursor === undefined ? {} : { cursor },
      );
      jobs.push(...page.jobs);
      cursor = page.cursor;
    } while (cursor !== undefined);
    return jobs;
  }

  async get(ref: JobRef): Promise<Job | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: this.key(ref), ConsistentRead: true }),
    );
    return out.Item === undefined ? undefined : toJob(out.Item);
  }

  /** Jobs of one status, most recently changed first. GSI1 is eventually consistent. */
  async listByStatus(
    orchestrator: Orchestrator,
    status: JobStatus,
    page: { limit?: number; cursor?: string } = {},
  ): Promise<Page> {
    return this.query(
      {
        IndexName: TABLE_SPEC.gsi1.indexName,
        KeyConditionExpression: 'gsi1pk = :pk',
        ExpressionAttributeValues: { ':pk': tableKey(orchestrator, 'status', status) },
        ScanIndexForward: false,
      },
      page,
    );
  }

  /** A user's jobs, in job-id order. */
  async listByUser(
    orchestrator: Orchestrator,
    userId: string,
    page: { limit?: number; cursor?: string } = {},
  ): Promise<Page> {
    return this.query(
      {
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :job)',
        ExpressionAttributeValues: {
          ':pk': tableKey(orchestrator, 'user', userId),
          ':job': `${keyPrefix(orchestrator)}job#`,
        },
        ConsistentRead: true,
      },
      page,
    );
  }

  private async query(
    input: Omit<ConstructorParameters<typeof QueryCommand>[0], 'TableName'>,
    page: { limit?: number; cursor?: string },
  ): Promise<Page> {
    const out = await this.doc.send(
      new QueryCommand({
        ...input,
        TableName: this.tableName,
        Limit: page.limit,
        ExclusiveStartKey: page.cursor === undefined ? undefined : decodeCursor(page.cursor),
      }),
    );
    const jobs = (out.Items ?? []).map(toJob);
    return out.LastEvaluatedKey === undefined
      ? { jobs }
      : { jobs, cursor: encodeCursor(out.LastEvaluatedKey) };
  }

  private key(ref: JobRef): Record<string, string> {
    return {
      [TABLE_SPEC.partitionKey]: tableKey(ref.orchestrator, 'user', ref.userId),
      [TABLE_SPEC.sortKey]: tableKey(ref.orchestrator, 'job', ref.jobId),
    };
  }

  private statusIndex(ref: JobRef, status: JobStatus, at: string): Record<string, string> {
    return {
      [TABLE_SPEC.gsi1.partitionKey]: tableKey(ref.orchestrator, 'status', status),
      [TABLE_SPEC.gsi1.sortKey]: tableKey(ref.orchestrator, at, ref.jobId),
    };
  }
}

function describeRef(ref: JobRef): string {
  return `${ref.orchestrator}/${ref.userId}/${ref.jobId}`;
}

const INTERNAL = new Set(['pk', 'sk', 'gsi1pk', 'gsi1sk', 'statusRank', TABLE_SPEC.ttlAttribute]);

/** A job item as DynamoDB holds it → the Job (string sets as sorted arrays, the keys left out). */
export function toJob(item: Record<string, NativeAttributeValue> | undefined): Job {
  if (item === undefined) throw new Error('DynamoDB returned no job item');
  const job: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(item)) {
    if (INTERNAL.has(key)) continue;
    job[key] = value instanceof Set ? [...(value as Set<string>)].sort() : value;
  }
  return job as unknown as Job;
}

function encodeCursor(key: Record<string, NativeAttributeValue>): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

function decodeCursor(cursor: string): Record<string, NativeAttributeValue> {
  try {
    const key: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof key === 'object' && key !== null && !Array.isArray(key)) return key as Record<string, string>;
  } catch {
    // fall through to the error below
  }
  throw new InvalidInputError(
    `cursor '${cursor}' is not one this store returned; start again without a cursor`,
  );
}
