// The job store against DynamoDB Local, through the real SDK with credentials the local cloud never saw.
import { DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTable, startLocalDynamoDB, type LocalDynamoDB } from '../local/dynamodb/dynamodb-local.ts';
import { JobTransitionError } from './errors.ts';
import { jobIdOf, type UploadRef } from './job-model.ts';
import { JobStore, UNKNOWN_USER } from './job-store.ts';

const TABLE = 'jobs-test';
let ddb: LocalDynamoDB;
let client: DynamoDBClient;
let store: JobStore;
// The store's clock starts at the real now: DynamoDB Local's TTL sweeper deletes items whose `expiresAt`
// has passed by the real clock, at moments of its own choosing, so a clock pinned to a fixed date writes
// items that vanish mid-test once that date plus the retention is behind us (it did, from 2026-12-02).
let clock = Date.now();

beforeAll(async () => {
  ddb = await startLocalDynamoDB();
  await createTable(ddb.endpoint, TABLE, 'eu-central-1');
  client = new DynamoDBClient({
    region: 'eu-central-1',
    endpoint: ddb.endpoint,
    credentials: { accessKeyId: 'AKIAUNSEENBYLOCAL', secretAccessKey: 'never-registered-secret' },
  });
  store = new JobStore(DynamoDBDocumentClient.from(client), TABLE, {
    retentionDays: 7,
    now: () => new Date((clock += 1000)),
  });
});

afterAll(async () => {
  client?.destroy();
  await ddb?.stop();
});

let uploads = 0;
function upload(
  userId = 'alice',
  name = `obj${++uploads}`,
): { upload: UploadRef; userId: string; name: string } {
  return {
    upload: { bucket: 'uploads', key: `users/${userId}/input/${name}_image.png`, etag: `"e${uploads}"` },
    userId,
    name,
  };
}

describe('DynamoDB Local conditional writes', () => {
  it('refuses a put whose condition fails and returns the old item', async () => {
    const Item = { pk: { S: 'sf#probe#1' }, sk: { S: 'sf#probe' }, n: { N: '1' } };
    await client.send(new PutItemCommand({ TableName: TABLE, Item }));
    const err = await client
      .send(
        new PutItemCommand({
          TableName: TABLE,
          Item,
          ConditionExpression: 'attribute_not_exists(pk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConditionalCheckFailedException);
    expect((err as ConditionalCheckFailedException).Item?.n).toEqual({ N: '1' });
    // Only one of many racing conditional increments from 1 to 2 wins.
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () =>
        client.send(
          new UpdateItemCommand({
            TableName: TABLE,
            Key: { pk: Item.pk, sk: Item.sk },
            UpdateExpression: 'SET n = :two',
            ConditionExpression: 'n = :one',
            ExpressionAttributeValues: { ':one': { N: '1' }, ':two': { N: '2' } },
          }),
        ),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });
});

describe('JobStore', () => {
  it('admits a job with its keys, phase stamp and TTL', async () => {
    const input = upload('alice', 'chair');
    const { job, created } = await store.admit({ orchestrator: 'sf', ...input, executionId: 'exec-1' });
    expect(created).toBe(true);
    expect(job).toMatchObject({
      orchestrator: 'sf',
      jobId: jobIdOf(input.upload),
      userId: 'alice',
      name: 'chair',
      status: 'RECEIVED',
      imageKey: 'users/alice/input/chair_image.png',
      maskKey: 'users/alice/input/chair_mask.png',
      outputKey: 'users/alice/output/sf/chair.ply',
      errorKey: 'users/alice/output/sf/chair_error.json',
      deliveries: 1,
      executions: ['exec-1'],
    });
    expect(job.phases.RECEIVED).toBe(job.createdAt);
    expect(job).not.toHaveProperty('pk');
  });

  it('writes job items that outlive the run: their expiry is the retention after now, on the real clock', async () => {
    const { job } = await store.admit({ orchestrator: 'sf', ...upload(), executionId: 'ttl' });
    const raw = await client.send(
      new GetItemCommand({
        TableName: TABLE,
        Key: { pk: { S: `sf#user#${job.userId}` }, sk: { S: `sf#job#${job.jobId}` } },
        ConsistentRead: true,
      }),
    );
    const expiresAt = Number(raw.Item?.expiresAt?.N);
    expect(expiresAt).toBe(Math.floor(Date.parse(job.createdAt) / 1000) + 7 * 86_400);
    // A day's slack for the test clock's steps; an expired item could be swept away by DynamoDB Local.
    expect(expiresAt).toBeGreaterThan(Date.now() / 1000 + 6 * 86_400);
  });

  it('joins duplicate deliveries of one upload, even when they race', async () => {
    const input = upload();
    const admissions = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        store.admit({ orchestrator: 'ldf', ...input, executionId: `e${i}` }),
      ),
    );
    expect(admissions.filter((a) => a.created)).toHaveLength(1);
    expect(new Set(admissions.map((a) => a.job.jobId)).size).toBe(1);
    const stored = await store.get({
      orchestrator: 'ldf',
      userId: input.userId,
      jobId: admissions[0]!.job.jobId,
    });
    expect(stored?.deliveries).toBe(8);
    expect(stored?.executions).toHaveLength(8);
    expect(new Set(admissions.map((a) => a.job.createdAt)).size).toBe(1);
  });

  it('keys admission to the execution: a repeat by the same execution counts nothing and answers the same', async () => {
    const input = upload();
    const first = await store.admit({ orchestrator: 'sf', ...input, executionId: 'exec-a' });
    const replay = await store.admit({ orchestrator: 'sf', ...input, executionId: 'exec-a' });
    expect(first.created).toBe(true);
    expect(replay.created).toBe(true);
    expect(replay.job.deliveries).toBe(1);
    const duplicate = await store.admit({ orchestrator: 'sf', ...input, executionId: 'exec-b' });
    const duplicateReplay = await store.admit({ orchestrator: 'sf', ...input, executionId: 'exec-b' });
    expect(duplicate.created).toBe(false);
    expect(duplicateReplay.created).toBe(false);
    expect(duplicateReplay.job.deliveries).toBe(2);
    expect(duplicateReplay.job.executions).toEqual(['exec-a', 'exec-b']);
  });

  it('records the phases a workflow saw when it ends the job, keeping stamps already there', async () => {
    const { job } = await store.admit({ orchestrator: 'ldf', ...upload(), executionId: 'x' });
    const ref = { orchestrator: 'ldf' as const, userId: job.userId, jobId: job.jobId };
    const done = await store.advance(ref, 'COMPLETED', {
      result: { ok: true },
      phases: { RECEIVED: '2000-01-01T00:00:00.000Z', MASK_READY: '2026-11-25T10:00:01.000Z' },
    });
    expect(done.phases.RECEIVED).toBe(job.createdAt);
    expect(done.phases.MASK_READY).toBe('2026-11-25T10:00:01.000Z');
    expect(done.phases.COMPLETED).toBeDefined();
  });

  it('keeps one mask waiter per job, found by user and name, claimed exactly once', async () => {
    const input = upload('dora', 'vase');
    const { job } = await store.admit({ orchestrator: 'sf', ...input, executionId: 'x' });
    const ref = { orchestrator: 'sf' as const, userId: job.userId, jobId: job.jobId };
    await store.setMaskWaiter(ref, { kind: 'sfn-task-token', token: 't1' });
    const waiting = await store.jobsWaitingForMask('sf', 'dora', 'vase');
    expect(waiting.map((j) => j.maskWaiter)).toEqual([{ kind: 'sfn-task-token', token: 't1' }]);
    expect(await store.jobsWaitingForMask('ldf', 'dora', 'vase')).toEqual([]);
    const claims = await Promise.all([store.claimMaskWaiter(ref, 't1'), store.claimMaskWaiter(ref, 't1')]);
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect(await store.jobsWaitingForMask('sf', 'dora', 'vase')).toEqual([]);
    await store.advance(ref, 'FAILED', { reason: 'gave up' });
    await expect(store.setMaskWaiter(ref, { kind: 'sfn-task-token', token: 't2' })).rejects.toThrow(
      /has ended/,
    );
  });

  it('drops a mask waiter its wait left behind when the job ends (a mask that never came)', async () => {
    const input = upload('erin', 'cup');
    const { job } = await store.admit({ orchestrator: 'ldf', ...input, executionId: 'x' });
    const ref = { orchestrator: 'ldf' as const, userId: job.userId, jobId: job.jobId };
    await store.setMaskWaiter(ref, { kind: 'durable-callback', token: 'c1' });
    const failed = await store.advance(ref, 'FAILED', { reason: 'MaskTimeoutError: no mask' });
    expect(failed.maskWaiter).toBeUndefined();
    expect(await store.jobsWaitingForMask('ldf', 'erin', 'cup')).toEqual([]);
  });

  it('gives a re-upload of the same key a new job, and keeps the orchestrators apart', async () => {
    const input = upload('bob', 'lamp');
    const first = await store.admit({ orchestrator: 'sf', ...input, executionId: 'x1' });
    const again = await store.admit({
      orchestrator: 'sf',
      ...input,
      upload: { ...input.upload, etag: '"other"' },
      executionId: 'x2',
    });
    expect(again.created).toBe(true);
    expect(again.job.jobId).not.toBe(first.job.jobId);
    const other = await store.admit({ orchestrator: 'ldf', ...input, executionId: 'x3' });
    expect(other.created).toBe(true);
    expect(other.job.jobId).toBe(first.job.jobId);
    expect(other.job.outputKey).toBe('users/bob/output/ldf/lamp.ply');
  });

  it('moves forward through the phases, stamping each once, and never backwards', async () => {
    const { job } = await store.admit({ orchestrator: 'sf', ...upload(), executionId: 'x' });
    const ref = { orchestrator: 'sf' as const, userId: job.userId, jobId: job.jobId };
    const ready = await store.advance(ref, 'MASK_READY');
    expect(ready.status).toBe('MASK_READY');
    // Skipping phases forward is allowed (a warm endpoint needs no acquire wait).
    const inferring = await store.advance(ref, 'INFERRING');
    // Repeating the current phase is a no-op: the stamp stays the first one.
    const again = await store.advance(ref, 'INFERRING');
    expect(again.phases.INFERRING).toBe(inferring.phases.INFERRING);
    await expect(store.advance(ref, 'MASK_READY')).rejects.toThrow(
      new JobTransitionError(
        `job sf/${ref.userId}/${ref.jobId} is INFERRING; it cannot move back to MASK_READY`,
      ),
    );
    const done = await store.advance(ref, 'COMPLETED', { result: { num_points: 1234 } });
    expect(done.result).toEqual({ num_points: 1234 });
    expect(Object.keys(done.phases)).toEqual(
      expect.arrayContaining(['RECEIVED', 'MASK_READY', 'INFERRING', 'COMPLETED']),
    );
    await expect(store.advance(ref, 'FAILED', { reason: 'late' })).rejects.toThrow(/is COMPLETED \(ended\)/);
    expect((await store.get(ref))?.reason).toBeUndefined();
  });

  it('lets exactly one of two racing endings win', async () => {
    const { job } = await store.admit({ orchestrator: 'ldf', ...upload(), executionId: 'x' });
    const ref = { orchestrator: 'ldf' as const, userId: job.userId, jobId: job.jobId };
    const results = await Promise.allSettled([
      store.advance(ref, 'COMPLETED'),
      store.advance(ref, 'FAILED', { reason: 'endpoint failed' }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected')[0]).toMatchObject({
      reason: { name: 'JobTransitionError' },
    });
  });

  it('refuses to advance a job that was never admitted', async () => {
    await expect(
      store.advance({ orchestrator: 'sf', userId: 'nobody', jobId: 'x' }, 'MASK_READY'),
    ).rejects.toThrow(/never admitted/);
  });

  it('records rejected uploads with their reason, also when the key names no user', async () => {
    const bad: UploadRef = { bucket: 'uploads', key: 'tmp/../evil.png', etag: '"1"' };
    const { job } = await store.reject({
      orchestrator: 'sf',
      upload: bad,
      reason: "key does not start with 'users/'",
      executionId: 'x',
    });
    expect(job).toMatchObject({
      status: 'REJECTED',
      userId: UNKNOWN_USER,
      reason: "key does not start with 'users/'",
    });
    expect(job.phases.REJECTED).toBeDefined();
    const rejected = await store.listByStatus('sf', 'REJECTED');
    expect(rejected.jobs.map((j) => j.jobId)).toContain(job.jobId);
  });

  it('lists by status (newest change first) and by user, page by page', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { job } = await store.admit({
        orchestrator: 'ldf',
        ...upload('carol', `item${i}`),
        executionId: 'x',
      });
      ids.push(job.jobId);
    }
    const carolRef = (jobId: string) => ({ orchestrator: 'ldf' as const, userId: 'carol', jobId });
    await store.advance(carolRef(ids[1]!), 'MASK_READY');
    await store.advance(carolRef(ids[3]!), 'MASK_READY');

    const maskReady = await store.listByStatus('ldf', 'MASK_READY');
    expect(maskReady.jobs.slice(0, 2).map((j) => j.jobId)).toEqual([ids[3], ids[1]]);
    expect(maskReady.jobs.every((j) => j.status === 'MASK_READY' && j.orchestrator === 'ldf')).toBe(true);
    // The sf side of the table is separate.
    expect((await store.listByStatus('sf', 'MASK_READY')).jobs.some((j) => j.userId === 'carol')).toBe(false);

    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await store.listByUser('ldf', 'carol', { limit: 2, cursor });
      seen.push(...page.jobs.map((j) => j.jobId));
      cursor = page.cursor;
      pages++;
    } while (cursor !== undefined);
    expect(seen.sort()).toEqual([...ids].sort());
    expect(pages).toBeGreaterThanOrEqual(3);
    await expect(store.listByUser('ldf', 'carol', { cursor: 'not-a-cursor' })).rejects.toThrow(/cursor/);
  });
});

describe('recordEnding: a job whose execution the platform ended', () => {
  it('records FAILED once however many callers race, and only for the execution that admitted it', async () => {
    const { job } = await store.admit({ orchestrator: 'sf', ...upload(), executionId: 'exec-a' });
    await store.admit({ orchestrator: 'sf', ...upload('alice', job.name), executionId: 'exec-dup' });
    const other = await store.recordEnding(job, 'exec-dup', { reason: 'ExecutionEndedError: stopped' });
    expect(other).toMatchObject({ recorded: false, job: { status: 'RECEIVED' } });
    const racers = await Promise.all(
      Array.from({ length: 5 }, () => store.recordEnding(job, 'exec-a', { reason: 'Operator: stopped' })),
    );
    expect(racers.filter((r) => r.recorded)).toHaveLength(1);
    const stored = await store.get(job);
    expect(stored).toMatchObject({ status: 'FAILED', reason: 'Operator: stopped' });
    expect(stored!.phases.FAILED).toBeDefined();
  });

  it('leaves a job its workflow ended alone', async () => {
    const { job } = await store.admit({ orchestrator: 'ldf', ...upload(), executionId: 'exec-b' });
    await store.advance(job, 'COMPLETED', { result: { ok: true } });
    const late = await store.recordEnding(job, 'exec-b', { reason: 'Operator: stopped' });
    expect(late).toMatchObject({ recorded: false, job: { status: 'COMPLETED' } });
    expect((await store.get(job))!.reason).toBeUndefined();
  });
});
