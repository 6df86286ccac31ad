// The container's settings, from its environment (SageMaker passes ContainerDefinition.Environment).
// AWS access (region, credentials, AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL) is the SDK's own business.

export interface ContainerConfig {
  port: number;
  /** 0.0.0.0 inside a container (SageMaker connects from outside it); loopback when run from the repo. */
  host: string;
  modelDir: string;
  /** Seconds of model warm-up before /ping answers 200 (stands in for loading GPU weights). */
  modelLoadSeconds: number;
  maxImageBytes: number;
  maxImagePixels: number;
  /** Worker threads for the CPU work; undefined: one per core. */
  workers?: number;
  /** Invocations that may wait for a worker before the server answers 429. */
  maxQueued: number;
}

type Env = Readonly<Record<string, string | undefined>>;

export class ContainerConfigError extends Error {
  override readonly name = 'ContainerConfigError';
}

export function parseContainerConfig(env: Env): ContainerConfig {
  const problems: string[] = [];
  const number = (name: string, fallback: number, ok: (n: number) => boolean, expected: string): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!ok(value)) problems.push(`${name}='${raw}' is not ${expected}`);
    return value;
  };
  const config: ContainerConfig = {
    port: number(
      'SAGEMAKER_BIND_TO_PORT',
      8080,
      (n) => Number.isInteger(n) && n > 0 && n < 65536,
      'a TCP port',
    ),
    host: env.BIND_HOST || '127.0.0.1',
    modelDir: env.MODEL_DIR || env.SM_MODEL_DIR || '/opt/ml/model',
    modelLoadSeconds: number(
      'MODEL_LOAD_SECONDS',
      0,
      (n) => Number.isFinite(n) && n >= 0,
      'a number of seconds >= 0',
    ),
    maxImageBytes: number(
      'MAX_IMAGE_BYTES',
      25 * 2 ** 20,
      (n) => Number.isInteger(n) && n > 0,
      'a positive integer',
    ),
    maxImagePixels: number(
      'MAX_IMAGE_PIXELS',
      4096 * 4096,
      (n) => Number.isInteger(n) && n > 0,
      'a positive integer',
    ),
    maxQueued: number('MAX_QUEUED_INVOCATIONS', 64, (n) => Number.isInteger(n) && n >= 0, 'an integer >= 0'),
  };
  const workers = number(
    'COMPUTE_WORKERS',
    0,
    (n) => Number.isInteger(n) && n >= 1 && n <= 256,
    'an integer 1-256',
  );
  if (workers > 0) config.workers = workers;
  if (problems.length > 0)
    throw new ContainerConfigError(`invalid container configuration: ${problems.join('; ')}`);
  return config;
}
