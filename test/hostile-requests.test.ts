// Every class of bad request from issue 9, sent to one running local cloud (raw HTTP where no SDK
// would send it). After each, every service must still answer, and nothing may have been written
// outside the cloud's own folders.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, type Dirent } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { ListTablesCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { ListEndpointsCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startLocalCloud, type LocalCloud } from '../local/cloud.ts';
import type { S3ObjectEvent } from '../local/s3/service.ts';
import { abortedRequest, rawRequest } from './support/raw-http.ts';

const CREDENTIALS = { accessKeyId: 'AKIAHOSTILE', secretAccessKey: 'not-a-secret' };
/** Every key or name that tries to escape carries this, so a stray file can be found afterwards. */
const MARKER = `escape-${randomUUID().slice(0, 8)}`;

let cloud: LocalCloud;
let s3: S3Client;
let bucket: string;
let s3Port: number;
const events: S3ObjectEvent[] = [];

beforeAll(async () => {
  // No model container: these tests never need an endpoint to serve.
  cloud = await startLocalCloud({ container: 'http://127.0.0.1:9' });
  bucket = cloud.bucket;
  s3Port = cloud.s3Server.port;
  cloud.s3Server.onObjectEvent((e) => events.push(e));
  s3 = new S3Client({ ...cloud.clientConfig('s3'), credentials: CREDENTIALS, forcePathStyle: true });
});

afterAll(async () => {
  s3?.destroy();
  await cloud?.stop();
});

/** Every service answers a well-formed request. */
async function everyServiceServes(): Promise<void> {
  const ddb = new DynamoDBClient({ ...cloud.clientConfig('dynamodb'), credentials: CREDENTIALS });
  const bus = new EventBridgeClient({ ...cloud.clientConfig('eventbridge'), credentials: CREDENTIALS });
  const sm = new SageMakerClient({ ...cloud.clientConfig('sagemaker'), credentials: CREDENTIALS });
  try {
    await s3.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1 }));
    expect((await ddb.send(new ListTablesCommand({}))).TableNames).toContain(cloud.tableName);
    const put = await bus.send(
      new PutEventsCommand({ Entries: [{ Source: 'probe', DetailType: 'Probe', Detail: '{}' }] }),
    );
    expect(put.FailedEntryCount).toBe(0);
    await sm.send(new ListEndpointsCommand({}));
  } finally {
    ddb.destroy();
    bus.destroy();
    sm.destroy();
  }
}

/** Paths named with the marker outside the local S3's folder (tmp and home, two levels deep). */
function strayFiles(): string[] {
  const found: string[] = [];
  const look = (dir: string, depth: number): void => {
    if (dir === cloud.s3Server.directory || !existsSync(dir)) return;
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.name.includes(MARKER)) found.push(path);
      if (entry.isDirectory() && depth > 0) look(path, depth - 1);
    }
  };
  look(tmpdir(), 2);
  look(homedir(), 1);
  look(join(cloud.s3Server.directory, '..'), 1);
  return found;
}

afterEach(async () => {
  await everyServiceServes();
  expect(strayFiles()).toEqual([]);
});

const md5 = (b: Buffer | string): string => createHash('md5').update(b).digest('base64');
const crc = (b: Buffer): string => {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32(b) >>> 0);
  return out.toString('base64');
};

async function getText(key: string): Promise<string> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return out.Body!.transformToString();
}

async function errorOf(
  promise: Promise<unknown>,
): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the call to fail');
}

/** An aws-chunked PUT as the SDK frames a streamed upload, with the given frames after the head. */
function chunkedPut(
  key: string,
  frames: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const head = [
    `PUT /${bucket}/${key} HTTP/1.1`,
    `Host: 127.0.0.1:${s3Port}`,
    'Content-Encoding: aws-chunked',
    'x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER',
    'x-amz-trailer: x-amz-checksum-crc32',
    `Content-Length: ${Buffer.byteLength(frames)}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ].join('\n');
  return rawRequest(s3Port, head, frames);
}

describe('S3: no body, however broken, crashes it or is stored', () => {
  const payload = Buffer.from('hello hostile world');
  const frame = `${payload.length.toString(16)}\r\n${payload.toString()}\r\n`;

  it('stores a well-framed aws-chunked body (the control case)', async () => {
    const res = await chunkedPut(
      'chunked/good.txt',
      `${frame}0\r\nx-amz-checksum-crc32:${crc(payload)}\r\n\r\n`,
      { 'x-amz-decoded-content-length': String(payload.length) },
    );
    expect(res.status).toBe(200);
    expect(await getText('chunked/good.txt')).toBe(payload.toString());
  });

  it('answers BadDigest to a trailer CRC that does not match, and stores nothing', async () => {
    const res = await chunkedPut('chunked/bad-crc.txt', `${frame}0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n`);
    expect(res.status).toBe(400);
    expect(res.body).toContain('<Code>BadDigest</Code>');
    expect((await errorOf(getText('chunked/bad-crc.txt'))).name).toBe('NoSuchKey');
  });

  it('answers InvalidRequest to a malformed chunk-size line', async () => {
    const res = await chunkedPut('chunked/bad-size.txt', `zz;chunk-signature=x\r\nabc\r\n0\r\n\r\n`);
    expect(res.status).toBe(400);
    expect(res.body).toContain('<Code>InvalidRequest</Code>');
  });

  it('answers IncompleteBody to a body without its final zero-length chunk', async () => {
    const res = await chunkedPut('chunked/no-end.txt', frame);
    expect(res.status).toBe(400);
    expect(res.body).toContain('<Code>IncompleteBody</Code>');
    expect((await errorOf(getText('chunked/no-end.txt'))).name).toBe('NoSuchKey');
  });

  it('refuses an x-amz-decoded-content-length that differs from the body', async () => {
    const res = await chunkedPut('chunked/short.txt', `${frame}0\r\n\r\n`, {
      'x-amz-decoded-content-length': String(payload.length + 5),
    });
    expect(res.status).toBe(400);
    expect(res.body).toContain('<Code>IncompleteBody</Code>');
  });

  it('survives a streamed upload whose client dies mid-body, and keeps the old object', async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'chunked/cut.txt', Body: 'before' }));
    const before = events.length;
    await abortedRequest(
      s3Port,
      [
        `PUT /${bucket}/chunked/cut.txt HTTP/1.1`,
        `Host: 127.0.0.1:${s3Port}`,
        'Content-Encoding: aws-chunked',
        'x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER',
        'x-amz-decoded-content-length: 100000',
        'Content-Length: 100100',
      ].join('\n'),
      `186a0\r\n${'x'.repeat(5000)}`,
    );
    await expect.poll(async () => getText('chunked/cut.txt')).toBe('before');
    expect(events.slice(before)).toEqual([]);
  });

  it.each([
    [
      'a multi-object delete',
      `POST /BUCKET?delete HTTP/1.1`,
      'Content-Type: application/xml',
      '<Delete><Object>',
    ],
    [
      'a browser form upload',
      `POST /BUCKET HTTP/1.1`,
      'Content-Type: multipart/form-data; boundary=xx',
      '--xx\r\nContent-Disposition: form-data; name="key"\r\n\r\nform/cut.txt\r\n--xx\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\nabc',
    ],
    [
      'a multipart completion',
      `POST /BUCKET/x?uploadId=${'0'.repeat(32)} HTTP/1.1`,
      'Content-Type: application/xml',
      '<CompleteMultipartUpload><Part>',
    ],
  ])('survives %s whose client dies mid-body', async (_what, line, type, partial) => {
    await abortedRequest(
      s3Port,
      [line.replace('BUCKET', bucket), `Host: 127.0.0.1:${s3Port}`, type, 'Content-Length: 100000'].join(
        '\n',
      ),
      partial,
    );
  });

  it('survives a plain upload whose client dies mid-body', async () => {
    await abortedRequest(
      s3Port,
      [`PUT /${bucket}/plain/cut.txt HTTP/1.1`, `Host: 127.0.0.1:${s3Port}`, 'Content-Length: 100000'].join(
        '\n',
      ),
      'y'.repeat(3000),
    );
    await expect.poll(async () => (await errorOf(getText('plain/cut.txt'))).name).toBe('NoSuchKey');
  });
});

describe('S3: integrity headers', () => {
  it('answers BadDigest to a wrong Content-MD5 and InvalidDigest to a malformed one; stores and announces nothing', async () => {
    const before = events.length;
    const wrong = await errorOf(
      s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: 'digest/md5.txt', Body: 'abc', ContentMD5: md5('abd') }),
      ),
    );
    expect(wrong.name).toBe('BadDigest');
    const malformed = await errorOf(
      s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: 'digest/md5.txt', Body: 'abc', ContentMD5: 'nope' }),
      ),
    );
    expect(malformed.name).toBe('InvalidDigest');
    expect((await errorOf(getText('digest/md5.txt'))).name).toBe('NoSuchKey');
    expect(events.slice(before)).toEqual([]);
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'digest/md5.txt', Body: 'abc', ContentMD5: md5('abc') }),
    );
    expect(await getText('digest/md5.txt')).toBe('abc');
  });

  it('answers BadDigest to a wrong x-amz-checksum-crc32 or -sha256 header', async () => {
    const before = events.length;
    for (const [header, value] of [
      ['x-amz-checksum-crc32', crc(Buffer.from('other'))],
      ['x-amz-checksum-sha256', createHash('sha256').update('other').digest('base64')],
    ] as const) {
      const res = await rawRequest(
        s3Port,
        [
          `PUT /${bucket}/digest/checksum.txt HTTP/1.1`,
          `Host: 127.0.0.1:${s3Port}`,
          'Content-Length: 4',
          `${header}: ${value}`,
        ].join('\n'),
        'body',
      );
      expect(res.status).toBe(400);
      expect(res.body).toContain('<Code>BadDigest</Code>');
    }
    expect((await errorOf(getText('digest/checksum.txt'))).name).toBe('NoSuchKey');
    expect(events.slice(before)).toEqual([]);
  });
});

describe('S3: keys are opaque strings that never leave the storage folder', () => {
  it.each([
    `../../../${MARKER}.txt`,
    `../${MARKER}/x.txt`,
    `a/../../../../${MARKER}.txt`,
    `./${MARKER}`,
    `..`,
    `a/./b/${MARKER}`,
  ])('round-trips %s as its own key', async (key) => {
    const body = `body of ${key}`;
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    expect(await getText(key)).toBe(body);
  });

  it('stores percent-encoded dot segments under their own key too', async () => {
    const res = await rawRequest(
      s3Port,
      [
        `PUT /${bucket}/%2E%2E/%2e%2e/${MARKER}-pct.txt HTTP/1.1`,
        `Host: 127.0.0.1:${s3Port}`,
        'Content-Length: 3',
      ].join('\n'),
      'pct',
    );
    expect(res.status).toBe(200);
    expect(await getText(`../../${MARKER}-pct.txt`)).toBe('pct');
  });

  it('keeps dots/a/../b.txt, dots/b.txt and dots//b.txt apart', async () => {
    const keys = ['dots/b.txt', 'dots/a/../b.txt', 'dots//b.txt', 'dots///b.txt', 'dots/b.txt/'];
    for (const key of keys) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key }));
    for (const key of keys) expect(await getText(key)).toBe(key);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'dots/' }));
    expect((listed.Contents ?? []).map((o) => o.Key).sort()).toEqual([...keys].sort());
  });

  it('answers a missing key with an XML NoSuchKey, double slashes included', async () => {
    for (const key of ['missing//x.txt', 'missing/../x', '%']) {
      expect((await errorOf(getText(key))).name).toBe('NoSuchKey');
    }
  });

  it('refuses bucket names that would name a folder outside, and malformed percent-encoding', async () => {
    for (const path of ['/%2E%2E/x', `/..%2F${MARKER}/x`]) {
      const res = await rawRequest(
        s3Port,
        `PUT ${path} HTTP/1.1\nHost: 127.0.0.1:${s3Port}\nContent-Length: 1`,
        'x',
      );
      expect(res.status).toBe(400);
      expect(res.body).toMatch(/<Code>(InvalidBucketName|InvalidURI)<\/Code>/);
    }
    const vhost = await rawRequest(s3Port, `GET /x HTTP/1.1\nHost: ...s3.amazonaws.com`);
    expect(vhost.body).toContain('<Code>InvalidBucketName</Code>');
    const badEscape = await rawRequest(s3Port, `GET /${bucket}/a%zz HTTP/1.1\nHost: 127.0.0.1:${s3Port}`);
    expect(badEscape.status).toBe(400);
    expect(badEscape.body).toContain('<Code>InvalidURI</Code>');
  });
});

describe('S3: multipart uploads can be listed and aborted', () => {
  it('lists parts, aborts, and then refuses the upload and its parts', async () => {
    const key = 'multipart/aborted.bin';
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
    const part = randomBytes(1024);
    const { ETag } = await s3.send(
      new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: 1, Body: part }),
    );
    const parts = await s3.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId }));
    expect(parts.Parts?.map((p) => [p.PartNumber, p.ETag, p.Size])).toEqual([[1, ETag, 1024]]);

    const before = events.length;
    await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId }));
    const complete = await errorOf(
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          UploadId,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag }] },
        }),
      ),
    );
    expect(complete.name).toBe('NoSuchUpload');
    const late = await errorOf(
      s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: 2, Body: 'x' })),
    );
    expect(late.name).toBe('NoSuchUpload');
    expect((await errorOf(s3.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId })))).name).toBe(
      'NoSuchUpload',
    );
    expect(events.slice(before)).toEqual([]);
    const uploads = readdirSync(join(cloud.s3Server.directory, 'data', bucket)).filter((n) =>
      n.includes('uploads'),
    );
    for (const dir of uploads) {
      expect(readdirSync(join(cloud.s3Server.directory, 'data', bucket, dir))).not.toContain(UploadId);
    }
  });

  it('refuses upload ids it never issued, without touching the disk', async () => {
    const res = await rawRequest(
      s3Port,
      `PUT /${bucket}/x?partNumber=1&uploadId=../../${MARKER} HTTP/1.1\nHost: 127.0.0.1:${s3Port}\nContent-Length: 1`,
      'x',
    );
    expect(res.status).toBe(404);
    expect(res.body).toContain('<Code>NoSuchUpload</Code>');
  });
});

/** A JSON 1.1 request to a local AWS JSON service, sent raw. */
function awsJson(url: string, target: string, body: string): Promise<{ status: number; body: string }> {
  const port = Number(new URL(url).port);
  return rawRequest(
    port,
    [
      'POST / HTTP/1.1',
      `Host: 127.0.0.1:${port}`,
      'Content-Type: application/x-amz-json-1.1',
      `X-Amz-Target: ${target}`,
      `Content-Length: ${Buffer.byteLength(body)}`,
    ].join('\n'),
    body,
  );
}

const typeOf = (body: string): unknown => (JSON.parse(body) as { __type?: unknown }).__type;

describe('EventBridge: malformed or cut-off PutEvents', () => {
  it.each([
    ['null', 'SerializationException'],
    ['[]', 'SerializationException'],
    ['{"Entries":[null]}', 'ValidationException'],
    ['{"Entries":"x"}', 'ValidationException'],
    ['{"Entries":[]}', 'ValidationException'],
    ['{not json', 'SerializationException'],
  ])('answers %s with a 400 %s', async (body, type) => {
    const res = await awsJson(cloud.eventbridge, 'AWSEvents.PutEvents', body);
    expect(res.status).toBe(400);
    expect(typeOf(res.body)).toBe(type);
  });

  // A member of the wrong JSON type refuses the whole request, the well-formed entry beside it too.
  it.each([
    ['Time as a string', { Time: '2026-12-03T10:00:00Z' }, 'STRING_VALUE cannot be converted to Date'],
    ['Source as a number', { Source: 7 }, 'NUMBER_VALUE cannot be converted to String'],
    ['Detail as an object', { Detail: { a: 1 } }, 'START_OBJECT cannot be converted to String'],
    ['DetailType as true', { DetailType: true }, 'VALUE_TRUE cannot be converted to String'],
    ['Resources as a string', { Resources: 'arn:x' }, 'STRING_VALUE cannot be converted to a list of String'],
    ['a Resource as a number', { Resources: ['arn:x', 3] }, 'NUMBER_VALUE cannot be converted to String'],
  ])('refuses an entry with %s as a SerializationException', async (_what, member, message) => {
    const good = { Source: 'probe', DetailType: 'Probe', Detail: '{}' };
    const res = await awsJson(
      cloud.eventbridge,
      'AWSEvents.PutEvents',
      JSON.stringify({ Entries: [good, { ...good, ...member }] }),
    );
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toEqual({ __type: 'SerializationException', message });
  });

  it('takes at most 10 entries, as EventBridge does', async () => {
    const entry = { Source: 'probe', DetailType: 'Probe', Detail: '{}' };
    const eleven = await awsJson(
      cloud.eventbridge,
      'AWSEvents.PutEvents',
      JSON.stringify({ Entries: Array.from({ length: 11 }, () => entry) }),
    );
    expect(eleven.status).toBe(400);
    expect(typeOf(eleven.body)).toBe('ValidationException');
    const ten = await awsJson(
      cloud.eventbridge,
      'AWSEvents.PutEvents',
      JSON.stringify({ Entries: Array.from({ length: 10 }, () => entry) }),
    );
    expect(ten.status).toBe(200);
  });

  it('survives a client that disconnects mid-body', async () => {
    const port = Number(new URL(cloud.eventbridge).port);
    await abortedRequest(
      port,
      `POST / HTTP/1.1\nHost: 127.0.0.1:${port}\nX-Amz-Target: AWSEvents.PutEvents\nContent-Length: 5000`,
      '{"Entries":[',
    );
  });
});

describe('SageMaker: malformed control-plane and runtime requests', () => {
  it.each([
    ['CreateEndpointConfig', 'null', 'SerializationException'],
    [
      'CreateEndpointConfig',
      '{"EndpointConfigName":"c1","ProductionVariants":[null]}',
      'ValidationException',
    ],
    ['CreateEndpointConfig', '{"EndpointConfigName":"c1","ProductionVariants":[{}]}', 'ValidationException'],
    [
      'CreateEndpointConfig',
      '{"EndpointConfigName":"c1","ProductionVariants":[{"VariantName":"v","ModelName":"m","InitialInstanceCount":-1}]}',
      'ValidationException',
    ],
    ['CreateModel', '{"ModelName":"m","PrimaryContainer":null}', 'ValidationException'],
    [
      'CreateModel',
      '{"ModelName":"m","PrimaryContainer":{"Image":"i","Environment":{"A":1}}}',
      'ValidationException',
    ],
    ['ListEndpoints', '{"MaxResults":-1}', 'ValidationException'],
    ['ListEndpoints', '{"MaxResults":"ten"}', 'ValidationException'],
    ['ListEndpoints', '{"SortBy":{}}', 'ValidationException'],
    ['ListEndpoints', '{"NextToken":5}', 'ValidationException'],
    [
      'UpdateEndpointWeightsAndCapacities',
      '{"EndpointName":"e","DesiredWeightsAndCapacities":[null]}',
      'ValidationException',
    ],
    ['DescribeEndpoint', '"just a string"', 'SerializationException'],
    ['toString', '{}', 'UnknownOperationException'],
  ])('%s with %s is a 400 %s', async (operation, body, type) => {
    const res = await awsJson(cloud.sagemaker, `SageMaker.${operation}`, body);
    expect(res.status).toBe(400);
    expect(typeOf(res.body)).toBe(type);
    expect(res.body).not.toMatch(/TypeError|Cannot read|undefined/);
  });

  it('answers a malformed percent-encoding in an invocation path and an over-6 MB payload', async () => {
    const port = Number(new URL(cloud.sagemakerRuntime).port);
    const bad = await rawRequest(
      port,
      `POST /endpoints/%E0%A4%A/invocations HTTP/1.1\nHost: 127.0.0.1:${port}\nContent-Length: 2`,
      '{}',
    );
    expect(bad.status).toBe(400);
    expect(bad.headers['x-amzn-errortype']).toBe('ValidationError');
    const big = Buffer.alloc(6 * 1024 * 1024 + 1, 0x61);
    const tooBig = await rawRequest(
      port,
      `POST /endpoints/e/invocations HTTP/1.1\nHost: 127.0.0.1:${port}\nContent-Length: ${big.length}`,
      big,
    );
    expect(tooBig.status).toBe(413);
    expect(tooBig.headers['x-amzn-errortype']).toBe('ValidationError');
  });

  it('survives a client that disconnects mid-body', async () => {
    const port = Number(new URL(cloud.sagemaker).port);
    await abortedRequest(
      port,
      `POST / HTTP/1.1\nHost: 127.0.0.1:${port}\nX-Amz-Target: SageMaker.ListEndpoints\nContent-Length: 5000`,
      '{"Max',
    );
  });
});
