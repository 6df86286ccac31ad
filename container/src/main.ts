// Entry point: `serve` starts the inference server, as SageMaker runs a container (`docker run <image> serve`).
import { S3Client } from '@aws-sdk/client-s3';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseContainerConfig, type ContainerConfig } from './config.ts';
import { DEFAULT_PARAMETERS, parseParameters, type ReconstructionParameters } from './reconstruct.ts';
import { createInferenceServer } from './server.ts';

const HELP = `Usage: serve   (from the repository: npm run container)

Starts the inference server (SageMaker container contract): GET /ping, POST /invocations.
Environment:
  SAGEMAKER_BIND_TO_PORT  port (default 8080)          BIND_HOST   address (default 127.0.0.1; 0.0.0.0 in the image)
  MODEL_DIR, SM_MODEL_DIR model directory (default /opt/ml/model); an optional model.json there
                          overrides the reconstruction parameters (threshold, inflation, stride, symmetric)
  MODEL_LOAD_SECONDS      warm-up before /ping answers 200 (default 0)
  MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS  input limits (default 25 MiB, 4096x4096)
  COMPUTE_WORKERS         worker threads for the reconstruction (default: one per core)
  MAX_QUEUED_INVOCATIONS  invocations that may wait for a worker; more get 429 (default 64)
  AWS_REGION, AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, AWS credentials: how it reaches S3 (AWS SDK defaults)`;

const log = (entry: Record<string, unknown>): void =>
  void process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`);

/** Reads the model directory's parameters and waits out the configured warm-up. */
async function loadModel(config: ContainerConfig): Promise<ReconstructionParameters> {
  const file = join(config.modelDir, 'model.json');
  let parameters = DEFAULT_PARAMETERS;
  if (existsSync(file)) {
    parameters = parseParameters(JSON.parse(readFileSync(file, 'utf8')) as unknown);
    log({ event: 'model parameters', file, parameters });
  } else {
    log({ event: 'model parameters', note: `no ${file}; using the built-in parameters`, parameters });
  }
  await new Promise((resolve) => setTimeout(resolve, config.modelLoadSeconds * 1000));
  return parameters;
}

async function serve(): Promise<void> {
  // eslint-disable-next-line no-restricted-properties -- the container is configured by its environment
  const config = parseContainerConfig(process.env);
  // Path-style addressing works against AWS and against local S3 stand-ins alike.
  const s3 = new S3Client({ forcePathStyle: true });
  const server = createInferenceServer({
    s3,
    limits: { maxBytes: config.maxImageBytes, maxPixels: config.maxImagePixels },
    load: () => loadModel(config),
    log,
    ...(config.workers === undefined ? {} : { workers: config.workers }),
    maxQueued: config.maxQueued,
  });
  const port = await server.listen(config.port, config.host);
  log({ event: 'listening', host: config.host, port });
  const shutdown = (signal: string): void => {
    log({ event: 'shutting down', signal });
    server
      .close()
      .then(() => {
        s3.destroy();
        log({ event: 'stopped' });
        process.exit(0);
      })
      .catch(() => process.exit(1));
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

const command = process.argv.includes('--help') ? '--help' : process.argv[2];
if (command === 'serve') {
  serve().catch((err: unknown) => {
    log({ event: 'failed to start', error: err instanceof Error ? err.message : String(err) });
    process.exit(1);
  });
} else if (command === '--help') {
  process.stdout.write(`${HELP}\n`);
} else {
  process.stderr.write(`${command === undefined ? '' : `unknown command '${command}'\n\n`}${HELP}\n`);
  process.exit(2);
}
