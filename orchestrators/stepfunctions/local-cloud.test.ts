// The state machine on the local Step Functions service, with the REAL activities against the local
// cloud (DynamoDB Local, the local S3, the SageMaker emulator, the bus): an upload starts it through
// the upload rule, as on AWS, and the job ends COMPLETED under sf#. The task Lambda is served by a
// minimal stand-in of Lambda's Invoke API (the local Lambda service is another part); the model
// server by a stub that answers like the container. Poll mode; the flow tests cover every path.
import {
  CreateEndpointConfigCommand,
  CreateModelCommand,
  DescribeEndpointCommand,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalCloud, type LocalCloud } from '../../local/cloud.ts';
import { closeServer, listenOnLoopback, readBody } from '../../local/http-server.ts';
import { stateMachineTarget, type StateMachineTarget } from '../../local/stepfunctions/bus-target.ts';
import { startLocalStepFunctions, type LocalStepFunctions } from '../../local/stepfunctions/service.ts';
import { createActivities, jobStoreOf } from '../../shared/activities.ts';
import { LOCAL_CREDENTIALS } from '../../shared/aws.ts';
import { parseConfig } from '../../shared/config.ts';
import { createDeps, type Deps } from '../../shared/deps.ts';
import { uploadRule } from '../../shared/event-rules.ts';
import { countStateTransitions } from '../../shared/sfn-history.ts';
import { readStateMachineAsl, renderDefinition } from './definition.ts';
import { stateMachineSettings } from './settings.ts';
import { createTaskHandler } from './tasks.ts';

const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:sf-tasks';
let cloud: LocalCloud;
let sfnService: LocalStepFunctions & { endpoint: string };
let lambda: Server;
let model: Server;
let sfn: SFNClient;
let s3: S3Client;
let deps: Deps;
let target: StateMachineTarget;
let stateMachineArn: string;
let invocations = 0;
const onStart: ((executionArn: string) => void)[] = [];

beforeAll(async () => {
  // The model server: answers like the container, without computing a mesh.
  model = createServer((req, res) => {
    void readBody(req).then((body) => {
      if (req.url === '/ping') {
        res.writeHead(200).end();
        return;
      }
      const request = JSON.parse(body.toString() || '{}') as { output_s3_key?: string };
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          status: 'success',
          output_s3_key: request.output_s3_key,
          mesh_stats: {},
          timings_ms: {},
        }),
      );
    });
  });
  cloud = await startLocalCloud({
    bucket: 'sfnflow',
    tableName: 'sfnflow',
    timeScale: 1000,
    // At 1000x a loaded machine's milliseconds are simulated seconds: give the health check room.
    sagemakerTimings: { healthCheckTimeoutSeconds: 30_000 },
    container: await listenOnLoopback(model),
  });
  const config = parseConfig({
    AWS_REGION: cloud.region,
    TABLE_NAME: cloud.tableName,
    BUCKET_NAME: cloud.bucket,
    ENDPOINT_NAME: 'reconstruct-3d',
    ORCHESTRATOR: 'sf',
    WAIT_MODE: 'poll',
    TIME_SCALE: '1000',
    S3_FORCE_PATH_STYLE: 'true',
    EVENT_BUS_NAME: cloud.eventBusName,
    // Bounds far beyond what the flow needs, so a slow machine cannot time the job out or expire its
    // lease; the mask bound stays (its test waits it out).
    ENDPOINT_WAIT_SECONDS: '30000',
    LEASE_TTL_SECONDS: '30000',
  });
  // Lambda's Invoke API, just enough for the Task adapter: the task handler's answer, or its error
  // as Lambda reports a function error (X-Amz-Function-Error, errorType = the error's name).
  let dispatch: (request: unknown) => Promise<unknown> = () => Promise.reject(new Error('not ready'));
  lambda = createServer((req, res) => {
    void readBody(req)
      .then(async (body) => {
        invocations++;
        try {
          const answer = await dispatch(JSON.parse(body.toString()));
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
        } catch (err) {
          const e = err as Error;
          res
            .writeHead(200, { 'content-type': 'application/json', 'x-amz-function-error': 'Unhandled' })
            .end(JSON.stringify({ errorType: e.name, errorMessage: e.message }));
        }
      })
      .catch(() => res.writeHead(500).end());
  });
  const lambdaEndpoint = await listenOnLoopback(lambda);
  sfnService = await startLocalStepFunctions({
    region: cloud.region,
    timeScale: cloud.time,
    endpoints: {
      dynamodb: cloud.dynamodb,
      s3: cloud.s3,
      eventbridge: cloud.eventbridge,
      sagemaker: cloud.sagemaker,
      sagemakerRuntime: cloud.sagemakerRuntime,
      lambda: lambdaEndpoint,
    },
  });
  deps = createDeps(config, {
    endpoints: {
      dynamodb: cloud.dynamodb,
      s3: cloud.s3,
      sagemaker: cloud.sagemaker,
      sagemakerRuntime: cloud.sagemakerRuntime,
      eventbridge: cloud.eventbridge,
      sfn: sfnService.endpoint,
    },
    credentials: { ...LOCAL_CREDENTIALS },
  });
  dispatch = createTaskHandler(createActivities(deps, 'sf'), stateMachineSettings(config));

  const sagemaker = new SageMakerClient(cloud.clientConfig('sagemaker'));
  await sagemaker.send(
    new CreateModelCommand({ ModelName: 'reconstruct-3d', PrimaryContainer: { Image: 'reconstruct-3d' } }),
  );
  await sagemaker.send(
    new CreateEndpointConfigCommand({
      EndpointConfigName: config.endpointConfigName,
      ProductionVariants: [
        { VariantName: 'AllTraffic', ModelName: 'reconstruct-3d', InstanceType: 'ml.g5.xlarge' },
      ],
    }),
  );
  sagemaker.destroy();

  sfn = new SFNClient({ ...cloud.clientConfig('stepfunctions'), endpoint: sfnService.endpoint });
  stateMachineArn = (
    await sfn.send(
      new CreateStateMachineCommand({
        name: 'sf-jobs',
        definition: renderDefinition(readStateMachineAsl(), { TasksFunctionArn: FUNCTION_ARN }),
        roleArn: 'arn:aws:iam::000000000000:role/sf-jobs',
      }),
    )
  ).stateMachineArn!;
  target = stateMachineTarget(stateMachineArn, {
    ...cloud.clientConfig('stepfunctions'),
    endpoint: sfnService.endpoint,
  });
  // The rule's target, as deployed; the test learns which execution each upload started.
  cloud.bus.addTarget(uploadRule(cloud.bucket).name, 'sf-jobs', async (event) => {
    await target.handler(event);
    const executionArn = target.started.get(event.id);
    if (executionArn) onStart.shift()?.(executionArn);
  });
  s3 = new S3Client(cloud.clientConfig('s3'));
});

afterAll(async () => {
  target?.destroy();
  sfn?.destroy();
  s3?.destroy();
  await sfnService?.stop();
  await cloud?.stop();
  if (lambda) await closeServer(lambda);
  if (model) await closeServer(model);
});

/** Uploads the job's files (image last, as its event starts the job); resolves with the execution it started. */
async function upload(userId: string, name: string, kinds = ['mask', 'image']): Promise<string> {
  const started = new Promise<string>((resolve) => onStart.push(resolve));
  for (const kind of kinds)
    await s3.send(
      new PutObjectCommand({
        Bucket: cloud.bucket,
        Key: `users/${userId}/input/${name}_${kind}.png`,
        Body: `${name} ${kind}`,
      }),
    );
  return started;
}

describe('the state machine on the local Step Functions service, real activities', () => {
  it('an upload starts it; the cold job starts the endpoint, completes, and the idle stop deletes the endpoint', async () => {
    invocations = 0;
    const executionArn = await upload('u1', 'chair');
    await sfnService.execution(executionArn)!.done;
    const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    expect(execution.error ?? '', execution.cause).toBe('');
    expect(execution.status).toBe('SUCCEEDED');

    const {
      jobs: [job],
    } = await jobStoreOf(deps).listByUser('sf', 'u1');
    expect(job).toMatchObject({
      status: 'COMPLETED',
      name: 'chair',
      outputKey: 'users/u1/output/sf/chair.ply',
    });
    expect(Object.keys(job?.phases ?? {})).toEqual(
      expect.arrayContaining(['RECEIVED', 'MASK_READY', 'ENDPOINT_ACQUIRED', 'ENDPOINT_READY', 'INFERRED']),
    );
    // The idle stop deleted the endpoint (its deletion took 60 simulated seconds).
    const sagemaker = new SageMakerClient(cloud.clientConfig('sagemaker'));
    await expect(
      sagemaker.send(new DescribeEndpointCommand({ EndpointName: 'reconstruct-3d-sf' })),
    ).rejects.toMatchObject({ name: 'ValidationException' });
    sagemaker.destroy();

    const { events = [] } = await sfn.send(
      new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }),
    );
    const transitions = countStateTransitions(events);
    // As the flow tests count for a cold poll-mode job, up to how many rounds the real timings took.
    expect(transitions).toBeGreaterThanOrEqual(40);
    expect(events.filter((e) => e.type === 'TaskScheduled').length).toBeGreaterThanOrEqual(invocations);

    const list = await sfn.send(new ListExecutionsCommand({ stateMachineArn }));
    expect(list.executions?.map((e) => e.executionArn)).toContain(executionArn);
  });

  it('an event that names no upload ends REJECTED under sf#, with the reason, and the execution succeeds', async () => {
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn, input: JSON.stringify({ detail: {} }) }),
    );
    await sfnService.execution(executionArn!)!.done;
    const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    expect(execution.status).toBe('SUCCEEDED');
    const { events = [] } = await sfn.send(
      new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }),
    );
    const entered = events
      .filter((e) => e.type?.endsWith('StateEntered'))
      .map((e) => e.stateEnteredEventDetails?.name);
    expect(entered).toEqual([
      'Admit',
      'IsAdmitted',
      'ReportRejection',
      'RecordRejection',
      'NotifyRejection',
      'Rejected',
    ]);
    const { jobs } = await jobStoreOf(deps).listByStatus('sf', 'REJECTED');
    expect(jobs.map((j) => j.reason)).toContain(
      'the event is not an S3 Object Created event with detail.bucket.name and detail.object.key',
    );
  });

  it('a mask that never arrives fails the job: MaskTimeoutError, FAILED under sf#, and its _error.json', async () => {
    const executionArn = await upload('u2', 'lamp', ['image']);
    await sfnService.execution(executionArn)!.done;
    const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    expect(execution).toMatchObject({ status: 'FAILED', error: 'MaskTimeoutError' });
    expect(execution.cause).toBe('the mask users/u2/input/lamp_mask.png did not arrive within 300 seconds');
    const {
      jobs: [job],
    } = await jobStoreOf(deps).listByUser('sf', 'u2');
    expect(job).toMatchObject({ status: 'FAILED', reason: `MaskTimeoutError: ${execution.cause}` });
    const report = await s3.send(
      new GetObjectCommand({ Bucket: cloud.bucket, Key: 'users/u2/output/sf/lamp_error.json' }),
    );
    expect(JSON.parse(await report.Body!.transformToString())).toMatchObject({
      orchestrator: 'sf',
      status: 'FAILED',
      error: { error: 'MaskTimeoutError', message: execution.cause },
    });
  });
});
