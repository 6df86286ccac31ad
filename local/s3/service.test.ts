import { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import {
  CopyObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  paginateListObjectsV2,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalS3, type LocalS3, type S3ObjectEvent } from './service.ts';

const BUCKET = 'uploads';
let s3: LocalS3;
let client: S3Client;
const events: S3ObjectEvent[] = [];

beforeAll(async () => {
  s3 = await startLocalS3({ buckets: [BUCKET] });
  s3.onObjectEvent((e) => events.push(e));
  // Default SDK settings (checksums included) and credentials the local S3 has never seen.
  client = new S3Client({
    endpoint: s3.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'AKIAEXAMPLEUNSEEN', secretAccessKey: 'not-a-real-secret' },
  });
});
afterAll(async () => {
  client?.destroy();
  await s3?.stop();
});

async function getBytes(key: string): Promise<Buffer> {
  const out = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return Buffer.from(await out.Body!.transformToByteArray());
}

describe('local S3', () => {
  it('listens on loopback only', () => {
    expect(s3.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('round-trips a 6 MB buffer byte for byte', async () => {
    const body = randomBytes(6 * 1024 * 1024);
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'big/buffer.bin', Body: body }));
    expect((await getBytes('big/buffer.bin')).equals(body)).toBe(true);
    const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'big/buffer.bin' }));
    expect(head.ContentLength).toBe(body.length);
  });

  it('stores a streamed body sent with the default checksums without its aws-chunked framing', async () => {
    const parts = [randomBytes(70_000), Buffer.from('hello stream body\n'), randomBytes(1234)];
    const expected = Buffer.concat(parts);
    await client.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: 'stream/body.bin',
        Body: Readable.from(parts),
        ContentLength: expected.length,
      }),
    );
    const stored = await getBytes('stream/body.bin');
    expect(stored.length).toBe(expected.length);
    expect(stored.equals(expected)).toBe(true);
    const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'stream/body.bin' }));
    expect(head.ContentEncoding).toBeUndefined();
  });

  it('completes a multipart upload of a stream, and says so in its event', async () => {
    const body = randomBytes(11 * 1024 * 1024 + 17);
    const upload = new Upload({
      client,
      params: { Bucket: BUCKET, Key: 'multi/part.bin', Body: Readable.from([body]) },
      partSize: 5 * 1024 * 1024,
    });
    await upload.done();
    expect((await getBytes('multi/part.bin')).equals(body)).toBe(true);
    const event = events.find((e) => e.key === 'multi/part.bin');
    expect(event).toMatchObject({
      detailType: 'Object Created',
      reason: 'CompleteMultipartUpload',
      bucket: BUCKET,
    });
  });

  it('pages through a listing with continuation tokens, no key twice and none missed', async () => {
    const keys = Array.from({ length: 23 }, (_, i) => `page/item-${String(i).padStart(2, '0')}.txt`);
    await Promise.all(
      keys.map((Key) => client.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: Key }))),
    );
    const seen: string[] = [];
    let pages = 0;
    for await (const page of paginateListObjectsV2(
      { client, pageSize: 5 },
      { Bucket: BUCKET, Prefix: 'page/' },
    )) {
      pages += 1;
      expect(page.KeyCount).toBe(page.Contents?.length ?? 0);
      seen.push(...(page.Contents ?? []).map((o) => o.Key!));
    }
    expect(pages).toBe(5);
    expect(seen).toEqual(keys);
  });

  it('pages past common prefixes without repeating them', async () => {
    for (const dir of ['a', 'b', 'c']) {
      await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `tree/${dir}/1`, Body: '1' }));
      await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `tree/${dir}/2`, Body: '2' }));
    }
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'tree/z.txt', Body: 'z' }));
    const prefixes: string[] = [];
    const files: string[] = [];
    for await (const page of paginateListObjectsV2(
      { client, pageSize: 1 },
      { Bucket: BUCKET, Prefix: 'tree/', Delimiter: '/' },
    )) {
      prefixes.push(...(page.CommonPrefixes ?? []).map((p) => p.Prefix!));
      files.push(...(page.Contents ?? []).map((o) => o.Key!));
    }
    expect(prefixes).toEqual(['tree/a/', 'tree/b/', 'tree/c/']);
    expect(files).toEqual(['tree/z.txt']);
  });

  it('rejects a continuation token it did not issue', async () => {
    await expect(
      client.send(new ListObjectsV2Command({ Bucket: BUCKET, ContinuationToken: 'bm90LWEtdG9rZW4' })),
    ).rejects.toMatchObject({ name: 'InvalidArgument', $metadata: { httpStatusCode: 400 } });
  });

  it('emits an event per created object, naming the reason', async () => {
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'ev/src.txt', Body: 'x' }));
    await client.send(
      new CopyObjectCommand({ Bucket: BUCKET, Key: 'ev/copy.txt', CopySource: `${BUCKET}/ev/src.txt` }),
    );
    expect(events.find((e) => e.key === 'ev/src.txt')).toMatchObject({ reason: 'PutObject', size: 1 });
    expect(events.find((e) => e.key === 'ev/copy.txt')).toMatchObject({ reason: 'CopyObject' });
  });

  it('answers NoSuchKey for a missing object', async () => {
    await expect(client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'missing' }))).rejects.toMatchObject(
      {
        name: 'NoSuchKey',
      },
    );
  });

  it('refuses over-long keys with an S3 error instead of crashing', async () => {
    const tooLong = `long/${'a'.repeat(100).concat('/').repeat(11)}x`;
    await expect(
      client.send(new PutObjectCommand({ Bucket: BUCKET, Key: tooLong, Body: 'x' })),
    ).rejects.toMatchObject({
      name: 'KeyTooLongError',
    });
    const longSegment = `long/${'b'.repeat(300)}`;
    await expect(
      client.send(new PutObjectCommand({ Bucket: BUCKET, Key: longSegment, Body: 'x' })),
    ).rejects.toThrow(/segment may be at most 240 bytes/);
  });
});
