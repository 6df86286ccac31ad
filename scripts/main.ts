// `npm run smoke`: the local cloud's quick check. It brings the local cloud up with the app deployed,
// shows that every part answers through the real AWS SDK clients, runs one upload through both
// orchestrators (counting what each billed through the services' own APIs, and reading every widget
// of the deployed dashboard back with data), and brings it down again, timing each step.
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  DeleteEndpointCommand,
  ListEndpointsCommand,
  SageMakerClient,
  waitUntilEndpointInService,
} from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { generateSample, samplePngs } from '../container/src/samples.ts';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { uploadRule } from '../shared/event-rules.ts';
import type { BusEvent } from '../local/eventbridge/event-bus.ts';
import { parseArgs } from 'node:util';
import { inputImageKey, inputMaskKey } from '../shared/keys.ts';
import { JobStore, type Job } from '../shared/job-store.ts';
import { isEnding } from '../shared/job-model.ts';
import { ListDurableExecutionsByFunctionCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetExecutionHistoryCommand, ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { appDefinition, FUNCTIONS, STATE_MACHINE } from '../infra/app-definition.ts';
import { deployApp, localAppSettings, putAppRules, type DeployedApp } from '../local/deploy-app.ts';
import { countDurableHistory, readDurableHistory } from '../metering/durable-history.ts';
import { countStateTransitions } from '../metering/sfn-history.ts';
import { startLocalCloud, type LocalCloud } from '../local/cloud.ts';
import { CloudWatchClient, GetDashboardCommand } from '@aws-sdk/client-cloudwatch';
import type { DashboardBody } from '../dashboards/comparison.ts';
import { readWidgetData } from '../dashboards/widget-data.ts';
import { requireNode22 } from '../local/cli/preflight.ts';

const HELP = `Usage: npm run smoke [-- --help]

Runs the main job on this machine, with no AWS account: brings the local cloud up on 127.0.0.1
(DynamoDB Local, S3, the EventBridge bus, SageMaker with the inference container, Lambda with the
durable execution APIs, Step Functions) and deploys the app (both orchestrators) from its one
definition; checks that every part answers through the real AWS SDK v3 clients (a real
generate_3d included); uploads one image and its mask, which starts BOTH orchestrators, and shows
each one's result, its latency in simulated seconds and what it billed (durable operations as AWS
bills them, invocations, bytes written; state transitions), counted from GetDurableExecutionHistory
and GetExecutionHistory; reads the deployed comparison dashboard back from the local CloudWatch and
shows how many series of each widget have data (failing on an empty one that could have data
locally); prints how long each step took, and brings everything down again. It exits 0 when every
check passed and 1 otherwise, naming the part that failed.

Needs Node 22 (installed by \`npm ci\`) and Java 17+ for DynamoDB Local.
To keep the local cloud running instead, use \`npm run up\`.`;

interface Check {
  part: string;
  what: string;
  run: () => Promise<string>;
}

function checks(cloud: LocalCloud): Check[] {
  const dynamodb = new DynamoDBClient(cloud.clientConfig('dynamodb'));
  const s3 = new S3Client(cloud.clientConfig('s3'));
  const jobs = new JobStore(DynamoDBDocumentClient.from(dynamodb), cloud.tableName, { retentionDays: 1 });
  const probeKey = inputImageKey('npm-start', 'probe');
  const probeBody = `checked at ${new Date().toISOString()}`;
  const events = new EventBridgeClient(cloud.clientConfig('eventbridge'));
  const sagemaker = new SageMakerClient(cloud.clientConfig('sagemaker'));
  const runtime = new SageMakerRuntimeClient(cloud.clientConfig('sagemakerRuntime'));
  // Every upload the bus routes to the orchestrators' rule lands here (the app's rules, as the deploy
  // below puts them; it keeps this target).
  const routed: BusEvent[] = [];
  putAppRules(cloud.bus, appDefinition(localAppSettings(cloud)));
  cloud.bus.addTarget(uploadRule(cloud.bucket).name, 'npm-start-probe', (e) => void routed.push(e));
  return [
    {
      part: 'DynamoDB',
      what: `table ${cloud.tableName} is active with its index`,
      run: async () => {
        const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: cloud.tableName }));
        const indexes = (Table?.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName).join(', ');
        if (Table?.TableStatus !== 'ACTIVE') throw new Error(`table status is ${Table?.TableStatus}`);
        return `${Table.TableStatus}, indexes: ${indexes}`;
      },
    },
    {
      part: 'DynamoDB',
      what: 'a job is admitted once and listed for its user',
      run: async () => {
        const upload = { bucket: cloud.bucket, key: probeKey, etag: '"probe"' };
        const input = { orchestrator: 'sf' as const, upload, userId: 'npm-start', name: 'probe' };
        const first = await jobs.admit({ ...input, executionId: 'npm-start-1' });
        const again = await jobs.admit({ ...input, executionId: 'npm-start-2' });
        if (!first.created || again.created) throw new Error('a duplicate delivery created a second job');
        const listed = await jobs.listByUser('sf', 'npm-start');
        if (listed.jobs.length !== 1) throw new Error(`expected 1 job, listed ${listed.jobs.length}`);
        return `job ${first.job.jobId.slice(0, 12)}… ${first.job.status}, deliveries ${again.job.deliveries}`;
      },
    },
    {
      part: 'S3',
      what: `put, get, list and delete in bucket ${cloud.bucket}`,
      run: async () => {
        await s3.send(new PutObjectCommand({ Bucket: cloud.bucket, Key: probeKey, Body: probeBody }));
        const got = await s3.send(new GetObjectCommand({ Bucket: cloud.bucket, Key: probeKey }));
        const text = await got.Body?.transformToString();
        if (text !== probeBody) throw new Error('the object read back differs from the one written');
        const listed = await s3.send(
          new ListObjectsV2Command({ Bucket: cloud.bucket, Prefix: 'users/npm-start/' }),
        );
        if (listed.KeyCount !== 1) throw new Error(`listed ${listed.KeyCount} objects, expected 1`);
        await s3.send(new DeleteObjectCommand({ Bucket: cloud.bucket, Key: probeKey }));
        return `${probeBody.length} bytes round-tripped`;
      },
    },
    {
      part: 'EventBridge',
      what: "the upload reached the orchestrators' rule as Object Created; PutEvents answers",
      run: async () => {
        await cloud.bus.idle();
        const upload = routed.find((e) => e['detail-type'] === 'Object Created');
        if (!upload) throw new Error('the S3 upload never reached the bus');
        const out = await events.send(
          new PutEventsCommand({ Entries: [{ Source: 'npm-start', DetailType: 'Probe', Detail: '{}' }] }),
        );
        if (out.FailedEntryCount !== 0) throw new Error(`PutEvents failed: ${JSON.stringify(out.Entries)}`);
        return `rule ${uploadRule(cloud.bucket).name} matched, PutEvents ok`;
      },
    },
    {
      part: 'SageMaker',
      what: 'an endpoint starts its inference container and serves generate_3d',
      run: async () => {
        const name = 'npm-start-probe';
        await sagemaker.send(
          new CreateModelCommand({ ModelName: name, PrimaryContainer: { Image: 'reconstruct-3d' } }),
        );
        await sagemaker.send(
          new CreateEndpointConfigCommand({
            EndpointConfigName: name,
            ProductionVariants: [
              { VariantName: 'AllTraffic', ModelName: name, InstanceType: 'ml.g5.xlarge' },
            ],
          }),
        );
        await sagemaker.send(new CreateEndpointCommand({ EndpointName: name, EndpointConfigName: name }));
        await waitUntilEndpointInService(
          { client: sagemaker, maxWaitTime: 120, minDelay: 0.2, maxDelay: 0.5 },
          { EndpointName: name },
        );
        const started = performance.now();
        const pngs = samplePngs(generateSample('blob', 512));
        const image = inputImageKey('npm-start', 'blob');
        await s3.send(new PutObjectCommand({ Bucket: cloud.bucket, Key: image, Body: pngs.image }));
        await s3.send(
          new PutObjectCommand({
            Bucket: cloud.bucket,
            Key: image.replace('_image.png', '_mask.png'),
            Body: pngs.mask,
          }),
        );
        const out = await runtime.send(
          new InvokeEndpointCommand({
            EndpointName: name,
            ContentType: 'application/json',
            Body: JSON.stringify({
              task: 'generate_3d',
              bucket: cloud.bucket,
              image_s3_key: image,
              mask_s3_key: image.replace('_image.png', '_mask.png'),
              orchestrator: 'sf',
            }),
          }),
        );
        const result = JSON.parse(new TextDecoder().decode(out.Body)) as {
          output_s3_key: string;
          mesh_stats: { num_points: number };
        };
        await sagemaker.send(new DeleteEndpointCommand({ EndpointName: name }));
        const endpoints = await sagemaker.send(new ListEndpointsCommand({}));
        return (
          `InService on clock ${cloud.clock}; 512x512 upload -> ${result.mesh_stats.num_points} points in ` +
          `${result.output_s3_key} (${((performance.now() - started) / 1000).toFixed(2)} s); ${endpoints.Endpoints?.length} endpoint(s) listed`
        );
      },
    },
  ];
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

/**
 * Deploys the app from its one definition, then one upload of an image and its mask starts both
 * orchestrators; waits until both executions have ended (the idle stop included) and reports each
 * job and what each execution billed.
 */
function orchestratorsCheck(cloud: LocalCloud): Check {
  return {
    part: 'Both',
    what: 'one upload runs both orchestrators, each on its own endpoint, to a PLY',
    run: async () => {
      const app = await deployApp(cloud, appDefinition(localAppSettings(cloud)));
      const s3 = new S3Client(cloud.clientConfig('s3'));
      const dynamodb = new DynamoDBClient(cloud.clientConfig('dynamodb'));
      const jobs = new JobStore(DynamoDBDocumentClient.from(dynamodb), cloud.tableName, { retentionDays: 1 });
      const started = new Date();
      try {
        const pngs = samplePngs(generateSample('blob', 512));
        await s3.send(
          new PutObjectCommand({
            Bucket: cloud.bucket,
            Key: inputMaskKey('alice', 'chair'),
            Body: pngs.mask,
          }),
        );
        await s3.send(
          new PutObjectCommand({
            Bucket: cloud.bucket,
            Key: inputImageKey('alice', 'chair'),
            Body: pngs.image,
          }),
        );
        const lines: string[] = [];
        for (const orchestrator of ['ldf', 'sf'] as const) {
          const job = await waitForEnding(jobs, orchestrator, 'alice', 'chair');
          if (job.status !== 'COMPLETED')
            throw new Error(`the ${orchestrator} job ended ${job.status}: ${job.reason ?? ''}`);
          const received = Date.parse(job.phases.RECEIVED!);
          const completed = Date.parse(job.phases.COMPLETED!);
          const simulated = (completed - received) / 1000;
          const real = (cloud.time.toReal(completed) - cloud.time.toReal(received)) / 1000;
          lines.push(
            `${orchestrator}: job ${job.status} in ${simulated.toFixed(0)} simulated s (${real.toFixed(1)} s real, cold endpoint) -> ${job.outputKey}`,
          );
        }
        lines.push(...(await billed(cloud, app)));
        lines.push(...(await dashboardData(cloud, app, started)));
        return `\n        ${lines.join('\n        ')}`;
      } finally {
        s3.destroy();
        dynamodb.destroy();
        app.undeploy();
      }
    },
  };
}

/**
 * The deployed dashboard, read back through GetDashboard, charts the run: each metric widget's visible
 * series that have data over the run (GetMetricData); a widget with none fails the check.
 */
async function dashboardData(cloud: LocalCloud, app: DeployedApp, since: Date): Promise<string[]> {
  const cloudWatch = new CloudWatchClient(cloud.clientConfig('cloudwatch'));
  try {
    const { DashboardBody: text } = await cloudWatch.send(
      new GetDashboardCommand({ DashboardName: app.dashboard.name }),
    );
    if (text !== app.dashboard.body) throw new Error('GetDashboard returned another body than was deployed');
    const widgets = await readWidgetData(
      cloudWatch,
      JSON.parse(text) as DashboardBody,
      new Date(since.getTime() - 600_000),
      new Date(Date.now() + 600_000),
    );
    const empty = widgets.filter((w) => w.seriesWithData === 0);
    if (empty.length > 0)
      throw new Error(`dashboard widgets without data: ${empty.map((w) => w.title).join('; ')}`);
    return [
      `dashboard ${app.dashboard.name}: series with data per widget: ` +
        widgets.map((w) => `${w.title} ${w.seriesWithData}/${w.series}`).join('; '),
    ];
  } finally {
    cloudWatch.destroy();
  }
}

async function waitForEnding(
  jobs: JobStore,
  orchestrator: 'sf' | 'ldf',
  user: string,
  name: string,
): Promise<Job> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const job = (await jobs.listByUser(orchestrator, user)).jobs.find((j) => j.name === name);
    if (job && isEnding(job.status)) return job;
    if (Date.now() > deadline)
      throw new Error(`the ${orchestrator} job did not end within 120 s (${job?.status ?? 'not admitted'})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** What each orchestrator's executions billed so far, counted through the services' own APIs. */
async function billed(cloud: LocalCloud, app: DeployedApp): Promise<string[]> {
  const lambda = new LambdaClient(cloud.clientConfig('lambda'));
  const sfn = new SFNClient(cloud.clientConfig('stepfunctions'));
  try {
    const stateMachineArn = app.stateMachines[STATE_MACHINE];
    // The executions go on after the job: the idle window, then the guarded stop. Wait for their end.
    const deadline = Date.now() + 120_000;
    for (;;) {
      const durable = await lambda.send(
        new ListDurableExecutionsByFunctionCommand({ FunctionName: FUNCTIONS.durable }),
      );
      const machine = await sfn.send(new ListExecutionsCommand({ stateMachineArn }));
      const running = [
        ...(durable.DurableExecutions ?? []).filter((e) => e.Status === 'RUNNING'),
        ...(machine.executions ?? []).filter((e) => e.status === 'RUNNING'),
      ];
      if (running.length === 0) {
        const lines: string[] = [];
        for (const e of durable.DurableExecutions ?? []) {
          const c = countDurableHistory(await readDurableHistory(lambda, e.DurableExecutionArn!));
          lines.push(
            `ldf: execution ${e.Status}: ${c.billedOperations} billed durable operations (${c.operations} distinct), ${c.invocations} invocations, ${c.writtenBytes} bytes written`,
          );
        }
        for (const e of machine.executions ?? []) {
          const history = await sfn.send(
            new GetExecutionHistoryCommand({ executionArn: e.executionArn, maxResults: 1000 }),
          );
          lines.push(
            `sf: execution ${e.status}: ${countStateTransitions(history.events ?? [])} state transitions`,
          );
        }
        return lines;
      }
      if (Date.now() > deadline) throw new Error(`${running.length} execution(s) still running after 120 s`);
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    lambda.destroy();
    sfn.destroy();
  }
}

async function main(): Promise<number> {
  requireNode22();
  const { values } = parseArgs({ options: { help: { type: 'boolean' } } });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  let t = performance.now();
  console.log('Bringing the local cloud up...');
  // The functions' own logs would drown the report: keep them out of it.
  const cloud = await startLocalCloud({
    log: (line) => console.log(`  ${line}`),
    functionOutput: () => undefined,
  });
  console.log(`Up in ${seconds(performance.now() - t)}.\n`);
  let failures = 0;
  try {
    for (const check of [...checks(cloud), orchestratorsCheck(cloud)]) {
      t = performance.now();
      try {
        const detail = await check.run();
        console.log(
          `  ok    ${check.part.padEnd(11)} ${check.what}: ${detail} (${seconds(performance.now() - t)})`,
        );
      } catch (err) {
        failures++;
        console.log(
          `  FAIL  ${check.part.padEnd(11)} ${check.what}: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
    }
  } finally {
    t = performance.now();
    console.log('\nBringing the local cloud down...');
    await cloud.stop();
    console.log(`Down in ${seconds(performance.now() - t)}.`);
  }
  console.log(failures === 0 ? 'Every part answered.' : `${failures} check(s) failed.`);
  return failures === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`npm run smoke failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
