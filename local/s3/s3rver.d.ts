// The slice of s3rver 3.7.1's API that local/s3/ uses (the package ships no types).
declare module 's3rver' {
  import type { EventEmitter } from 'node:events';
  import type { Server } from 'node:http';
  import type { AddressInfo } from 'node:net';
  import type { Readable } from 'node:stream';

  export interface S3rverOptions {
    address?: string;
    port?: number;
    silent?: boolean;
    directory: string;
    resetOnClose?: boolean;
    allowMismatchedSignatures?: boolean;
    configureBuckets?: { name: string; configs?: string[] }[];
  }

  export interface KoaContext {
    method: string;
    path: string;
    query: Record<string, string | string[] | undefined>;
    headers: Record<string, string | string[] | undefined>;
    req: Readable & { headers: Record<string, string | string[] | undefined> };
    body: unknown;
    status: number;
  }
  export type Middleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;

  export default class S3rver extends EventEmitter {
    constructor(options: S3rverOptions);
    middleware: Middleware[];
    httpServer?: Server;
    store: unknown;
    context: { store: unknown };
    run(): Promise<AddressInfo>;
    close(): Promise<void>;
  }
}

// s3rver's file store and its error type, which local/s3/store.ts extends.
declare module 's3rver/lib/stores/filesystem.js' {
  import type { Readable } from 'node:stream';

  export interface StoredObject {
    bucket: string;
    key: string;
    content: Readable | Buffer;
    metadata: Record<string, unknown>;
  }

  export default class FilesystemStore {
    static encodeKeyPath(key: string): string;
    static decodeKeyPath(keyPath: string): string;
    constructor(rootDirectory: string);
    rootDirectory: string;
    getBucketPath(bucket: string): string;
    getResourcePath(bucket: string, key: string | undefined, resource: string): string;
    putMetadata(bucket: string, key: string, metadata: Record<string, unknown>, md5?: string): Promise<void>;
  }
}

declare module 's3rver/lib/models/error.js' {
  export default class S3Error extends Error {
    constructor(code: string, message?: string, detail?: Record<string, unknown>);
    code: string;
    status: number;
  }
}
