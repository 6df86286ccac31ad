// Every subcommand's options as typed objects, each value checked once here: a bad value is refused
// with the option named, the value given and what is allowed (a UsageError, exit 2), so the actions
// behind the command line only ever see valid options.
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { CONFIG_DEFAULTS, WAIT_MODES, type WaitMode } from '../shared/config.ts';
import { IMAGE_SUFFIX, inputImageKey } from '../shared/keys.ts';
import { DEFAULT_TIMINGS } from '../local/sagemaker/endpoints.ts';
import { DEFAULT_STACK_NAME } from '../infra/outputs.ts';
import { parseClockMode } from '../local/common/clock.ts';
import { DEFAULT_CLOCK } from '../local/cloud.ts';
import { SCENARIOS, type ScenarioName } from '../bench/scenario/scenarios.ts';
import { InputFileError, UsageError } from './exit.ts';

/** Where a command runs: the local cloud (started, or one running at `endpoints`) or a deployed stack. */
export type TargetOptions =
  | {
      kind: 'local';
      /** The JSON `npm run up -- --json` prints: a file, or `-` for stdin. Absent: start a local cloud. */
      endpoints?: string;
    }
  | {
      kind: 'aws';
      stack: string;
      /** Absent: the SDK's default chain (AWS_REGION, the profile's region). */
      region?: string;
    };

export interface UploadOptions {
  target: TargetOptions;
  /** A PNG file (checked: it exists and is a PNG). */
  imagePath: string;
  maskPath: string;
  /** Simulated seconds between the image's upload and the mask's. */
  maskDelaySeconds: number;
  userId: string;
  /** The upload's name: `users/{userId}/input/{name}_image.png`. */
  name: string;
  json: boolean;
}

export { SCENARIOS } from '../bench/scenario/scenarios.ts';
export type Scenario = ScenarioName;

interface BenchCommon {
  target: TargetOptions;
  /** The wait modes to run, in order; `--wait-mode both` is `['poll', 'event']`. */
  waitModes: WaitMode[];
  seed: number;
  /** The modelled SageMaker times (simulated seconds). */
  endpointStartSeconds: number;
  inferenceSeconds: number;
  /** Invocations one endpoint serves at once; the rest queue (FIFO). */
  endpointConcurrency: number;
  /** The idle window every configuration deploys (sweep: one per value of idleWindowsSeconds). */
  idleWindowSeconds: number;
  /** The clock of a local cloud the command starts (`skip`, `real`, `scale:N`). */
  clock: string;
  /** Where the report goes; absent: reports/<timestamp>/. */
  outDir?: string;
  json: boolean;
}

/** `bench`'s options; each scenario carries only the options it takes. */
export type BenchOptions = BenchCommon &
  (
    | { scenario: 'cold' | 'flips' }
    | { scenario: 'default' | 'warm' | 'burst'; jobs: number }
    | { scenario: 'stream'; arrivalsPerHour: number; durationSeconds: number }
    | {
        scenario: 'sweep';
        arrivalsPerHour: number;
        durationSeconds: number;
        idleWindowsSeconds: number[];
        fallbacksSeconds: number[];
      }
  );

export interface StatusOptions {
  target: TargetOptions;
  jobId?: string;
  userId?: string;
  /** The most uploads shown (newest first). */
  limit: number;
  json: boolean;
}

export interface CheckOptions {
  target: TargetOptions;
  /** Seconds past the idle window before a serving endpoint counts as forgotten. */
  marginSeconds: number;
  json: boolean;
}

export interface DashboardOptions {
  target: TargetOptions;
  /** The loopback port to serve on; absent: a free one. */
  port?: number;
  json: boolean;
}

/** Defaults of `bench`, shown in its --help. */
export const BENCH_DEFAULTS = {
  waitMode: 'both',
  seed: 1,
  jobs: { default: 4, warm: 1, burst: 100 },
  arrivalsPerHour: 60,
  durationSeconds: 3600,
  endpointStartSeconds: DEFAULT_TIMINGS.createSeconds,
  inferenceSeconds: 30,
  endpointConcurrency: 1,
  idleWindowSeconds: CONFIG_DEFAULTS.idleWindowSeconds,
  clock: DEFAULT_CLOCK,
  fallbackSeconds: CONFIG_DEFAULTS.eventFallbackSeconds,
  idleWindowsSeconds: [60, 300, 600, 1800],
  fallbacksSeconds: [60, 300, 600],
} as const;

export const UPLOAD_DEFAULTS = { maskDelaySeconds: 0, userId: 'cli' } as const;
export const STATUS_DEFAULTS = { limit: 20 } as const;
export const CHECK_DEFAULTS = { marginSeconds: 60 } as const;
export const WAIT_MODE_CHOICES = [...WAIT_MODES, 'both'] as const;
export const TARGETS = ['local', 'aws'] as const;

const MAX_JOBS = 100_000;
const MAX_SECONDS = 30 * 24 * 3600;

interface NumberRule {
  integer?: boolean;
  min: number;
  /** The minimum itself is not allowed. */
  above?: boolean;
  max: number;
}

function describeRule(rule: NumberRule): string {
  const kind = rule.integer ? 'a whole number' : 'a number';
  return rule.above
    ? `${kind} above ${rule.min} and at most ${rule.max}`
    : `${kind} from ${rule.min} to ${rule.max}`;
}

/** `text` as a number within `rule`, or a UsageError naming `option`, the value and the rule. */
export function parseNumber(option: string, text: string, rule: NumberRule): number {
  const value = /^\s*$/.test(text) ? Number.NaN : Number(text);
  const ok =
    Number.isFinite(value) &&
    (!rule.integer || Number.isInteger(value)) &&
    (rule.above ? value > rule.min : value >= rule.min) &&
    value <= rule.max;
  if (!ok) throw new UsageError(`${option}: '${text}' is not allowed; expected ${describeRule(rule)}`);
  return value;
}

/** A comma-separated list of distinct numbers within `rule`. */
export function parseNumberList(option: string, text: string, rule: NumberRule): number[] {
  const items = text.split(',').map((s) => s.trim());
  if (items.some((s) => s === ''))
    throw new UsageError(
      `${option}: '${text}' is not allowed; expected a comma-separated list, e.g. 60,300,600`,
    );
  const values = items.map((s) => parseNumber(option, s, rule));
  const repeated = values.find((v, i) => values.indexOf(v) !== i);
  if (repeated !== undefined) throw new UsageError(`${option}: '${text}' lists ${repeated} twice`);
  return values;
}

/** What commander hands an action: option values as given (strings, booleans) and which were given. */
export interface RawOptions {
  values: Record<string, unknown>;
  /** True when the user gave the option (not its default). */
  given(option: string): boolean;
}

function str(raw: RawOptions, key: string): string | undefined {
  const v = raw.values[key];
  return typeof v === 'string' ? v : undefined;
}

export function parseTargetOptions(raw: RawOptions): TargetOptions {
  const target = str(raw, 'target') ?? 'local';
  if (target === 'local') {
    for (const [key, flag] of [
      ['stack', '--stack'],
      ['region', '--region'],
    ] as const) {
      if (raw.given(key)) throw new UsageError(`${flag} applies to --target aws only`);
    }
    const endpoints = str(raw, 'endpoints');
    return endpoints === undefined ? { kind: 'local' } : { kind: 'local', endpoints };
  }
  if (target !== 'aws') throw new UsageError(`--target: '${target}' is not allowed; expected local or aws`);
  if (raw.given('endpoints'))
    throw new UsageError('--endpoints applies to --target local only (a running local cloud)');
  const stack = str(raw, 'stack') ?? DEFAULT_STACK_NAME;
  // CloudFormation's own rule for a stack name.
  if (!/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(stack))
    throw new UsageError(
      `--stack: '${stack}' is not allowed; expected a CloudFormation stack name (a letter, then letters, digits or '-', at most 128)`,
    );
  const region = str(raw, 'region');
  if (region !== undefined && !/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region))
    throw new UsageError(`--region: '${region}' is not allowed; expected an AWS region such as us-east-1`);
  return region === undefined ? { kind: 'aws', stack } : { kind: 'aws', stack, region };
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Refuses (exit 3) a path that is not a readable PNG file, naming the argument and the path. */
export function checkPngFile(what: string, file: string): string {
  let head: Buffer;
  try {
    if (!statSync(file).isFile()) throw new Error('not a regular file');
    const fd = openSync(file, 'r');
    try {
      head = Buffer.alloc(PNG_SIGNATURE.length);
      head = head.subarray(0, readSync(fd, head, 0, head.length, 0));
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    throw new InputFileError(
      `${what} '${file}' cannot be read (${(e as Error).message}); give the path of a PNG file`,
    );
  }
  if (!head.equals(PNG_SIGNATURE))
    throw new InputFileError(
      `${what} '${file}' is not a PNG file; uploads are PNG (\`npm run samples\` writes some to samples/)`,
    );
  return file;
}

/** `chair_image.png` → `chair`; `photo.png` → `photo`. */
function nameFromImage(imagePath: string): string {
  const base = path.basename(imagePath);
  if (base.endsWith(IMAGE_SUFFIX)) return base.slice(0, -IMAGE_SUFFIX.length);
  return base.replace(/\.png$/i, '');
}

function checkSegments(userId: string, name: string, nameOption: string): void {
  try {
    inputImageKey(userId, 'x');
  } catch (e) {
    throw new UsageError(`--user: ${(e as Error).message}`);
  }
  try {
    inputImageKey(userId, name);
  } catch (e) {
    throw new UsageError(`${nameOption}: ${(e as Error).message}`);
  }
}

export function parseUploadOptions(image: string, mask: string, raw: RawOptions): UploadOptions {
  const target = parseTargetOptions(raw);
  const maskDelay = str(raw, 'maskDelay');
  const maskDelaySeconds =
    maskDelay === undefined
      ? UPLOAD_DEFAULTS.maskDelaySeconds
      : parseNumber('--mask-delay', maskDelay, { min: 0, max: MAX_SECONDS });
  const userId = str(raw, 'user') ?? UPLOAD_DEFAULTS.userId;
  const givenName = str(raw, 'name');
  const name = givenName ?? nameFromImage(image);
  checkSegments(
    userId,
    name,
    givenName === undefined ? `the name taken from '${image}' (pass --name)` : '--name',
  );
  return {
    target,
    imagePath: checkPngFile('the image', image),
    maskPath: checkPngFile('the mask', mask),
    maskDelaySeconds,
    userId,
    name,
    json: raw.values.json === true,
  };
}

const SCENARIO_OPTIONS: Record<string, { flag: string; scenarios: readonly Scenario[] }> = {
  jobs: { flag: '--jobs', scenarios: ['default', 'warm', 'burst'] },
  idleWindow: { flag: '--idle-window', scenarios: ['default', 'cold', 'warm', 'burst', 'stream'] },
  endpointStart: {
    flag: '--endpoint-start',
    scenarios: ['default', 'cold', 'warm', 'burst', 'stream', 'sweep'],
  },
  rate: { flag: '--rate', scenarios: ['stream', 'sweep'] },
  duration: { flag: '--duration', scenarios: ['stream', 'sweep'] },
  idleWindows: { flag: '--idle-windows', scenarios: ['sweep'] },
  fallbacks: { flag: '--fallbacks', scenarios: ['sweep'] },
};

/** `--clock`, checked as the local cloud reads it. */
function parseClock(text: string): string {
  try {
    parseClockMode(text);
  } catch (err) {
    throw new UsageError(`--clock: ${(err as Error).message}`);
  }
  return text;
}

export function parseBenchOptions(raw: RawOptions): BenchOptions {
  const target = parseTargetOptions(raw);
  const scenario = str(raw, 'scenario');
  if (scenario === undefined) throw new UsageError(`--scenario is required: one of ${SCENARIOS.join(', ')}`);
  if (!(SCENARIOS as readonly string[]).includes(scenario))
    throw new UsageError(`--scenario: '${scenario}' is not allowed; expected one of ${SCENARIOS.join(', ')}`);
  const s = scenario as Scenario;
  for (const [key, { flag, scenarios }] of Object.entries(SCENARIO_OPTIONS)) {
    if (raw.given(key) && !scenarios.includes(s))
      throw new UsageError(`${flag} applies to --scenario ${scenarios.join(' or ')}, not ${s}`);
  }
  const waitMode = str(raw, 'waitMode') ?? BENCH_DEFAULTS.waitMode;
  if (!(WAIT_MODE_CHOICES as readonly string[]).includes(waitMode))
    throw new UsageError(
      `--wait-mode: '${waitMode}' is not allowed; expected one of ${WAIT_MODE_CHOICES.join(', ')}`,
    );
  const num = (key: string, flag: string, fallback: number, rule: NumberRule): number => {
    const text = str(raw, key);
    return text === undefined ? fallback : parseNumber(flag, text, rule);
  };
  const list = (key: string, flag: string, fallback: readonly number[], rule: NumberRule): number[] => {
    const text = str(raw, key);
    return text === undefined ? [...fallback] : parseNumberList(flag, text, rule);
  };
  const outDir = str(raw, 'out');
  const common: BenchCommon = {
    target,
    waitModes: waitMode === 'both' ? [...WAIT_MODES] : [waitMode as WaitMode],
    seed: num('seed', '--seed', BENCH_DEFAULTS.seed, { integer: true, min: 0, max: 2 ** 32 - 1 }),
    endpointStartSeconds: num('endpointStart', '--endpoint-start', BENCH_DEFAULTS.endpointStartSeconds, {
      min: 0,
      max: MAX_SECONDS,
    }),
    inferenceSeconds: num('inferenceSeconds', '--inference-seconds', BENCH_DEFAULTS.inferenceSeconds, {
      min: 0,
      above: true,
      max: MAX_SECONDS,
    }),
    endpointConcurrency: num(
      'endpointConcurrency',
      '--endpoint-concurrency',
      BENCH_DEFAULTS.endpointConcurrency,
      { integer: true, min: 1, max: 1000 },
    ),
    idleWindowSeconds: num('idleWindow', '--idle-window', BENCH_DEFAULTS.idleWindowSeconds, {
      min: 0,
      above: true,
      max: MAX_SECONDS,
    }),
    clock: parseClock(str(raw, 'clock') ?? BENCH_DEFAULTS.clock),
    ...(outDir === undefined ? {} : { outDir }),
    json: raw.values.json === true,
  };
  switch (s) {
    case 'cold':
    case 'flips':
      return { ...common, scenario: s };
    case 'default':
    case 'warm':
    case 'burst':
      return {
        ...common,
        scenario: s,
        jobs: num('jobs', '--jobs', BENCH_DEFAULTS.jobs[s], { integer: true, min: 1, max: MAX_JOBS }),
      };
    case 'stream':
    case 'sweep': {
      const arrivals = {
        arrivalsPerHour: num('rate', '--rate', BENCH_DEFAULTS.arrivalsPerHour, {
          min: 0,
          above: true,
          max: 1_000_000,
        }),
        durationSeconds: num('duration', '--duration', BENCH_DEFAULTS.durationSeconds, {
          min: 0,
          above: true,
          max: MAX_SECONDS,
        }),
      };
      if (s === 'stream') return { ...common, scenario: s, ...arrivals };
      return {
        ...common,
        scenario: s,
        ...arrivals,
        idleWindowsSeconds: list('idleWindows', '--idle-windows', BENCH_DEFAULTS.idleWindowsSeconds, {
          integer: true,
          min: 0,
          max: MAX_SECONDS,
        }),
        fallbacksSeconds: list('fallbacks', '--fallbacks', BENCH_DEFAULTS.fallbacksSeconds, {
          integer: true,
          min: 1,
          max: MAX_SECONDS,
        }),
      };
    }
  }
}

export function parseStatusOptions(raw: RawOptions): StatusOptions {
  const target = parseTargetOptions(raw);
  const jobId = str(raw, 'job');
  if (jobId !== undefined && !/^[0-9a-f]{1,32}$/.test(jobId))
    throw new UsageError(
      `--job: '${jobId}' is not allowed; expected a job id (up to 32 hex digits, as status lists them)`,
    );
  const userId = str(raw, 'user');
  if (userId !== undefined) checkSegments(userId, 'x', '--user');
  const limitText = str(raw, 'limit');
  return {
    target,
    ...(jobId === undefined ? {} : { jobId }),
    ...(userId === undefined ? {} : { userId }),
    limit:
      limitText === undefined
        ? STATUS_DEFAULTS.limit
        : parseNumber('--limit', limitText, { integer: true, min: 1, max: 10_000 }),
    json: raw.values.json === true,
  };
}

export function parseCheckOptions(raw: RawOptions): CheckOptions {
  const target = parseTargetOptions(raw);
  const margin = str(raw, 'margin');
  return {
    target,
    marginSeconds:
      margin === undefined
        ? CHECK_DEFAULTS.marginSeconds
        : parseNumber('--margin', margin, { min: 0, max: 86_400 }),
    json: raw.values.json === true,
  };
}

export function parseDashboardOptions(raw: RawOptions): DashboardOptions {
  const target = parseTargetOptions(raw);
  const port = str(raw, 'port');
  return {
    target,
    ...(port === undefined
      ? {}
      : { port: parseNumber('--port', port, { integer: true, min: 0, max: 65535 }) }),
    json: raw.values.json === true,
  };
}
