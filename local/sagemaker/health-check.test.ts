// The health check against real container processes: a process that takes longer to start than the
// scaled health-check timeout still comes InService (starting a process is real time, not simulated),
// and a process that dies says why in the FailureReason.
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  DescribeEndpointCommand,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processContainer } from './containers.ts';
import { startSageMakerEmulator, type SageMakerEmulator } from './emulator.ts';
import { failureReason } from './health-check.ts';

const CREDENTIALS = { accessKeyId: 'AKIAUNSEEN', secretAccessKey: 'unseen' };

// Listens only after `START_DELAY_MS` of real time, far beyond the scaled health-check timeout
// (60 simulated seconds at scale 1200 = 50 ms), as a process competing for the cores does.
const START_DELAY_MS = 1500;
const SLOW_SERVER = `setTimeout(() => require('node:http').createServer((q, s) => s.end('ok')).listen(Number(process.env.SAGEMAKER_BIND_TO_PORT), '127.0.0.1'), ${START_DELAY_MS})`;
const DYING_SERVER = `console.log('loading weights'); console.error('CUDA error: out of memory'); process.exit(3)`;

let emulator: SageMakerEmulator;
let client: SageMakerClient;

beforeAll(async () => {
  emulator = await startSageMakerEmulator({
    region: 'us-east-1',
    timeScale: 1200,
    timings: { createSeconds: 60, healthCheckTimeoutSeconds: 60 },
    container: (request) =>
      processContainer(process.execPath, ['-e', request.image === 'slow' ? SLOW_SERVER : DYING_SERVER])(
        request,
      ),
  });
  client = new SageMakerClient({
    region: 'us-east-1',
    endpoint: emulator.endpoint,
    credentials: CREDENTIALS,
  });
});

afterAll(async () => {
  client?.destroy();
  await emulator?.stop();
});

async function createEndpoint(image: 'slow' | 'dying'): Promise<string> {
  await client.send(new CreateModelCommand({ ModelName: image, PrimaryContainer: { Image: image } }));
  await client.send(
    new CreateEndpointConfigCommand({
      EndpointConfigName: image,
      ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: image }],
    }),
  );
  await client.send(new CreateEndpointCommand({ EndpointName: image, EndpointConfigName: image }));
  return image;
}

async function settled(name: string): Promise<{ status?: string; reason?: string }> {
  for (;;) {
    const out = await client.send(new DescribeEndpointCommand({ EndpointName: name }));
    if (out.EndpointStatus !== 'Creating') return { status: out.EndpointStatus, reason: out.FailureReason };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('health check of container processes', () => {
  it('waits for a process that starts slower than the scaled timeout, and it comes InService', async () => {
    expect(await settled(await createEndpoint('slow'))).toEqual({ status: 'InService', reason: undefined });
  });

  it('fails a process that exits, with its last lines in the FailureReason', async () => {
    const { status, reason } = await settled(await createEndpoint('dying'));
    expect(status).toBe('Failed');
    expect(reason).toMatch(
      /^The primary container for production variant AllTraffic did not pass the ping health check/,
    );
    expect(reason).toContain('CUDA error: out of memory');
  });

  it('keeps a FailureReason within the 1024 characters AWS allows', () => {
    const reason = failureReason('AllTraffic', `${'x'.repeat(5000)}\nlast line`);
    expect(reason.length).toBeLessThanOrEqual(1024);
    expect(reason).toContain('last line');
  });
});
