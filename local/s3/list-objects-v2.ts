// ListObjectsV2 served through s3rver's V1 listing: s3rver's own V2 continuation tokens need DES,
// which OpenSSL 3 no longer has, so the request is rewritten to a V1 listing from a marker and the
// answer back to V2, with a continuation token that is the marker (base64url JSON, bound to the bucket).
import type { KoaContext } from 's3rver';

export interface ListV2Request {
  continuationToken?: string;
  startAfter?: string;
  fetchOwner: boolean;
  bucket: string;
}

export function isListObjectsV2(ctx: KoaContext): boolean {
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

export function rewriteListV2Request(ctx: KoaContext): ListV2Request | 'invalid-token' {
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

export function rewriteListV2Response(ctx: KoaContext, request: ListV2Request): void {
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
