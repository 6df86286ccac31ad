// The local cloud as a user runs it: `npm run up -- --json`, Ctrl-C, and a parent killed outright.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CloudWatchClient, GetDashboardCommand } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  GetDurableExecutionHistoryCommand,
  InvokeCommand,
  LambdaClient,
  ListDurableExecutionsByFunctionCommand,
  ListFunctionsCommand,
} from '@aws-sdk/client-lambda';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ListEndpointsCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { GetExecutionHistoryCommand, ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { generateSample, samplePngs } from '../container/src/samples.ts';
import { JobStore } from '../shared/job-store.ts';
import { inputImageKey, inputMaskKey, outputKey } from '../shared/keys.ts';
import { afterEach, describe, expect, it } from 'vitest';
import { localClientConfig } from '../shared/aws.ts';
import { startLocalCloud, type LocalCloudDescription } from '../local/cloud.ts';
import { localAppSettings } from '../local/deploy-app.ts';
import { appDefinition, dashboardNames } from '../infra/app-definition.ts';
import { comparisonDashboardJson, type DashboardBody } from '../dashboards/comparison.ts';
import { readWidgetData } from '../dashboards/widget-data.ts';
import { isRunning, type ProcessIdentity } from '../local/common/process-lifetime.ts';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

/** Starts `tsx local/cli/up.ts --json` and resolves with its JSON description. */
async function up(
  args: string[] = [],
): Promise<{ child: ChildProcess; description: Record<string, unknown> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'local/cli/up.ts', '--json', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines = createInterface({ input: child.stdout });
  for await (const line of lines) {
    child.stdout.resume(); // nothing more is read: keep the pipe from filling up
    return { child, description: JSON.parse(line) as Record<string, unknown> };
  }
  throw new Error(`up exited without printing JSON: ${stderr}`);
}

/** Pids of the DynamoDB Local JVMs listening on `port`. */
function javaPids(port: number): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        return (
          /(^|\/)java$/.test(cmd[0] ?? '') &&
          cmd.some((a) => a.endsWith('LoopbackDynamoDBLocal.java')) &&
          cmd.includes(String(port))
        );
      } catch {
        return false; // the process ended while we looked
      }
    })
    .map(Number);
}

// /proc/net/tcp{,6} spell addresses as little-endian hex words.
const ADDRESSES: Record<string, string> = {
  '0100007F': '127.0.0.1',
  '0000000000000000FFFF00000100007F': '127.0.0.1', // ::ffff:127.0.0.1, how the JVM binds IPv4 loopback
  '00000000000000000000000001000000': '::1',
  '00000000': '0.0.0.0',
  '00000000000000000000000000000000': '::',
};

/** Local addresses listening on `port` (IPv4 and IPv6), e.g. ['127.0.0.1']. */
function listeners(port: number): string[] {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const found: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const row of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const [, local, , state] = row.trim().split(/\s+/);
      if (state !== '0A' || !local?.endsWith(`:${hex}`)) continue; // 0A = LISTEN
      const addr = local.split(':')[0]!;
      found.push(ADDRESSES[addr] ?? addr);
    }
  }
  return found;
}

/** Local S3 data folders whose owner is still running. */
/** Data folders of local S3s still running; with `ancestor`, only those owned by its descendants. */
function ownedS3Folders(ancestor?: number): string[] {
  return readdirSync(tmpdir())
    .filter((name) => name.startsWith('local-s3-'))
    .map((name) => join(tmpdir(), name))
    .filter((folder) => {
      try {
        const owner = JSON.parse(readFileSync(join(folder, 'owner.json'), 'utf8')) as ProcessIdentity;
        return isRunning(owner) && (ancestor === undefined || descendsFrom(owner.pid, ancestor));
      } catch {
        return false;
      }
    });
}

function descendsFrom(pid: number, ancestor: number): boolean {
  for (let p = pid; p > 1;) {
    if (p === ancestor) return true;
    // /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold spaces, so read after the last ')'.
    const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
    p = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  }
  return false;
}

const portOf = (url: unknown): number => Number(new URL(String(url)).port);

async function waitFor(what: string, ok: () => boolean, ms = 15_000, said = ''): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end)
      throw new Error(`timed out waiting for ${what}${said && `; the cloud said:\n${said}`}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('npm run up', () => {
  it('prints where each part listens, on loopback only, and leaves nothing behind on Ctrl-C', async () => {
    const { child, description } = await up(['--function', 'hello=local/lambda/fixtures/plain.ts']);
    expect(description).toMatchObject({
      region: 'us-east-1',
      tableName: 'durable-vs-sfn',
      bucket: 'uploads',
      dynamodb: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) as unknown,
      s3: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) as unknown,
      eventbridge: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) as unknown,
      sagemaker: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) as unknown,
      sagemakerRuntime: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) as unknown,
      lambda: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) as unknown,
      functions: [
        {
          functionName: 'hello',
          durable: false,
          qualifiedArn: expect.stringMatching(/:function:hello:live$/) as unknown,
        },
      ],
      stepfunctions: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) as unknown,
      eventBusName: 'default',
      clock: 'scale:60',
      timeScale: 60,
    });
    const dynamoPort = portOf(description.dynamodbLocal);
    for (const part of [
      'dynamodb',
      'dynamodbLocal',
      's3',
      'eventbridge',
      'sagemaker',
      'lambda',
      'stepfunctions',
    ]) {
      expect(listeners(portOf(description[part]))).toEqual(['127.0.0.1']);
    }
    // The --function is served, with the local endpoints in its environment.
    const lambda = new LambdaClient(localClientConfig(String(description.lambda)));
    const listed = await lambda.send(new ListFunctionsCommand({}));
    expect(listed.Functions?.map((f) => f.FunctionName).sort()).toEqual(
      ['durable-orchestrator', 'hello', 'job-reconciler', 'sfn-tasks', 'waker'].sort(),
    );
    const answer = await lambda.send(new InvokeCommand({ FunctionName: 'hello:live', Payload: '{"n":2}' }));
    expect(JSON.parse(Buffer.from(answer.Payload!).toString())).toMatchObject({
      doubled: 4,
      lambdaEndpoint: description.lambda,
      dynamodbEndpoint: description.dynamodb,
    });
    lambda.destroy();
    expect(javaPids(dynamoPort)).toHaveLength(1);

    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(javaPids(dynamoPort)).toEqual([]);
  });

  it('runs one upload through both orchestrators, each on its own endpoint, watched through the AWS APIs', async () => {
    const { child, description } = await up();
    const app = description.app as {
      stateMachineArn: string;
      durableOrchestrator: string;
      waitMode: string;
      dashboard: string;
    };
    expect(app).toMatchObject({
      waitMode: 'poll',
      stateMachineArn: expect.stringMatching(/:stateMachine:sfn-orchestrator$/) as unknown,
      durableOrchestrator: expect.stringMatching(/:function:durable-orchestrator:live$/) as unknown,
    });
    const config = (part: string) => localClientConfig(String(description[part]));
    const s3 = new S3Client(config('s3'));
    const pngs = samplePngs(generateSample('blob', 64));
    const uploaded = Date.now();
    await s3.send(
      new PutObjectCommand({ Bucket: 'uploads', Key: inputMaskKey('eve', 'vase'), Body: pngs.mask }),
    );
    await s3.send(
      new PutObjectCommand({ Bucket: 'uploads', Key: inputImageKey('eve', 'vase'), Body: pngs.image }),
    );

    const doc = DynamoDBDocumentClient.from(new DynamoDBClient(config('dynamodb')));
    const jobs = new JobStore(doc, 'durable-vs-sfn', { retentionDays: 1 });
    for (const orchestrator of ['sf', 'ldf'] as const) {
      await expect
        .poll(async () => (await jobs.listByUser(orchestrator, 'eve')).jobs[0]?.status, {
          timeout: 180_000,
          interval: 200,
        })
        .toBe('COMPLETED');
      const ply = await s3.send(
        new GetObjectCommand({ Bucket: 'uploads', Key: outputKey(orchestrator, 'eve', 'vase') }),
      );
      expect((await ply.Body!.transformToString()).startsWith('ply')).toBe(true);
    }
    // Each on its own endpoint.
    const sagemaker = new SageMakerClient(config('sagemaker'));
    const names = (await sagemaker.send(new ListEndpointsCommand({}))).Endpoints?.map((e) => e.EndpointName);
    expect(names?.sort()).toEqual(['reconstruct-3d-ldf', 'reconstruct-3d-sf']);
    // The executions and their histories, through the services' own APIs.
    const lambda = new LambdaClient(config('lambda'));
    const durable = await lambda.send(
      new ListDurableExecutionsByFunctionCommand({ FunctionName: 'durable-orchestrator' }),
    );
    expect(durable.DurableExecutions).toHaveLength(1);
    const durableHistory = await lambda.send(
      new GetDurableExecutionHistoryCommand({
        DurableExecutionArn: durable.DurableExecutions![0]!.DurableExecutionArn,
      }),
    );
    expect(durableHistory.Events?.some((e) => e.Name === 'invoke-endpoint')).toBe(true);
    const sfn = new SFNClient(config('stepfunctions'));
    const executions = await sfn.send(new ListExecutionsCommand({ stateMachineArn: app.stateMachineArn }));
    expect(executions.executions).toHaveLength(1);
    const sfnHistory = await sfn.send(
      new GetExecutionHistoryCommand({ executionArn: executions.executions![0]!.executionArn }),
    );
    expect(sfnHistory.events?.[0]?.type).toBe('ExecutionStarted');

    // The executions go on after the job (the idle window, the guarded stop); once both have ended,
    // the deployed dashboard charts the run: every widget has data.
    await expect
      .poll(
        async () => [
          ...(
            (
              await lambda.send(
                new ListDurableExecutionsByFunctionCommand({ FunctionName: 'durable-orchestrator' }),
              )
            ).DurableExecutions ?? []
          ).map((e) => e.Status),
          ...(
            (await sfn.send(new ListExecutionsCommand({ stateMachineArn: app.stateMachineArn })))
              .executions ?? []
          ).map((e) => e.status),
        ],
        { timeout: 120_000, interval: 500 },
      )
      .toEqual(['SUCCEEDED', 'SUCCEEDED']);
    const cloudWatch = new CloudWatchClient(config('cloudwatch'));
    const { DashboardBody: body } = await cloudWatch.send(
      new GetDashboardCommand({ DashboardName: app.dashboard }),
    );
    const settings = localAppSettings(description as unknown as LocalCloudDescription, { waitMode: 'poll' });
    expect(body).toBe(
      comparisonDashboardJson(
        dashboardNames(appDefinition(settings), {
          region: settings.region,
          stateMachineArn: app.stateMachineArn,
          functionName: (name) => name,
        }),
      ),
    );
    const deployed = JSON.parse(body!) as DashboardBody;
    const widgets = await readWidgetData(
      cloudWatch,
      deployed,
      new Date(uploaded - 600_000),
      // The metrics read the cloud's clock (scale:60 runs ahead of this process's real time).
      new Date(Date.now() + 24 * 3600_000),
    );
    expect(widgets).toHaveLength(deployed.widgets.filter((w) => w.type === 'metric').length);
    expect(widgets.length).toBeGreaterThan(8);
    expect(widgets.filter((w) => w.seriesWithData === 0).map((w) => w.title)).toEqual([]);
    for (const client of [s3, doc, sagemaker, lambda, sfn, cloudWatch]) client.destroy();

    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    // A bound on a hang, far above the work (a cloud start, a cold job per orchestrator): on a loaded
    // 2-core machine with a second suite beside it the run took over the 60 s default.
  }, 300_000);

  it('leaves no Java behind when it is killed outright', async () => {
    const { child, description } = await up();
    const dynamoPort = portOf(description.dynamodbLocal);
    expect(javaPids(dynamoPort)).toHaveLength(1);
    child.kill('SIGKILL');
    // The watchdog sees its stdin close when the parent dies and takes the JVM down with it.
    await waitFor('the JVM to exit', () => javaPids(dynamoPort).length === 0);
  });

  it('stops, JVM and data folder included, when the npm process that started it is killed outright', async () => {
    // npm -> sh -> tsx's launcher -> node running up.ts: no signal reaches up.ts when npm dies.
    const npm = spawn('npm', ['run', '--silent', 'up', '--', '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(npm);
    let said = ''; // read, so a full pipe never blocks it, and shown if it does not stop
    npm.stderr.on('data', (d: Buffer) => (said += d.toString()));
    const lines = createInterface({ input: npm.stdout });
    let description: Record<string, unknown> | undefined;
    for await (const line of lines) {
      description = JSON.parse(line) as Record<string, unknown>;
      break;
    }
    const dynamoPort = portOf(description?.dynamodbLocal);
    const s3Port = portOf(description?.s3);
    // This cloud's folder: other clouds (other suites, other runs) hold folders of their own.
    const folders = ownedS3Folders(npm.pid);
    expect(folders).toHaveLength(1);
    expect(javaPids(dynamoPort)).toHaveLength(1);
    npm.kill('SIGKILL');
    await waitFor('the JVM to exit', () => javaPids(dynamoPort).length === 0, 15_000, said);
    await waitFor('the local S3 to stop listening', () => listeners(s3Port).length === 0, 15_000, said);
    await waitFor('its data folder to be removed', () => folders.every((f) => !existsSync(f)), 15_000, said);
  });

  it('answers --help without starting anything', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'local/cli/up.ts', '--help'], {
      stdio: 'pipe',
    });
    children.push(child);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
    expect(out).toContain('Usage: npm run up');
    expect(out).toContain('--json');
  });
});

describe('startLocalCloud', () => {
  it('stops every part it started, Java included', async () => {
    const cloud = await startLocalCloud({ tableName: 'stop-test', bucket: 'stop-test' });
    const port = portOf(cloud.dynamodbLocal);
    expect(javaPids(port)).toEqual([cloud.dynamoDb.pid]);
    await cloud.stop();
    expect(javaPids(port)).toEqual([]);
    expect(listeners(portOf(cloud.s3))).toEqual([]);
  });
});
