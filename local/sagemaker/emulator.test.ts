// The SageMaker emulator through the real AWS SDK clients and waiters, with credentials it never saw:
// every API, status and error the project relies on, and every kind of injected fault.
// Over 400 lines on purpose: every test shares one emulator, its test container and its held clock.
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  DeleteEndpointCommand,
  DeleteEndpointConfigCommand,
  DescribeEndpointCommand,
  ListEndpointsCommand,
  SageMakerClient,
  UpdateEndpointCommand,
  UpdateEndpointWeightsAndCapacitiesCommand,
  waitUntilEndpointDeleted,
  waitUntilEndpointInService,
} from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { createServer, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SageMakerEndpointStateChangeEvent } from '../../shared/aws-events.ts';
import { freePort } from '../common/ports.ts';
import { holdableClock } from '../common/hand-clock.ts';
import { createClock, type Clock } from '../common/clock.ts';
import { processContainer } from './containers.ts';
import { startSageMakerEmulator, type SageMakerEmulator } from './emulator.ts';

const UNSEEN = { accessKeyId: 'AKIAUNSEEN', secretAccessKey: 'unseen' };
const REGION = 'eu-west-1';
// 300 simulated seconds of start take 0.25 s.
const SCALE = 1200;
const WAIT = { maxWaitTime: 30, minDelay: 0.05, maxDelay: 0.1 };

// The emulator's clock, with a hold: while held, no simulated wait begins, so a test sees a transient
// status (Updating, Deleting) for as long as it looks, however loaded the machine is.
const held = holdableClock(createClock(`scale:${SCALE}`));
const clock: Clock = held.clock;
const hold = (): (() => void) => held.hold();
const releaseHold = (): void => held.release();

/** A model server with the SageMaker container contract whose /ping readiness the test controls. */
class TestContainer {
  ready = true;
  invocations = 0;
  pings = 0;
  private server: Server | undefined;
  url = '';
  async start(): Promise<void> {
    const port = await freePort();
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.url === '/ping') {
          this.pings++;
          res.writeHead(this.ready ? 200 : 503).end();
          return;
        }
        this.invocations++;
        const body = Buffer.concat(chunks).toString();
        const input = JSON.parse(body || '{}') as { status?: number; sleepMs?: number };
        const reply = (): void => {
          if (input.status) {
            res.writeHead(input.status, { 'content-type': 'application/json' }).end('{"error":"bad image"}');
          } else {
            res
              .writeHead(200, { 'content-type': 'application/json' })
              .end(JSON.stringify({ echo: input, contentType: req.headers['content-type'] }));
          }
        };
        if (input.sleepMs) setTimeout(reply, input.sleepMs);
        else reply();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${port}`;
  }
  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

const container = new TestContainer();
let emulator: SageMakerEmulator;
let sm: SageMakerClient;
let runtime: SageMakerRuntimeClient;
const events: SageMakerEndpointStateChangeEvent[] = [];
let n = 0;

beforeAll(async () => {
  await container.start();
  emulator = await startSageMakerEmulator({
    region: REGION,
    timeScale: clock,
    timings: { createSeconds: 300, updateSeconds: 240, deleteSeconds: 60, healthCheckTimeoutSeconds: 24_000 },
    container: container.url,
    publish: (e) => events.push(e),
    invocationTimeoutSeconds: 1,
  });
  // One attempt: the SDK would otherwise retry throttling and 5xx answers on its own.
  sm = new SageMakerClient({
    region: REGION,
    endpoint: emulator.endpoint,
    credentials: UNSEEN,
    maxAttempts: 1,
  });
  runtime = new SageMakerRuntimeClient({
    region: REGION,
    endpoint: emulator.runtimeEndpoint,
    credentials: UNSEEN,
    maxAttempts: 1,
  });
});

afterEach(() => {
  releaseHold(); // a test that failed while holding the clock must not stall the next
  emulator.faults.clear();
  container.ready = true;
});

afterAll(async () => {
  sm?.destroy();
  runtime?.destroy();
  await emulator?.stop();
  await container.stop();
});

/** Creates a model and an endpoint config; returns the config name. */
async function config(instanceCount = 1): Promise<string> {
  const id = ++n;
  await sm.send(
    new CreateModelCommand({
      ModelName: `model-${id}`,
      PrimaryContainer: { Image: 'reconstruct-3d:latest', Environment: { MODEL: 'silhouette' } },
      ExecutionRoleArn: 'arn:aws:iam::000000000000:role/local',
    }),
  );
  await sm.send(
    new CreateEndpointConfigCommand({
      EndpointConfigName: `config-${id}`,
      ProductionVariants: [
        {
          VariantName: 'AllTraffic',
          ModelName: `model-${id}`,
          InstanceType: 'ml.g5.xlarge',
          InitialInstanceCount: instanceCount,
        },
      ],
    }),
  );
  return `config-${id}`;
}

async function createEndpoint(name: string): Promise<void> {
  await sm.send(new CreateEndpointCommand({ EndpointName: name, EndpointConfigName: await config() }));
}

const status = async (name: string): Promise<string | undefined> =>
  (await sm.send(new DescribeEndpointCommand({ EndpointName: name }))).EndpointStatus;

const invoke = (name: string, body: unknown) =>
  runtime.send(
    new InvokeEndpointCommand({
      EndpointName: name,
      ContentType: 'application/json',
      Body: new TextEncoder().encode(JSON.stringify(body)),
    }),
  );

const errorOf = async (p: Promise<unknown>): Promise<Error & Record<string, unknown>> => {
  try {
    await p;
  } catch (err) {
    return err as Error & Record<string, unknown>;
  }
  throw new Error('expected the call to fail');
};

describe('endpoint lifecycle', () => {
  it('creates, serves, updates and deletes an endpoint through the SDK and its waiters', async () => {
    const name = 'gpu-lifecycle';
    container.ready = false;
    await createEndpoint(name);
    expect(await status(name)).toBe('Creating');
    const notYet = await errorOf(invoke(name, { x: 1 }));
    expect(notYet.name).toBe('ValidationError');
    expect(notYet.message).toBe(`Endpoint ${name} of account 000000000000 not found.`);

    // Provisioning is over once the health check pings (0.25 s), but InService waits for /ping to
    // answer 200; the health-check timeout (24,000 s, 20 s here) is far beyond this look.
    const pings = container.pings;
    while (container.pings <= pings) await new Promise((r) => setTimeout(r, 20));
    expect(await status(name)).toBe('Creating');
    container.ready = true;
    const waited = await waitUntilEndpointInService({ client: sm, ...WAIT }, { EndpointName: name });
    expect(waited.state).toBe('SUCCESS');

    const described = await sm.send(new DescribeEndpointCommand({ EndpointName: name }));
    expect(described).toMatchObject({
      EndpointName: name,
      EndpointArn: `arn:aws:sagemaker:${REGION}:000000000000:endpoint/${name}`,
      EndpointStatus: 'InService',
      ProductionVariants: [{ VariantName: 'AllTraffic', CurrentInstanceCount: 1, DesiredInstanceCount: 1 }],
    });
    expect(described.CreationTime).toBeInstanceOf(Date);

    const out = await invoke(name, { task: 'generate_3d' });
    expect(out.InvokedProductionVariant).toBe('AllTraffic');
    expect(out.ContentType).toBe('application/json');
    expect(JSON.parse(new TextDecoder().decode(out.Body))).toEqual({
      echo: { task: 'generate_3d' },
      contentType: 'application/json',
    });

    const listed = await sm.send(new ListEndpointsCommand({ NameContains: 'LIFECYCLE' }));
    expect(listed.Endpoints?.map((e) => [e.EndpointName, e.EndpointStatus])).toEqual([[name, 'InService']]);

    let release = hold();
    await sm.send(
      new UpdateEndpointWeightsAndCapacitiesCommand({
        EndpointName: name,
        DesiredWeightsAndCapacities: [{ VariantName: 'AllTraffic', DesiredInstanceCount: 2 }],
      }),
    );
    expect(await status(name)).toBe('Updating');
    release();
    await waitUntilEndpointInService({ client: sm, ...WAIT }, { EndpointName: name });
    const scaled = await sm.send(new DescribeEndpointCommand({ EndpointName: name }));
    expect(scaled.ProductionVariants?.[0]?.CurrentInstanceCount).toBe(2);

    const next = await config();
    release = hold();
    await sm.send(new UpdateEndpointCommand({ EndpointName: name, EndpointConfigName: next }));
    expect(await status(name)).toBe('Updating');
    release();
    await waitUntilEndpointInService({ client: sm, ...WAIT }, { EndpointName: name });
    expect((await sm.send(new DescribeEndpointCommand({ EndpointName: name }))).EndpointConfigName).toBe(
      next,
    );

    release = hold();
    await sm.send(new DeleteEndpointCommand({ EndpointName: name }));
    expect(await status(name)).toBe('Deleting');
    release();
    const deleted = await waitUntilEndpointDeleted({ client: sm, ...WAIT }, { EndpointName: name });
    expect(deleted.state).toBe('SUCCESS');
    await sm.send(new DeleteEndpointConfigCommand({ EndpointConfigName: next }));

    const statuses = events.filter((e) => e.detail.EndpointName === name).map((e) => e.detail.EndpointStatus);
    expect(statuses).toEqual([
      'CREATING',
      'IN_SERVICE',
      'UPDATING',
      'IN_SERVICE',
      'UPDATING',
      'IN_SERVICE',
      'DELETING',
    ]);
    expect(events.find((e) => e.detail.EndpointName === name)).toMatchObject({
      source: 'aws.sagemaker',
      'detail-type': 'SageMaker Endpoint State Change',
      region: REGION,
      resources: [`arn:aws:sagemaker:${REGION}:000000000000:endpoint/${name}`],
    });
  });
});

describe('errors as AWS gives them', () => {
  it('a missing endpoint', async () => {
    const err = await errorOf(sm.send(new DescribeEndpointCommand({ EndpointName: 'nope' })));
    expect(err.name).toBe('ValidationException');
    expect(err.message).toBe('Could not find endpoint "nope".');
    expect((await errorOf(sm.send(new DeleteEndpointCommand({ EndpointName: 'nope' })))).name).toBe(
      'ValidationException',
    );
    expect((await errorOf(invoke('nope', {}))).name).toBe('ValidationError');
  });

  it('creating one that exists, updating or deleting one that is not InService', async () => {
    const name = 'gpu-errors';
    // Held, the start cannot finish while the test looks (300 s at this scale is 0.25 s, which a loaded
    // machine lets pass between two requests).
    const release = hold();
    await createEndpoint(name);
    const exists = await errorOf(createEndpoint(name));
    expect(exists.name).toBe('ValidationException');
    expect(exists.message).toBe(
      `Cannot create already existing endpoint "arn:aws:sagemaker:${REGION}:000000000000:endpoint/${name}".`,
    );
    const update = await errorOf(
      sm.send(new UpdateEndpointCommand({ EndpointName: name, EndpointConfigName: await config() })),
    );
    expect(update.message).toBe(
      `Cannot update in-progress endpoint "arn:aws:sagemaker:${REGION}:000000000000:endpoint/${name}".`,
    );
    const del = await errorOf(sm.send(new DeleteEndpointCommand({ EndpointName: name })));
    expect(del.message).toMatch(/^Cannot delete in-progress endpoint/);
    release();
    await waitUntilEndpointInService({ client: sm, ...WAIT }, { EndpointName: name });
    await sm.send(new DeleteEndpointCommand({ EndpointName: name }));
  });

  it('bad input: a missing config, an invalid name, an unknown operation', async () => {
    const missing = await errorOf(
      sm.send(new CreateEndpointCommand({ EndpointName: 'gpu-x', EndpointConfigName: 'no-such-config' })),
    );
    expect(missing.message).toMatch(/^Could not find endpoint configuration/);
    const badName = await errorOf(sm.send(new DescribeEndpointCommand({ EndpointName: 'bad_name' })));
    expect(badName.message).toMatch(/Member must satisfy regular expression pattern/);
    const res = await fetch(emulator.endpoint, {
      method: 'POST',
      headers: {
        'x-amz-target': 'SageMaker.CreateTrainingJob',
        'content-type': 'application/x-amz-json-1.1',
      },
      body: '{}',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ __type: 'UnknownOperationException' });
  });
});

describe('injected faults', () => {
  it('a start that ends Failed with its FailureReason, which the waiter reports; only delete is allowed then', async () => {
    const name = 'gpu-fails';
    emulator.faults.failNextStart();
    await createEndpoint(name);
    const waited = await errorOf(waitUntilEndpointInService({ client: sm, ...WAIT }, { EndpointName: name }));
    expect(waited.message).toMatch(/FAILURE/);
    const described = await sm.send(new DescribeEndpointCommand({ EndpointName: name }));
    expect(described.EndpointStatus).toBe('Failed');
    expect(described.FailureReason).toBe(
      'Unable to provision requested ML compute capacity. Please retry using a different ML instance type.',
    );
    const failedEvent = events.find(
      (e) => e.detail.EndpointName === name && e.detail.EndpointStatus === 'FAILED',
    );
    expect(failedEvent?.detail.FailureReason).toBe(described.FailureReason);
    const update = await errorOf(
      sm.send(new UpdateEndpointCommand({ EndpointName: name, EndpointConfigName: await config() })),
    );
    expect(update.message).toMatch(/^Cannot update failed endpoint/);
    await sm.send(new DeleteEndpointCommand({ EndpointName: name }));
    await waitUntilEndpointDeleted({ client: sm, ...WAIT }, { EndpointName: name });
  });

  it('a container that never passes /ping fails the endpoint with the health-check reason', async () => {
    const quick = await startSageMakerEmulator({
      region: REGION,
      timeScale: SCALE,
      timings: { createSeconds: 60, healthCheckTimeoutSeconds: 240 },
      container: container.url,
    });
    container.ready = false;
    const client = new SageMakerClient({ region: REGION, endpoint: quick.endpoint, credentials: UNSEEN });
    try {
      await client.send(new CreateModelCommand({ ModelName: 'm', PrimaryContainer: { Image: 'i' } }));
      await client.send(
        new CreateEndpointConfigCommand({
          EndpointConfigName: 'c',
          ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: 'm' }],
        }),
      );
      await client.send(new CreateEndpointCommand({ EndpointName: 'unhealthy', EndpointConfigName: 'c' }));
      await errorOf(waitUntilEndpointInService({ client, ...WAIT }, { EndpointName: 'unhealthy' }));
      const described = await client.send(new DescribeEndpointCommand({ EndpointName: 'unhealthy' }));
      expect(described.FailureReason).toBe(
        'The primary container for production variant AllTraffic did not pass the ping health check. Please check CloudWatch logs for this endpoint.',
      );
    } finally {
      client.destroy();
      await quick.stop();
    }
  });

  it('capacity refusals and throttling', async () => {
    emulator.faults.rejectCapacity();
    const refused = await errorOf(createEndpoint('gpu-capacity'));
    expect(refused.name).toBe('ResourceLimitExceeded');
    expect(refused.message).toMatch(/ml\.g5\.xlarge for endpoint usage/);

    emulator.faults.throttle(1, ['DescribeEndpoint']);
    const throttled = await errorOf(sm.send(new DescribeEndpointCommand({ EndpointName: 'anything' })));
    expect(throttled.name).toBe('ThrottlingException');
    // The throttle is used up; the next call gets the real answer.
    expect((await errorOf(sm.send(new DescribeEndpointCommand({ EndpointName: 'anything' })))).name).toBe(
      'ValidationException',
    );
    const calls = emulator.calls().filter((c) => c.endpointName === 'anything');
    expect(calls.map((c) => c.outcome)).toEqual(['ThrottlingException', 'ValidationException']);
  });

  it('slow, failing and rejected invocations', async () => {
    const name = 'gpu-invoke';
    await createEndpoint(name);
    await waitUntilEndpointInService({ client: sm, ...WAIT }, { EndpointName: name });

    emulator.faults.slowInvocations(300);
    const started = performance.now();
    await invoke(name, { a: 1 });
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    emulator.faults.slowInvocations(0);

    emulator.faults.throttle(1, ['InvokeEndpoint']);
    expect((await errorOf(invoke(name, {}))).name).toBe('ThrottlingException');
    emulator.faults.failInvocations(1, 'ServiceUnavailable').failInvocations(1, 'ModelNotReadyException');
    expect((await errorOf(invoke(name, {}))).name).toBe('ServiceUnavailable');
    expect((await errorOf(invoke(name, {}))).name).toBe('ModelNotReadyException');

    const rejected = await errorOf(invoke(name, { status: 400 }));
    expect(rejected.name).toBe('ModelError');
    expect(rejected.OriginalStatusCode).toBe(400);
    expect(rejected.OriginalMessage).toBe('{"error":"bad image"}');
    expect(rejected.message).toMatch(/^Received client error \(400\) from primary with message/);
    const crashed = await errorOf(invoke(name, { status: 500 }));
    expect(crashed.message).toMatch(/^Received server error \(500\)/);
    const timedOut = await errorOf(invoke(name, { sleepMs: 1500 }));
    expect(timedOut.message).toMatch(/timed out/);
    // After all that, it still serves.
    expect((await invoke(name, { ok: true })).InvokedProductionVariant).toBe('AllTraffic');
  });
});

describe('process containers', () => {
  it('starts a container process per endpoint with SAGEMAKER_BIND_TO_PORT and stops it on delete', async () => {
    const script = `
      const http = require('node:http');
      http.createServer((req, res) => {
        if (req.url === '/ping') return res.writeHead(200).end();
        res.writeHead(200, { 'content-type': 'text/plain' }).end(process.pid + ':' + process.env.MODEL);
      }).listen(Number(process.env.SAGEMAKER_BIND_TO_PORT), '127.0.0.1');`;
    const local = await startSageMakerEmulator({
      region: REGION,
      timeScale: SCALE,
      timings: { createSeconds: 1, deleteSeconds: 1 },
      container: processContainer(process.execPath, ['-e', script]),
    });
    const client = new SageMakerClient({ region: REGION, endpoint: local.endpoint, credentials: UNSEEN });
    const rt = new SageMakerRuntimeClient({
      region: REGION,
      endpoint: local.runtimeEndpoint,
      credentials: UNSEEN,
    });
    try {
      await client.send(
        new CreateModelCommand({
          ModelName: 'm',
          PrimaryContainer: { Image: 'i', Environment: { MODEL: 'sil' } },
        }),
      );
      await client.send(
        new CreateEndpointConfigCommand({
          EndpointConfigName: 'c',
          ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: 'm' }],
        }),
      );
      await client.send(new CreateEndpointCommand({ EndpointName: 'proc', EndpointConfigName: 'c' }));
      await waitUntilEndpointInService({ client, ...WAIT }, { EndpointName: 'proc' });
      const out = await rt.send(
        new InvokeEndpointCommand({ EndpointName: 'proc', Body: new Uint8Array([1]) }),
      );
      const [pid, model] = new TextDecoder().decode(out.Body).split(':');
      expect(model).toBe('sil');
      expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toContain('SAGEMAKER_BIND_TO_PORT');
      await client.send(new DeleteEndpointCommand({ EndpointName: 'proc' }));
      await waitUntilEndpointDeleted({ client, ...WAIT }, { EndpointName: 'proc' });
      expect(() => readFileSync(`/proc/${pid}/cmdline`)).toThrow();
    } finally {
      client.destroy();
      rt.destroy();
      await local.stop();
    }
  });
});
