// Requests no SDK would send: written byte for byte on a TCP socket, optionally cut off mid-body.
import { connect } from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Sends `head` (request line and headers, without the blank line) and `body`; resolves with the answer. */
export function rawRequest(port: number, head: string, body: Buffer | string = ''): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', reject);
    socket.on('end', () => {
      socket.destroy();
      resolve(parseResponse(Buffer.concat(chunks).toString('latin1')));
    });
    socket.write(`${head.replace(/\r?\n/g, '\r\n')}\r\nConnection: close\r\n\r\n`);
    socket.write(body);
  });
}

/** Sends the head and part of a body, then drops the connection, as a client that dies mid-upload. */
export function abortedRequest(port: number, head: string, partialBody: Buffer | string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(`${head.replace(/\r?\n/g, '\r\n')}\r\n\r\n`);
      socket.write(partialBody, () => setTimeout(() => socket.destroy(), 20));
    });
    socket.on('error', reject);
    socket.on('close', () => resolve());
  });
}

function parseResponse(text: string): RawResponse {
  const split = text.indexOf('\r\n\r\n');
  const [statusLine = '', ...lines] = text.slice(0, split < 0 ? undefined : split).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = split < 0 ? '' : text.slice(split + 4);
  if (headers['transfer-encoding'] === 'chunked') body = dechunk(body);
  return { status: Number(statusLine.split(' ')[1] ?? 0), headers, body };
}

function dechunk(text: string): string {
  let out = '';
  let rest = text;
  for (;;) {
    const eol = rest.indexOf('\r\n');
    const size = Number.parseInt(rest.slice(0, eol), 16);
    if (eol < 0 || !(size > 0)) return out;
    out += rest.slice(eol + 2, eol + 2 + size);
    rest = rest.slice(eol + 2 + size + 2);
  }
}
