// The local Lambda service: deploys functions into worker-thread sandboxes (deploy.ts), invokes them
// (plain in plain-invocations.ts, durable in durable-executions.ts), routes chained invokes, callbacks
// (callback-registry.ts) and replays (replay-runner.ts), and answers Lambda's HTTP API (http-api.ts)
// so that the real durable SDK, @aws-sdk/client-lambda and the AWS CLI all talk to it as to Lambda.
import type { ErrorObject } from '@aws-sdk/client-lambda';
import { LOCAL_ACCOUNT_ID } from '../common/account.ts';
import { closeServer, listenOnLoopback } from '../common/http-server.ts';
import type { Clock } from '../common/clock.ts';
import type { MetricsSink } from '../common/service-metrics.ts';
import type { TargetHandler } from '../eventbridge/event-bus.ts';
import { CallbackRegistry } from './callback-registry.ts';
import { CrashInjection, type CrashSpec } from './crash-injection.ts';
import { DEFAULT_SANDBOXES, deployFunction, type DeployedRef, type DeploySpec } from './deploy.ts';
import { DurableExecutions } from './durable-executions.ts';
import { invalidParameter, LambdaError, requestTooLarge } from './errors.ts';
import type { DurableExecution, ExecutionHost } from './execution.ts';
import { FunctionRegistry } from './functions.ts';
import { createLambdaApi, type InvokeRequest, type InvokeResult, type LambdaApiBackend } from './http-api.ts';
import { invocationContext } from './invocation-context.ts';
import { readInvocation } from './invocation-output.ts';
import { LambdaMetrics } from './lambda-metrics.ts';
import type { ChainedResult } from './operation-updates.ts';
import { PlainInvocations } from './plain-invocations.ts';
import type { CheckpointTarget, ReplayReport } from './replay.ts';
import { ReplayRunner } from './replay-runner.ts';

export const INVOKE_PAYLOAD_LIMIT = { RequestResponse: 6 * 1024 * 1024, Event: 1024 * 1024 } as const;
/** SDK 2.4.0 recognises only this spelling as a retryable stale token (research/durable-wire.md §5). */
export const SDK_STALE_TOKEN_MESSAGE = 'Invalid Checkpoint Token';
/** The spelling the real service sends. */
export const AWS_STALE_TOKEN_MESSAGE = 'Invalid checkpoint token';

export interface LocalLambdaOptions {
  region: string;
  account?: string;
  clock: Clock;
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
  /** Where the AWS/Lambda metrics go (the local CloudWatch); none are published without it. */
  metrics?: MetricsSink;
}

export class LocalLambda implements LambdaApiBackend {
  readonly registry: FunctionRegistry;
  readonly host: ExecutionHost;
  private readonly executions: DurableExecutions;
  private readonly callbacks = new CallbackRegistry();
  private readonly crashes = new CrashInjection();
  private readonly plain: PlainInvocations;
  private readonly replays: ReplayRunner;
  private readonly background = new Set<Promise<unknown>>();
  private readonly server = createLambdaApi(this);
  private url: string | undefined;

  constructor(private readonly options: LocalLambdaOptions) {
    this.registry = new FunctionRegistry(options.region, options.account ?? LOCAL_ACCOUNT_ID);
    const metrics = new LambdaMetrics(options.metrics, () => options.clock.now());
    this.host = {
      time: options.clock,
      staleTokenMessage: options.staleTokenMessage ?? SDK_STALE_TOKEN_MESSAGE,
      eventPageSize: options.eventPageSize ?? 1000,
      runHandler: (execution, event, onStart) => {
        const fn = this.registry.get(execution.spec.functionName)!;
        const context = invocationContext(fn, execution.spec.functionArn, execution.spec.version);
        return metrics.invocation(
          fn.name,
          execution.spec.qualifier,
          (started) => fn.sandboxes.invoke({ event, context }, started),
          onStart,
          (outcome) => readInvocation(outcome).error !== undefined,
        );
      },
      chainedInvoke: (name, payload) => this.chainedInvoke(name, payload),
      takeCrash: (functionName, stepName) => this.crashes.takeStep(functionName, stepName),
      registerCallback: (id, execution, operationId) => this.callbacks.register(id, execution, operationId),
      releaseCallback: (id) => this.callbacks.release(id),
    };
    this.executions = new DurableExecutions(this.host, metrics);
    this.plain = new PlainInvocations(this.crashes, options.clock, options.log, metrics);
    this.replays = new ReplayRunner({
      staleTokenMessage: this.host.staleTokenMessage,
      eventPageSize: this.host.eventPageSize,
      maxConcurrency: options.maxConcurrency ?? DEFAULT_SANDBOXES,
      clock: options.clock,
    });
  }

  get endpoint(): string {
    if (!this.url) throw new Error('the local Lambda is not listening: call listen() first');
    return this.url;
  }

  get region(): string {
    return this.options.region;
  }

  async listen(): Promise<string> {
    this.url = await listenOnLoopback(this.server, this.options.clock);
    return this.url;
  }

  async stop(): Promise<void> {
    this.executions.dispose();
    await Promise.all([...this.registry.list().map((fn) => fn.sandboxes.stop()), this.replays.stop()]);
    if (this.url) await closeServer(this.server);
  }

  deploy(spec: DeploySpec): Promise<DeployedRef> {
    const { options } = this;
    return deployFunction(spec, {
      registry: this.registry,
      endpoint: this.endpoint,
      region: options.region,
      environment: options.environment,
      maxConcurrency: options.maxConcurrency ?? DEFAULT_SANDBOXES,
      clock: options.clock,
      functionOutput: options.functionOutput,
      log: options.log,
    });
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
      const execution = this.executions.start(resolved, payload, request.durableExecutionName);
      const executedVersion = resolved.version;
      if (type === 'Event')
        return { statusCode: 202, payload: '', executedVersion, durableExecutionArn: execution.arn };
      await (request.awaitEnd ? request.awaitEnd(execution.done) : execution.done);
      return { ...syncResult(execution), executedVersion, durableExecutionArn: execution.arn };
    }
    if (request.durableExecutionName !== undefined) {
      throw invalidParameter(
        `Function ${resolved.fn.name} is not a durable function: DurableExecutionName is not allowed.`,
      );
    }
    if (type === 'Event') {
      this.track(this.plain.runAsync(resolved, event));
      return { statusCode: 202, payload: '', executedVersion: resolved.version };
    }
    const run = this.plain.run(resolved, event);
    const outcome = await (request.awaitEnd ? request.awaitEnd(run) : run);
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

  /** A durable `invoke` operation: the target runs (a new execution when durable) and its end is the result. */
  private async chainedInvoke(functionName: string, payload: string | undefined): Promise<ChainedResult> {
    try {
      const resolved = this.registry.resolve(functionName);
      if (resolved.fn.durable) {
        const child = this.executions.start(resolved, payload ?? '{}', undefined);
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
      const outcome = await this.plain.run(resolved, JSON.parse(payload ?? '{}'));
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
   * With `when` instead, kills plain invocations whose event matches, after their handler ran.
   */
  injectCrash(options: CrashSpec): void {
    this.crashes.arm(options);
  }

  /** How many injected crashes have killed an invocation so far. */
  injectedCrashes(): number {
    return this.crashes.count();
  }

  /** Sandboxes started per function (cold starts), e.g. to see a crash replaced one. */
  coldStarts(functionName: string): number {
    return this.registry.get(functionName)?.sandboxes.coldStarts ?? 0;
  }

  /** Every execution, oldest first. */
  listExecutions(): DurableExecution[] {
    return this.executions.list();
  }

  /**
   * Replays a finished durable execution from its recorded operations (see replay.ts): the handler
   * runs once more, as a re-invocation would, with a checkpoint token of its own; the report says
   * whether it took the recorded path to the recorded outcome. The sandbox is a fresh one (a cold
   * start, started for this replay and ended after it), or with `sandbox: 'replay-pool'` a warm one
   * from a pool per function that runs replays only (many replays without a cold start each).
   */
  replay(executionArn: string, options: { sandbox?: 'fresh' | 'replay-pool' } = {}): Promise<ReplayReport> {
    const execution = this.execution(executionArn);
    return this.replays.replay(execution, this.registry.get(execution.spec.functionName)!, options.sandbox);
  }

  // ---- Durable execution APIs (LambdaApiBackend, called by http-api.ts) ----

  checkpointTarget(arn: string, token: string | undefined): CheckpointTarget {
    return this.replays.owning(arn, token) ?? this.execution(arn);
  }

  execution(arn: string): DurableExecution {
    return this.executions.get(arn);
  }

  executionsOf(functionName: string, qualifier: string | undefined): DurableExecution[] {
    return this.executions.of(this.registry.resolve(functionName, qualifier));
  }

  callbackSuccess(callbackId: string, result: Buffer): void {
    this.callbacks.success(callbackId, result);
  }

  callbackFailure(callbackId: string, error: ErrorObject): void {
    this.callbacks.failure(callbackId, error);
  }

  callbackHeartbeat(callbackId: string): void {
    this.callbacks.heartbeat(callbackId);
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
