// The local S3: s3rver, in-process, bound to 127.0.0.1, with its gaps fixed here so that any
// client with default settings works against it (research local-stack.md section 4):
// - any access key is accepted (s3rver knows one), as LocalStack does;
// - streamed uploads framed as `aws-chunked` (the SDK's default checksums) are decoded, not stored framed;
// - ListObjectsV2 pagination is served without s3rver's DES continuation tokens (DES is gone in OpenSSL 3);
// - each object event says why it happened (PutObject, CopyObject, CompleteMultipartUpload), as S3 does;
// - a key is stored under a path that cannot leave the bucket's folder, and a body is stored only when
//   it arrived whole and matches its declared length and digests (store.ts, integrity.ts);
// - ListParts and AbortMultipartUpload are served (s3rver answers 405 to both).
import { AsyncLocalStorage } from 'node:async_hooks';
import { EventEmitter } from 'node:events';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Transform } from 'node:stream';
import S3rver, { type KoaContext, type Middleware } from 's3rver';
import S3Error from 's3rver/lib/models/error.js';
import { AwsChunkedDecoder, isAwsChunked } from './aws-chunked.ts';
import type { Clock } from '../common/clock.ts';
import { trackRequests } from '../common/http-server.ts';
import { claimFolder, removeOrphanedFolders } from '../common/process-lifetime.ts';
import { BodyVerifier, expectationsOf, S3BodyError } from './integrity.ts';
import { isListObjectsV2, rewriteListV2Request, rewriteListV2Response } from './list-objects-v2.ts';
import { keyToPath, SafeFilesystemStore } from './store.ts';

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
  /** Every request is work in flight on it (the object events it sends go out within the request). */
  clock?: Clock;
}

export interface LocalS3 {
  endpoint: string;
  port: number;
  /** The folder holding every bucket and object; removed on stop. */
  directory: string;
  /** Called for every object change, after the request that caused it has stored the object. */
  onObjectEvent(listener: (event: S3ObjectEvent) => void): () => void;
  stop(): Promise<void>;
}

interface RequestNote {
  reason?: ObjectEventReason;
}

/** The access key s3rver has built in; every incoming key is mapped onto it. */
const S3RVER_KEY = 'S3RVER';

/** Every local S3 keeps its data in a folder of the temp directory named so. */
const FOLDER_PREFIX = 'local-s3-';

export async function startLocalS3(options: LocalS3Options): Promise<LocalS3> {
  // Folders of local clouds that ended without stopping (a crash, kill -9) would keep every object.
  await removeOrphanedFolders(tmpdir(), FOLDER_PREFIX);
  const directory = await mkdtemp(join(tmpdir(), FOLDER_PREFIX));
  await claimFolder(directory);
  const data = join(directory, 'data');
  await mkdir(data);
  const server = new S3rver({
    address: '127.0.0.1',
    port: options.port ?? 0,
    silent: true,
    directory: data,
    resetOnClose: true,
    allowMismatchedSignatures: true,
    configureBuckets: options.buckets.map((name) => ({ name })),
  });
  const store = new SafeFilesystemStore(data);
  server.store = server.context.store = store;
  const notes = new AsyncLocalStorage<RequestNote>();
  // s3rver's middleware chain is [logger, xml serializer, mount, vhost, router]; ours goes right after
  // the serializer, so it sees plain response objects and runs before routing and authentication.
  if (server.middleware.length !== 5) {
    throw new Error(
      `s3rver's middleware chain changed (${server.middleware.length} entries): re-check local/s3/service.ts`,
    );
  }
  server.middleware.splice(2, 0, fixRequest(notes, store));

  const events = new EventEmitter();
  server.on('event', (raw: S3rverEvent) => {
    const converted = convertEvent(raw, notes.getStore());
    if (converted) events.emit('object', converted);
  });

  const address = await server.run();
  if (options.clock && server.httpServer) trackRequests(server.httpServer, options.clock);
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    port: address.port,
    directory,
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

function fixRequest(notes: AsyncLocalStorage<RequestNote>, store: SafeFilesystemStore): Middleware {
  return async (ctx, next) => {
    acceptAnyAccessKey(ctx);
    const key = routeKeyAsOneSegment(ctx);
    if (key !== undefined) checkObjectKey(key);
    if (carriesObjectBody(ctx)) verifyBody(ctx);
    if (key !== undefined && typeof ctx.query.uploadId === 'string') {
      const bucket = ctx.path.split('/')[1] ?? '';
      if (ctx.method === 'GET') return listParts(ctx, store, bucket, key);
      if (ctx.method === 'DELETE') return abortUpload(ctx, store, bucket);
    }
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
 * Hands s3rver's router the key as one path segment, so that keys with empty segments (`a//b.txt`) or
 * a trailing slash reach the object routes unchanged. Returns the key; undefined for bucket requests.
 */
function routeKeyAsOneSegment(ctx: KoaContext): string | undefined {
  const match = /^\/([^/]*)\/(.+)$/s.exec(ctx.path);
  if (!match) return undefined;
  let key: string;
  try {
    key = decodeURIComponent(match[2]!);
  } catch {
    throw new S3Error('InvalidURI', "Couldn't parse the specified URI.", { URI: ctx.path });
  }
  ctx.path = `/${match[1]}/${encodeURIComponent(key)}`;
  return key;
}

/**
 * Refuses keys S3 refuses (over 1024 bytes: KeyTooLongError) and keys this local S3 cannot store
 * (a segment too long for a file name) with an S3 error.
 */
function checkObjectKey(key: string): void {
  if (Buffer.byteLength(key) > 1024) throw new S3Error('KeyTooLongError', 'Your key is too long');
  if (
    keyToPath(key)
      .split('/')
      .some((segment) => Buffer.byteLength(segment) > MAX_LOCAL_SEGMENT_BYTES)
  ) {
    throw new S3Error(
      'InvalidArgument',
      `The local S3 keeps each key segment as a file name, so a segment may be at most ${MAX_LOCAL_SEGMENT_BYTES} bytes here, escapes included (AWS allows longer ones)`,
    );
  }
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

/** PutObject and UploadPart: the requests whose body s3rver streams into the store. */
function carriesObjectBody(ctx: KoaContext): boolean {
  return ctx.method === 'PUT' && /^\/[^/]+\/./.test(ctx.path) && !ctx.headers['x-amz-copy-source'];
}

/**
 * Puts the body through the aws-chunked decoder (when framed so) and the BodyVerifier. A stage that
 * fails passes its error down the chain to the store, which answers it; the rest of the request is
 * drained rather than cut off, so the client reads the answer.
 */
function verifyBody(ctx: KoaContext): void {
  const headers = ctx.req.headers;
  const source = ctx.req;
  const stages: Transform[] = [];
  let trailers = (): Record<string, string> => ({});
  let decodedLength: string | undefined;
  if (isAwsChunked(headers)) {
    const decoder = new AwsChunkedDecoder();
    stages.push(decoder);
    trailers = () => decoder.trailers;
    const declared = headers['x-amz-decoded-content-length'];
    decodedLength = typeof declared === 'string' ? declared : undefined;
    if (decodedLength !== undefined) headers['content-length'] = decodedLength;
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
  }
  let verifier: BodyVerifier;
  try {
    verifier = new BodyVerifier(expectationsOf(headers, decodedLength), trailers);
  } catch (err) {
    if (err instanceof S3BodyError) throw new S3Error(err.code, err.message);
    throw err;
  }
  stages.push(verifier);
  let upstream: Readable = source;
  for (const stage of stages) {
    upstream.pipe(stage);
    upstream.on('error', (err: Error) => stage.destroy(err));
    stage.on('error', () => {
      source.unpipe();
      source.resume();
    });
    upstream = stage;
  }
  ctx.req = Object.assign(verifier, { headers });
}

/** ListParts: the parts a live multipart upload holds. */
async function listParts(
  ctx: KoaContext,
  store: SafeFilesystemStore,
  bucket: string,
  key: string,
): Promise<void> {
  const uploadId = String(ctx.query.uploadId);
  const parts = await store.listParts(bucket, uploadId);
  ctx.body = {
    ListPartsResult: {
      '@': { xmlns: 'http://s3.amazonaws.com/doc/2006-03-01/' },
      Bucket: bucket,
      Key: key,
      UploadId: uploadId,
      PartNumberMarker: 0,
      NextPartNumberMarker: parts.at(-1)?.number ?? 0,
      MaxParts: 1000,
      IsTruncated: false,
      StorageClass: 'STANDARD',
      Part: parts.map((p) => ({
        PartNumber: p.number,
        LastModified: p.lastModified.toISOString(),
        ETag: JSON.stringify(p.etag),
        Size: p.size,
      })),
    },
  };
}

/** AbortMultipartUpload: removes the upload and its parts; it cannot be completed afterwards. */
async function abortUpload(ctx: KoaContext, store: SafeFilesystemStore, bucket: string): Promise<void> {
  await store.abortUpload(bucket, String(ctx.query.uploadId));
  ctx.status = 204;
  ctx.body = '';
}

function reasonOf(ctx: KoaContext): ObjectEventReason | undefined {
  if (ctx.method === 'PUT') return ctx.headers['x-amz-copy-source'] ? 'CopyObject' : 'PutObject';
  if (ctx.method === 'POST') return 'uploadId' in ctx.query ? 'CompleteMultipartUpload' : 'POST Object';
  if (ctx.method === 'DELETE') return 'DeleteObject';
  return undefined;
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
