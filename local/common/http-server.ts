// What every hand-written local stand-in (event bus, SageMaker emulator) does with node:http: listen
// on a free loopback port, read a request body (bounded), answer in AWS JSON 1.1, and close without
// waiting for idle keep-alive clients. serveEveryRequest makes sure that no request, however cut off
// or malformed, ends in an unhandled rejection.
import { randomUUID } from 'node:crypto';
import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from 'node:http';
import { OBSERVER_USER_AGENT } from '../../shared/aws.ts';
import { WorkMark, type Clock } from './clock.ts';

/**
 * Listens on a port of 127.0.0.1 the kernel picks; resolves with the server's base URL. Idle
 * keep-alive connections stay open longer than a client keeps them (as AWS's front ends do): with
 * Node's 5 s default, a client that reuses a socket just as the server drops it gets "socket hang up".
 * With a clock, every request is work in flight on it until its answer is sent (trackRequests).
 */
export function listenOnLoopback(server: Server, clock?: Clock): Promise<string> {
  if (clock) trackRequests(server, clock);
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (typeof address === 'object' && address) resolve(`http://127.0.0.1:${address.port}`);
      else reject(new Error('the server has no TCP address'));
    });
  });
}

/**
 * Marks each request the server receives as work in flight on `clock`, from its arrival until its
 * answer is sent or its client leaves: a skip clock never jumps while a local service is answering.
 */
export function trackRequests(server: Server, clock: Clock): void {
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    // A watcher's reads (a benchmark following a run) are not the cloud's work: a skip clock may
    // jump while one is answered.
    if (req.headers['user-agent']?.includes(OBSERVER_USER_AGENT)) return;
    const mark = new WorkMark(clock);
    marks.set(res, mark);
    // The caller waits while this request is answered: this request is the work in flight now. It
    // comes back before the request ends, so the clock never sees a gap between the two.
    const header = req.headers[CALLER_HEADER];
    const caller = typeof header === 'string' ? callers.get(header) : undefined;
    caller?.aside();
    res.once('close', () => {
      caller?.back();
      mark.end();
    });
  });
  const note = (): void => {
    const address = server.address();
    if (typeof address === 'object' && address) trackedPorts.add(address.port);
  };
  if (server.listening) note();
  else server.once('listening', note);
  server.once('close', () => {
    const address = server.address();
    if (typeof address === 'object' && address) trackedPorts.delete(address.port);
  });
}

const marks = new WeakMap<ServerResponse, WorkMark>();

/**
 * The header a caller's requests to a tracked local server carry (a sandbox's invocation, a Step
 * Functions Task): while the server answers, the caller is set aside, so only the server's own work
 * is in flight, and a server that waits on a timer (a modelled inference) lets a skip clock jump.
 */
export const CALLER_HEADER = 'x-local-caller';

/** Work that can be set aside while a server answers it (WorkMark is one). */
export interface Caller {
  aside(): void;
  back(): void;
}

const callers = new Map<string, Caller>();

/** Registers a caller; its requests carry the id in CALLER_HEADER until it is unregistered. */
export function registerCaller(caller: Caller): { id: string; unregister(): void } {
  const id = randomUUID();
  callers.set(id, caller);
  return { id, unregister: () => void callers.delete(id) };
}
/** Loopback ports of the servers whose requests are work in flight (DynamoDB Local's is not one). */
const trackedPorts = new Set<number>();

/** The ports whose servers track their requests on a clock: a caller waiting on one may step aside. */
export function trackedServerPorts(): number[] {
  return [...trackedPorts];
}

/**
 * Awaits `work` with the request not counted as work in flight: for a request that only waits for
 * other work the clock sees on its own (a synchronous Invoke waits for its invocation or execution,
 * which is tracked; a modelled inference waits for a timer a skip clock may jump to).
 */
export function awaitAside<T>(res: ServerResponse, work: Promise<T>): Promise<T> {
  const mark = marks.get(res);
  return mark === undefined ? work : mark.awaitAside(work);
}

/** Closes the server, dropping open connections so keep-alive clients cannot hold it open. */
export function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A request body over the limit a service accepts; the rest of it is drained, not read. */
export class BodyTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`The request body is larger than ${limit} bytes`);
    this.name = 'BodyTooLarge';
  }
}

/** The client went away before its request was read to the end: there is no one left to answer. */
export class ClientGone extends Error {
  override readonly name = 'ClientGone';
}

/** Reads the whole body, at most `limit` bytes (BodyTooLarge beyond); ClientGone if the client left. */
export async function readBody(req: IncomingMessage, limit = Infinity): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > limit) {
        req.resume();
        throw new BodyTooLarge(limit);
      }
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    if (err instanceof BodyTooLarge) throw err;
    throw new ClientGone(`the client closed the connection mid-request: ${String(err)}`);
  }
  return Buffer.concat(chunks);
}

/** Parses an AWS JSON request body: a JSON object (an empty body counts as `{}`), or undefined. */
export function parseJsonObject(body: Buffer): Record<string, unknown> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8') || '{}');
  } catch {
    return undefined;
  }
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/**
 * An HTTP server whose handler may throw or reject on any request: a client that left is let go, any
 * other failure is logged and answered by `answerFailure` (an AWS-shaped 500) while the server serves on.
 */
export function serveEveryRequest(
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  answerFailure: (res: ServerResponse, err: unknown) => void,
  log: (line: string) => void = () => undefined,
): Server {
  const listener: RequestListener = (req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (err instanceof ClientGone) {
        res.destroy();
        return;
      }
      log(
        `internal error answering ${req.method} ${req.url}: ${err instanceof Error ? err.stack : String(err)}`,
      );
      if (!res.headersSent) answerFailure(res, err);
      else res.destroy();
    });
  };
  return createServer(listener);
}

/** An AWS JSON 1.1 answer (the protocol of EventBridge and the SageMaker control plane). */
export function sendAwsJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.1',
    'x-amzn-requestid': randomUUID(),
    ...headers,
  });
  res.end(JSON.stringify(body));
}
