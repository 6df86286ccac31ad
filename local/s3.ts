// The local S3: s3rver, in-process, bound to 127.0.0.1, with its gaps fixed here so that any
// client with default settings works against it (research local-stack.md section 4):
// - any access key is accepted (s3rver knows one), as LocalStack does;
// - streamed uploads framed as `aws-chunked` (the SDK's default checksums) are decoded, not stored framed;
// - ListObjectsV2 pagination is served without s3rver's DES continuation tokens (DES is gone in OpenSSL 3);
// - each object event says why it happened (PutObject, CopyObject, CompleteMultipartUpload), as S3 does.
import { AsyncLocalStorage } from 'node:async_hooks';
import { EventEmitter } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver, { type KoaContext, type Middleware } from 's3rver';
import { AwsChunkedDecoder, isAwsChunked } from './aws-chunked.ts';

export type ObjectEventReason =
  'PutObject' | 'CopyObject' | 'CompleteMultipartUpload' | 'POST Object' | 'DeleteObject';

/** One object change, with what EventBridge's S3 events carry. Keys are as stored (not URL-encoded). */
export interface S3ObjectEvent {
  detailType: 'Object Created' | 'Object Deleted';
  reason: ObjectEventReason;
  bucket: string;
  key: string;
  size?: number;
  etag?: string;
  sequencer: string;
  time: string;
  requestId: string;
  sourceIp: string;
}

export interface LocalS3Options {
  /** Buckets to create at start. */
  buckets: string[];
  /** 0 (the default) picks a free port. */
  port?: number;
}

export interface LocalS3 {
  endpoint: string;
  port: number;
  /** Called for every object change, after the request that caused it has stored the object. */
  onObjectEvent(listener: (event: S3ObjectEvent) => void): () => void;
  stop(): Promise<void>;
}

interface RequestNote {
  reason?: ObjectEventReason;
}

/** The access key s3rver has built in; every incoming key is mapped onto it. */
const S3RVER_KEY = 'S3RVER';

export async function startLocalS3(options: LocalS3Options): Promise<LocalS3> {
  const directory = await mkdtemp(join(tmpdir(), 'local-s3-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: options.port ?? 0,
    silent: true,
    directory,
    resetOnClose: true,
    allowMismatchedSignatures: true,
    configureBuckets: options.buckets.map((name) => ({ name })),
  });
  const notes = new AsyncLocalStorage<RequestNote>();
  // s3rver's middleware chain is [logger, xml serializer, mount, vhost, router]; ours goes right after
  // the serializer, so it sees plain response objects and runs before routing and authentication.
  if (server.middleware.length !== 5) {
    throw new Error(
      `s3rver's middleware chain changed (${server.middleware.length} entries): re-check local/s3.ts`,
    );
  }
  server.middleware.splice(2, 0, fixRequest(notes));

  const events = new EventEmitter();
  server.on('event', (raw: S3rverEvent) => {
    const converted = convertEvent(raw, notes.getStore());
    if (converted) events.emit('object', converted);
  });

  const address = await server.run();
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    port: address.port,
    onObjectEvent(listener) {
      events.on('object', listener);
      return () => events.off('object', listener);
    },
    async stop() {
      const closing = server.close();
      server.httpServer?.closeAllConnections();
      await closing;
      await rm(directory, { recursive: true, force: true });
    },
  };
}

function fixRequest(notes: AsyncLocalStorage<RequestNote>): Middleware {
  return async (ctx, next) => {
    acceptAnyAccessKey(ctx);
    const keyProblem = checkObjectKey(ctx);
    if (keyProblem) {
      ctx.status = 400;
      ctx.body = { Error: keyProblem };
      return;
    }
    if (isAwsChunked(ctx.req.headers)) decodeAwsChunked(ctx);
    const note: RequestNote = { reason: reasonOf(ctx) };
    const listV2 = isListObjectsV2(ctx) ? rewriteListV2Request(ctx) : undefined;
    if (listV2 === 'invalid-token') {
      // As S3 answers a token it did not issue, rather than silently restarting the listing.
      ctx.status = 400;
      ctx.body = {
        Error: {
          Code: 'InvalidArgument',
          Message: 'The continuation token provided is incorrect',
          ArgumentName: 'continuation-token',
        },
      };
      return;
    }
    await notes.run(note, next);
    if (listV2) rewriteListV2Response(ctx, listV2);
  };
}

/** S3 file names: s3rver stores each key segment as a file name plus this suffix. */
const MAX_LOCAL_SEGMENT_BYTES = 255 - '._S3rver_object'.length;

/**
 * Refuses keys S3 refuses (over 1024 bytes: KeyTooLongError) and keys this local S3 cannot store
 * (a segment too long for a file name) with an S3 error, instead of letting s3rver crash on them.
 */
function checkObjectKey(ctx: KoaContext): { Code: string; Message: string } | undefined {
  const path = ctx.path.split('/').slice(2); // ['', bucket, ...key]
  if (path.length === 0) return undefined;
  let key: string;
  try {
    key = decodeURIComponent(path.join('/'));
  } catch {
    return undefined; // s3rver answers malformed paths itself
  }
  if (Buffer.byteLength(key) > 1024) return { Code: 'KeyTooLongError', Message: 'Your key is too long' };
  if (key.split('/').some((segment) => Buffer.byteLength(segment) > MAX_LOCAL_SEGMENT_BYTES)) {
    return {
      Code: 'InvalidArgument',
      Message: `The local S3 keeps each key segment as a file name, so a segment may be at most ${MAX_LOCAL_SEGMENT_BYTES} bytes here (AWS allows longer ones)`,
    };
  }
  return undefined;
}

function acceptAnyAccessKey(ctx: KoaContext): void {
  const headers = ctx.req.headers;
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    headers.authorization = auth
      .replace(/Credential=[^/,\s]+\//, `Credential=${S3RVER_KEY}/`)
      .replace(/^AWS [^:\s]+:/, `AWS ${S3RVER_KEY}:`);
  }
  const query = { ...ctx.query };
  let changed = false;
  const credential = query['X-Amz-Credential'];
  if (typeof credential === 'string') {
    query['X-Amz-Credential'] = credential.replace(/^[^/]+\//, `${S3RVER_KEY}/`);
    changed = true;
  }
  if (typeof query.AWSAccessKeyId === 'string') {
    query.AWSAccessKeyId = S3RVER_KEY;
    changed = true;
  }
  if (changed) ctx.query = query;
}

function decodeAwsChunked(ctx: KoaContext): void {
  const headers = ctx.req.headers;
  const decoded = new AwsChunkedDecoder();
  ctx.req.on('error', (err: Error) => decoded.destroy(err));
  ctx.req.pipe(decoded);
  const decodedLength = headers['x-amz-decoded-content-length'];
  if (typeof decodedLength === 'string') headers['content-length'] = decodedLength;
  else delete headers['content-length'];
  const encodings = String(headers['content-encoding'] ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e && e !== 'aws-chunked');
  if (encodings.length) headers['content-encoding'] = encodings.join(',');
  else delete headers['content-encoding'];
  delete headers['x-amz-decoded-content-length'];
  delete headers['x-amz-trailer'];
  headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
  ctx.req = Object.assign(decoded, { headers });
}

function reasonOf(ctx: KoaContext): ObjectEventReason | undefined {
  if (ctx.method === 'PUT') return ctx.headers['x-amz-copy-source'] ? 'CopyObject' : 'PutObject';
  if (ctx.method === 'POST') return 'uploadId' in ctx.query ? 'CompleteMultipartUpload' : 'POST Object';
  if (ctx.method === 'DELETE') return 'DeleteObject';
  return undefined;
}

// --- ListObjectsV2 served through s3rver's V1 listing (markers need no cipher) -------------------

interface ListV2Request {
  continuationToken?: string;
  startAfter?: string;
  fetchOwner: boolean;
  bucket: string;
}

function isListObjectsV2(ctx: KoaContext): boolean {
  return ctx.method === 'GET' && ctx.query['list-type'] === '2' && /^\/[^/]+\/?$/.test(ctx.path);
}

function encodeToken(bucket: string, key: string): string {
  return Buffer.from(JSON.stringify({ b: bucket, k: key })).toString('base64url');
}

function decodeToken(bucket: string, token: string): string | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as {
      b?: unknown;
      k?: unknown;
    };
    return parsed.b === bucket && typeof parsed.k === 'string' ? parsed.k : undefined;
  } catch {
    return undefined;
  }
}

function rewriteListV2Request(ctx: KoaContext): ListV2Request | 'invalid-token' {
  const bucket = ctx.path.replace(/\//g, '');
  const query = { ...ctx.query };
  const request: ListV2Request = {
    continuationToken:
      typeof query['continuation-token'] === 'string' ? query['continuation-token'] : undefined,
    startAfter: typeof query['start-after'] === 'string' ? query['start-after'] : undefined,
    fetchOwner: query['fetch-owner'] === 'true',
    bucket,
  };
  delete query['list-type'];
  delete query['continuation-token'];
  delete query['start-after'];
  delete query['fetch-owner'];
  let marker = request.startAfter;
  if (request.continuationToken !== undefined) {
    marker = decodeToken(bucket, request.continuationToken);
    if (marker === undefined) return 'invalid-token';
  }
  if (marker) query.marker = marker;
  ctx.query = query;
  return request;
}

interface ListBucketResult {
  Name?: string;
  Prefix?: string;
  Marker?: string;
  NextMarker?: string;
  MaxKeys?: unknown;
  Delimiter?: string;
  IsTruncated?: boolean;
  Contents?: { Key: string; Owner?: unknown }[];
  CommonPrefixes?: { Prefix: string }[];
  '@'?: unknown;
}

function rewriteListV2Response(ctx: KoaContext, request: ListV2Request): void {
  const body = ctx.body as { ListBucketResult?: ListBucketResult } | undefined;
  const result = body?.ListBucketResult;
  if (!result) return;
  const contents = (result.Contents ?? []).map(({ Owner, ...rest }) =>
    request.fetchOwner ? { ...rest, Owner } : rest,
  );
  const prefixes = result.CommonPrefixes ?? [];
  let next: string | undefined;
  if (result.IsTruncated) {
    const lastKey = contents.at(-1)?.Key ?? '';
    const lastPrefix = prefixes.at(-1)?.Prefix ?? '';
    // Resuming after a common prefix must skip every key under it, as S3 does.
    next = lastPrefix > lastKey ? `${lastPrefix}\uffff` : lastKey;
  }
  ctx.body = {
    ListBucketResult: {
      '@': result['@'],
      Name: result.Name,
      Prefix: result.Prefix,
      StartAfter: request.continuationToken === undefined ? request.startAfter : undefined,
      ContinuationToken: request.continuationToken,
      NextContinuationToken: next === undefined ? undefined : encodeToken(request.bucket, next),
      KeyCount: contents.length + prefixes.length,
      MaxKeys: result.MaxKeys,
      Delimiter: result.Delimiter,
      IsTruncated: result.IsTruncated ?? false,
      Contents: contents,
      CommonPrefixes: prefixes,
    },
  };
}

// --- events ------------------------------------------------------------------------------------

interface S3rverEvent {
  Records: {
    eventName: string;
    eventTime: string;
    requestParameters: { sourceIPAddress: string };
    responseElements: { 'x-amz-request-id': string };
    s3: {
      bucket: { name: string };
      object: { key: string; size?: number; eTag?: string; sequencer: string };
    };
  }[];
}

function convertEvent(raw: S3rverEvent, note: RequestNote | undefined): S3ObjectEvent | undefined {
  const record = raw.Records[0];
  if (!record) return undefined;
  const created = record.eventName.startsWith('ObjectCreated:');
  const fallback: ObjectEventReason = created ? 'PutObject' : 'DeleteObject';
  const object = record.s3.object;
  return {
    detailType: created ? 'Object Created' : 'Object Deleted',
    reason: note?.reason ?? fallback,
    bucket: record.s3.bucket.name,
    key: object.key,
    size: object.size,
    etag: object.eTag,
    sequencer: object.sequencer,
    time: record.eventTime,
    requestId: record.responseElements['x-amz-request-id'],
    sourceIp: record.requestParameters.sourceIPAddress,
  };
}
