// Runs inside a sandbox's worker thread: loads the function's module once (a cold start), then
// runs one invocation at a time with a Lambda-shaped context, as a Lambda execution environment does.
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import type { SandboxReply, SandboxRequest, SandboxSetup } from './sandbox.ts';

const setup = workerData as SandboxSetup;
const port = parentPort;
if (!port) throw new Error('sandbox-worker.ts runs only as a worker thread');

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
    const deadline = Date.now() + request.context.timeoutMs;
    const context = {
      awsRequestId: request.context.awsRequestId,
      functionName: request.context.functionName,
      functionVersion: request.context.functionVersion,
      invokedFunctionArn: request.context.invokedFunctionArn,
      memoryLimitInMB: String(request.context.memoryLimitInMB),
      logGroupName: `/aws/lambda/${request.context.functionName}`,
      logStreamName: `local/${request.context.awsRequestId}`,
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
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
