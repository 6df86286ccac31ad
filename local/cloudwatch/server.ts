// The local CloudWatch on loopback, in the two protocols its clients speak today: AWS JSON 1.0
// (`@aws-sdk/client-cloudwatch`: POST / with `X-Amz-Target: GraniteServiceVersion20100801.<Op>`) and
// Smithy RPC v2 CBOR (the AWS CLI: POST /service/GraniteServiceVersion20100801/operation/<Op>). Both
// decode to the same operations (operations.ts); errors carry the shape in `__type` and the query
// code in `x-amzn-query-error`, as CloudWatch's "query compatible" answers do.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { cbor, dateToTag } from '@smithy/core/cbor';
import {
  BodyTooLarge,
  closeServer,
  listenOnLoopback,
  parseJsonObject,
  readBody,
  serveEveryRequest,
} from '../common/http-server.ts';
import type { Clock } from '../common/clock.ts';
import { parseEmfLine } from './emf.ts';
import { CloudWatchError } from './errors.ts';
import { CloudWatchService, type CloudWatchOptions } from './operations.ts';

const TARGET_PREFIX = 'GraniteServiceVersion20100801';
const NAMESPACE = 'com.amazonaws.cloudwatch';
/** PutMetricData's payload limit (1 MB); dashboards' bodies are well under it. */
const MAX_BODY = 1024 * 1024;

export interface LocalCloudWatch {
  endpoint: string;
  service: CloudWatchService;
  /** Offers one log line of a function: an EMF line becomes metrics. Returns what it found. */
  ingestLogLine(line: string): { metrics: number } | { error: string } | undefined;
  /** EMF lines that claimed to be EMF but broke the specification (CloudWatch reports them under AWS/Logs). */
  emfErrors(): readonly string[];
  stop(): Promise<void>;
}

type Protocol = 'json' | 'cbor';

export async function startLocalCloudWatch(
  options: CloudWatchOptions & { log?: (line: string) => void; clock?: Clock },
): Promise<LocalCloudWatch> {
  const service = new CloudWatchService(options);
  const emfErrors: string[] = [];
  const server: Server = serveEveryRequest(
    (req, res) => answer(service, req, res),
    (res) =>
      sendError(
        res,
        'json',
        new CloudWatchError(
          'InternalServiceFault',
          'InternalServiceError',
          500,
          'An internal error occurred.',
        ),
      ),
    options.log,
  );
  const endpoint = await listenOnLoopback(server, options.clock);
  return {
    endpoint,
    service,
    ingestLogLine(line) {
      const found = parseEmfLine(line);
      if (found === undefined) return undefined;
      if ('error' in found) {
        emfErrors.push(`${found.error}: ${line.slice(0, 200)}`);
        return found;
      }
      service.putDatums(found.datums);
      return { metrics: found.datums.length };
    },
    emfErrors: () => emfErrors,
    stop: () => closeServer(server),
  };
}

async function answer(service: CloudWatchService, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const cborPath = /^\/service\/([^/]+)\/operation\/([^/?]+)/.exec(req.url ?? '');
  const protocol: Protocol = cborPath ? 'cbor' : 'json';
  let body: Buffer;
  try {
    body = await readBody(req, MAX_BODY);
  } catch (err) {
    if (err instanceof BodyTooLarge)
      return sendError(
        res,
        protocol,
        new CloudWatchError('RequestEntityTooLarge', 'RequestEntityTooLarge', 413, err.message),
      );
    throw err;
  }
  try {
    let operation: string;
    let input: Record<string, unknown>;
    if (cborPath) {
      if (cborPath[1] !== TARGET_PREFIX)
        throw CloudWatchError.unknownOperation(`${cborPath[1]}.${cborPath[2]}`);
      operation = decodeURIComponent(cborPath[2]!);
      input = decodeCbor(body);
    } else {
      const target = String(req.headers['x-amz-target'] ?? '');
      if (req.method !== 'POST' || !target.startsWith(`${TARGET_PREFIX}.`))
        throw CloudWatchError.unknownOperation(target || `${req.method} ${req.url}`);
      operation = target.slice(TARGET_PREFIX.length + 1);
      const parsed = parseJsonObject(body);
      if (!parsed) throw CloudWatchError.serialization('The request body is not a JSON object.');
      input = parsed;
    }
    send(res, protocol, 200, service.handle(operation, input));
  } catch (err) {
    if (err instanceof CloudWatchError) return sendError(res, protocol, err);
    throw err;
  }
}

function decodeCbor(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  let value: unknown;
  try {
    value = cbor.deserialize(body);
  } catch (err) {
    throw CloudWatchError.serialization(`The request body is not valid CBOR: ${(err as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw CloudWatchError.serialization('The request body is not a CBOR map.');
  return value as Record<string, unknown>;
}

/** Dates as the protocol writes timestamps: epoch seconds in JSON, tag 1 in CBOR. */
function encodeDates(value: unknown, protocol: Protocol): unknown {
  if (value instanceof Date) return protocol === 'json' ? value.getTime() / 1000 : dateToTag(value);
  if (Array.isArray(value)) return value.map((v) => encodeDates(v, protocol));
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, encodeDates(v, protocol)]));
  return value;
}

function send(
  res: ServerResponse,
  protocol: Protocol,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const common = { 'x-amzn-requestid': randomUUID(), ...headers };
  if (protocol === 'cbor') {
    const bytes = cbor.serialize(encodeDates(body, protocol));
    res.writeHead(status, {
      ...common,
      'content-type': 'application/cbor',
      'smithy-protocol': 'rpc-v2-cbor',
    });
    res.end(Buffer.from(bytes));
    return;
  }
  res.writeHead(status, { ...common, 'content-type': 'application/x-amz-json-1.0' });
  res.end(JSON.stringify(encodeDates(body, protocol)));
}

function sendError(res: ServerResponse, protocol: Protocol, err: CloudWatchError): void {
  const fault = err.status >= 500 ? 'Receiver' : 'Sender';
  send(
    res,
    protocol,
    err.status,
    { __type: `${NAMESPACE}#${err.type}`, message: err.message },
    {
      'x-amzn-query-error': `${err.code};${fault}`,
    },
  );
}
