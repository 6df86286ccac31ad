// The step-sized domain API against a running local cloud (DynamoDB Local, S3, the bus, the SageMaker
// emulator with the real inference server), built by the same composition root the handlers use.
// Each activity is checked for its one effect, for being safe to repeat, and for its named errors.
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { ENDPOINT_DEFINITION } from '../infra/app-definition.ts';
import { createModelAndEndpointConfig } from '../local/deploy-app.ts';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSample, samplePngs } from '../container/src/samples.ts';
import { startLocalCloud, type LocalCloud } from '../local/cloud.ts';
import { createActivities, type Activities, type JobContext } from '../shared/activities.ts';
import { createWakers } from '../shared/wakers.ts';
import type { S3ObjectCreatedEvent } from '../shared/aws-events.ts';
import { LOCAL_CREDENTIALS } from '../shared/aws.ts';
import { parseConfig } from '../shared/config.ts';
import { createDeps, jobStoreOf, type Deps } from '../shared/deps.ts';
import type { SendOutcome, WaiterSender } from '../shared/endpoint-lifecycle/waiter-senders.ts';
import { isRetryable } from '../shared/errors.ts';

import { inputImageKey, inputMaskKey } from '../shared/keys.ts';

let cloud: LocalCloud;
let deps: Deps;
let act: Activities;
let s3: S3Client;
const sent: { kind: string; token: string; ok: boolean; output: string }[] = [];

function recorder(kind: string): WaiterSender {
  const answer = (token: string, ok: boolean, output: string): Promise<SendOutcome> => {
    sent.push({ kind, token, ok, output });
    return Promise.resolve('sent');
  };
  return {
    succeed: (token, output) => answer(token, true, JSON.stringify(output)),
    fail: (token, error, cause) => answer(token, false, `${error}: ${cause}`),
  };
}

beforeAll(async () => {
  // Simulated SageMaker start of 2 minutes: 2 s at 60x (the health check needs real time for a process start).
  cloud = await startLocalCloud({
    clock: 'scale:60',
    sagemakerTimings: { createSeconds: 120 },
  });
  const config = parseConfig({
    AWS_REGION: cloud.region,
    TABLE_NAME: cloud.tableName,
    BUCKET_NAME: cloud.bucket,
    ORCHESTRATOR: 'sf',
    ENDPOINT_NAME: 'act-gpu',
    IDLE_WINDOW_SECONDS: '6',
    S3_FORCE_PATH_STYLE: 'true',
  });
  deps = {
    ...createDeps(config, {
      now: () => clock.now(),
      credentials: LOCAL_CREDENTIALS,
      endpoints: cloud.serviceEndpoints(),
    }),
    senders: { 'sfn-task-token': recorder('sfn'), 'durable-callback': recorder('durable') },
  };
  act = createActivities(deps, 'sf');
  s3 = new S3Client(cloud.clientConfig('s3'));
  const sagemaker = new SageMakerClient(cloud.clientConfig('sagemaker'));
  await createModelAndEndpointConfig(sagemaker, ENDPOINT_DEFINITION);
  sagemaker.destroy();
});

afterAll(async () => {
  await cloud?.stop();
});

/** The activities' clock: the cloud's, unless a test holds it still to let only simulated time pass. */
const clock = {
  frozen: undefined as number | undefined,
  now: (): number => clock.frozen ?? cloud.time.now(),
};

let uploads = 0;
function uploadEvent(key: string, etag = `"e${++uploads}"`): S3ObjectCreatedEvent {
  return {
    version: '0',
    id: `ev-${uploads}`,
    'detail-type': 'Object Created',
    source: 'aws.s3',
    account: '000000000000',
    time: new Date().toISOString(),
    region: 'us-east-1',
    resources: [],
    detail: {
      version: '0',
      bucket: { name: cloud.bucket },
      object: { key: encodeURIComponent(key).replace(/%2F/g, '/'), etag },
      'request-id': 'r',
      requester: 'test',
      reason: 'PutObject',
    },
  };
}

async function admitted(user: string, name: string, executionId = `exec-${name}`): Promise<JobContext> {
  const admission = await act.admit(uploadEvent(inputImageKey(user, name)), executionId);
  if (!admission.admitted) throw new Error(`not admitted: ${admission.failure.message}`);
  return admission.job;
}

async function putPair(user: string, name: string, which: 'image' | 'mask' | 'both' = 'both'): Promise<void> {
  const pngs = samplePngs(generateSample('blob', 64));
  if (which !== 'mask')
    await s3.send(
      new PutObjectCommand({ Bucket: cloud.bucket, Key: inputImageKey(user, name), Body: pngs.image }),
    );
  if (which !== 'image')
    await s3.send(
      new PutObjectCommand({ Bucket: cloud.bucket, Key: inputMaskKey(user, name), Body: pngs.mask }),
    );
}

describe('admit', () => {
  it('admits an image upload once per execution, and joins a duplicate delivery', async () => {
    const event = uploadEvent(inputImageKey('ann', 'chair'));
    const first = await act.admit(event, 'exec-1');
    const replay = await act.admit(event, 'exec-1');
    const duplicate = await act.admit(event, 'exec-2');
    expect(first).toMatchObject({ admitted: true, created: true });
    expect(replay).toMatchObject({ admitted: true, created: true });
    expect(duplicate).toMatchObject({ admitted: true, created: false });
    if (!first.admitted) throw new Error('unreachable');
    expect(first.job).toMatchObject({
      orchestrator: 'sf',
      userId: 'ann',
      name: 'chair',
      maskKey: 'users/ann/input/chair_mask.png',
      outputKey: 'users/ann/output/sf/chair.ply',
      errorKey: 'users/ann/output/sf/chair_error.json',
      endpointName: 'act-gpu-sf',
    });
    const stored = await jobStoreOf(deps).get({ orchestrator: 'sf', userId: 'ann', jobId: first.job.jobId });
    expect(stored).toMatchObject({ status: 'RECEIVED', deliveries: 2, executions: ['exec-1', 'exec-2'] });
  });

  it.each([
    ['a key outside users/', 'tmp/x_image.png', /does not start with 'users\/'/],
    ['a mask delivered as an image', 'users/ann/input/chair_mask.png', /is a mask, not an image/],
    ['a path trick', 'users/ann/input/../x_image.png', /relative path segment '\.\.'/],
  ])('records %s as a REJECTED job with its reason', async (_what, key, reason) => {
    const admission = await act.admit(uploadEvent(key), 'exec-r');
    expect(admission).toMatchObject({ admitted: false, failure: { error: 'InvalidInputError' } });
    if (admission.admitted) throw new Error('unreachable');
    expect(admission.failure.message).toMatch(reason);
    const stored = await jobStoreOf(deps).get({
      orchestrator: 'sf',
      userId: admission.job.userId,
      jobId: admission.job.jobId,
    });
    expect(stored?.status).toBe('REJECTED');
  });

  it('rejects an event that is not an S3 Object Created event, without crashing', async () => {
    const admission = await act.admit({ hello: 'world' }, 'exec-garbage');
    expect(admission).toMatchObject({ admitted: false, job: { errorKey: null } });
    expect(await act.reportFailure(admission.job, { error: 'InvalidInputError', message: 'x' })).toEqual({
      errorKey: null,
    });
  });
});

describe('the mask', () => {
  it('checkMask says whether the mask is there, with no side effect', async () => {
    const job = await admitted('bea', 'lamp');
    expect(await act.checkMask(job)).toMatchObject({ present: false });
    await putPair('bea', 'lamp', 'mask');
    expect(await act.checkMask(job)).toMatchObject({ present: true });
  });

  it("a registered mask waiter is answered once by the mask's Object Created, whatever the duplicates", async () => {
    const job = await admitted('cai', 'vase');
    expect(await act.registerMaskWaiter(job, { kind: 'sfn-task-token', token: 'mask-t1' })).toMatchObject({
      present: false,
    });
    await putPair('cai', 'vase', 'mask');
    const wakers = createWakers(deps);
    const maskEvent = uploadEvent(inputMaskKey('cai', 'vase'));
    await Promise.all([wakers.maskUploaded(maskEvent), wakers.maskUploaded(maskEvent)]);
    expect(sent.filter((s) => s.token === 'mask-t1')).toEqual([
      { kind: 'sfn', token: 'mask-t1', ok: true, output: '{"present":true}' },
    ]);
    expect(await jobStoreOf(deps).jobsWaitingForMask('sf', 'cai', 'vase')).toEqual([]);
  });

  it('a waiter registered after the mask landed is answered at once (the registration race)', async () => {
    const job = await admitted('dan', 'cup');
    await putPair('dan', 'cup', 'mask');
    expect(await act.registerMaskWaiter(job, { kind: 'durable-callback', token: 'mask-c1' })).toMatchObject({
      present: true,
    });
    expect(sent.filter((s) => s.token === 'mask-c1')).toHaveLength(1);
  });
});

describe('a job through the endpoint', () => {
  it('acquires, starts, waits, invokes (the PLY lands), records, releases, notifies and stops', async () => {
    const published: unknown[] = [];
    cloud.bus.putRule({ name: 'job-events', eventPattern: { source: ['durable-vs-sfn'] } });
    cloud.bus.addTarget('job-events', 'recorder', (e) => void published.push(e));
    await putPair('eve', 'blob');
    const job = await admitted('eve', 'blob');
    const acquired = await act.acquireEndpoint(job);
    expect(acquired).toMatchObject({ role: 'starter', generation: 1 });
    expect(await act.acquireEndpoint(job)).toMatchObject({ role: 'starter', generation: 1 });
    expect(await act.startEndpoint(job, 1)).toEqual({ outcome: 'created' });
    let readiness = await act.checkEndpoint(job, 1);
    for (let i = 0; readiness.status !== 'ready' && i < 500; i++) {
      await new Promise((r) => setTimeout(r, 20)); // the workflow's wait, played by the test
      readiness = await act.checkEndpoint(job, 1);
    }
    expect(readiness.status).toBe('ready');
    const inference = await act.invoke(job);
    expect(inference.result).toMatchObject({ status: 'success', output_s3_key: job.outputKey });
    const ply = await s3.send(new GetObjectCommand({ Bucket: cloud.bucket, Key: job.outputKey }));
    expect((await ply.Body!.transformToString()).startsWith('ply')).toBe(true);
    await act.renewLease(job);
    const outcome = { status: 'COMPLETED' as const, result: inference.result };
    expect(await act.recordOutcome(job, outcome, { ready: readiness, inference })).toEqual({
      status: 'COMPLETED',
    });
    // Recording twice is harmless.
    expect(await act.recordOutcome(job, outcome, {})).toEqual({ status: 'COMPLETED' });
    // Only time must pass for the idle window: the activities' clock stands still from the release on.
    clock.frozen = cloud.time.now();
    await act.releaseLease(job);
    await act.releaseLease(job);
    await act.notify(job, outcome);
    await cloud.bus.idle();
    expect(published).toContainEqual(
      expect.objectContaining({
        'detail-type': 'Job Completed',
        detail: expect.objectContaining({
          jobId: job.jobId,
          status: 'COMPLETED',
          outputKey: job.outputKey,
        }) as unknown,
      }),
    );
    // The idle window (6 s simulated) has not passed: kept.
    expect(await act.beginStop()).toEqual({ outcome: 'kept', reason: 'used within the idle window' });
    clock.frozen += 6000;
    expect(await act.beginStop()).toEqual({ outcome: 'stopping', generation: 1 });
    clock.frozen = undefined;
    let finished = await act.finishStop();
    for (let i = 0; !finished.done && i < 500; i++) {
      await new Promise((r) => setTimeout(r, 20));
      finished = await act.finishStop();
    }
    expect(finished).toEqual({ done: true });
    await expect(act.renewLease(job)).rejects.toMatchObject({ name: 'LeaseLostError' });
  });

  it('names what SageMaker and the model server answer: throttling retryable, bad inputs terminal', async () => {
    await putPair('fay', 'blob', 'image'); // no mask: the model server answers 400
    const job = await admitted('fay', 'blob');
    await act.acquireEndpoint(job);
    const generation = (await act.acquireEndpoint(job)).generation;
    await act.startEndpoint(job, generation);
    const missing = await act.invoke(job).catch((e: unknown) => e);
    expect(missing).toMatchObject({ name: 'EndpointNotReadyError' });
    expect(isRetryable(missing)).toBe(true);
    let readiness = await act.checkEndpoint(job, generation);
    for (let i = 0; readiness.status !== 'ready' && i < 500; i++) {
      await new Promise((r) => setTimeout(r, 20));
      readiness = await act.checkEndpoint(job, generation);
    }
    cloud.sagemakerEmulator.faults.throttle(1, ['InvokeEndpoint']);
    const throttled = await act.invoke(job).catch((e: unknown) => e);
    expect(throttled).toMatchObject({ name: 'ThrottledError' });
    expect(isRetryable(throttled)).toBe(true);
    const refused = await act.invoke(job).catch((e: unknown) => e);
    expect(refused).toMatchObject({
      name: 'InferenceInputError',
      message: expect.stringContaining('ObjectNotFound') as unknown,
    });
    expect(isRetryable(refused)).toBe(false);
    // The failure path: artifact, FAILED with the reason, Job Failed.
    const failure = { error: 'InferenceInputError', message: (refused as Error).message };
    expect(await act.reportFailure(job, failure)).toEqual({ errorKey: job.errorKey });
    const artifact = await s3.send(new GetObjectCommand({ Bucket: cloud.bucket, Key: job.errorKey! }));
    expect(JSON.parse(await artifact.Body!.transformToString())).toMatchObject({
      jobId: job.jobId,
      status: 'FAILED',
      error: failure,
    });
    expect(await act.recordOutcome(job, { status: 'FAILED', failure }, {})).toEqual({ status: 'FAILED' });
    const stored = await jobStoreOf(deps).get({ orchestrator: 'sf', userId: 'fay', jobId: job.jobId });
    expect(stored?.reason).toContain('InferenceInputError');
    await act.releaseLease(job);
  });
});
