// The command line's target options → a Target (bench/collect/target.ts): a running local cloud from
// the JSON `npm run up -- --json` prints, or a deployed stack from its CloudFormation outputs. Only the
// endpoints, the credentials, the names and the clock differ; every collector then runs the same code.
import { readFileSync } from 'node:fs';
import { setTimeout as sleepFor } from 'node:timers/promises';
import {
  CloudFormationClient,
  DescribeStacksCommand,
  type CloudFormationClientConfig,
  type Stack,
} from '@aws-sdk/client-cloudformation';
import type { Target, TargetService } from '../bench/collect/target.ts';
import type { LocalCloudDescription } from '../local/cloud.ts';
import { LOCAL_ACCOUNT_ID } from '../local/common/account.ts';
import { DASHBOARD_NAME, DEFAULT_ENDPOINT_NAME } from '../local/deploy-app.ts';
import { FUNCTIONS, STATE_MACHINE } from '../infra/app-definition.ts';
import { STACK_OUTPUTS } from '../infra/outputs.ts';
import { localClientConfig } from '../shared/aws.ts';
import { endpointNameFor } from '../shared/config.ts';
import { InputFileError, TargetUnreachableError, UsageError } from './exit.ts';
import type { TargetOptions } from './options.ts';

const START_ONE = 'start one with `npm run up -- --json > cloud.json` and pass --endpoints cloud.json';
const DEPLOY = 'deploy it with `npx cdk deploy` (see the top README, Deployment)';

/** The description's service endpoints, by the names Target.clientConfig takes. */
export const SERVICE_FIELDS: readonly TargetService[] = [
  'dynamodb',
  's3',
  'eventbridge',
  'sagemaker',
  'sagemakerRuntime',
  'lambda',
  'stepfunctions',
  'cloudwatch',
];
const NAME_FIELDS = ['region', 'tableName', 'bucket', 'eventBusName'] as const;

/**
 * Reads and checks a local cloud's description (`npm run up -- --json`'s output) from a file, or from
 * stdin when `source` is `-`. A missing, unreadable or invalid one is an InputFileError naming the fix.
 */
export function readEndpoints(
  source: string,
  readStdin: () => string = () => readFileSync(0, 'utf8'),
): LocalCloudDescription {
  const where = source === '-' ? 'the endpoints on stdin' : `the endpoints file '${source}'`;
  let text: string;
  try {
    text = source === '-' ? readStdin() : readFileSync(source, 'utf8');
  } catch (e) {
    throw new InputFileError(`${where} cannot be read (${(e as Error).message}); ${START_ONE}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new InputFileError(
      `${where} is not JSON; it is the one line \`npm run up -- --json\` prints: ${START_ONE}`,
    );
  }
  return checkDescription(parsed, where);
}

export function checkDescription(value: unknown, where = 'the endpoints'): LocalCloudDescription {
  const problems: string[] = [];
  const record = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    problems.push('it is not a JSON object');
  for (const field of NAME_FIELDS) {
    if (typeof record[field] !== 'string' || record[field] === '')
      problems.push(`"${field}" must be a non-empty string`);
  }
  for (const field of SERVICE_FIELDS) {
    const url = record[field];
    // Nothing beyond loopback: a description pointing elsewhere is not the local cloud's.
    if (typeof url !== 'string' || !/^http:\/\/(127\.0\.0\.1|localhost|\[::1\]):\d+\/?$/.test(url))
      problems.push(
        `"${field}" must be a loopback URL such as http://127.0.0.1:4566, got ${JSON.stringify(url)}`,
      );
  }
  const scale = record.timeScale;
  if (typeof scale !== 'number' || !Number.isFinite(scale) || scale <= 0)
    problems.push(`"timeScale" must be a positive number, got ${JSON.stringify(scale)}`);
  if (problems.length > 0)
    throw new InputFileError(
      `${where} is not a local cloud's description: ${problems.join('; ')}. ${START_ONE}`,
    );
  return record as unknown as LocalCloudDescription;
}

/** The ARN the local Step Functions gives the app's state machine (local/stepfunctions/service.ts). */
export function localStateMachineArn(region: string): string {
  return `arn:aws:states:${region}:${LOCAL_ACCOUNT_ID}:stateMachine:${STATE_MACHINE}`;
}

/**
 * A running local cloud's clock, seen from another process: its timestamps are simulated
 * milliseconds (they read the cloud's clock); on `scale:N` its time runs N times real time. From
 * outside, `now` and `sleep` are real time scaled (a skip clock's jumps cannot be seen from here).
 */
function scaleClock(factor: number): Pick<Target, 'clock' | 'now' | 'simulatedSeconds' | 'sleep' | 'busy'> {
  return {
    clock: { kind: 'scale', factor },
    now: () => Date.now(),
    simulatedSeconds: (ms) => ms / 1000,
    sleep: (seconds, signal) =>
      sleepFor((seconds * 1000) / factor, undefined, signal === undefined ? {} : { signal }),
    busy: (work) => work(),
  };
}

const realClock: Pick<Target, 'clock' | 'now' | 'simulatedSeconds' | 'sleep' | 'busy'> = {
  clock: { kind: 'real' },
  now: () => Date.now(),
  simulatedSeconds: (ms) => ms / 1000,
  sleep: (seconds, signal) => sleepFor(seconds * 1000, undefined, signal === undefined ? {} : { signal }),
  busy: (work) => work(),
};

/**
 * A running local cloud's skip clock, through its clock endpoint (local/common/clock-server.ts): its
 * jumps cannot be seen from here, so `now` is real time plus what it had skipped at the last answer
 * (each sleep and each piece of work refreshes it), `sleep` is a timer on the cloud's clock, and
 * `busy` holds a request open so the clock cannot jump while this client works.
 */
function endpointClock(
  url: string,
  skippedAtStart: number,
): Pick<Target, 'clock' | 'now' | 'simulatedSeconds' | 'sleep' | 'busy'> {
  let offset = skippedAtStart;
  const heard = (now: unknown): void => {
    if (typeof now === 'number') offset = now - Date.now();
  };
  return {
    clock: { kind: 'skip' },
    now: () => Date.now() + offset,
    simulatedSeconds: (ms) => ms / 1000,
    sleep: async (seconds, signal) => {
      const res = await fetch(`${url}/sleep?seconds=${seconds}`, signal === undefined ? {} : { signal });
      heard(((await res.json()) as { now?: unknown }).now);
    },
    busy: async (work) => {
      const held = new AbortController();
      const res = await fetch(`${url}/busy`, { signal: held.signal });
      const reader = res.body!.getReader();
      const first = await reader.read();
      heard((JSON.parse(Buffer.from(first.value ?? []).toString('utf8') || '{}') as { now?: unknown }).now);
      try {
        return await work();
      } finally {
        held.abort();
        await reader.cancel().catch(() => undefined);
      }
    },
  };
}

/** The clock offset of a running local cloud (simulated minus real ms), read from its clock endpoint. */
export async function readClockOffset(description: LocalCloudDescription): Promise<number> {
  if (description.clockEndpoint === undefined) return 0;
  try {
    const res = await fetch(description.clockEndpoint);
    const { now } = (await res.json()) as { now?: unknown };
    return typeof now === 'number' ? now - Date.now() : 0;
  } catch (err) {
    throw new TargetUnreachableError(
      `the local cloud's clock at ${description.clockEndpoint} did not answer (${(err as Error).message}): ${START_ONE}`,
    );
  }
}

/**
 * A running local cloud, from its description; closing it leaves the cloud running (it is not ours).
 * `clockOffset`: simulated minus real ms of a skip clock now (readClockOffset).
 */
export function targetFromDescription(description: LocalCloudDescription, clockOffset = 0): Target {
  return {
    kind: 'local',
    region: description.region,
    tableName: description.tableName,
    bucket: description.bucket,
    stateMachineArn: localStateMachineArn(description.region),
    durableFunctionName: FUNCTIONS.durable,
    dashboardName: DASHBOARD_NAME,
    endpointNames: {
      sf: endpointNameFor({ endpointName: DEFAULT_ENDPOINT_NAME }, 'sf'),
      ldf: endpointNameFor({ endpointName: DEFAULT_ENDPOINT_NAME }, 'ldf'),
    },
    ...(description.clock === 'skip' && description.clockEndpoint !== undefined
      ? endpointClock(description.clockEndpoint, clockOffset)
      : scaleClock(description.timeScale)),
    clientConfig: (service) => localClientConfig(description[service], description.region),
    close: () => Promise.resolve(),
  };
}

/** A stack status whose resources are all there. */
function usable(status: string | undefined): boolean {
  return status !== undefined && /_COMPLETE$/.test(status) && !/^(DELETE|ROLLBACK)_COMPLETE$/.test(status);
}

/** A deployed stack's Target, from its outputs. `client` overrides the CloudFormation client's settings (tests). */
export async function awsTarget(
  options: { stack: string; region?: string },
  client: Partial<CloudFormationClientConfig> = {},
): Promise<Target> {
  const cloudFormation = new CloudFormationClient({
    ...(options.region === undefined ? {} : { region: options.region }),
    ...client,
  });
  let region: string;
  let stack: Stack | undefined;
  try {
    try {
      region = await cloudFormation.config.region();
    } catch {
      throw new UsageError(
        '--target aws needs a region: pass --region R or set AWS_REGION (or a profile region)',
      );
    }
    try {
      const out = await cloudFormation.send(new DescribeStacksCommand({ StackName: options.stack }));
      stack = out.Stacks?.[0];
    } catch (e) {
      const err = e as Error;
      if (err.name === 'ValidationError' && /does not exist/.test(err.message))
        throw new TargetUnreachableError(`stack '${options.stack}' does not exist in ${region}: ${DEPLOY}`);
      if (err.name === 'Error' && /Region is missing/.test(err.message))
        throw new UsageError('--target aws needs a region: pass --region R or set AWS_REGION');
      throw new TargetUnreachableError(
        `could not read stack '${options.stack}' in ${region} (${err.name}: ${err.message}); check the AWS credentials (\`aws sts get-caller-identity\`)`,
      );
    }
  } finally {
    cloudFormation.destroy();
  }
  if (stack === undefined)
    throw new TargetUnreachableError(`stack '${options.stack}' does not exist in ${region}: ${DEPLOY}`);
  if (!usable(stack.StackStatus))
    throw new TargetUnreachableError(
      `stack '${options.stack}' in ${region} is ${stack.StackStatus ?? 'in no status'}, not deployed: ${DEPLOY}`,
    );
  const outputs = new Map((stack.Outputs ?? []).map((o) => [o.OutputKey, o.OutputValue]));
  const missing = Object.values(STACK_OUTPUTS).filter((key) => !outputs.get(key));
  if (missing.length > 0)
    throw new TargetUnreachableError(
      `stack '${options.stack}' in ${region} has no output ${missing.join(', ')} (deployed by an older version?): ${DEPLOY}`,
    );
  const output = (key: string): string => outputs.get(key)!;
  return {
    kind: 'aws',
    region,
    tableName: output(STACK_OUTPUTS.tableName),
    bucket: output(STACK_OUTPUTS.bucket),
    stateMachineArn: output(STACK_OUTPUTS.stateMachineArn),
    durableFunctionName: output(STACK_OUTPUTS.durableFunctionName),
    dashboardName: output(STACK_OUTPUTS.dashboardName),
    endpointNames: { sf: output(STACK_OUTPUTS.endpointNameSf), ldf: output(STACK_OUTPUTS.endpointNameLdf) },
    ...realClock,
    // The SDK's defaults: credentials from the caller's chain, AWS's own endpoints.
    clientConfig: () => ({ region }),
    close: () => Promise.resolve(),
  };
}

export interface ResolveHooks {
  /** Starts a local cloud with the app deployed (the scenario runner's); needed for `--target local` without --endpoints. */
  startLocal?: () => Promise<Target>;
  readStdin?: () => string;
  /** Settings for the CloudFormation client (tests point it at a recorded response). */
  cloudFormation?: Partial<CloudFormationClientConfig>;
}

/** The Target the options name. */
export async function resolveTarget(options: TargetOptions, hooks: ResolveHooks = {}): Promise<Target> {
  if (options.kind === 'aws') return awsTarget(options, hooks.cloudFormation);
  if (options.endpoints !== undefined) {
    const description = readEndpoints(options.endpoints, hooks.readStdin);
    return targetFromDescription(description, await readClockOffset(description));
  }
  if (hooks.startLocal === undefined)
    throw new UsageError(`this command reads a running local cloud: ${START_ONE}, or use --target aws`);
  return hooks.startLocal();
}

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENOTFOUND', 'ETIMEDOUT']);

/**
 * `err` as a TargetUnreachableError when it says the service did not answer (connection refused: the
 * local cloud is gone), else `err` itself.
 */
export function whenUnreachable(err: unknown, target: Target, service: TargetService): unknown {
  const code =
    (err as { code?: string; cause?: { code?: string } }).code ??
    (err as { cause?: { code?: string } }).cause?.code;
  if (code === undefined || !UNREACHABLE_CODES.has(code)) return err;
  const where = target.clientConfig(service).endpoint ?? `${service} in ${target.region}`;
  return new TargetUnreachableError(
    `${service} at ${where} did not answer (${code}): ${target.kind === 'local' ? `is the local cloud still running? ${START_ONE}` : 'check the network and the region'}`,
  );
}
