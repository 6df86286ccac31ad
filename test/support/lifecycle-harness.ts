// A lifecycle wired to DynamoDB Local and the SageMaker emulator, for the tests and the benchmark:
// the real SDK clients, a fast time scale that a test can hold, and a model server that always answers.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { ENDPOINT_DEFINITION } from '../../infra/app-definition.ts';
import { createModelAndEndpointConfig } from '../../local/deploy-app.ts';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createServer, type Server } from 'node:http';
import { createTable, startLocalDynamoDB, type LocalDynamoDB } from '../../local/dynamodb/dynamodb-local.ts';
import { closeServer, listenOnLoopback } from '../../local/common/http-server.ts';
import type { Timings } from '../../local/sagemaker/control-plane.ts';
import { createClock } from '../../local/common/clock.ts';
import { holdableClock } from '../../local/common/hand-clock.ts';
import { startSageMakerEmulator, type SageMakerEmulator } from '../../local/sagemaker/emulator.ts';
import type { SageMakerEndpointStateChangeEvent } from '../../shared/aws-events.ts';
import type { Orchestrator } from '../../shared/keys.ts';
import { EndpointStore } from '../../shared/endpoint-lifecycle/endpoint-store.ts';
import {
  EndpointLifecycle,
  type LifecycleOptions,
  type Readiness,
  type StopOutcome,
} from '../../shared/endpoint-lifecycle/lifecycle.ts';
import { isRetryable } from '../../shared/errors.ts';
import { sageMakerControl } from '../../shared/endpoint-lifecycle/sagemaker-control.ts';

const CREDENTIALS = { accessKeyId: 'AKIALIFECYCLE', secretAccessKey: 'lifecycle-secret' };
const REGION = 'us-east-1';
export const CONFIG_NAME = ENDPOINT_DEFINITION.endpointConfigName;

export interface Harness {
  ddb: LocalDynamoDB;
  emulator: SageMakerEmulator;
  sagemaker: SageMakerClient;
  runtime: SageMakerRuntimeClient;
  doc: DynamoDBDocumentClient;
  tableName: string;
  /** Every state-change event the emulator sent. */
  events: SageMakerEndpointStateChangeEvent[];
  /**
   * Holds SageMaker's clock: until the returned release is called, no simulated wait of the emulator
   * (create, update, delete) begins, so a test sees Creating or Deleting for as long as it needs,
   * however loaded the machine is.
   */
  holdSageMakerClock(): () => void;
  lifecycle(
    name: string,
    options?: Partial<LifecycleOptions> & { orchestrator?: Orchestrator },
  ): EndpointLifecycle;
  stop(): Promise<void>;
}

export async function startHarness(timings: Partial<Timings> = {}, scale = 1000): Promise<Harness> {
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url === '/ping') res.writeHead(200).end();
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  const containerUrl = await listenOnLoopback(server);
  const events: SageMakerEndpointStateChangeEvent[] = [];
  // Sleeps on the scale, timestamps in real time: the lifecycle tests pass their own `now` (real
  // time, or a manual clock started at it) and compare it with SageMaker's times.
  const scaled = createClock(`scale:${scale}`);
  const clock = holdableClock({
    mode: scaled.mode,
    shared: scaled.shared,
    get inFlight() {
      return scaled.inFlight;
    },
    now: () => Date.now(),
    toReal: (ms) => ms,
    sleep: (seconds, signal) => scaled.sleep(seconds, signal),
    begin: () => scaled.begin(),
    track: (work) => scaled.track(work),
  });
  const [ddb, emulator] = await Promise.all([
    startLocalDynamoDB(),
    startSageMakerEmulator({
      region: REGION,
      timeScale: clock.clock,
      timings: { createSeconds: 300, deleteSeconds: 60, ...timings },
      container: containerUrl,
      publish: (e) => events.push(e),
    }),
  ]);
  const tableName = 'lifecycle';
  await createTable(ddb.endpoint, tableName, REGION);
  const dynamo = new DynamoDBClient({ region: REGION, endpoint: ddb.endpoint, credentials: CREDENTIALS });
  const doc = DynamoDBDocumentClient.from(dynamo);
  const sagemaker = new SageMakerClient({
    region: REGION,
    endpoint: emulator.endpoint,
    credentials: CREDENTIALS,
    maxAttempts: 1,
  });
  const runtime = new SageMakerRuntimeClient({
    region: REGION,
    endpoint: emulator.runtimeEndpoint,
    credentials: CREDENTIALS,
    maxAttempts: 1,
  });
  // On AWS the CDK stack deploys the model and the endpoint config; the protocol only creates and deletes endpoints.
  await createModelAndEndpointConfig(sagemaker, ENDPOINT_DEFINITION);
  return {
    ddb,
    emulator,
    sagemaker,
    runtime,
    doc,
    tableName,
    events,
    holdSageMakerClock: clock.hold,
    lifecycle(name, options = {}) {
      return new EndpointLifecycle({
        store: new EndpointStore(doc, tableName, options.orchestrator ?? 'sf'),
        control: sageMakerControl(sagemaker),
        endpointName: name,
        endpointConfigName: CONFIG_NAME,
        leaseTtlMs: 60_000,
        idleWindowMs: 200,
        ...options,
      });
    },
    async stop() {
      clock.release();
      sagemaker.destroy();
      runtime.destroy();
      dynamo.destroy();
      await emulator.stop();
      await ddb.stop();
      await closeServer(server);
    },
  };
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs a call again while it fails with a retryable error, as a workflow's retry policy does, until `deadline`. */
export function retryingUntil(deadline: number, intervalMs: number) {
  return async <T>(call: () => Promise<T>): Promise<T> => {
    for (;;) {
      try {
        return await call();
      } catch (err) {
        if (!isRetryable(err) || Date.now() > deadline) throw err;
        await pause(intervalMs);
      }
    }
  };
}

/**
 * Plays an orchestrator's part for one job, as both workflows do it: acquire (again while the endpoint
 * stops), start when this job is the starter, then check until the endpoint serves, starting a new
 * generation when the check hands the job a take-over. The waiting happens here, in the caller, as it
 * does in the workflows; the lifecycle never waits. Resolves with the generation that serves; rejects
 * with the first terminal error, or after `timeoutMs`.
 */
export async function acquireAndWait(
  lifecycle: EndpointLifecycle,
  jobId: string,
  { timeoutMs = 10_000, intervalMs = 10 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<number> {
  const retrying = retryingUntil(Date.now() + timeoutMs, intervalMs);
  const acquired = await retrying(() => lifecycle.acquire(jobId));
  if (acquired.role === 'starter') await retrying(() => lifecycle.startEndpoint(acquired.generation));
  return waitUntilReady(lifecycle, jobId, acquired.generation, { timeoutMs, intervalMs });
}

/** The check loop alone: checks until ready, starting a generation handed over by a take-over. */
export async function waitUntilReady(
  lifecycle: EndpointLifecycle,
  jobId: string,
  generation: number,
  { timeoutMs = 10_000, intervalMs = 10 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let current = generation;
  for (;;) {
    let readiness: Readiness;
    try {
      readiness = await lifecycle.checkEndpoint(jobId, current);
    } catch (err) {
      if (!isRetryable(err) || Date.now() > deadline) throw err;
      await pause(intervalMs);
      continue;
    }
    if (readiness.status === 'ready') return readiness.generation;
    current = readiness.generation;
    if (readiness.status === 'start') {
      for (;;) {
        try {
          await lifecycle.startEndpoint(current);
          break;
        } catch (err) {
          if (!isRetryable(err) || Date.now() > deadline) throw err;
          await pause(intervalMs);
        }
      }
    }
    if (Date.now() > deadline) {
      throw new Error(
        `job ${jobId}: endpoint not ready after ${timeoutMs} ms (${JSON.stringify(readiness)})`,
      );
    }
    await pause(intervalMs);
  }
}

/** Begins a stop and, when it began, drives it to Stopped, waiting between checks as a workflow would. */
export async function stopIfIdle(
  lifecycle: EndpointLifecycle,
  { timeoutMs = 10_000, intervalMs = 10 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<StopOutcome> {
  const outcome = await lifecycle.beginStop();
  if (outcome.outcome !== 'stopping') return outcome;
  const deadline = Date.now() + timeoutMs;
  while (!(await lifecycle.finishStop()).done) {
    if (Date.now() > deadline)
      throw new Error(`endpoint ${lifecycle.name}: still stopping after ${timeoutMs} ms`);
    await pause(intervalMs);
  }
  return outcome;
}

/** A clock a test moves by hand, for what only needs time to pass (idle windows, lease expiry). */
export function manualClock(start = Date.now()): { now: () => number; advance(ms: number): void } {
  let t = start;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
  };
}

/**
 * A clock that jumps: `sleep(ms)` waits for simulated time, and the clock moves to the earliest
 * pending wake-up one at a time (one real millisecond apart, so the work each wake-up starts runs in
 * between), as the local cloud's skip mode and Temporal's test server do. Waits end in the order
 * their simulated times say, however loaded the machine is, and the lifecycle reads `now`.
 */
export function skippingClock(start = Date.now()) {
  let t = start;
  const due: { at: number; wake: () => void }[] = [];
  const timer = setInterval(() => {
    due.sort((a, b) => a.at - b.at);
    const next = due.shift();
    if (!next) return;
    t = Math.max(t, next.at);
    next.wake();
  }, 1);
  return {
    now: () => t,
    sleep: (ms: number): Promise<void> => new Promise((wake) => due.push({ at: t + ms, wake })),
    stop: () => clearInterval(timer),
  };
}
