// The local SageMaker: one loopback HTTP server that answers the control plane (AWS JSON 1.1,
// `X-Amz-Target: SageMaker.<Operation>`) and the runtime (REST JSON, `POST /endpoints/{name}/invocations`),
// so the real @aws-sdk/client-sagemaker and client-sagemaker-runtime, waiters included, work unchanged
// with any credentials. Invocations of an InService endpoint go to its container process.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { SageMakerEndpointStateChangeEvent } from '../../shared/aws-events.ts';
import type { MetricsSink } from '../common/service-metrics.ts';
import { createClock, type Clock } from '../common/clock.ts';
import {
  BodyTooLarge,
  closeServer,
  awaitAside,
  listenOnLoopback,
  parseJsonObject,
  readBody,
  sendAwsJson,
  serveEveryRequest,
} from '../common/http-server.ts';
import { noContainer, urlContainer, type ContainerLauncher, type RunningContainer } from './containers.ts';
import { ControlPlane, DEFAULT_TIMINGS, type Timings } from './control-plane.ts';
import { SageMakerApiError, throttling } from './errors.ts';
import { Faults, type ContainerFault, type InvocationFailure } from './faults.ts';
import { SageMakerMetrics } from './sagemaker-metrics.ts';
import { InferenceQueue } from './inference-queue.ts';

export interface SageMakerEmulatorOptions {
  region: string;
  accountId?: string;
  /** Simulated seconds per real second (a `scale:N` clock), or the clock of the rest of the local cloud. */
  timeScale?: number | Clock;
  /** Simulated durations of create, update and delete; defaults are AWS-like (5 min, 4 min, 1 min). */
  timings?: Partial<Timings>;
  /** How endpoints get their container: a launcher, or the URL of a server already running. */
  container?: ContainerLauncher | string;
  /** Receives every `SageMaker Endpoint State Change` event (the local bus's publish). */
  publish?: (event: SageMakerEndpointStateChangeEvent) => void;
  log?: (line: string) => void;
  /**
   * Seconds the container may take to answer an invocation before SageMaker cuts it off (AWS: 60 s
   * for a real-time endpoint); real seconds while the container works, simulated while it hangs.
   */
  invocationTimeoutSeconds?: number;
  /** Where the endpoints' metrics go (the local CloudWatch); none are published without it. */
  metrics?: MetricsSink;
}

export interface ApiCall {
  operation: string;
  endpointName?: string;
  /** Epoch ms when the call arrived. */
  at: number;
  /** 'ok' or the error type returned. */
  outcome: string;
  /** A ModelError's OriginalStatusCode: what the container answered (0: no answer). */
  originalStatusCode?: number;
}

export interface SageMakerEmulator {
  /** Control-plane endpoint URL (for @aws-sdk/client-sagemaker). */
  endpoint: string;
  /** Runtime endpoint URL (for @aws-sdk/client-sagemaker-runtime); the same server. */
  runtimeEndpoint: string;
  faults: Faults;
  /** Every API call so far, in arrival order. */
  calls(): readonly ApiCall[];
  stop(): Promise<void>;
}

const RUNTIME_PATH = /^\/endpoints\/([^/]+)\/invocations$/;
/** InvokeEndpoint's payload limit on AWS. */
const MAX_INVOCATION_BYTES = 6 * 1024 * 1024;
/** Control-plane requests are small JSON documents. */
const MAX_CONTROL_BYTES = 1024 * 1024;

export async function startSageMakerEmulator(options: SageMakerEmulatorOptions): Promise<SageMakerEmulator> {
  const scale =
    typeof options.timeScale === 'object'
      ? options.timeScale
      : createClock({ kind: 'scale', factor: options.timeScale ?? 1 });
  const faults = new Faults();
  const log = options.log ?? (() => undefined);
  const container =
    typeof options.container === 'string'
      ? urlContainer(options.container)
      : (options.container ?? noContainer);
  const metrics = new SageMakerMetrics(options.metrics, scale);
  const timings = { ...DEFAULT_TIMINGS, ...options.timings };
  const queue = new InferenceQueue(
    { seconds: timings.inferenceSeconds, concurrency: timings.concurrentInvocations },
    scale,
  );
  const plane = new ControlPlane({
    region: options.region,
    ...(options.accountId ? { accountId: options.accountId } : {}),
    timeScale: scale,
    timings,
    container,
    faults,
    publish: options.publish ?? (() => undefined),
    log,
    metrics,
  });
  const calls: ApiCall[] = [];
  const invocationTimeoutSeconds = options.invocationTimeoutSeconds ?? 60;

  const server: Server = serveEveryRequest(
    handle,
    (res) => sendError(res, internalFailure(), 'json'),
    (line) => log(`SageMaker emulator: ${line}`),
  );

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = req.headers['x-amz-target'];
    const protocol = typeof target === 'string' ? 'json' : 'rest';
    const limit = protocol === 'json' ? MAX_CONTROL_BYTES : MAX_INVOCATION_BYTES;
    let body: Buffer;
    try {
      body = await readBody(req, limit);
    } catch (err) {
      if (!(err instanceof BodyTooLarge)) throw err;
      const message =
        protocol === 'rest'
          ? `Request payload is larger than the InvokeEndpoint limit of ${MAX_INVOCATION_BYTES} bytes.`
          : `The request is larger than ${MAX_CONTROL_BYTES} bytes.`;
      return sendError(res, new SageMakerApiError('ValidationError', message, 413), protocol);
    }
    if (typeof target === 'string') return control(target, body, res);
    const match = RUNTIME_PATH.exec((req.url ?? '').split('?')[0] ?? '');
    if (req.method === 'POST' && match) {
      let name: string;
      try {
        name = decodeURIComponent(match[1]!);
      } catch {
        return sendError(
          res,
          new SageMakerApiError(
            'ValidationError',
            `The endpoint name in ${match[1]} is not valid percent-encoding.`,
          ),
          'rest',
        );
      }
      return invoke(name, req, body, res);
    }
    sendError(
      res,
      new SageMakerApiError('UnknownOperationException', `No operation at ${req.method} ${req.url}`, 404),
      'rest',
    );
  }

  function control(target: string, body: Buffer, res: ServerResponse): void {
    const operation = target.replace(/^SageMaker\./, '');
    const input = parseJsonObject(body);
    if (!input) {
      return sendError(
        res,
        new SageMakerApiError('SerializationException', 'The request body must be a JSON object'),
        'json',
      );
    }
    const call: ApiCall = {
      operation,
      ...(typeof input.EndpointName === 'string' ? { endpointName: input.EndpointName } : {}),
      at: scale.now(),
      outcome: 'ok',
    };
    calls.push(call);
    try {
      if (faults.takeThrottle(operation)) throw throttling();
      sendAwsJson(res, 200, plane.call(operation, input));
    } catch (err) {
      if (!(err instanceof SageMakerApiError)) log(`SageMaker emulator: ${operation} failed: ${String(err)}`);
      const apiError = err instanceof SageMakerApiError ? err : internalFailure();
      call.outcome = apiError.type;
      sendError(res, apiError, 'json');
    }
  }

  async function invoke(
    name: string,
    req: IncomingMessage,
    body: Buffer,
    res: ServerResponse,
  ): Promise<void> {
    const call: ApiCall = { operation: 'InvokeEndpoint', endpointName: name, at: scale.now(), outcome: 'ok' };
    calls.push(call);
    // Latencies on the clock: a modelled inference's skipped time is model time too.
    const arrived = scale.now();
    // Once the request reaches a serving variant it is one of that variant's Invocations.
    const served: { variant?: string; container?: RunningContainer; modelMs?: number } = {};
    const measure = (status: number): void => {
      if (served.variant === undefined) return;
      metrics.invocation(
        { endpointName: name, variantName: served.variant },
        {
          status,
          totalMs: scale.now() - arrived,
          ...(served.container ? { container: served.container } : {}),
          ...(served.modelMs !== undefined ? { modelMs: served.modelMs } : {}),
        },
      );
    };
    const fail = (error: SageMakerApiError): void => {
      call.outcome = error.type;
      const original = error.fields.OriginalStatusCode;
      if (typeof original === 'number') call.originalStatusCode = original;
      measure(typeof original === 'number' ? original : error.status);
      sendError(res, error, 'rest');
    };
    if (faults.takeThrottle('InvokeEndpoint')) return fail(throttling());
    const route = plane.route(name);
    if ('status' in route) {
      // SageMaker answers the same for a missing endpoint and one that is not serving yet.
      return fail(
        new SageMakerApiError('ValidationError', `Endpoint ${name} of account ${plane.accountId} not found.`),
      );
    }
    served.variant = route.variant;
    if ('noHealthyInstance' in route) return fail(noResponse(name));
    served.container = route.container;
    const injected = faults.takeInvocationFailure();
    if (injected) return fail(invocationFailure(injected, name));
    if (faults.invocationDelayMs > 0) await new Promise((r) => setTimeout(r, faults.invocationDelayMs));

    const headers: Record<string, string> = {};
    for (const h of ['content-type', 'accept', 'x-amzn-sagemaker-custom-attributes']) {
      const value = req.headers[h];
      if (typeof value === 'string') headers[h] = value;
    }
    const container = route.container;
    let upstream: Response;
    let payload: Buffer;
    // The model's time starts when a slot takes the request, not when it joined the queue.
    let modelStart = scale.now();
    try {
      // The model server's slots: a queued request waits its turn, then holds a slot for the
      // modelled inference time (or the container's own, if longer).
      [upstream, payload] = await queue.serve(
        name,
        async () => {
          modelStart = scale.now();
          return inContainer(
            container,
            faults.takeContainerFault(),
            async (signal) => {
              const answer = await fetch(`${container.url}/invocations`, {
                method: 'POST',
                headers,
                body,
                signal,
              });
              return [answer, Buffer.from(await answer.arrayBuffer())] as const;
            },
            (waiting) => awaitAside(res, waiting),
          );
        },
        (waiting) => awaitAside(res, waiting),
      );
    } catch (err) {
      if (err instanceof SageMakerApiError) return fail(err);
      const timedOut = err instanceof Error && err.name === 'TimeoutError';
      return fail(timedOut ? modelError(name, 0, TIMEOUT_MESSAGE) : noResponse(name));
    }
    served.modelMs = scale.now() - modelStart;
    if (!upstream.ok) return fail(modelError(name, upstream.status, payload.toString('utf8')));
    const responseHeaders: Record<string, string> = {
      'content-type': upstream.headers.get('content-type') ?? 'application/octet-stream',
      'x-amzn-invoked-production-variant': route.variant,
      'x-amzn-requestid': randomUUID(),
    };
    const custom = upstream.headers.get('x-amzn-sagemaker-custom-attributes');
    if (custom) responseHeaders['x-amzn-sagemaker-custom-attributes'] = custom;
    measure(200);
    res.writeHead(200, responseHeaders);
    res.end(payload);
  }

  /** AWS's ModelError for the container's answer `status` (0: none came) with `text`. */
  function modelError(name: string, status: number, text: string): SageMakerApiError {
    const kind = status >= 400 && status < 500 ? 'client' : 'server';
    return new SageMakerApiError(
      'ModelError',
      `Received ${kind} error (${status}) from primary with message "${text}". See https://${options.region}.console.aws.amazon.com/cloudwatch/home?region=${options.region}#logEventViewer:group=/aws/sagemaker/Endpoints/${name} in account ${plane.accountId} for more information.`,
      424,
      {
        OriginalStatusCode: status,
        OriginalMessage: text,
        LogStreamArn: `arn:aws:logs:${options.region}:${plane.accountId}:log-group:/aws/sagemaker/Endpoints/${name}`,
      },
    );
  }

  /** What SageMaker answers when the container gave no answer at all (it died, or none is healthy). */
  function noResponse(name: string): SageMakerApiError {
    return modelError(
      name,
      0,
      `Amazon SageMaker could not get a response from the ${name} endpoint. This can occur when CPU or memory utilization is high. To check your utilization, see Amazon CloudWatch. To fix this problem, use an instance type with more CPU capacity or memory.`,
    );
  }

  /**
   * Calls the container, cut off after the invocation timeout, with `fault` (faults.ts) acted out on
   * the container itself. The container's own answer time is local work, limited in real time (as a
   * function's own running time is); a container frozen by the hang fault does no work, so its
   * timeout is simulated time, waited aside: on the skip clock a 60 s hang costs no wall time.
   */
  async function inContainer<T>(
    container: RunningContainer,
    fault: ContainerFault | undefined,
    call: (signal: AbortSignal) => Promise<T>,
    aside: <W>(waiting: Promise<W>) => Promise<W>,
  ): Promise<T> {
    const realLimit = AbortSignal.timeout(invocationTimeoutSeconds * 1000);
    if (fault === undefined) return call(realLimit);
    if (fault === 'error' ? !container.storage : !container.signal) {
      throw new SageMakerApiError(
        'InternalFailure',
        `the ${fault} fault needs a container process the emulator started (inferenceServerContainer)`,
        500,
      );
    }
    if (fault === 'error') {
      // Its S3 is unreachable while it serves this call: it cannot read the inputs and answers 500.
      container.storage!.cut();
      try {
        return await call(realLimit);
      } finally {
        container.storage!.restore();
      }
    }
    if (fault === 'die') {
      const answer = call(realLimit);
      container.signal!('SIGKILL');
      return answer;
    }
    container.signal!('SIGSTOP');
    const cutOff = new AbortController();
    const timer = new AbortController();
    void scale.sleep(invocationTimeoutSeconds, timer.signal).then(
      () => cutOff.abort(new DOMException('the invocation timed out', 'TimeoutError')),
      () => undefined,
    );
    try {
      return await aside(call(AbortSignal.any([realLimit, cutOff.signal])));
    } finally {
      timer.abort();
      // The hang ends once SageMaker gave up on the call; the container serves on.
      container.signal!('SIGCONT');
    }
  }

  const url = await listenOnLoopback(server, scale);
  return {
    endpoint: url,
    runtimeEndpoint: url,
    faults,
    calls: () => calls,
    async stop() {
      await plane.stop();
      await closeServer(server);
    },
  };
}

function invocationFailure(kind: InvocationFailure, name: string): SageMakerApiError {
  switch (kind) {
    case 'ModelError':
      return new SageMakerApiError(
        'ModelError',
        `Received server error (500) from primary with message "injected fault". See the logs of /aws/sagemaker/Endpoints/${name} for more information.`,
        424,
        { OriginalStatusCode: 500, OriginalMessage: 'injected fault' },
      );
    case 'ModelNotReadyException':
      return new SageMakerApiError('ModelNotReadyException', 'Model is not ready to serve requests.', 429);
    case 'ServiceUnavailable':
      return new SageMakerApiError(
        'ServiceUnavailable',
        'The service is unavailable. Try your call again.',
        503,
      );
    case 'InternalFailure':
      return internalFailure();
  }
}

/** What AWS says about its own faults; the details go to the log, not to the client. */
/** The text SageMaker gives when the container did not answer within the invocation timeout. */
const TIMEOUT_MESSAGE =
  'Your invocation timed out while waiting for a response from container primary. Review the latency metrics for each container in Amazon CloudWatch, resolve the issue, and try again.';

const internalFailure = (): SageMakerApiError =>
  new SageMakerApiError('InternalFailure', 'An internal failure occurred.', 500);

/** JSON 1.1 names the error in `__type`; REST JSON in the `x-amzn-ErrorType` header. Both carry `message`. */
function sendError(res: ServerResponse, error: SageMakerApiError, protocol: 'json' | 'rest'): void {
  res.writeHead(error.status, {
    'content-type': protocol === 'json' ? 'application/x-amz-json-1.1' : 'application/json',
    'x-amzn-errortype': error.type,
    'x-amzn-requestid': randomUUID(),
  });
  res.end(
    JSON.stringify({ __type: error.type, message: error.message, Message: error.message, ...error.fields }),
  );
}
