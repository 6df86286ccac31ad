// The emulator's modelled model server, through the real SDK: with one slot and a 30 s inference,
// a second InvokeEndpoint reaches the container only once the first has held its slot for 30
// simulated seconds, and answers 30 s after that. The hand clock decides when those seconds pass.
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  SageMakerClient,
  waitUntilEndpointInService,
} from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HandClock } from '../common/hand-clock.ts';
import { freePort } from '../common/ports.ts';
import { createClock } from '../common/clock.ts';
import { startSageMakerEmulator, type SageMakerEmulator } from './emulator.ts';

const REGION = 'eu-west-1';
const FAKE = { accessKeyId: 'AKIAFAKE', secretAccessKey: 'fake' };
// The endpoint's 60 s start takes 50 ms real before the clock is held.
const clock = new HandClock(createClock('scale:1200'));
const arrived: string[] = [];
let container: Server;
let containerUrl = '';
let emulator: SageMakerEmulator;
let sm: SageMakerClient;
let runtime: SageMakerRuntimeClient;

beforeAll(async () => {
  const port = await freePort();
  container = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/ping') return void res.writeHead(200).end();
      arrived.push(Buffer.concat(chunks).toString());
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`done ${Buffer.concat(chunks).toString()}`);
    });
  });
  await new Promise<void>((resolve) => container.listen(port, '127.0.0.1', resolve));
  containerUrl = `http://127.0.0.1:${port}`;
  emulator = await startSageMakerEmulator({
    region: REGION,
    timeScale: clock,
    timings: { createSeconds: 60, inferenceSeconds: 30, concurrentInvocations: 1 },
    container: containerUrl,
  });
  sm = new SageMakerClient({ region: REGION, endpoint: emulator.endpoint, credentials: FAKE });
  runtime = new SageMakerRuntimeClient({
    region: REGION,
    endpoint: emulator.runtimeEndpoint,
    credentials: FAKE,
    maxAttempts: 1,
  });
  await sm.send(
    new CreateModelCommand({
      ModelName: 'm',
      PrimaryContainer: { Image: 'reconstruct-3d:latest' },
      ExecutionRoleArn: 'arn:aws:iam::000000000000:role/local',
    }),
  );
  await sm.send(
    new CreateEndpointConfigCommand({
      EndpointConfigName: 'c',
      ProductionVariants: [
        { VariantName: 'AllTraffic', ModelName: 'm', InstanceType: 'ml.g5.xlarge', InitialInstanceCount: 1 },
      ],
    }),
  );
  await sm.send(new CreateEndpointCommand({ EndpointName: 'gpu', EndpointConfigName: 'c' }));
  await waitUntilEndpointInService(
    { client: sm, maxWaitTime: 30, minDelay: 0.05, maxDelay: 0.1 },
    { EndpointName: 'gpu' },
  );
});

afterAll(async () => {
  sm?.destroy();
  runtime?.destroy();
  await emulator?.stop();
  container?.closeAllConnections();
  await new Promise<void>((resolve) => (container ? container.close(() => resolve()) : resolve()));
});

const invoke = (body: string) =>
  runtime.send(new InvokeEndpointCommand({ EndpointName: 'gpu', Body: new TextEncoder().encode(body) }));

/** Resolves once `predicate` holds, looking every 10 ms (what it waits for is the emulator's work). */
async function until(predicate: () => boolean): Promise<void> {
  while (!predicate()) await new Promise((r) => setTimeout(r, 10));
}

describe('modelled inference', () => {
  it('serves one invocation at a time for its modelled 30 s, the next in arrival order', async () => {
    clock.hold();
    const answers: string[] = [];
    const first = invoke('first').then((r) => answers.push(new TextDecoder().decode(r.Body)));
    await until(() => arrived.length === 1);
    const second = invoke('second').then((r) => answers.push(new TextDecoder().decode(r.Body)));
    // The second has reached the emulator; the first holds the only slot (its 30 s is the one held sleep).
    await until(() => emulator.calls().filter((c) => c.operation === 'InvokeEndpoint').length === 2);
    await until(() => clock.sleeping === 1);
    expect(arrived).toEqual(['first']);

    clock.advance(29);
    await new Promise((r) => setTimeout(r, 50));
    expect(answers).toEqual([]);
    expect(arrived).toEqual(['first']);

    clock.advance(1);
    await first;
    await until(() => arrived.length === 2);
    expect(arrived).toEqual(['first', 'second']);
    expect(answers).toEqual(['done first']);

    await until(() => clock.sleeping === 1);
    clock.advance(30);
    await second;
    expect(answers).toEqual(['done first', 'done second']);
    clock.release();
  });
});
