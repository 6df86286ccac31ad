// The local cloud's clock, served to clients outside its process (`dvs bench --endpoints`, a person's
// script): a skip clock's jumps cannot be seen from outside, so a client reads the time, sleeps and
// marks its own work in flight here. None of these requests is itself work in flight: a sleeper waits
// on the clock like any timer, and a client's work is what `/busy` holds.
//   GET /            {"clock", "now", "skippedMs", "jumps"}: the time now, in simulated epoch ms
//   GET /sleep?seconds=S   answers {"now"} once S simulated seconds have passed (a timer the clock
//                          may jump to); the client leaving cancels it
//   GET /busy        answers {"now"} at once and keeps the response open: the client's work is in
//                    flight on the clock until it closes the request
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { formatClockMode, skipped, type Clock } from './clock.ts';
import { closeServer, listenOnLoopback } from './http-server.ts';

export interface ClockServer {
  endpoint: string;
  stop(): Promise<void>;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function reading(clock: Clock): Record<string, unknown> {
  return { clock: formatClockMode(clock.mode), now: clock.now(), ...skipped(clock) };
}

export async function startClockServer(clock: Clock): Promise<ClockServer> {
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const gone = new AbortController();
    res.once('close', () => gone.abort(new Error('the client left')));
    if (req.method !== 'GET') return json(res, 405, { message: `use GET, not ${req.method}` });
    if (url.pathname === '/') return json(res, 200, reading(clock));
    if (url.pathname === '/sleep') {
      const seconds = Number(url.searchParams.get('seconds'));
      if (!Number.isFinite(seconds) || seconds < 0)
        return json(res, 400, {
          message: `seconds must be a number of simulated seconds, 0 or more, got '${url.searchParams.get('seconds')}'`,
        });
      clock.sleep(seconds, gone.signal).then(
        () => json(res, 200, { now: clock.now() }),
        () => undefined,
      );
      return;
    }
    if (url.pathname === '/busy') {
      const end = clock.begin();
      res.once('close', end);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(`${JSON.stringify({ now: clock.now() })}\n`);
      return;
    }
    json(res, 404, { message: `no such path ${url.pathname}: use /, /sleep?seconds=S or /busy` });
  });
  // Not tracked: reading the time or waiting on it is not work; /busy marks what is.
  const endpoint = await listenOnLoopback(server);
  return { endpoint, stop: () => closeServer(server) };
}
