// The two Lambda entry points are wiring only; these check that they load from the environment as a
// deployed function does, fail a cold start on a bad setting, and route (or refuse) events.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

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
afterEach(() => vi.unstubAllEnvs());

describe('orchestrators/durable/handler', () => {
  it('exports the workflow wrapped by withDurableExecution', async () => {
    vi.stubEnv('ORCHESTRATOR', 'ldf');
    const { handler } = await import('./durable/handler.ts');
    expect(typeof handler).toBe('function');
    expect(handler.length).toBe(2);
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
