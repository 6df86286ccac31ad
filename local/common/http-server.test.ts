// Requests as work in flight: a tracked server's request holds the clock while it is answered, unless
// it comes from a client that only watches (`observing`, the benchmark following a run), whose reads
// must never keep a skip clock from jumping.
import { createServer, type Server } from 'node:http';
import { ListStateMachinesCommand, SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localClientConfig, observing } from '../../shared/aws.ts';
import { createClock } from './clock.ts';
import { closeServer, listenOnLoopback } from './http-server.ts';

const clock = createClock('skip');
let server: Server;
let url: string;
/** In flight on the clock while the server held the request, before it answered. */
const seen: number[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.once('end', () => {
      seen.push(clock.inFlight);
      res.setHeader('content-type', 'application/x-amz-json-1.0');
      res.end('{"stateMachines":[]}');
    });
  });
  url = await listenOnLoopback(server, clock);
});

afterAll(async () => {
  if (server) await closeServer(server);
});

describe('requests to a tracked local server', () => {
  it.each([
    ['a client doing work is in flight', false, 1],
    ['a client that only watches is not', true, 0],
  ])('%s while answered', async (_what, watching, inFlight) => {
    const config = localClientConfig(url);
    const client = new SFNClient(watching ? observing(config) : config);
    try {
      seen.length = 0;
      await client.send(new ListStateMachinesCommand({}));
      expect(seen).toEqual([inFlight]);
    } finally {
      client.destroy();
    }
  });
});
