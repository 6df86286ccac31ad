// Deploying a function to the local Lambda: the name and alias checked, the environment every
// function gets (the local endpoints, fake static credentials, Lambda's own variables), its sandboxes
// started and probed to learn whether the export is durable, and the function registered.
import { availableParallelism } from 'node:os';
import { resolve as resolvePath } from 'node:path';
import { LOCAL_CREDENTIALS } from '../../shared/aws.ts';
import type { Clock } from '../common/clock.ts';
import { invalidParameter } from './errors.ts';
import {
  checkFunctionName,
  type DeployedFunction,
  type DurableSettings,
  type FunctionRegistry,
} from './functions.ts';
import { FunctionSandboxes } from './sandbox.ts';

export interface DeploySpec {
  name: string;
  /** The handler's module (TypeScript or JavaScript), relative to the working directory or absolute. */
  entry: string;
  /** The export that is the handler (default `handler`). */
  exportName?: string;
  environment?: Record<string, string>;
  /**
   * Durable settings. Left out, a module whose export is wrapped by withDurableExecution is deployed
   * durable with the defaults; given for a plain export, the deploy is refused.
   */
  durable?: Partial<DurableSettings>;
  /** An alias pointing at version 1 (durable functions are invoked by a qualified ARN). */
  alias?: string;
  /** Simulated seconds one invocation may run (default 900, Lambda's maximum). */
  timeoutSeconds?: number;
  memorySize?: number;
}

export interface DeployedRef {
  functionName: string;
  functionArn: string;
  versionArn: string;
  /** The alias ARN when there is an alias, else the version ARN: what a bus target invokes. */
  qualifiedArn: string;
  durable: boolean;
}

/** What a deploy needs from the service. */
export interface DeployContext {
  registry: FunctionRegistry;
  /** The service's own URL (AWS_ENDPOINT_URL_LAMBDA, so the durable SDK checkpoints here). */
  endpoint: string;
  region: string;
  /** Environment every function gets; its own settings win. */
  environment: Record<string, string> | undefined;
  maxConcurrency: number;
  clock: Clock;
  functionOutput: ((functionName: string, text: string) => void) | undefined;
  log: ((line: string) => void) | undefined;
}

export const DEFAULT_DURABLE: DurableSettings = { executionTimeoutSeconds: 86_400, retentionPeriodDays: 14 };
/** Sandboxes per function: twice the CPUs (each loads its own module graph, about 70 MiB). */
export const DEFAULT_SANDBOXES = Math.max(2, availableParallelism() * 2);
const DEFAULT_TIMEOUT_SECONDS = 900;

export async function deployFunction(spec: DeploySpec, ctx: DeployContext): Promise<DeployedRef> {
  checkFunctionName(spec.name);
  if (ctx.registry.get(spec.name)) throw invalidParameter(`Function already exist: ${spec.name}`);
  if (spec.alias !== undefined && !/^(?!^[0-9]+$)[a-zA-Z0-9-_]{1,128}$/.test(spec.alias)) {
    throw invalidParameter(
      `Alias '${spec.alias}' must be letters, digits, hyphens or underscores, not only digits.`,
    );
  }
  const arn = ctx.registry.functionArn(spec.name);
  const timeoutSeconds = spec.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
  const memorySize = spec.memorySize ?? 1024;
  const environment = {
    ...ctx.environment,
    AWS_ENDPOINT_URL_LAMBDA: ctx.endpoint,
    AWS_REGION: ctx.region,
    AWS_DEFAULT_REGION: ctx.region,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_LAMBDA_FUNCTION_NAME: spec.name,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memorySize),
    ...spec.environment,
  };
  const entry = resolvePath(spec.entry);
  const exportName = spec.exportName ?? 'handler';
  const output = ctx.functionOutput;
  const sandboxes = new FunctionSandboxes(
    { entry, exportName },
    environment,
    ctx.maxConcurrency,
    ctx.clock,
    output && ((text: string) => output(spec.name, text)),
  );
  let durableExport: boolean;
  try {
    durableExport = await sandboxes.probe();
  } catch (err) {
    await sandboxes.stop();
    throw invalidParameter(`Cannot load ${spec.name} from ${spec.entry}: ${(err as Error).message}`);
  }
  if (spec.durable && !durableExport) {
    await sandboxes.stop();
    throw invalidParameter(
      `${spec.entry}#${exportName} is not wrapped by withDurableExecution, so it cannot be durable.`,
    );
  }
  const durable = durableExport ? { ...DEFAULT_DURABLE, ...spec.durable } : undefined;
  if (durable && !(durable.executionTimeoutSeconds >= 1 && durable.executionTimeoutSeconds <= 31_622_400)) {
    await sandboxes.stop();
    throw invalidParameter('ExecutionTimeout must be between 1 and 31622400 seconds.');
  }
  const fn: DeployedFunction = {
    name: spec.name,
    arn,
    entry,
    exportName,
    version: '1',
    alias: spec.alias,
    durable,
    timeoutSeconds,
    memorySize,
    environment,
    sandboxes,
  };
  ctx.registry.add(fn);
  ctx.log?.(
    `lambda          ${spec.name}${durable ? ' (durable)' : ''}${spec.alias ? ` alias ${spec.alias}` : ''}  ${entry}#${exportName}`,
  );
  return {
    functionName: spec.name,
    functionArn: arn,
    versionArn: `${arn}:1`,
    qualifiedArn: spec.alias ? `${arn}:${spec.alias}` : `${arn}:1`,
    durable: durable !== undefined,
  };
}
