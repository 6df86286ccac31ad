// The Lambda entry points are wiring only; these check that they load from the environment as a
// deployed function does, fail a cold start on a bad setting, and route (or refuse) events. The
// durable handler runs as a durable execution under the SDK's own LocalDurableTestRunner and the task
// handler takes task requests, both with the activities faked (createActivities is the one seam; the
// real activities are tested against the local cloud in test/).
import { LocalDurableTestRunner } from '@aws/durable-execution-sdk-js-testing';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type * as activitiesModule from '../shared/activities.ts';
import type { Activities } from '../shared/activities.ts';
import { FakeActivities, JOB } from './testing/fake-activities.ts';
import { UPLOAD } from './testing/run-workflow.ts';
import { OP } from './durable/workflow.ts';

const ENV = {
  AWS_REGION: 'us-east-1',
  TABLE_NAME: 'durable-vs-sfn',
  BUCKET_NAME: 'uploads',
  ENDPOINT_NAME: 'reconstruct-3d',
  // Nothing is called in these tests; an endpoint that refuses keeps it that way.
  AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
  AWS_ACCESS_KEY_ID: 'AKIAHANDLERTEST',
  AWS_SECRET_ACCESS_KEY: 'handler-test-secret',
};

beforeEach(() => {
  vi.resetModules();
  for (const [key, value] of Object.entries(ENV)) vi.stubEnv(key, value);
});
afterEach(() => {
  vi.unstubAllEnvs();
  vi.doUnmock('../shared/activities.ts');
});

/** The handler under test gets `fake` from createActivities instead of the real activities. */
function withActivities(fake: Activities): void {
  vi.doMock('../shared/activities.ts', async (original) => ({
    ...(await original<typeof activitiesModule>()),
    createActivities: () => fake,
  }));
}

describe('orchestrators/durable/handler', () => {
  it('exports the workflow wrapped by withDurableExecution: it runs as a durable execution', async () => {
    vi.stubEnv('ORCHESTRATOR', 'ldf');
    const fake = new FakeActivities();
    withActivities(fake);
    const { handler } = await import('./durable/handler.ts');
    await LocalDurableTestRunner.setupTestEnvironment({ skipTime: true });
    try {
      const runner = new LocalDurableTestRunner({ handlerFunction: handler });
      const result = await runner.run({ payload: UPLOAD });
      expect(result.getStatus()).toBe('SUCCEEDED');
      expect(result.getResult()).toMatchObject({ status: 'COMPLETED', outputKey: JOB.outputKey });
      // Each activity ran in its own checkpointed operation.
      expect(result.getOperations().map((o) => o.getName())).toEqual(
        expect.arrayContaining([OP.admit, OP.acquire, OP.invoke, OP.record, OP.notify]),
      );
      expect(fake.count('invoke')).toBe(1);
    } finally {
      await LocalDurableTestRunner.teardownTestEnvironment();
    }
    // Called as a plain Lambda, the SDK's wrapper refuses an event that is no durable invocation.
    await expect(
      (handler as (event: unknown, context: unknown) => Promise<unknown>)(UPLOAD, {}),
    ).rejects.toThrow(/Unexpected payload/);
  });

  it('fails the cold start with the setting named when ORCHESTRATOR is missing', async () => {
    await expect(import('./durable/handler.ts')).rejects.toThrow(/ORCHESTRATOR is not set/);
  });

  it('fails the cold start naming a malformed setting', async () => {
    vi.stubEnv('ORCHESTRATOR', 'ldf');
    vi.stubEnv('WAIT_MODE', 'sometimes');
    await expect(import('./durable/handler.ts')).rejects.toThrow(
      /WAIT_MODE='sometimes' is not one of poll, event/,
    );
  });
});

describe('orchestrators/stepfunctions/handler', () => {
  it('dispatches a task request to its activity and answers what the activity answered', async () => {
    vi.stubEnv('ORCHESTRATOR', 'sf');
    const fake = new FakeActivities();
    withActivities(fake);
    const { handler } = await import('./stepfunctions/handler.ts');
    await expect(handler({ task: 'checkMask', job: JOB })).resolves.toMatchObject({ present: true });
    await expect(handler({ task: 'acquireEndpoint', job: JOB })).resolves.toMatchObject({
      role: 'joiner',
      generation: 1,
    });
    expect(fake.calls).toEqual(['checkMask', 'acquireEndpoint']);
  });

  it("throws the activity's error under its name (what the ASL's Retry and Catch match)", async () => {
    vi.stubEnv('ORCHESTRATOR', 'sf');
    const fake = new FakeActivities({ errors: { invoke: ['ThrottledError', 'InferenceError'] } });
    withActivities(fake);
    const { handler } = await import('./stepfunctions/handler.ts');
    await expect(handler({ task: 'invoke', job: JOB })).rejects.toMatchObject({ name: 'ThrottledError' });
    await expect(handler({ task: 'invoke', job: JOB })).rejects.toMatchObject({ name: 'InferenceError' });
    await expect(handler({ task: 'invoke', job: JOB })).resolves.toMatchObject({
      result: { output_s3_key: JOB.outputKey },
    });
    // A request no activity takes is refused by name, before any activity runs.
    await expect(handler({ task: 'launchRocket', job: JOB })).rejects.toMatchObject({
      name: 'InvalidInputError',
    });
    expect(fake.count('invoke')).toBe(3);
  });

  it('fails its first invocation with a ConfigError naming a bad setting', async () => {
    vi.stubEnv('ORCHESTRATOR', 'sf');
    vi.stubEnv('WAIT_MODE', 'sometimes');
    const { handler } = await import('./stepfunctions/handler.ts');
    const refused = handler({ task: 'checkMask', job: JOB });
    await expect(refused).rejects.toMatchObject({ name: 'ConfigError' });
    await expect(refused).rejects.toThrow(/WAIT_MODE='sometimes'/);
  });
});

describe('orchestrators/waker/handler', () => {
  it('refuses an event that is neither a state change nor an upload, with InvalidInputError', async () => {
    const { handler } = await import('./waker/handler.ts');
    await expect(handler({ 'detail-type': 'Scheduled Event', detail: {} })).rejects.toMatchObject({
      name: 'InvalidInputError',
    });
    await expect(handler(null)).rejects.toMatchObject({ name: 'InvalidInputError' });
    await expect(handler({ 'detail-type': 'Object Created', detail: {} })).rejects.toMatchObject({
      name: 'InvalidInputError',
    });
  });

  it('ignores an upload that is not a mask without calling anything', async () => {
    const { handler } = await import('./waker/handler.ts');
    await expect(
      handler({
        'detail-type': 'Object Created',
        detail: { bucket: { name: 'uploads' }, object: { key: 'users/u/input/chair_image.png' } },
      }),
    ).resolves.toEqual(['ignored users/u/input/chair_image.png']);
  });
});

describe('orchestrators/reconciler/handler', () => {
  it('refuses an event that is neither a status change nor a schedule, with InvalidInputError', async () => {
    const { handler } = await import('./reconciler/handler.ts');
    await expect(handler({ 'detail-type': 'Object Created', detail: {} })).rejects.toMatchObject({
      name: 'InvalidInputError',
      message: expect.stringContaining("'Scheduled Event'") as unknown,
    });
    await expect(handler(null)).rejects.toMatchObject({ name: 'InvalidInputError' });
  });

  it('finds no job for an execution whose input names no image upload, without calling anything', async () => {
    const { handler } = await import('./reconciler/handler.ts');
    await expect(
      handler({
        'detail-type': 'Step Functions Execution Status Change',
        detail: {
          executionArn: 'arn:aws:states:us-east-1:000000000000:execution:m:e',
          status: 'ABORTED',
          input: '{}',
        },
      }),
    ).resolves.toEqual(['no-job']);
  });
});
