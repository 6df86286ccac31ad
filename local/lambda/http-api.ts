// Lambda's REST-JSON API over node:http: the routes of Invoke, the function listing and the durable
// execution APIs. Path labels arrive fully percent-encoded (an ARN's `:` and `/`, a callback id's
// `+/=`), so the raw path is split first and each label decoded after. Timestamps in JSON bodies are
// epoch seconds, in query strings ISO-8601.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { ErrorObject, OperationUpdate } from '@aws-sdk/client-lambda';
import { awaitAside, readBody, sendAwsJson } from '../common/http-server.ts';
import { invalidParameter, LambdaError, serviceError } from './errors.ts';
import { InvocationKilled, type DurableExecution } from './execution.ts';
import type { DeployedFunction, FunctionRegistry } from './functions.ts';
import type { CheckpointTarget } from './replay.ts';

export type InvocationType = 'RequestResponse' | 'Event' | 'DryRun';

export interface InvokeRequest {
  functionName: string;
  qualifier?: string;
  payload?: string;
  invocationType?: InvocationType;
  durableExecutionName?: string;
  /** How a synchronous Invoke awaits its invocation's or execution's end (aside, over HTTP: both are tracked). */
  awaitEnd?: <T>(end: Promise<T>) => Promise<T>;
}

export interface InvokeResult {
  statusCode: number;
  payload: string;
  functionError?: 'Unhandled';
  executedVersion: string;
  durableExecutionArn?: string;
}

/** What the routes call; the service (LocalLambda) implements it. */
export interface LambdaApiBackend {
  readonly registry: Pick<FunctionRegistry, 'list' | 'resolve'>;
  invoke(request: InvokeRequest): Promise<InvokeResult>;
  /** What a checkpoint or state request with this token talks to: the execution or a replay of it. */
  checkpointTarget(arn: string, token: string | undefined): CheckpointTarget;
  execution(arn: string): DurableExecution;
  executionsOf(functionName: string, qualifier: string | undefined): DurableExecution[];
  callbackSuccess(callbackId: string, result: Buffer): void;
  callbackFailure(callbackId: string, error: ErrorObject): void;
  callbackHeartbeat(callbackId: string): void;
}

type Query = URLSearchParams;
type Route = (
  lambda: LambdaApiBackend,
  labels: string[],
  query: Query,
  body: Buffer,
  req: IncomingMessage,
  res: ServerResponse,
) => unknown;

/** API JSON carries timestamps as epoch seconds; the SDK's deserializer rejects anything else. */
export function toWire(value: unknown): unknown {
  if (value instanceof Date) return value.getTime() / 1000;
  if (Array.isArray(value)) return value.map(toWire);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, toWire(v)]),
    );
  }
  return value;
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  sendAwsJson(res, status, toWire(body), { 'content-type': 'application/json', ...headers });
}

function sendError(res: ServerResponse, err: LambdaError): void {
  sendJson(res, err.status, err.body(), { 'x-amzn-errortype': err.code });
}

function parseJson<T>(body: Buffer, fallback: T): T {
  if (body.length === 0) return fallback;
  try {
    return JSON.parse(body.toString('utf8')) as T;
  } catch {
    throw invalidParameter('The request body is not valid JSON.');
  }
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A body that is an ErrorObject (Stop, callback failure); its members must be strings. */
function errorObjectBody(body: Buffer): ErrorObject | undefined {
  const value = parseJson<unknown>(body, undefined);
  if (value === undefined) return undefined;
  const strings = ['ErrorMessage', 'ErrorType', 'ErrorData'];
  if (
    !isObject(value) ||
    strings.some((k) => value[k] !== undefined && typeof value[k] !== 'string') ||
    (value.StackTrace !== undefined && !Array.isArray(value.StackTrace))
  ) {
    throw invalidParameter('The error must be an object with string ErrorType, ErrorMessage and ErrorData.');
  }
  return value;
}

function intParam(query: Query, name: string, max: number, fallback: number): number {
  const raw = query.get(name);
  if (raw === null) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw invalidParameter(`${name} must be an integer from 1 to ${max}.`);
  return n;
}

function markerParam(query: Query): number {
  const raw = query.get('Marker');
  if (raw === null) return 0;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw invalidParameter(`Invalid Marker '${raw}'.`);
  return n;
}

function dateParam(query: Query, name: string): Date | undefined {
  const raw = query.get(name);
  if (raw === null) return undefined;
  const date = new Date(raw);
  if (Number.isNaN(date.getTime())) throw invalidParameter(`${name} must be an ISO-8601 timestamp.`);
  return date;
}

/** One page of `items` from `Marker`, with the next marker when more remain. */
function page<T>(items: T[], query: Query, defaultSize: number, key: string): Record<string, unknown> {
  const from = markerParam(query);
  const size = intParam(query, 'MaxItems', 1000, defaultSize);
  const slice = items.slice(from, from + size);
  return { [key]: slice, ...(from + size < items.length ? { NextMarker: String(from + size) } : {}) };
}

/** Drops the payloads of history events (IncludeExecutionData=false). */
function withoutData(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutData);
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([k]) => k !== 'Payload')
        .map(([k, v]) => [k, withoutData(v)]),
    );
  }
  return value;
}

function functionConfiguration(fn: DeployedFunction): Record<string, unknown> {
  return {
    FunctionName: fn.name,
    FunctionArn: fn.arn,
    Runtime: 'nodejs22.x',
    Handler: `${fn.entry}.${fn.exportName}`,
    Timeout: fn.timeoutSeconds,
    MemorySize: fn.memorySize,
    Version: '$LATEST',
    State: 'Active',
    PackageType: 'Zip',
    Architectures: ['arm64'],
    Environment: { Variables: fn.environment },
    ...(fn.durable
      ? {
          DurableConfig: {
            ExecutionTimeout: fn.durable.executionTimeoutSeconds,
            RetentionPeriodInDays: fn.durable.retentionPeriodDays,
          },
        }
      : {}),
  };
}

function executionSummary(e: DurableExecution): Record<string, unknown> {
  return {
    DurableExecutionArn: e.arn,
    DurableExecutionName: e.spec.name,
    FunctionArn: e.spec.functionArn,
    Status: e.status,
    StartTimestamp: e.startTimestamp,
    EndTimestamp: e.endTimestamp,
  };
}

const invoke: Route = async (lambda, [fn], query, body, req, res) => {
  const header = (name: string): string | undefined => {
    const value = req.headers[name];
    return typeof value === 'string' ? value : undefined;
  };
  const durableExecutionName = header('x-amz-durable-execution-name');
  const result = await lambda.invoke({
    functionName: fn!,
    ...(query.get('Qualifier') !== null ? { qualifier: query.get('Qualifier')! } : {}),
    payload: body.toString('utf8'),
    invocationType: (header('x-amz-invocation-type') ?? 'RequestResponse') as InvocationType,
    ...(durableExecutionName !== undefined ? { durableExecutionName } : {}),
    awaitEnd: (end) => awaitAside(res, end),
  });
  res.writeHead(result.statusCode, {
    'content-type': 'application/json',
    'x-amz-executed-version': result.executedVersion,
    ...(result.functionError ? { 'x-amz-function-error': result.functionError } : {}),
    ...(result.durableExecutionArn ? { 'x-amz-durable-execution-arn': result.durableExecutionArn } : {}),
  });
  res.end(result.payload);
  return undefined;
};

const routes: { method: string; path: RegExp; route: Route }[] = [
  { method: 'POST', path: /^\/2015-03-31\/functions\/([^/]+)\/invocations$/, route: invoke },
  {
    method: 'GET',
    path: /^\/2015-03-31\/functions\/?$/,
    route: (lambda, _l, query) =>
      page(lambda.registry.list().map(functionConfiguration), query, 50, 'Functions'),
  },
  {
    method: 'GET',
    path: /^\/2015-03-31\/functions\/([^/]+)$/,
    route: (lambda, [name], query) => {
      const { fn } = lambda.registry.resolve(name!, query.get('Qualifier') ?? undefined);
      return {
        Configuration: functionConfiguration(fn),
        Code: { RepositoryType: 'S3', Location: `file://${fn.entry}` },
      };
    },
  },
  {
    method: 'POST',
    path: /^\/2025-12-01\/durable-executions\/([^/]+)\/checkpoint$/,
    route: (lambda, [arn], _q, body, req, res) => {
      const request = parseJson<{ CheckpointToken?: unknown; Updates?: unknown; ClientToken?: unknown }>(
        body,
        {},
      );
      const token =
        isObject(request) && typeof request.CheckpointToken === 'string'
          ? request.CheckpointToken
          : undefined;
      const execution = lambda.checkpointTarget(arn!, token);
      if (!isObject(request) || (request.Updates !== undefined && !Array.isArray(request.Updates))) {
        throw invalidParameter('Updates must be a list of operation updates.');
      }
      const answer = execution.checkpoint(
        token,
        (request.Updates ?? []) as OperationUpdate[],
        typeof request.ClientToken === 'string' ? request.ClientToken : undefined,
        body.length,
      );
      const arrived = arrivals.get(req)!;
      res.once('finish', () => execution.counters.checkpointMs.push(performance.now() - arrived));
      return answer;
    },
  },
  {
    method: 'GET',
    path: /^\/2025-12-01\/durable-executions\/([^/]+)\/state$/,
    route: (lambda, [arn], query) => {
      const token = query.get('CheckpointToken') ?? undefined;
      const execution = lambda.checkpointTarget(arn!, token);
      execution.checkToken(token);
      return page(execution.state(), query, 100, 'Operations');
    },
  },
  {
    method: 'GET',
    path: /^\/2025-12-01\/durable-executions\/([^/]+)\/history$/,
    route: (lambda, [arn], query) => {
      const events = [...lambda.execution(arn!).history()];
      if (query.get('ReverseOrder') === 'true') events.reverse();
      const result = page(events, query, 100, 'Events');
      return query.get('IncludeExecutionData') === 'false' ? withoutData(result) : result;
    },
  },
  {
    method: 'GET',
    path: /^\/2025-12-01\/durable-executions\/([^/]+)$/,
    route: (lambda, [arn], query) => {
      const e = lambda.execution(arn!);
      const withData = query.get('IncludeExecutionData') !== 'false';
      return {
        ...executionSummary(e),
        Version: e.spec.version,
        DurableConfig: {
          ExecutionTimeout: e.spec.executionTimeoutSeconds,
          RetentionPeriodInDays: e.spec.retentionPeriodDays,
        },
        ExecutionDataIncluded: withData,
        ...(withData ? { InputPayload: e.spec.input, Result: e.result, Error: e.error } : {}),
      };
    },
  },
  {
    method: 'GET',
    path: /^\/2025-12-01\/functions\/([^/]+)\/durable-executions$/,
    route: (lambda, [fn], query) => {
      const statuses = query.getAll('Statuses');
      const name = query.get('DurableExecutionName');
      const after = dateParam(query, 'StartedAfter');
      const before = dateParam(query, 'StartedBefore');
      const executions = lambda
        .executionsOf(fn!, query.get('Qualifier') ?? undefined)
        .filter(
          (e) =>
            (statuses.length === 0 || statuses.includes(e.status)) &&
            (name === null || e.spec.name === name) &&
            (!after || e.startTimestamp > after) &&
            (!before || e.startTimestamp < before),
        )
        .map(executionSummary);
      if (query.get('ReverseOrder') === 'true') executions.reverse();
      return page(executions, query, 100, 'DurableExecutions');
    },
  },
  {
    method: 'POST',
    path: /^\/2025-12-01\/durable-executions\/([^/]+)\/stop$/,
    route: (lambda, [arn], _q, body) => ({
      StopTimestamp: lambda.execution(arn!).stop(errorObjectBody(body)),
    }),
  },
  {
    method: 'POST',
    path: /^\/2025-12-01\/durable-execution-callbacks\/([^/]+)\/succeed$/,
    route: (lambda, [id], _q, body) => (lambda.callbackSuccess(id!, body), {}),
  },
  {
    method: 'POST',
    path: /^\/2025-12-01\/durable-execution-callbacks\/([^/]+)\/fail$/,
    route: (lambda, [id], _q, body) => (lambda.callbackFailure(id!, errorObjectBody(body) ?? {}), {}),
  },
  {
    method: 'POST',
    path: /^\/2025-12-01\/durable-execution-callbacks\/([^/]+)\/heartbeat$/,
    route: (lambda, [id]) => (lambda.callbackHeartbeat(id!), {}),
  },
];

/** When each request arrived, for the checkpoint latency counter. */
const arrivals = new WeakMap<IncomingMessage, number>();

async function handle(lambda: LambdaApiBackend, req: IncomingMessage, res: ServerResponse): Promise<void> {
  arrivals.set(req, performance.now());
  const url = new URL(req.url ?? '/', 'http://localhost');
  const body = await readBody(req);
  for (const { method, path, route } of routes) {
    const match = path.exec(url.pathname);
    if (!match) continue;
    if (req.method !== method) break;
    let labels: string[];
    try {
      labels = match.slice(1).map((label) => decodeURIComponent(label));
    } catch {
      throw invalidParameter('A path parameter is not valid percent-encoding.');
    }
    const answer = await route(lambda, labels, url.searchParams, body, req, res);
    if (answer !== undefined) sendJson(res, 200, answer);
    return;
  }
  throw new LambdaError(
    'UnknownOperationException',
    404,
    `No Lambda operation for ${req.method} ${url.pathname}.`,
  );
}

export function createLambdaApi(lambda: LambdaApiBackend): Server {
  return createServer((req, res) => {
    handle(lambda, req, res).catch((err: unknown) => {
      // An injected crash takes the sandbox down mid-request: the caller sees the connection drop.
      if (err instanceof InvocationKilled) return void res.destroy();
      if (res.headersSent) return void res.end();
      sendError(
        res,
        err instanceof LambdaError ? err : serviceError(err instanceof Error ? err.message : String(err)),
      );
    });
  });
}
