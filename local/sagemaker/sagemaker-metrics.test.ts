// The metrics the SageMaker emulator publishes into a MetricsSink: per InvokeEndpoint in AWS/SageMaker
// (Invocations, 4XX and 5XX errors as the model answered, ModelLatency and OverheadLatency in
// microseconds), and per instance in /aws/sagemaker/Endpoints once a simulated minute while it runs.
// The clock is held: a minute passes only when the test advances it, so each sample is counted exactly.
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  DeleteEndpointCommand,
  SageMakerClient,
  waitUntilEndpointInService,
} from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localClientConfig } from '../../shared/aws.ts';
import { HandClock } from '../common/hand-clock.ts';
import { closeServer, listenOnLoopback, readBody } from '../common/http-server.ts';
import { RecordingSink } from '../common/recording-sink.ts';
import { createClock } from '../common/clock.ts';
import { startSageMakerEmulator, type SageMakerEmulator } from './emulator.ts';

const sink = new RecordingSink();
const published = sink.published;
const ENDPOINT = { EndpointName: 'metered', VariantName: 'AllTraffic' };
const of = (namespace: string, name: string): number[] => sink.values(namespace, name, ENDPOINT);

const clock = new HandClock(createClock('scale:1000'));
let model: Server;
let emulator: SageMakerEmulator;
let sm: SageMakerClient;
let runtime: SageMakerRuntimeClient;

beforeAll(async () => {
  // A model server that answers the status an invocation asks for.
  model = createServer((req, res) => {
    void readBody(req).then((body) => {
      if (req.url === '/ping') return void res.writeHead(200).end();
      const { status } = JSON.parse(body.toString() || '{}') as { status?: number };
      res.writeHead(status ?? 200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  const url = await listenOnLoopback(model);
  emulator = await startSageMakerEmulator({
    region: 'us-east-1',
    timeScale: clock,
    timings: { createSeconds: 300, deleteSeconds: 60 },
    container: url,
    metrics: sink,
  });
  sm = new SageMakerClient(localClientConfig(emulator.endpoint));
  runtime = new SageMakerRuntimeClient({ ...localClientConfig(emulator.runtimeEndpoint), maxAttempts: 1 });
  await sm.send(new CreateModelCommand({ ModelName: 'metered', PrimaryContainer: { Image: 'test' } }));
  await sm.send(
    new CreateEndpointConfigCommand({
      EndpointConfigName: 'metered',
      ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: 'metered', InstanceType: 'ml.g5.xlarge' }],
    }),
  );
  clock.hold();
  await sm.send(new CreateEndpointCommand({ EndpointName: 'metered', EndpointConfigName: 'metered' }));
  clock.advance(300);
  await waitUntilEndpointInService(
    { client: sm, maxWaitTime: 30, minDelay: 0.05, maxDelay: 0.1 },
    { EndpointName: 'metered' },
  );
});

afterAll(async () => {
  sm?.destroy();
  runtime?.destroy();
  await emulator?.stop();
  if (model) await closeServer(model);
});

const invoke = (status?: number) =>
  runtime.send(
    new InvokeEndpointCommand({
      EndpointName: 'metered',
      ContentType: 'application/json',
      Body: JSON.stringify(status ? { status } : {}),
    }),
  );

describe('SageMaker metrics', () => {
  it('counts each invocation, with the errors the model answered and its latencies in microseconds', async () => {
    await invoke();
    await expect(invoke(400)).rejects.toMatchObject({ name: 'ModelError' });
    await expect(invoke(500)).rejects.toMatchObject({ name: 'ModelError' });
    emulator.faults.failInvocations(1, 'ModelNotReadyException');
    await expect(invoke()).rejects.toMatchObject({ name: 'ModelNotReadyException' });
    const ns = 'AWS/SageMaker';
    expect(of(ns, 'Invocations')).toEqual([1, 1, 1, 1]);
    expect(of(ns, 'Invocation4XXErrors')).toEqual([0, 1, 0, 1]);
    expect(of(ns, 'Invocation5XXErrors')).toEqual([0, 0, 1, 0]);
    // The three the model answered have a latency; the one SageMaker refused before the model has none.
    expect(of(ns, 'ModelLatency')).toHaveLength(3);
    expect(of(ns, 'ModelLatency').every((us) => Number.isInteger(us) && us > 0)).toBe(true);
    expect(of(ns, 'OverheadLatency')).toHaveLength(3);
    const units = published.filter((p) => p.name.endsWith('Latency')).map((p) => p.unit);
    expect(new Set(units)).toEqual(new Set(['Microseconds']));
  });

  it('reports the instance once a simulated minute while it runs, and not after it is deleted', async () => {
    const ns = '/aws/sagemaker/Endpoints';
    const before = of(ns, 'CPUUtilization').length;
    clock.advance(60);
    await expect.poll(() => of(ns, 'CPUUtilization').length).toBe(before + 1);
    await invoke();
    clock.advance(60);
    await expect.poll(() => of(ns, 'CPUUtilization').length).toBe(before + 2);
    const gpu = of(ns, 'GPUUtilization');
    expect(gpu).toHaveLength(before + 2);
    // The minute with an invocation in it shows the container busy; every figure is a percentage.
    expect(gpu.at(-1)).toBeGreaterThan(0);
    expect(gpu.every((pct) => pct >= 0 && pct <= 100)).toBe(true);
    // A container with no local process to read (a URL) reports its busy share as its CPU too.
    expect(of(ns, 'CPUUtilization')).toEqual(gpu);

    await sm.send(new DeleteEndpointCommand({ EndpointName: 'metered' }));
    clock.advance(60);
    clock.advance(600);
    await new Promise((resolve) => setImmediate(resolve));
    expect(of(ns, 'CPUUtilization')).toHaveLength(before + 2);
  });
});
