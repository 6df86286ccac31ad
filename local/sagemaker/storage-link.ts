// A container's network path to S3, as a loopback TCP relay the emulator can cut: the way to make the
// real model server fail on its own (it cannot read its inputs, so it answers 500 with its own
// InternalError), with no hook in the container's code. A plain byte pipe while whole, so it adds
// nothing to what the container sends; while cut, every connection through it is reset.
import { connect, createServer, type Socket } from 'node:net';

export interface StorageLink {
  /** What the container's AWS_ENDPOINT_URL_S3 is set to. */
  url: string;
  /** Resets every connection through the link, and each new one, until as many restore() calls. */
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

/** A relay on a free loopback port to the S3 endpoint at `target` (an http:// URL). */
export async function openStorageLink(target: string): Promise<StorageLink> {
  const upstream = new URL(target);
  const port = Number(upstream.port || 80);
  const open = new Set<Socket>();
  let cuts = 0;
  const server = createServer((client) => {
    if (cuts > 0) return void client.resetAndDestroy();
    const remote = connect(port, upstream.hostname);
    open.add(client);
    open.add(remote);
    const end = (): void => {
      open.delete(client);
      open.delete(remote);
      client.destroy();
      remote.destroy();
    };
    client.on('error', end).on('close', end);
    remote.on('error', end).on('close', end);
    client.pipe(remote).pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('the storage link has no TCP address');
  return {
    url: `${upstream.protocol}//127.0.0.1:${address.port}`,
    cut() {
      cuts++;
      for (const socket of open) socket.resetAndDestroy();
      open.clear();
    },
    restore() {
      cuts = Math.max(0, cuts - 1);
    },
    close() {
      for (const socket of open) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
