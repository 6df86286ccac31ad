// Invocations queued for a sandbox on the skip clock: while every sandbox of a function waits on a
// modelled timer (a server answering after an hour of simulated time), the invocations queued behind
// them do no work either, so the clock jumps. (They once counted as work in flight, and a backlog
// behind a modelled inference ran at real speed.)
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localClientConfig } from '../../shared/aws.ts';
import { createClock, skipped } from '../common/clock.ts';
import { awaitAside, closeServer, listenOnLoopback } from '../common/http-server.ts';
import { LocalLambda } from './service.ts';

const clock = createClock('skip');
let slow: Server;
let slowUrl: string;
let lambda: LocalLambda;
let client: LambdaClient;

beforeAll(async () => {
  // Answers each request after an hour on the clock, waiting aside (as the SageMaker emulator does).
  // The request is read first: its mark (trackRequests' listener) comes after this handler's call.
  slow = createServer((req, res) => {
    req.resume();
    req.once('end', () => void awaitAside(res, clock.sleep(3600)).then(() => res.end('answered')));
  });
  slowUrl = await listenOnLoopback(slow, clock);
  lambda = new LocalLambda({ region: 'us-east-1', clock, maxConcurrency: 1 });
  await lambda.listen();
  await lambda.deploy({ name: 'ask', entry: join(import.meta.dirname, 'fixtures', 'ask.ts') });
  client = new LambdaClient(localClientConfig(lambda.endpoint));
});

afterAll(async () => {
  client?.destroy();
  await lambda?.stop();
  if (slow) await closeServer(slow);
});

describe('invocations queued behind busy sandboxes on the skip clock', () => {
  it('skip the timers the running ones wait on: three one-hour answers through one sandbox', async () => {
    const before = clock.now();
    const answers = await Promise.all(
      [1, 2, 3].map(() =>
        client.send(new InvokeCommand({ FunctionName: 'ask', Payload: JSON.stringify({ url: slowUrl }) })),
      ),
    );
    for (const out of answers) {
      expect(out.FunctionError).toBeUndefined();
      expect(JSON.parse(Buffer.from(out.Payload!).toString('utf8'))).toBe('answered');
    }
    // One sandbox: the three hours passed one after another, each one jumped over.
    expect(clock.now() - before).toBeGreaterThanOrEqual(3 * 3600_000);
    expect(skipped(clock).skippedMs).toBeGreaterThanOrEqual(3 * 3600_000 - 60_000);
  }, 60_000);
});

describe('invocations queued when the local Lambda stops', () => {
  it('start no sandbox (one would outlive the service and keep Node running)', async () => {
    let asked = 0;
    const hang = createServer((req) => {
      asked++;
      req.resume();
    });
    const hangUrl = await listenOnLoopback(hang, clock);
    const other = new LocalLambda({ region: 'us-east-1', clock, maxConcurrency: 1 });
    await other.listen();
    await other.deploy({ name: 'ask', entry: join(import.meta.dirname, 'fixtures', 'ask.ts') });
    const otherClient = new LambdaClient({ ...localClientConfig(other.endpoint), maxAttempts: 1 });
    try {
      const invokes = [1, 2].map(() =>
        otherClient
          .send(new InvokeCommand({ FunctionName: 'ask', Payload: JSON.stringify({ url: hangUrl }) }))
          .catch((err: unknown) => err),
      );
      // The first holds the one sandbox (its question is never answered); the second queues.
      while (asked === 0) await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, 100));
      expect(other.coldStarts('ask'), 'the sandbox the deploy started').toBe(1);
      await other.stop();
      await Promise.all(invokes);
      await new Promise((r) => setTimeout(r, 100));
      expect(other.coldStarts('ask'), 'none started for the queued one').toBe(1);
    } finally {
      otherClient.destroy();
      await other.stop();
      await closeServer(hang);
    }
  }, 30_000);
});
