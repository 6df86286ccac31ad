// The local Lambda service: deploys functions into worker-thread sandboxes, invokes them (plain and
// durable), keeps durable executions and answers Lambda's HTTP API (see http-api.ts) so that the real
// durable SDK, @aws-sdk/client-lambda and the AWS CLI all talk to it as to Lambda.
import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { resolve as resolvePath } from 'node:path';
import type { ErrorObject } from '@aws-sdk/client-lambda';
import { LOCAL_CREDENTIALS } from '../../shared/aws.ts';
import type { TimeScale } from '../common/time-scale.ts';
import type { TargetHandler } from '../eventbridge/event-bus.ts';
import { closeServer, listenOnLoopback } from '../common/http-server.ts';
import { LOCAL_ACCOUNT_ID } from '../common/account.ts';
import { alreadyStarted, invalidParameter, LambdaError, notFound, requestTooLarge } from './errors.ts';
import { DurableExecution, type ChainedResult, type ExecutionHost } from './execution.ts';
import {
  checkFunctionName,
  FunctionRegistry,
  type DeployedFunction,
  type DurableSettings,
  type ResolvedFunction,
} from './functions.ts';
import { createLambdaApi } from './http-api.ts';
import { ExecutionReplay, type CheckpointTarget, type ReplayReport } from './replay.ts';
import { FunctionSandboxes, type InvocationOutcome, type RunningInvocation } from './sandbox.ts';

export const INVOKE_PAYLOAD_LIMIT = { RequestResponse: 6 * 1024 * 1024, Event: 1024 * 1024 } as const;
export const CALLBACK_RESULT_LIMIT = 256 * 1024;
/** SDK 2.4.0 recognises only this spelling as a retryable stale token (research/durable-wire.md §5). */
export const SDK_STALE_TOKEN_MESSAGE = 'Invalid Checkpoint Token';
/** The spelling the real service sends. */
export const AWS_STALE_TOKEN_MESSAGE = 'Invalid checkpoint token';

export interface LocalLambdaOptions {
  region: string;
  account?: string;
  timeScale: TimeScale;
  /** Environment every function gets (the other local services' endpoints); its own settings win. */
  environment?: Record<string, string>;
  staleTokenMessage?: string;
  /** Operations per durable invocation event before the SDK must page (default 1000). */
  eventPageSize?: number;
  /**
   * Sandboxes (worker threads) one function may run at once; more invocations queue. Default: twice
   * the CPUs (each sandbox loads its own module graph, about 70 MiB with the SDK and tsx).
   */
  maxConcurrency?: number;
  log?: (line: string) => void;
  /** Where functions' console output goes, by function; default this process's stdout and stderr. */
  functionOutput?: (functionName: string, text: string) => void;
}

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

export type InvocationType = 'RequestResponse' | 'Event' | 'DryRun';

export interface InvokeRequest {
  functionName: string;
  qualifier?: string;
  payload?: string;
  invocationType?: InvocationType;
  durableExecutionName?: string;
}

export interface InvokeResult {
  statusCode: number;
  payload: string;
  functionError?: 'Unhandled';
  executedVersion: string;
  durableExecutionArn?: string;
}

export const DEFAULT_DURABLE: DurableSettings = { executionTimeoutSeconds: 86_400, retentionPeriodDays: 14 };
const DEFAULT_TIMEOUT_SECONDS = 900;
const DEFAULT_SANDBOXES = Math.max(2, availableParallelism() * 2);
const EXECUTION_NAME = /^[a-zA-Z0-9-_]{1,64}$/;

export class LocalLambda {
  readonly registry: FunctionRegistry;
  private readonly executions = new Map<string, DurableExecution>();
  private readonly byName = new Map<string, DurableExecution>();
  private readonly callbacks = new Map<string, { execution: DurableExecution; operationId: string }>();
  private readonly crashes = new Map<string, number>();
  private crashesTaken = 0;
  /** Plain invocations to kill once their handler has run (`injectCrash` with `when`). */
  private readonly plainCrashes: {
    functionName: string;
    when: (event: unknown) => boolean;
    times: number;
  }[] = [];
  /** Replays in progress, by the ARN of the execution they replay. */
  private readonly replays = new Map<string, Set<ExecutionReplay>>();
  /** Sandboxes that run replays only, per function (replay's `sandbox: 'replay-pool'`). */
  private readonly replayPools = new Map<string, FunctionSandboxes>();
  private readonly background = new Set<Promise<unknown>>();
  private readonly server = createLambdaApi(this);
  private url: string | undefined;
  readonly host: ExecutionHost;

  constructor(private readonly options: LocalLambdaOptions) {
    this.registry = new FunctionRegistry(options.region, options.account ?? LOCAL_ACCOUNT_ID);
    this.host = {
      time: options.timeScale,
      staleTokenMessage: options.staleTokenMessage ?? SDK_STALE_TOKEN_MESSAGE,
      eventPageSize: options.eventPageSize ?? 1000,
      runHandler: (execution, event, onStart) => this.runDurable(execution, event, onStart),
      chainedInvoke: (name, payload) => this.chainedInvoke(name, payload),
      takeCrash: (functionName, stepName) => this.takeCrash(functionName, stepName),
      registerCallback: (id, execution, operationId) => this.callbacks.set(id, { execution, operationId }),
      releaseCallback: (id) => this.callbacks.delete(id),
    };
  }

  get endpoint(): string {
    if (!this.url) throw new Error('the local Lambda is not listening: call listen() first');
    return this.url;
  }

  get region(): string {
    return this.options.region;
  }

  async listen(): Promise<string> {
    this.url = await listenOnLoopback(this.server);
    return this.url;
  }

  async stop(): Promise<void> {
    for (const execution of this.executions.values()) execution.dispose();
    await Promise.all(
      [...this.registry.list().map((fn) => fn.sandboxes), ...this.replayPools.values()].map((s) => s.stop()),
    );
    if (this.url) await closeServer(this.server);
  }

  // ---- Deploying ----

  async deploy(spec: DeploySpec): Promise<DeployedRef> {
    checkFunctionName(spec.name);
    if (this.registry.get(spec.name)) throw invalidParameter(`Function already exist: ${spec.name}`);
    if (spec.alias !== undefined && !/^(?!^[0-9]+$)[a-zA-Z0-9-_]{1,128}$/.test(spec.alias)) {
      throw invalidParameter(
        `Alias '${spec.alias}' must be letters, digits, hyphens or underscores, not only digits.`,
      );
    }
    const arn = this.registry.functionArn(spec.name);
    const timeoutSeconds = spec.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
    const memorySize = spec.memorySize ?? 1024;
    const environment = {
      ...this.options.environment,
      AWS_ENDPOINT_URL_LAMBDA: this.endpoint,
      AWS_REGION: this.options.region,
      AWS_DEFAULT_REGION: this.options.region,
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
    const output = this.options.functionOutput;
    const sandboxes = new FunctionSandboxes(
      { entry, exportName },
      environment,
      this.options.maxConcurrency ?? DEFAULT_SANDBOXES,
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
    this.registry.add(fn);
    this.options.log?.(
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

  // ---- Invoking ----

  async invoke(request: InvokeRequest): Promise<InvokeResult> {
    const type = request.invocationType ?? 'RequestResponse';
    if (!['RequestResponse', 'Event', 'DryRun'].includes(type)) {
      throw invalidParameter(`Invalid InvocationType '${type}'.`);
    }
    const payload = request.payload === undefined || request.payload === '' ? '{}' : request.payload;
    const limit = INVOKE_PAYLOAD_LIMIT[type === 'Event' ? 'Event' : 'RequestResponse'];
    if (Buffer.byteLength(payload) > limit) {
      throw requestTooLarge(`Request must be smaller than ${limit} bytes for the InvokeFunction operation`);
    }
    let event: unknown;
    try {
      event = JSON.parse(payload);
    } catch {
      throw new LambdaError('InvalidRequestContentException', 400, 'Could not parse request body into json');
    }
    const resolved = this.registry.resolve(request.functionName, request.qualifier);
    if (type === 'DryRun') return { statusCode: 204, payload: '', executedVersion: resolved.version };
    if (resolved.fn.durable) {
      const execution = this.startExecution(resolved, payload, request.durableExecutionName);
      const executedVersion = resolved.version;
      if (type === 'Event')
        return { statusCode: 202, payload: '', executedVersion, durableExecutionArn: execution.arn };
      await execution.done;
      return { ...syncResult(execution), executedVersion, durableExecutionArn: execution.arn };
    }
    if (request.durableExecutionName !== undefined) {
      throw invalidParameter(
        `Function ${resolved.fn.name} is not a durable function: DurableExecutionName is not allowed.`,
      );
    }
    if (type === 'Event') {
      this.track(this.invokeAsyncPlain(resolved, event));
      return { statusCode: 202, payload: '', executedVersion: resolved.version };
    }
    const outcome = await this.runPlain(resolved, event);
    return outcome.ok
      ? { statusCode: 200, payload: outcome.payload, executedVersion: resolved.version }
      : {
          statusCode: 200,
          payload: JSON.stringify(outcome.error),
          functionError: 'Unhandled',
          executedVersion: resolved.version,
        };
  }

  /** Invokes asynchronously (InvocationType Event), as an EventBridge target does. */
  async invokeAsync(functionName: string, event: unknown): Promise<{ durableExecutionArn?: string }> {
    const result = await this.invoke({
      functionName,
      payload: JSON.stringify(event),
      invocationType: 'Event',
    });
    return result.durableExecutionArn ? { durableExecutionArn: result.durableExecutionArn } : {};
  }

  /** A target for a rule of the local event bus that invokes this function with each event. */
  busTarget(functionName: string): TargetHandler {
    return (event) => this.invokeAsync(functionName, event);
  }

  private startExecution(
    resolved: ResolvedFunction,
    input: string,
    name: string | undefined,
  ): DurableExecution {
    const { fn } = resolved;
    if (resolved.qualifier === undefined) {
      throw invalidParameter(
        'Durable execution is not supported on an unqualified function name. Invoke a published version or an alias.',
      );
    }
    if (name !== undefined && !EXECUTION_NAME.test(name)) {
      throw invalidParameter(
        `DurableExecutionName '${name}' must be 1 to 64 letters, digits, hyphens or underscores.`,
      );
    }
    const executionName = name ?? randomUUID();
    const key = `${fn.name}\n${executionName}`;
    const existing = this.byName.get(key);
    if (existing) {
      if (existing.spec.input !== input) throw alreadyStarted(executionName);
      return existing;
    }
    const id = randomUUID();
    const functionArn = `${fn.arn}:${resolved.version}`;
    const execution = new DurableExecution(
      {
        id,
        arn: `${functionArn}/durable-execution/${executionName}/${id}`,
        name: executionName,
        functionName: fn.name,
        functionArn,
        version: resolved.version,
        input,
        executionTimeoutSeconds: fn.durable!.executionTimeoutSeconds,
        retentionPeriodDays: fn.durable!.retentionPeriodDays,
      },
      this.host,
    );
    this.executions.set(execution.arn, execution);
    this.byName.set(key, execution);
    execution.start();
    return execution;
  }

  private runDurable(
    execution: DurableExecution,
    event: unknown,
    onStart: (running: RunningInvocation) => void,
  ): Promise<InvocationOutcome> {
    const fn = this.registry.get(execution.spec.functionName)!;
    return fn.sandboxes.invoke(
      { event, context: this.context(fn, execution.spec.functionArn, execution.spec.version) },
      onStart,
    );
  }

  private async runPlain(resolved: ResolvedFunction, event: unknown): Promise<InvocationOutcome> {
    const { fn } = resolved;
    const invoked = resolved.qualifier ? `${fn.arn}:${resolved.qualifier}` : fn.arn;
    const crash = this.plainCrashes.find((c) => c.functionName === fn.name && c.times > 0 && c.when(event));
    if (crash) {
      crash.times--;
      this.crashesTaken++;
    }
    let kill: ((reason: string) => void) | undefined;
    const outcome = await fn.sandboxes.invoke(
      { event, context: this.context(fn, invoked, resolved.version) },
      (running) => (kill = (reason) => running.kill(reason)),
    );
    if (!crash) return outcome;
    // The handler did its work; its process dies before the answer leaves, as Lambda reports it.
    kill?.('injected crash after the handler ran');
    return {
      ok: false,
      error: {
        errorType: 'Runtime.ExitError',
        errorMessage: 'RequestId: local Error: Runtime exited with error: signal: killed (injected crash)',
      },
    };
  }

  private context(fn: DeployedFunction, invokedFunctionArn: string, version: string) {
    return {
      awsRequestId: randomUUID(),
      functionName: fn.name,
      functionVersion: version,
      invokedFunctionArn,
      memoryLimitInMB: fn.memorySize,
      // Handler code runs at machine speed, so an invocation's own clock (its timeout and
      // getRemainingTimeInMillis) is not scaled; only the durable timers between invocations are.
      timeoutMs: fn.timeoutSeconds * 1000,
    };
  }

  /** Lambda's asynchronous invocation: two retries after a failed attempt, one and two minutes apart. */
  private async invokeAsyncPlain(resolved: ResolvedFunction, event: unknown): Promise<void> {
    for (let attempt = 1; attempt <= 3; attempt++) {
      const outcome = await this.runPlain(resolved, event);
      if (outcome.ok) return;
      this.options.log?.(
        `lambda ${resolved.fn.name}: async invocation failed (attempt ${attempt}): ${outcome.error.errorMessage}`,
      );
      if (attempt < 3) await this.options.timeScale.sleep(60 * attempt);
    }
  }

  private async chainedInvoke(functionName: string, payload: string | undefined): Promise<ChainedResult> {
    try {
      const resolved = this.registry.resolve(functionName);
      if (resolved.fn.durable) {
        const child = this.startExecution(resolved, payload ?? '{}', undefined);
        await child.done;
        const base = { durableExecutionArn: child.arn };
        return child.status === 'SUCCEEDED'
          ? { ...base, ...(child.result !== undefined ? { result: child.result } : {}) }
          : {
              ...base,
              error: child.error ?? {
                ErrorType: child.status,
                ErrorMessage: `The invoked execution ended ${child.status}.`,
              },
            };
      }
      const outcome = await this.runPlain(resolved, JSON.parse(payload ?? '{}'));
      return outcome.ok
        ? { result: outcome.payload }
        : { error: { ErrorType: outcome.error.errorType, ErrorMessage: outcome.error.errorMessage } };
    } catch (err) {
      const e = err as Error;
      return { error: { ErrorType: e.name, ErrorMessage: e.message } };
    }
  }

  private track(promise: Promise<unknown>): void {
    const tracked = promise.catch((err: unknown) =>
      this.options.log?.(`lambda: background invocation failed: ${String(err)}`),
    );
    this.background.add(tracked);
    void tracked.finally(() => this.background.delete(tracked));
  }

  // ---- Fault injection and counters ----

  /**
   * Kills the next `times` invocations of `functionName` that reach the end of step `stepName`: the step
   * body has run, its result checkpoint is dropped with the sandbox, and the next invocation replays it.
   */
  injectCrash(
    options:
      | { functionName: string; stepName: string; times?: number }
      | { functionName: string; when: (event: unknown) => boolean; times?: number },
  ): void {
    if ('stepName' in options) {
      this.crashes.set(`${options.functionName}\n${options.stepName}`, options.times ?? 1);
    } else {
      this.plainCrashes.push({
        functionName: options.functionName,
        when: options.when,
        times: options.times ?? 1,
      });
    }
  }

  private takeCrash(functionName: string, stepName: string): boolean {
    const key = `${functionName}\n${stepName}`;
    const left = this.crashes.get(key) ?? 0;
    if (left <= 0) return false;
    this.crashes.set(key, left - 1);
    this.crashesTaken++;
    return true;
  }

  /** How many injected crashes have killed an invocation so far. */
  injectedCrashes(): number {
    return this.crashesTaken;
  }

  /** Sandboxes started per function (cold starts), e.g. to see a crash replaced one. */
  coldStarts(functionName: string): number {
    return this.registry.get(functionName)?.sandboxes.coldStarts ?? 0;
  }

  /** Every execution, oldest first. */
  listExecutions(): DurableExecution[] {
    return [...this.executions.values()];
  }

  // ---- Replay ----

  /**
   * Replays a finished durable execution from its recorded operations (see replay.ts): the handler
   * runs once more, as a re-invocation would, with a checkpoint token of its own; the report says
   * whether it took the recorded path to the recorded outcome. The sandbox is a fresh one (a cold
   * start, started for this replay and ended after it), or with `sandbox: 'replay-pool'` a warm one
   * from a pool per function that runs replays only (many replays without a cold start each).
   */
  async replay(
    executionArn: string,
    options: { sandbox?: 'fresh' | 'replay-pool' } = {},
  ): Promise<ReplayReport> {
    const started = performance.now();
    const execution = this.execution(executionArn);
    const replay = new ExecutionReplay(execution, this.host.staleTokenMessage);
    const fn = this.registry.get(execution.spec.functionName)!;
    const active = this.replays.get(execution.arn) ?? new Set();
    this.replays.set(execution.arn, active.add(replay));
    try {
      const request = {
        event: replay.invocationEvent(this.host.eventPageSize),
        context: this.context(fn, execution.spec.functionArn, execution.spec.version),
      };
      const onStart = (running: RunningInvocation) => (replay.running = running);
      const outcome =
        options.sandbox === 'replay-pool'
          ? await this.replayPool(fn).invoke(request, onStart)
          : await fn.sandboxes.invokeIsolated(request, onStart);
      return replay.report(outcome, performance.now() - started);
    } finally {
      active.delete(replay);
      if (active.size === 0) this.replays.delete(execution.arn);
    }
  }

  private replayPool(fn: DeployedFunction): FunctionSandboxes {
    let pool = this.replayPools.get(fn.name);
    if (!pool) {
      pool = new FunctionSandboxes(
        { entry: fn.entry, exportName: fn.exportName },
        fn.environment,
        this.options.maxConcurrency ?? DEFAULT_SANDBOXES,
      );
      this.replayPools.set(fn.name, pool);
    }
    return pool;
  }

  // ---- Durable execution APIs (called by http-api.ts) ----

  /**
   * What a checkpoint or state request with this token talks to: a replay of the execution when the
   * token is one the replay handed out, otherwise the execution itself.
   */
  checkpointTarget(arn: string, token: string | undefined): CheckpointTarget {
    for (const replay of this.replays.get(arn) ?? []) if (replay.owns(token)) return replay;
    return this.execution(arn);
  }

  execution(arn: string): DurableExecution {
    const execution = this.executions.get(arn);
    if (!execution) throw notFound(`Durable execution not found: ${arn}`);
    return execution;
  }

  executionsOf(functionName: string, qualifier: string | undefined): DurableExecution[] {
    const resolved = this.registry.resolve(functionName, qualifier);
    return this.listExecutions().filter(
      (e) =>
        e.spec.functionName === resolved.fn.name &&
        (resolved.qualifier === undefined || e.spec.version === resolved.version),
    );
  }

  private callback(callbackId: string): { execution: DurableExecution; operationId: string } {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(callbackId) || callbackId.length > 1024)
      throw invalidParameter('Invalid callback ID.');
    const callback = this.callbacks.get(callbackId);
    if (!callback)
      throw new LambdaError(
        'CallbackTimeoutException',
        400,
        'The callback ID token has either expired or the callback associated with the token has already been closed.',
      );
    return callback;
  }

  callbackSuccess(callbackId: string, result: Buffer): void {
    if (result.length > CALLBACK_RESULT_LIMIT) {
      throw invalidParameter(
        `Callback result size ${result.length} exceeds the limit of ${CALLBACK_RESULT_LIMIT} bytes.`,
      );
    }
    const { execution, operationId } = this.callback(callbackId);
    execution.completeCallback(
      operationId,
      'SUCCEEDED',
      result.length > 0 ? result.toString('utf8') : undefined,
      undefined,
    );
  }

  callbackFailure(callbackId: string, error: ErrorObject): void {
    const { execution, operationId } = this.callback(callbackId);
    execution.completeCallback(operationId, 'FAILED', undefined, error);
  }

  callbackHeartbeat(callbackId: string): void {
    const { execution, operationId } = this.callback(callbackId);
    execution.heartbeat(operationId);
  }
}

function syncResult(execution: DurableExecution): {
  statusCode: number;
  payload: string;
  functionError?: 'Unhandled';
} {
  if (execution.status === 'SUCCEEDED') return { statusCode: 200, payload: execution.result ?? 'null' };
  const error = execution.error;
  return {
    statusCode: 200,
    functionError: 'Unhandled',
    payload: JSON.stringify({
      errorType: error?.ErrorType ?? execution.status,
      errorMessage: error?.ErrorMessage ?? `The durable execution ended ${execution.status}.`,
    }),
  };
}
