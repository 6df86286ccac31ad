// Settings of the orchestrator handlers, read from the environment once at cold start. A bad or
// missing setting fails the cold start with a message naming every setting that is wrong and what
// it accepts, instead of surfacing later as an odd AWS error in the middle of a job.
import { ConfigError } from './errors.ts';
import { isOrchestrator, ORCHESTRATORS, type Orchestrator } from './keys.ts';

export const WAIT_MODES = ['poll', 'event'] as const;
export type WaitMode = (typeof WAIT_MODES)[number];
export const ENDPOINT_MODES = ['own', 'shared'] as const;
export type EndpointMode = (typeof ENDPOINT_MODES)[number];

export interface Config {
  readonly region: string;
  readonly tableName: string;
  readonly bucket: string;
  readonly orchestrator: Orchestrator;
  /** The base endpoint name; see endpointNameFor() for the one this orchestrator uses. */
  readonly endpointName: string;
  /** `poll`: describe in a loop; `event`: wait for SageMaker's state-change event. */
  readonly waitMode: WaitMode;
  /** `own`: each orchestrator has its own endpoint (`{name}-sf`, `{name}-ldf`); `shared`: one for both. */
  readonly endpointMode: EndpointMode;
  /** Seconds without use after the last release before the endpoint may be stopped. */
  readonly idleWindowSeconds: number;
  /** How long a job's lease on the endpoint lives without renewal. */
  readonly leaseTtlSeconds: number;
  /** How long a job waits for its mask after the image arrived. */
  readonly maskWaitSeconds: number;
  /** Simulated seconds per real second for the local cloud; 1 on AWS. */
  readonly timeScale: number;
  /** Where `Job Completed` / `Job Failed` events go. */
  readonly eventBusName: string;
  /** Days a job item is kept before its TTL lets DynamoDB delete it. */
  readonly jobRetentionDays: number;
}

type Env = Readonly<Record<string, string | undefined>>;

/** Every setting: its environment variable, whether it has a default, and how it is parsed. */
const SETTINGS = {
  region: { env: 'AWS_REGION', parse: text(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'an AWS region such as us-east-1') },
  tableName: { env: 'TABLE_NAME', parse: text(/^[A-Za-z0-9_.-]{3,255}$/, 'a DynamoDB table name') },
  bucket: {
    env: 'BUCKET_NAME',
    parse: text(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name (3-63 lowercase characters)'),
  },
  orchestrator: { env: 'ORCHESTRATOR', parse: oneOf(ORCHESTRATORS, isOrchestrator) },
  endpointName: {
    env: 'ENDPOINT_NAME',
    // SageMaker allows 63 characters; leave room for the '-ldf' suffix of own mode.
    parse: text(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,58}$/, 'a SageMaker endpoint name of at most 59 characters'),
  },
  waitMode: { env: 'WAIT_MODE', default: 'poll', parse: oneOf(WAIT_MODES) },
  endpointMode: { env: 'ENDPOINT_MODE', default: 'own', parse: oneOf(ENDPOINT_MODES) },
  idleWindowSeconds: { env: 'IDLE_WINDOW_SECONDS', default: '600', parse: positiveNumber },
  leaseTtlSeconds: { env: 'LEASE_TTL_SECONDS', default: '1800', parse: positiveNumber },
  maskWaitSeconds: { env: 'MASK_WAIT_SECONDS', default: '300', parse: positiveNumber },
  timeScale: { env: 'TIME_SCALE', default: '1', parse: positiveNumber },
  eventBusName: {
    env: 'EVENT_BUS_NAME',
    default: 'default',
    parse: text(/^[A-Za-z0-9._\-/:]{1,256}$/, 'an event bus name or ARN'),
  },
  jobRetentionDays: { env: 'JOB_RETENTION_DAYS', default: '30', parse: positiveNumber },
} satisfies Record<keyof Config, Setting>;

interface Setting {
  env: string;
  default?: string;
  /** The parsed value, or a string that says what the setting accepts. */
  parse: (raw: string) => { value: unknown } | { expected: string };
}

function text(pattern: RegExp, expected: string) {
  return (raw: string) => (pattern.test(raw) ? { value: raw } : { expected });
}

function oneOf<T extends string>(values: readonly T[], is = (v: string): v is T => values.includes(v as T)) {
  return (raw: string) => (is(raw) ? { value: raw } : { expected: `one of ${values.join(', ')}` });
}

function positiveNumber(raw: string) {
  const value = Number(raw);
  return raw.trim() !== '' && Number.isFinite(value) && value > 0
    ? { value }
    : { expected: 'a positive number' };
}

/** The environment variable names, for the CDK stack and the local runtimes that set them. */
export const CONFIG_ENV = Object.fromEntries(
  Object.entries(SETTINGS).map(([key, setting]) => [key, setting.env]),
) as { readonly [K in keyof Config]: string };

/** Parses settings from `env`; throws one ConfigError naming every bad or missing setting. */
export function parseConfig(env: Env): Config {
  const problems: string[] = [];
  const config: Record<string, unknown> = {};
  for (const [key, setting] of Object.entries(SETTINGS) as [keyof Config, Setting][]) {
    const raw = env[setting.env] ?? setting.default;
    if (raw === undefined || raw === '') {
      problems.push(`${setting.env} is not set`);
      continue;
    }
    const parsed = setting.parse(raw);
    if ('expected' in parsed) problems.push(`${setting.env}='${raw}' is not ${parsed.expected}`);
    else config[key] = parsed.value;
  }
  if (problems.length > 0) {
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  return Object.freeze(config) as unknown as Config;
}

let loaded: Config | undefined;

/** The process's configuration, parsed from process.env on first use and kept. */
export function loadConfig(): Config {
  // eslint-disable-next-line no-restricted-properties -- the one place that reads the environment
  loaded ??= parseConfig(process.env);
  return loaded;
}

/** The SageMaker endpoint an orchestrator uses: its own (`{name}-sf`) or the shared one. */
export function endpointNameFor(
  config: Pick<Config, 'endpointName' | 'endpointMode' | 'orchestrator'>,
): string {
  return config.endpointMode === 'own'
    ? `${config.endpointName}-${config.orchestrator}`
    : config.endpointName;
}

/** The environment that produces `config`, for launching handlers locally or from the CDK stack. */
export function configToEnv(config: Config): Record<string, string> {
  return Object.fromEntries(
    (Object.keys(SETTINGS) as (keyof Config)[]).map((key) => [CONFIG_ENV[key], String(config[key])]),
  );
}
