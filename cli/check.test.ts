// `dvs check` against a running local cloud with the app deployed, as a user runs it (`--endpoints
// cloud.json`): every read goes through the real SDK clients (Scan, ListExecutions,
// ListDurableExecutionsByFunction, GetFunction, DescribeEndpoint). A fresh cloud is clean (exit 0);
// then states a broken run would leave are written into it, and each is found (exit 1) with its
// job, execution and fix. A cloud that is gone is exit 4.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateEndpointCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appDefinition } from '../infra/app-definition.ts';
import { startLocalCloud, type LocalCloud } from '../local/cloud.ts';
import { DEFAULT_ENDPOINT_NAME, deployApp, localAppSettings, type DeployedApp } from '../local/deploy-app.ts';
import { CONFIG_DEFAULTS } from '../shared/config.ts';
import { JobStore } from '../shared/job-store.ts';
import type { Violation } from '../check/invariants.ts';
import { defaultActions } from './actions.ts';
import { EXIT } from './exit.ts';
import { runCli } from './main.ts';
import { SERVICE_FIELDS } from './targets.ts';
import { recordingIo } from './test-io.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'dvs-check-test-'));
let cloud: LocalCloud;
let app: DeployedApp;
let cloudFile: string;

async function dvsCheck(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = recordingIo();
  const code = await runCli(['check', '--endpoints', cloudFile, ...args], defaultActions, io);
  return { code, out: io.out(), err: io.err() };
}

beforeAll(async () => {
  cloud = await startLocalCloud({ functionOutput: () => undefined });
  app = await deployApp(cloud, appDefinition(localAppSettings(cloud, { idleWindowSeconds: 60 })));
  cloudFile = path.join(dir, 'cloud.json');
  writeFileSync(cloudFile, JSON.stringify(cloud.describe()));
});

afterAll(async () => {
  app?.undeploy();
  await cloud?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('dvs check on a local cloud', () => {
  it('finds nothing wrong in a fresh cloud (exit 0)', async () => {
    const text = await dvsCheck();
    expect(text.err).toBe('');
    expect(text.out).toMatch(
      /^no violations: all 7 invariants hold over 0 job\(s\), 0 execution\(s\) and 2 endpoints/,
    );
    expect(text.code).toBe(EXIT.ok);
  });

  it('finds a job left unended, a crossed execution, a lease left and an endpoint nobody governs (exit 1)', async () => {
    const ddb = new DynamoDBClient(cloud.clientConfig('dynamodb'));
    const sagemaker = new SageMakerClient(cloud.clientConfig('sagemaker'));
    try {
      const doc = DynamoDBDocumentClient.from(ddb);
      const store = new JobStore(doc, cloud.tableName, {
        retentionDays: 1,
        now: () => new Date(cloud.time.now()),
      });
      // An sf job admitted by an execution Step Functions never ran, now recorded under a durable ARN.
      const ldfArn = `arn:aws:lambda:${cloud.region}:000000000000:function:durable-orchestrator:1/durable-execution/gone/1`;
      const { job } = await store.admit({
        orchestrator: 'sf',
        upload: { bucket: cloud.bucket, key: 'users/u1/input/chair_image.png', etag: '"e1"' },
        userId: 'u1',
        name: 'chair',
        executionId: ldfArn,
      });
      // The ldf endpoint's item holds a lease of a job no execution runs.
      const ldfEndpoint = `${DEFAULT_ENDPOINT_NAME}-ldf`;
      await doc.send(
        new PutCommand({
          TableName: cloud.tableName,
          Item: {
            pk: `ldf#endpoint#${ldfEndpoint}`,
            sk: 'ldf#lease',
            state: 'Stopped',
            generation: 1,
            version: 3,
            leases: { [job.jobId]: cloud.time.now() + 3_600_000 },
            waiters: {},
          },
        }),
      );
      await doc.send(
        new UpdateCommand({
          TableName: cloud.tableName,
          Key: { pk: `ldf#endpoint#${ldfEndpoint}`, sk: 'ldf#lease' },
          UpdateExpression: 'SET lastReleaseAt = :t',
          ExpressionAttributeValues: { ':t': cloud.time.now() },
        }),
      );
      // SageMaker runs the sf endpoint though its lifecycle item (none: Stopped) started nothing.
      const sfEndpoint = `${DEFAULT_ENDPOINT_NAME}-sf`;
      await sagemaker.send(
        new CreateEndpointCommand({
          EndpointName: sfEndpoint,
          EndpointConfigName: CONFIG_DEFAULTS.endpointConfigName,
        }),
      );

      const json = await dvsCheck('--json');
      expect(json.err).toBe('');
      expect(json.code).toBe(EXIT.failed);
      const report = JSON.parse(json.out) as { checked: Record<string, number>; violations: Violation[] };
      expect(report.checked).toEqual({ jobs: 1, executions: 0, endpoints: 2 });
      const found = report.violations.map((v) => [v.invariant, v.orchestrator, v.job?.jobId ?? v.endpoint]);
      expect(found).toEqual([
        ['jobs-end', 'sf', job.jobId],
        ['idle-endpoint', 'sf', sfEndpoint],
        ['nothing-left', 'ldf', job.jobId],
        ['prefixes-apart', 'sf', job.jobId],
        // The job id is the upload's, and only the sf orchestrator admitted it.
        ['prefixes-apart', 'ldf', ldfEndpoint],
      ]);
      const [left] = report.violations;
      expect(left).toMatchObject({
        execution: ldfArn,
        job: { userId: 'u1', status: 'RECEIVED', name: 'chair' },
      });
      expect(left!.problem).toContain(`${ldfArn} is unknown to Step Functions`);
      expect(report.violations[3]!.problem).toContain(`names the ldf execution ${ldfArn}`);

      const text = await dvsCheck();
      expect(text.code).toBe(EXIT.failed);
      expect(text.out).toContain('5 violation(s) over 1 job(s), 0 execution(s) and 2 endpoints');
      expect(text.out).toContain(
        `  - sf job ${job.jobId} of user u1 (chair), RECEIVED\n    execution: ${ldfArn}`,
      );
      expect(text.out).toContain(
        `fix:       it was created outside the lifecycle (or its item was reset); delete it with \`aws sagemaker delete-endpoint --endpoint-name ${sfEndpoint}\``,
      );
    } finally {
      ddb.destroy();
      sagemaker.destroy();
    }
  });

  it('exits 4 when the cloud it names is gone', async () => {
    const gone = path.join(dir, 'gone.json');
    const dead = 'http://127.0.0.1:9';
    writeFileSync(
      gone,
      JSON.stringify({
        ...cloud.describe(),
        ...Object.fromEntries(SERVICE_FIELDS.map((s) => [s, dead])),
      }),
    );
    const io = recordingIo();
    expect(await runCli(['check', '--endpoints', gone], defaultActions, io)).toBe(EXIT.unreachable);
    expect(io.err()).toContain('is the local cloud still running?');
  });
});
