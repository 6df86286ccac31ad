// Runs inside a sandbox's worker thread: loads the function's module once (a cold start), then
// runs one invocation at a time with a Lambda-shaped context, as a Lambda execution environment does.
import diagnostics from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { simulatedNow } from '../common/clock.ts';
import { CALLER_HEADER } from '../common/http-server.ts';
import type { SandboxReply, SandboxRequest, WorkerSetup } from './sandbox.ts';

const setup = workerData as WorkerSetup;
const port = parentPort;
if (!port) throw new Error('sandbox-worker.ts runs only as a worker thread');

// The function's `Date` reads the local cloud's clock, so a handler (ours or a user's, unchanged)
// compares leases and idle windows on the clock the services time and stamp with. The mapping is
// shared memory the clock updates when it jumps; `realNow` stays real for the function's own timeout.
const realNow = Date.now.bind(Date);
const mapping = new Float64Array(setup.clock);
const clockNow = (): number => simulatedNow(mapping, realNow());
const RealDate = Date;
globalThis.Date = new Proxy(RealDate, {
  construct: (target, args: unknown[], newTarget: (...a: unknown[]) => unknown) =>
    Reflect.construct(target, args.length === 0 ? [clockNow()] : args, newTarget) as object,
  apply: () => new RealDate(clockNow()).toString(),
  get: (target, property, receiver) =>
    property === 'now' ? clockNow : (Reflect.get(target, property, receiver) as unknown),
});

// Each request to a local server that tracks its requests carries the invocation's caller id, so
// that server sets the invocation aside while it answers (local/common/http-server.ts): an invocation
// waiting on a modelled inference is not work in flight. Requests elsewhere (DynamoDB Local) carry
// nothing, and the invocation stays in flight while they run.
const trackedPorts = new Set(setup.trackedPorts);
let callerId: string | undefined;
diagnostics.subscribe('http.client.request.created', (message) => {
  const request = (message as { request: ClientRequest }).request;
  const host = request.getHeader('host');
  if (callerId === undefined || typeof host !== 'string') return;
  if (trackedPorts.has(Number(host.split(':').pop()))) request.setHeader(CALLER_HEADER, callerId);
});

type Handler = (event: unknown, context: unknown) => unknown;

async function load(): Promise<Handler> {
  const module = (await import(pathToFileURL(setup.entry).href)) as Record<string, unknown>;
  const handler = module[setup.exportName];
  if (typeof handler !== 'function') {
    throw new Error(`${setup.entry} has no exported function '${setup.exportName}'`);
  }
  return handler as Handler;
}

/** withDurableExecution returns a closure that validates the durable input first; nothing else does. */
const isDurable = (handler: Handler): boolean =>
  Function.prototype.toString.call(handler).includes('validateDurableExecutionEvent');

function errorObject(err: unknown): { errorType: string; errorMessage: string; trace?: string[] } {
  if (err instanceof Error) {
    return { errorType: err.name, errorMessage: err.message, trace: err.stack?.split('\n') ?? [] };
  }
  return { errorType: 'Error', errorMessage: String(err) };
}

try {
  const handler = await load();
  port.postMessage({ kind: 'ready', durable: isDurable(handler) } satisfies SandboxReply);
  port.on('message', (request: SandboxRequest) => {
    callerId = request.callerId;
    const deadline = realNow() + request.context.timeoutMs;
    const context = {
      awsRequestId: request.context.awsRequestId,
      functionName: request.context.functionName,
      functionVersion: request.context.functionVersion,
      invokedFunctionArn: request.context.invokedFunctionArn,
      memoryLimitInMB: String(request.context.memoryLimitInMB),
      logGroupName: `/aws/lambda/${request.context.functionName}`,
      logStreamName: `local/${request.context.awsRequestId}`,
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => Math.max(0, deadline - realNow()),
    };
    Promise.resolve()
      .then(() => handler(request.event, context))
      .then(
        (value) =>
          port.postMessage({
            kind: 'result',
            ok: true,
            payload: JSON.stringify(value ?? null),
          } satisfies SandboxReply),
        (err: unknown) =>
          port.postMessage({ kind: 'result', ok: false, error: errorObject(err) } satisfies SandboxReply),
      );
  });
} catch (err) {
  port.postMessage({ kind: 'init-error', error: errorObject(err) } satisfies SandboxReply);
}
