// DynamoDB's throttling, on demand. DynamoDB Local ignores throughput, so this loopback proxy stands in
// front of it and answers the next N requests of the chosen operations (and keys) with the very error
// AWS sends: HTTP 400, AWS JSON 1.0, `__type` `com.amazonaws.dynamodb.v20120810#…`, the message and the
// ThrottlingReasons of an on-demand table. Every other request is piped through untouched, headers and
// bodies streamed, on kept-alive connections: unarmed, the proxy costs one loopback hop. A request is
// only read whole when a throttle is armed for its operation (to match its key).
//
// Not marked as work on the clock (as DynamoDB Local is not): the caller's own work covers its calls,
// and a test polling the table must not keep a skip clock from jumping.
import { randomUUID } from 'node:crypto';
import {
  Agent,
  request as httpRequest,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from 'node:http';
import { crc32 } from 'node:zlib';
import {
  closeServer,
  listenOnLoopback,
  readBody,
  sendAwsJson,
  serveEveryRequest,
} from '../common/http-server.ts';
import { LOCAL_ACCOUNT_ID } from '../common/account.ts';

/** The throttling errors DynamoDB answers a data-plane request with. */
export type DynamoDBThrottle = 'ProvisionedThroughputExceededException' | 'ThrottlingException';

export const DYNAMODB_THROTTLES: readonly DynamoDBThrottle[] = [
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
];

export interface ThrottleOptions {
  /** Which error (default ProvisionedThroughputExceededException). */
  error?: DynamoDBThrottle;
  /** Operations by their X-Amz-Target name (`UpdateItem`, `PutItem`, ...); default every operation. */
  operations?: string[];
  /** Only requests whose item key (the partition key's string value) starts with this. */
  keyPrefix?: string;
}

/** One throttled request, as the proxy answered it. */
export interface ThrottleServed {
  operation: string;
  error: DynamoDBThrottle;
  /** The partition key values the request names (empty for an operation without one). */
  keys: string[];
  /** The SDK's `amz-sdk-invocation-id`: one per call, the same on each of its retries. */
  invocationId?: string;
  /** The SDK's attempt of that call and its most attempts (`amz-sdk-request: attempt=2; max=3`). */
  attempt?: number;
  maxAttempts?: number;
}

interface Armed {
  count: number;
  error: DynamoDBThrottle;
  operations?: Set<string>;
  keyPrefix?: string;
}

/** The throttles armed on the proxy; each is used up as requests take it. */
export class DynamoDBFaults {
  private armed: Armed[] = [];
  private readonly log: ThrottleServed[] = [];

  /** The next `count` requests matching `options` are throttled. */
  throttle(count: number, options: ThrottleOptions = {}): this {
    if (!(Number.isInteger(count) && count > 0)) {
      throw new RangeError(`throttle count must be a positive integer, got ${count}`);
    }
    this.armed.push({
      count,
      error: options.error ?? 'ProvisionedThroughputExceededException',
      ...(options.operations ? { operations: new Set(options.operations) } : {}),
      ...(options.keyPrefix !== undefined ? { keyPrefix: options.keyPrefix } : {}),
    });
    return this;
  }

  /** Disarms every throttle (what was served stays in `served()`). */
  clear(): this {
    this.armed = [];
    return this;
  }

  /** Throttles still armed, in requests. */
  pending(): number {
    return this.armed.reduce((n, a) => n + a.count, 0);
  }

  /** Every request throttled so far, in order. */
  served(): readonly ThrottleServed[] {
    return this.log;
  }

  /** Whether a request of `operation` may be throttled: only then is its body read. */
  mayTake(operation: string): boolean {
    return this.armed.some((a) => a.count > 0 && (!a.operations || a.operations.has(operation)));
  }

  /** Takes the first armed throttle that matches, or undefined. */
  take(operation: string, keys: string[]): DynamoDBThrottle | undefined {
    const armed = this.armed.find(
      (a) =>
        a.count > 0 &&
        (!a.operations || a.operations.has(operation)) &&
        (a.keyPrefix === undefined || keys.some((k) => k.startsWith(a.keyPrefix!))),
    );
    if (!armed) return undefined;
    armed.count--;
    this.armed = this.armed.filter((a) => a.count > 0);
    return armed.error;
  }

  record(served: ThrottleServed): void {
    this.log.push(served);
  }
}

export interface DynamoDBFaultProxy {
  endpoint: string;
  faults: DynamoDBFaults;
  stop(): Promise<void>;
}

/** Large enough for DynamoDB's biggest request (a 100-item TransactWriteItems of 400 KB items is 4 MB+). */
const BODY_LIMIT = 64 * 1024 * 1024;

/** Starts the proxy in front of the DynamoDB at `upstream` (DynamoDB Local's endpoint). */
export async function startDynamoDBFaultProxy(options: {
  upstream: string;
  region: string;
  tableName?: string;
  log?: (line: string) => void;
}): Promise<DynamoDBFaultProxy> {
  const upstream = new URL(options.upstream);
  const faults = new DynamoDBFaults();
  const agent = new Agent({ keepAlive: true });

  const forward = (req: IncomingMessage, res: ServerResponse, body?: Buffer): Promise<void> =>
    new Promise((resolve) => {
      const out = httpRequest(
        {
          agent,
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: req.headers as OutgoingHttpHeaders,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          answer.once('end', resolve);
          answer.once('error', () => {
            res.destroy();
            resolve();
          });
        },
      );
      // DynamoDB Local gone or the connection dropped: the client sees its connection dropped too.
      out.once('error', () => {
        res.destroy();
        resolve();
      });
      res.once('close', () => {
        if (!res.writableFinished) out.destroy();
      });
      if (body) out.end(body);
      else req.pipe(out);
    });

  const server = serveEveryRequest(
    async (req, res) => {
      const operation = operationOf(req);
      if (operation === undefined || !faults.mayTake(operation)) return forward(req, res);
      const body = await readBody(req, BODY_LIMIT);
      const keys = partitionKeysOf(body);
      const error = faults.take(operation, keys);
      if (!error) return forward(req, res, body);
      const sdk = /attempt=(\d+);\s*max=(\d+)/.exec(String(req.headers['amz-sdk-request'] ?? ''));
      const invocationId = req.headers['amz-sdk-invocation-id'];
      faults.record({
        operation,
        error,
        keys,
        ...(typeof invocationId === 'string' ? { invocationId } : {}),
        ...(sdk ? { attempt: Number(sdk[1]), maxAttempts: Number(sdk[2]) } : {}),
      });
      answerThrottle(res, error, operation, tableArn(options.region, tableOf(body) ?? options.tableName));
    },
    (res) =>
      sendAwsJson(
        res,
        500,
        { __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: 'Internal error' },
        { 'content-type': 'application/x-amz-json-1.0' },
      ),
    options.log,
  );
  const endpoint = await listenOnLoopback(server);
  return {
    endpoint,
    faults,
    stop: async () => {
      await closeServer(server);
      agent.destroy();
    },
  };
}

/** `DynamoDB_20120810.UpdateItem` → `UpdateItem`. */
function operationOf(req: IncomingMessage): string | undefined {
  const target = req.headers['x-amz-target'];
  if (typeof target !== 'string') return undefined;
  const dot = target.lastIndexOf('.');
  return dot < 0 ? undefined : target.slice(dot + 1);
}

type Json = Record<string, unknown>;

/** The partition key values (any attribute's S value of each Key / Item) a request names. */
export function partitionKeysOf(body: Buffer): string[] {
  let request: Json;
  try {
    request = asObject(JSON.parse(body.toString('utf8')));
  } catch {
    return [];
  }
  const items: unknown[] = [request.Key, request.Item];
  for (const t of asArray(request.TransactItems)) {
    for (const part of Object.values(asObject(t))) items.push(asObject(part).Key, asObject(part).Item);
  }
  for (const writes of Object.values(asObject(request.RequestItems))) {
    for (const w of asArray(writes)) {
      items.push(asObject(asObject(w).PutRequest).Item, asObject(asObject(w).DeleteRequest).Key);
    }
  }
  const keys: string[] = [];
  for (const item of items) {
    const pk = asObject(asObject(item).pk).S;
    if (typeof pk === 'string') keys.push(pk);
  }
  return keys;
}

function tableOf(body: Buffer): string | undefined {
  try {
    const name = asObject(JSON.parse(body.toString('utf8'))).TableName;
    return typeof name === 'string' ? name : undefined;
  } catch {
    return undefined;
  }
}

const asObject = (v: unknown): Json => (v !== null && typeof v === 'object' ? (v as Json) : {});
const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

function tableArn(region: string, table = 'table'): string {
  return `arn:aws:dynamodb:${region}:${LOCAL_ACCOUNT_ID}:table/${table}`;
}

const WRITES = new Set([
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'BatchWriteItem',
  'TransactWriteItems',
  'ExecuteStatement',
]);

/**
 * AWS's answer for an on-demand table: a hot key (ProvisionedThroughputExceededException with a
 * KeyRangeThroughputExceeded reason) or the table's maximum throughput (ThrottlingException with a
 * MaxOnDemandThroughputExceeded reason). The two spell their reasons' member differently, as the
 * service model does (`ThrottlingReasons`, `throttlingReasons`).
 */
export function throttleBody(error: DynamoDBThrottle, operation: string, resource: string): Json {
  const kind = WRITES.has(operation) ? 'Write' : 'Read';
  if (error === 'ProvisionedThroughputExceededException') {
    return {
      __type: `com.amazonaws.dynamodb.v20120810#${error}`,
      message:
        'Throughput exceeds the current capacity of your table or index. DynamoDB is automatically scaling your table or index so please try again shortly. If exceptions persist, check if you have a hot key: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html',
      ThrottlingReasons: [{ reason: `Table${kind}KeyRangeThroughputExceeded`, resource }],
    };
  }
  return {
    __type: `com.amazonaws.dynamodb.v20120810#${error}`,
    message: 'Throughput exceeds the maximum OnDemandThroughput configured on table or index',
    throttlingReasons: [{ reason: `Table${kind}MaxOnDemandThroughputExceeded`, resource }],
  };
}

function answerThrottle(
  res: ServerResponse,
  error: DynamoDBThrottle,
  operation: string,
  resource: string,
): void {
  const body = Buffer.from(JSON.stringify(throttleBody(error, operation, resource)));
  res.writeHead(400, {
    'content-type': 'application/x-amz-json-1.0',
    'x-amzn-requestid': randomUUID().replaceAll('-', '').toUpperCase(),
    'x-amz-crc32': String(crc32(body)),
    'content-length': body.length,
  });
  res.end(body);
}
