// Settings of the orchestrator handlers, read from the environment once at cold start. A bad or
// missing setting fails the cold start with a message naming every setting that is wrong and what
// it accepts, instead of surfacing later as an odd AWS error in the middle of a job.
import { ConfigError } from './errors.ts';
import { isOrchestrator, ORCHESTRATORS, type Orchestrator } from './keys.ts';

export const WAIT_MODES = ['poll', 'event'] as const;
export type WaitMode = (typeof WAIT_MODES)[number];

export function isWaitMode(value: unknown): value is WaitMode {
  return typeof value === 'string' && (WAIT_MODES as readonly string[]).includes(value);
}

export interface Config {
  readonly region: string;
  readonly tableName: string;
  readonly bucket: string;
  /**
   * Which orchestrator this handler serves. Unset only for handlers that serve both (the waker);
   * orchestrator handlers read it through orchestratorOf(), which names the missing setting.
   */
  readonly orchestrator?: Orchestrator;
  /** The base endpoint name; each orchestrator has its own endpoint, see endpointNameFor(). */
  readonly endpointName: string;
  /** The endpoint config every start uses (deployed with the model by the stack). */
  readonly endpointConfigName: string;
  /** `poll`: describe in a loop; `event`: wait for SageMaker's state-change event. */
  readonly waitMode: WaitMode;
  /** Seconds without use after the last release before the endpoint may be stopped. */
  readonly idleWindowSeconds: number;
  /** How long a job's lease on the endpoint lives without renewal. */
  readonly leaseTtlSeconds: number;
  /** How long a job waits for its mask after the image arrived. */
  readonly maskWaitSeconds: number;
  /** How long a job waits for the endpoint to reach InService before it fails. */
  readonly endpointWaitSeconds: number;
  /** First interval of the poll loops (mask, InService, deletion); doubled up to pollMaxSeconds. */
  readonly pollSeconds: number;
  /** Longest interval of the poll loops. */
  readonly pollMaxSeconds: number;
  /**
   * How long an event wait waits for its event before it looks once itself (a wake-up lost, a start to
   * take over), round after round until the wait's bound. Longer than an endpoint start, so the event
   * answers first and a cold start costs one wait, not a wait and a look per round.
   */
  readonly eventFallbackSeconds: number;
  /** A start whose endpoint SageMaker still does not know after this long is taken over by a waiting job. */
  readonly stalledStartSeconds: number;
  /** Where `Job Completed` / `Job Failed` events go. */
  readonly eventBusName: string;
  /** Days a job item is kept before its TTL lets DynamoDB delete it. */
  readonly jobRetentionDays: number;
  /** Path-style S3 addressing: needed by the local S3 on 127.0.0.1, off on AWS. */
  readonly s3ForcePathStyle: boolean;
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
  orchestrator: { env: 'ORCHESTRATOR', optional: true, parse: oneOf(ORCHESTRATORS, isOrchestrator) },
  endpointName: {
    env: 'ENDPOINT_NAME',
    // SageMaker allows 63 characters; leave room for the '-ldf' suffix of own mode.
    parse: text(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,58}$/, 'a SageMaker endpoint name of at most 59 characters'),
  },
  endpointConfigName: {
    env: 'ENDPOINT_CONFIG_NAME',
    default: 'reconstruct-3d-config',
    parse: text(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/, 'a SageMaker endpoint config name'),
  },
  waitMode: { env: 'WAIT_MODE', default: 'poll', parse: oneOf(WAIT_MODES) },
  idleWindowSeconds: { env: 'IDLE_WINDOW_SECONDS', default: '600', parse: positiveNumber },
  leaseTtlSeconds: { env: 'LEASE_TTL_SECONDS', default: '1800', parse: positiveNumber },
  maskWaitSeconds: { env: 'MASK_WAIT_SECONDS', default: '300', parse: positiveNumber },
  endpointWaitSeconds: { env: 'ENDPOINT_WAIT_SECONDS', default: '1800', parse: positiveNumber },
  pollSeconds: { env: 'POLL_SECONDS', default: '5', parse: positiveNumber },
  pollMaxSeconds: { env: 'POLL_MAX_SECONDS', default: '60', parse: positiveNumber },
  eventFallbackSeconds: { env: 'EVENT_FALLBACK_SECONDS', default: '600', parse: positiveNumber },
  stalledStartSeconds: { env: 'STALLED_START_SECONDS', default: '120', parse: positiveNumber },
  eventBusName: {
    env: 'EVENT_BUS_NAME',
    default: 'default',
    parse: text(/^[A-Za-z0-9._\-/:]{1,256}$/, 'an event bus name or ARN'),
  },
  jobRetentionDays: { env: 'JOB_RETENTION_DAYS', default: '30', parse: positiveNumber },
  s3ForcePathStyle: { env: 'S3_FORCE_PATH_STYLE', default: 'false', parse: boolean },
} satisfies Record<keyof Config, Setting>;

interface Setting {
  env: string;
  default?: string;
  /** Unset leaves the setting undefined instead of being an error. */
  optional?: boolean;
  /** The parsed value, or a string that says what the setting accepts. */
  parse: (raw: string) => { value: unknown } | { expected: string };
}

function text(pattern: RegExp, expected: string) {
  return (raw: string) => (pattern.test(raw) ? { value: raw } : { expected });
}

function oneOf<T extends string>(values: readonly T[], is = (v: string): v is T => values.includes(v as T)) {
  return (raw: string) => (is(raw) ? { value: raw } : { expected: `one of ${values.join(', ')}` });
}

function boolean(raw: string) {
  return raw === 'true' || raw === 'false' ? { value: raw === 'true' } : { expected: 'true or false' };
}

function positiveNumber(raw: string) {
  const value = Number(raw);
  return raw.trim() !== '' && Number.isFinite(value) && value > 0
    ? { value }
    : { expected: 'a positive number' };
}

type Settings = typeof SETTINGS;
/** The settings that have a default. */
export type DefaultedSetting = {
  [K in keyof Settings]: Settings[K] extends { default: string } ? K : never;
}[keyof Settings];

/**
 * Every default, parsed as the environment's value would be: the one source of the defaults, for the
 * app definition (infra/app-definition.ts) as for a handler whose environment leaves a setting out.
 */
export const CONFIG_DEFAULTS = Object.freeze(
  Object.fromEntries(
    (Object.entries(SETTINGS) as [keyof Config, Setting][]).flatMap(([key, setting]) => {
      if (setting.default === undefined) return [];
      const parsed = setting.parse(setting.default);
      if ('expected' in parsed) throw new Error(`the default of ${setting.env} is not ${parsed.expected}`);
      return [[key, parsed.value]];
    }),
  ),
) as { readonly [K in DefaultedSetting]: Config[K] };

/** The environment variable names, for the CDK stack and the local runtimes that set them. */
export const CONFIG_ENV = Object.fromEntries(
  Object.entries(SETTINGS).map(([key, setting]) => [key, setting.env]),
) as { readonly [K in keyof Config]-?: string };

/** Parses settings from `env`; throws one ConfigError naming every bad or missing setting. */
export function parseConfig(env: Env): Config {
  const problems: string[] = [];
  const config: Record<string, unknown> = {};
  for (const [key, setting] of Object.entries(SETTINGS) as [keyof Config, Setting][]) {
    const raw = env[setting.env] ?? setting.default;
    if (raw === undefined || raw === '') {
      if (setting.optional) continue;
      problems.push(`${setting.env} is not set`);
      continue;
    }
    const parsed = setting.parse(raw);
    if ('expected' in parsed) problems.push(`${setting.env}='${raw}' is not ${parsed.expected}`);
    else config[key] = parsed.value;
  }
  if (config.pollMaxSeconds !== undefined && config.pollSeconds !== undefined) {
    if ((config.pollMaxSeconds as number) < (config.pollSeconds as number))
      problems.push('POLL_MAX_SECONDS must not be less than POLL_SECONDS');
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

/**
 * The SageMaker endpoint an orchestrator uses: always its own (`{name}-sf`, `{name}-ldf`), so neither
 * rides on the other's cold start and each endpoint is governed by one lifecycle item.
 */
export function endpointNameFor(config: Pick<Config, 'endpointName'>, orchestrator: Orchestrator): string {
  return `${config.endpointName}-${orchestrator}`;
}

/** The orchestrator of an orchestrator handler; a ConfigError naming ORCHESTRATOR when it is unset. */
export function orchestratorOf(config: Pick<Config, 'orchestrator'>): Orchestrator {
  if (config.orchestrator === undefined) {
    throw new ConfigError(
      `invalid configuration: ORCHESTRATOR is not set (one of ${ORCHESTRATORS.join(', ')})`,
    );
  }
  return config.orchestrator;
}

/** The environment that produces `config`, for launching handlers locally or from the CDK stack. */
export function configToEnv(config: Config): Record<string, string> {
  return Object.fromEntries(
    (Object.keys(SETTINGS) as (keyof Config)[])
      .filter((key) => config[key] !== undefined)
      .map((key): [string, string] => [CONFIG_ENV[key], String(config[key])]),
  );
}
