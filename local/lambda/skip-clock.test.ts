// The local Lambda on the skip clock: a synchronous Invoke of a durable function waits for its
// execution, and that wait is not work in flight, so the execution's durable wait is a timer the clock
// jumps to (an open Invoke request once held the clock at real speed for the whole wait).
import { join } from 'node:path';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localClientConfig } from '../../shared/aws.ts';
import { createClock, skipped } from '../common/clock.ts';
import { LocalLambda } from './service.ts';

const clock = createClock('skip');
let lambda: LocalLambda;
let client: LambdaClient;

beforeAll(async () => {
  lambda = new LocalLambda({ region: 'us-east-1', clock });
  await lambda.listen();
  await lambda.deploy({
    name: 'steps',
    entry: join(import.meta.dirname, 'fixtures', 'steps.ts'),
    alias: 'live',
  });
  client = new LambdaClient(localClientConfig(lambda.endpoint));
});

afterAll(async () => {
  client?.destroy();
  await lambda?.stop();
});

describe('a synchronous durable Invoke on the skip clock', () => {
  it('returns the result of an execution that waits an hour, with the hour skipped', async () => {
    const before = clock.now();
    const out = await client.send(
      new InvokeCommand({
        FunctionName: 'steps:live',
        Payload: JSON.stringify({ steps: 4, pauseSeconds: 3600 }),
      }),
    );
    expect(out.FunctionError).toBeUndefined();
    expect(JSON.parse(Buffer.from(out.Payload!).toString('utf8'))).toEqual({ total: 6 });
    // The wait passed on the clock, and the clock jumped over it rather than running through it.
    expect(clock.now() - before).toBeGreaterThanOrEqual(3600_000);
    expect(skipped(clock).skippedMs).toBeGreaterThanOrEqual(3590_000);
  }, 60_000);
});
