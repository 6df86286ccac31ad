// `dvs status` against DynamoDB Local through the real client: job items written by the JobStore both
// orchestrators use, read back side by side per upload, each phase in simulated seconds on the
// description's time scale.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTable, startLocalDynamoDB, type LocalDynamoDB } from '../local/dynamodb/dynamodb-local.ts';
import { localClientConfig } from '../shared/aws.ts';
import { JobStore, type Job } from '../shared/job-store.ts';
import type { Orchestrator } from '../shared/keys.ts';
import { runCli } from './main.ts';
import { EXIT } from './exit.ts';
import { defaultActions } from './actions.ts';
import { recordingIo } from './test-io.ts';

const TABLE = 'dvs-status-test';
const SCALE = 60;
const dir = mkdtempSync(path.join(tmpdir(), 'dvs-status-test-'));
let ddb: LocalDynamoDB;
let client: DynamoDBClient;
let cloudFile: string;
// Real time (DynamoDB Local's TTL sweeper reads the real clock), one second per write.
let clock = Date.now();
const jobs: Record<string, Job> = {};

function describeCloud(dynamodb: string): string {
  const file = path.join(dir, `cloud-${dynamodb.replace(/\W/g, '')}.json`);
  const loopback = 'http://127.0.0.1:9';
  writeFileSync(
    file,
    JSON.stringify({
      region: 'us-east-1',
      tableName: TABLE,
      bucket: 'uploads',
      eventBusName: 'default',
      dynamodb,
      ...Object.fromEntries(
        ['s3', 'eventbridge', 'sagemaker', 'sagemakerRuntime', 'lambda', 'stepfunctions', 'cloudwatch'].map(
          (s) => [s, loopback],
        ),
      ),
      timeScale: SCALE,
    }),
  );
  return file;
}

beforeAll(async () => {
  ddb = await startLocalDynamoDB();
  await createTable(ddb.endpoint, TABLE, 'us-east-1');
  client = new DynamoDBClient(localClientConfig(ddb.endpoint, 'us-east-1'));
  const store = new JobStore(DynamoDBDocumentClient.from(client), TABLE, {
    retentionDays: 1,
    now: () => new Date((clock += 1000)),
  });
  const admit = (o: Orchestrator, userId: string, name: string) =>
    store.admit({
      orchestrator: o,
      upload: { bucket: 'uploads', key: `users/${userId}/input/${name}_image.png`, versionId: 'v1' },
      userId,
      name,
      executionId: `exec-${o}-${name}`,
    });
  // One upload both orchestrators ran (sf completed, ldf failed), then a later one only sf admitted.
  const ldf = (await admit('ldf', 'u1', 'chair')).job;
  const sf = (await admit('sf', 'u1', 'chair')).job;
  await store.advance(ldf, 'MASK_READY');
  await store.advance(sf, 'MASK_READY');
  jobs.sf = await store.advance(sf, 'COMPLETED');
  jobs.ldf = await store.advance(ldf, 'FAILED', { reason: 'EndpointStartFailed: capacity' });
  jobs.later = (await admit('sf', 'u2', 'sofa')).job;
  cloudFile = describeCloud(ddb.endpoint);
});

afterAll(async () => {
  client?.destroy();
  await ddb?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function status(args: string[]) {
  const io = recordingIo();
  const code = await runCli(['status', ...args], defaultActions, io);
  return { code, out: io.out(), err: io.err() };
}

/** Simulated seconds from the upload's first admission (ldf's) to `iso`. */
const simulated = (iso: string | undefined) =>
  (Date.parse(iso!) - Date.parse(jobs.ldf!.phases.RECEIVED!)) / 1000;

describe('dvs status', () => {
  it("puts both orchestrators' items of one upload side by side, phases in simulated seconds", async () => {
    const { code, out, err } = await status(['--endpoints', cloudFile, '--user', 'u1']);
    expect(err).toBe('');
    expect(code).toBe(EXIT.ok);
    const lines = out.split('\n').map((l) => l.trim().split(/\s{2,}/));
    expect(out).toContain(`upload chair of user u1, job ${jobs.sf!.jobId}`);
    expect(out).toContain(`simulated seconds (clock scale:${SCALE}) after the first admission`);
    expect(lines).toContainEqual(['phase', 'sf', 'ldf']);
    // The items' times read the cloud's clock (simulated already), a second per write: ldf admitted
    // first (0), sf a write later (1).
    expect(lines).toContainEqual(['RECEIVED', simulated(jobs.sf!.phases.RECEIVED).toFixed(1), '0.0']);
    expect(simulated(jobs.sf!.phases.RECEIVED)).toBe(1);
    expect(lines).toContainEqual([
      'MASK_READY',
      simulated(jobs.sf!.phases.MASK_READY).toFixed(1),
      simulated(jobs.ldf!.phases.MASK_READY).toFixed(1),
    ]);
    expect(lines).toContainEqual(['COMPLETED', simulated(jobs.sf!.phases.COMPLETED).toFixed(1)]);
    expect(lines).toContainEqual(['status', 'COMPLETED', 'FAILED']);
    expect(lines).toContainEqual(['reason', 'EndpointStartFailed: capacity']);
    expect(out).not.toContain('sofa');
  });

  it('lists every user by status, newest upload first, as JSON with --json', async () => {
    const { code, out } = await status(['--endpoints', cloudFile, '--json']);
    expect(code).toBe(EXIT.ok);
    const parsed = JSON.parse(out) as {
      clock: unknown;
      table: string;
      uploads: {
        jobId: string;
        name: string;
        sf: { status: string; phases: Record<string, number> } | null;
        ldf: { status: string; reason?: string } | null;
      }[];
    };
    expect(parsed.clock).toEqual({ kind: 'scale', factor: SCALE });
    expect(parsed.table).toBe(TABLE);
    expect(parsed.uploads.map((u) => u.name)).toEqual(['sofa', 'chair']);
    expect(parsed.uploads[0]!.ldf).toBeNull();
    expect(parsed.uploads[0]!.sf).toMatchObject({ status: 'RECEIVED', phases: { RECEIVED: 0 } });
    expect(parsed.uploads[1]!.sf).toMatchObject({
      status: 'COMPLETED',
      phases: { RECEIVED: 1, COMPLETED: simulated(jobs.sf!.phases.COMPLETED) },
    });
    expect(parsed.uploads[1]!.ldf).toMatchObject({
      status: 'FAILED',
      reason: 'EndpointStartFailed: capacity',
    });
    const limited = JSON.parse(
      (await status(['--endpoints', cloudFile, '--json', '--limit', '1'])).out,
    ) as typeof parsed;
    expect(limited.uploads.map((u) => u.name)).toEqual(['sofa']);
  });

  it('finds one job by (the start of) its id, and exits 1 when none matches', async () => {
    const one = await status(['--endpoints', cloudFile, '--job', jobs.later!.jobId.slice(0, 8)]);
    expect(one.code).toBe(EXIT.ok);
    expect(one.out).toContain('upload sofa of user u2');
    expect(one.out).not.toContain('chair');
    expect(one.out).toMatch(/status\s+RECEIVED\s+\(no item\)/);
    const none = await status(['--endpoints', cloudFile, '--job', 'ffffffffffffffff']);
    expect(none.code).toBe(EXIT.failed);
    expect(none.out).toBe(`no jobs with id ffffffffffffffff in ${TABLE}\n`);
  });

  it('exits 4 naming the fix when the local cloud is gone, 3 for a bad endpoints file', async () => {
    const gone = await status(['--endpoints', describeCloud('http://127.0.0.1:9')]);
    expect(gone.code).toBe(EXIT.unreachable);
    expect(gone.err).toContain('dynamodb at http://127.0.0.1:9 did not answer (ECONNREFUSED)');
    expect(gone.err).toContain('npm run up -- --json > cloud.json');
    const bad = await status(['--endpoints', path.join(dir, 'none.json')]);
    expect(bad.code).toBe(EXIT.badInput);
    const none = await status([]);
    expect(none.code).toBe(EXIT.usage);
    expect(none.err).toContain('reads a running local cloud');
  });
});
