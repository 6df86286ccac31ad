// The stack's settings, read from CDK context (`cdk.json`, or `-c key=value` on the command line) with
// defaults, and checked before anything is built: a bad value stops the synth with its key, what it
// accepts and how to set it, instead of surfacing as a failed deployment an hour later.
import { ProductionVariantInstanceType } from '@aws-sdk/client-sagemaker';
import { CONFIG_DEFAULTS, isWaitMode, WAIT_MODES, type WaitMode } from '../shared/config.ts';
import { RECONCILE_INTERVAL_MINUTES } from './app-definition.ts';

export interface StackSettings {
  /** Base SageMaker endpoint name; the orchestrators use `{name}-sf` and `{name}-ldf`. */
  endpointName: string;
  instanceType: ProductionVariantInstanceType;
  waitMode: WaitMode;
  idleWindowSeconds: number;
  maskWaitSeconds: number;
  endpointWaitSeconds: number;
  pollSeconds: number;
  pollMaxSeconds: number;
  eventFallbackSeconds: number;
  leaseTtlSeconds: number;
  /** Minutes between the job reconciler's runs (infra/app-definition.ts RECONCILE_INTERVAL_MINUTES). */
  reconcileIntervalMinutes: number;
  /** Days the functions' and the state machine's logs are kept. */
  logRetentionDays: number;
  /** Days an object under `users/` (inputs and results) is kept in the uploads bucket. */
  objectRetentionDays: number;
}

interface Setting {
  default: string | number;
  /** The parsed value, or what the setting accepts. */
  parse: (raw: unknown) => { value: string | number } | { expected: string };
}

const positive = (raw: unknown) => {
  const value = typeof raw === 'number' ? raw : Number(raw);
  return Number.isFinite(value) && value > 0 && String(raw).trim() !== ''
    ? { value }
    : { expected: 'a positive number' };
};
const wholeDays = (raw: unknown) => {
  const value = Number(raw);
  return Number.isInteger(value) && value > 0 ? { value } : { expected: 'a whole number of days' };
};
const matching = (pattern: RegExp, expected: string) => (raw: unknown) =>
  typeof raw === 'string' && pattern.test(raw) ? { value: raw } : { expected };

/** The retention periods CloudWatch Logs accepts. */
const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

/** Context key → default and parser. The keys are the StackSettings fields. */
export const SETTINGS: Record<keyof StackSettings, Setting> = {
  endpointName: {
    default: 'reconstruct-3d',
    // SageMaker allows 63 characters and the orchestrators append '-ldf'.
    parse: matching(
      /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,58}$/,
      'a SageMaker endpoint name of at most 59 characters',
    ),
  },
  instanceType: {
    default: 'ml.g5.xlarge',
    parse: (raw) =>
      (Object.values(ProductionVariantInstanceType) as unknown[]).includes(raw)
        ? { value: raw as string }
        : { expected: 'a SageMaker real-time inference instance type such as ml.g5.xlarge' },
  },
  waitMode: {
    default: 'poll',
    parse: (raw) => (isWaitMode(raw) ? { value: raw } : { expected: `one of ${WAIT_MODES.join(', ')}` }),
  },
  idleWindowSeconds: { default: 600, parse: positive },
  maskWaitSeconds: { default: 300, parse: positive },
  endpointWaitSeconds: { default: 1800, parse: positive },
  pollSeconds: { default: 5, parse: positive },
  pollMaxSeconds: { default: 60, parse: positive },
  eventFallbackSeconds: { default: CONFIG_DEFAULTS.eventFallbackSeconds, parse: positive },
  leaseTtlSeconds: { default: 1800, parse: positive },
  reconcileIntervalMinutes: {
    default: RECONCILE_INTERVAL_MINUTES,
    parse: (raw) => {
      const value = Number(raw);
      return Number.isInteger(value) && value >= 1
        ? { value }
        : { expected: 'a whole number of minutes >= 1' };
    },
  },
  logRetentionDays: {
    default: 30,
    parse: (raw) =>
      LOG_RETENTION_DAYS.includes(Number(raw))
        ? { value: Number(raw) }
        : { expected: `one of CloudWatch Logs' retention periods: ${LOG_RETENTION_DAYS.join(', ')} days` },
  },
  objectRetentionDays: { default: 30, parse: wholeDays },
};

/** Reads every setting through `context` (CDK's `node.tryGetContext`); throws one error naming each bad one. */
export function readSettings(context: (key: string) => unknown): StackSettings {
  const problems: string[] = [];
  const settings: Record<string, string | number> = {};
  for (const [key, setting] of Object.entries(SETTINGS)) {
    const raw = context(key) ?? setting.default;
    const parsed = setting.parse(raw);
    if ('expected' in parsed) problems.push(`${key}=${JSON.stringify(raw)} is not ${parsed.expected}`);
    else settings[key] = parsed.value;
  }
  if (Number(settings.pollMaxSeconds) < Number(settings.pollSeconds)) {
    problems.push('pollMaxSeconds must not be less than pollSeconds');
  }
  if (problems.length > 0) {
    throw new Error(
      `invalid stack settings: ${problems.join('; ')} (set them in cdk.json "context" or with -c key=value)`,
    );
  }
  return settings as unknown as StackSettings;
}
