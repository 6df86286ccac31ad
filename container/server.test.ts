// The real server process over HTTP, reading and writing the local S3 through the AWS SDK.
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnWatched, type WatchedProcess } from '../local/common/child-process.ts';
import { freePort } from '../local/common/ports.ts';
import { startLocalS3, type LocalS3 } from '../local/s3/service.ts';
import { parsePly } from './src/ply.ts';
import { generateSample, samplePngs } from './src/samples.ts';

const BUCKET = 'container-test';
let s3Server: LocalS3;
let s3: S3Client;
let server: WatchedProcess;
let url: string;
let modelDir: string | undefined;

async function upload(key: string, body: Uint8Array | string): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
}

async function ping(): Promise<number> {
  return (await fetch(`${url}/ping`)).status;
}

async function invoke(body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${url}/invocations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** Starts `npm run container`'s command with the given environment; resolves once it listens. */
async function startServer(env: Record<string, string>): Promise<{ process: WatchedProcess; url: string }> {
  const port = await freePort();
  const child = spawnWatched(process.execPath, ['--import', 'tsx', 'container/src/main.ts', 'serve'], {
    PATH: process.env.PATH, // eslint-disable-line no-restricted-properties -- the child needs a PATH
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIACONTAINER',
    AWS_SECRET_ACCESS_KEY: 'container-secret',
    AWS_ENDPOINT_URL_S3: s3Server.endpoint,
    SAGEMAKER_BIND_TO_PORT: String(port),
    ...env,
  });
  await child.waitForLine(/"event":"listening"/, 30_000, 'the inference server');
  return { process: child, url: `http://127.0.0.1:${port}` };
}

const MODEL_LOAD_SECONDS = 1.5;

beforeAll(async () => {
  s3Server = await startLocalS3({ buckets: [BUCKET] });
  s3 = new S3Client({
    region: 'us-east-1',
    endpoint: s3Server.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
  });
  modelDir = mkdtempSync(join(tmpdir(), 'model-'));
  writeFileSync(join(modelDir, 'model.json'), JSON.stringify({ inflation: 0.5 }));
  ({ process: server, url } = await startServer({
    MODEL_DIR: modelDir,
    MODEL_LOAD_SECONDS: String(MODEL_LOAD_SECONDS),
    MAX_IMAGE_PIXELS: String(300 * 300),
    MAX_IMAGE_BYTES: String(200_000),
  }));
  const disc = samplePngs(generateSample('disc', 128));
  await upload('users/u1/input/disc_image.png', disc.image);
  await upload('users/u1/input/disc_mask.png', disc.mask);
});

afterAll(async () => {
  await server?.stop();
  s3?.destroy();
  await s3Server?.stop();
  if (modelDir) rmSync(modelDir, { recursive: true, force: true });
});

describe('the inference server', () => {
  it('answers /ping 503 while the model loads and 200 after', async () => {
    // A server whose model loads for an hour: still loading whenever the test looks, however slow
    // the machine (the shared server's 1.5 s load may be over before the test starts).
    const loading = await startServer({ MODEL_DIR: modelDir!, MODEL_LOAD_SECONDS: '3600' });
    try {
      expect((await fetch(`${loading.url}/ping`)).status).toBe(503);
      const early = await fetch(`${loading.url}/invocations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ task: 'generate_3d' }),
      });
      expect(early.status).toBe(503);
      expect(await early.json()).toMatchObject({ error: { code: 'ModelNotReady' } });
    } finally {
      await loading.process.stop();
    }
    await expect.poll(ping, { timeout: 10_000, interval: 100 }).toBe(200);
  });

  it('generate_3d reads both objects from S3 and writes a PLY with the promised points and bounds', async () => {
    await expect.poll(ping, { timeout: 10_000 }).toBe(200);
    const { status, json } = await invoke({
      task: 'generate_3d',
      bucket: BUCKET,
      image_s3_key: 'users/u1/input/disc_image.png',
      mask_s3_key: 'users/u1/input/disc_mask.png',
      orchestrator: 'ldf',
    });
    expect(status).toBe(200);
    expect(json).toMatchObject({
      status: 'success',
      task: 'generate_3d',
      output_s3_key: 'users/u1/output/ldf/disc.ply',
    });
    const stats = json.mesh_stats as {
      num_points: number;
      file_size_bytes: number;
      mask_coverage_percent: number;
      bounds: { min: number[]; max: number[] };
      parameters: { inflation: number };
    };
    // model.json in the model directory set the inflation.
    expect(stats.parameters.inflation).toBe(0.5);
    expect(stats.mask_coverage_percent).toBeCloseTo(38.5, 0);
    expect(Object.keys(json.timings_ms as object)).toEqual([
      'read_inputs',
      'queued',
      'decode',
      'reconstruct',
      'encode_ply',
      'write_output',
      'total',
    ]);

    const out = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'users/u1/output/ldf/disc.ply' }));
    const file = Buffer.from(await out.Body!.transformToByteArray());
    expect(file.length).toBe(stats.file_size_bytes);
    const ply = parsePly(file);
    expect(ply.count).toBe(stats.num_points);
    for (let axis = 0; axis < 3; axis++) {
      let min = Infinity;
      let max = -Infinity;
      for (let i = axis; i < ply.positions.length; i += 3) {
        min = Math.min(min, ply.positions[i]!);
        max = Math.max(max, ply.positions[i]!);
      }
      expect(min).toBe(stats.bounds.min[axis]);
      expect(max).toBe(stats.bounds.max[axis]);
    }
    expect(stats.bounds.max[2]).toBeCloseTo(0.35, 1); // half the hemisphere, inflation 0.5
  });

  describe('bad input gets 400 naming the problem, and the server keeps serving', () => {
    const base = {
      task: 'generate_3d',
      bucket: BUCKET,
      image_s3_key: 'users/u1/input/disc_image.png',
      mask_s3_key: 'users/u1/input/disc_mask.png',
      output_s3_key: 'users/u1/output/sf/x.ply',
    };
    beforeAll(async () => {
      for (let i = 0; i < 100 && (await ping()) !== 200; i++) await new Promise((r) => setTimeout(r, 100));
      await upload('users/u1/input/text_image.png', 'this is not a png');
      await upload('users/u1/input/small_mask.png', samplePngs(generateSample('disc', 64)).mask);
      await upload(
        'users/u1/input/empty_mask.png',
        samplePngs({
          ...generateSample('disc', 128),
          mask: { width: 128, height: 128, rgba: new Uint8Array(128 * 128 * 4) },
        }).mask,
      );
      const big = samplePngs(generateSample('disc', 512));
      await upload('users/u1/input/big_image.png', big.image);
      // Over the byte limit: refused from S3's Content-Length, before the bytes are decoded.
      await upload('users/u1/input/heavy_image.png', Buffer.concat([big.image, Buffer.alloc(200_000)]));
    });

    it.each([
      ['invalid JSON', '{"task":', 'InvalidJson', 'not valid JSON'],
      ['an unknown task', { ...base, task: 'segment' }, 'UnknownTask', 'unknown task "segment"'],
      ['a missing field', { ...base, mask_s3_key: undefined }, 'MissingField', "'mask_s3_key' is required"],
      ['an underivable output key', { ...base, output_s3_key: undefined }, 'MissingField', "'orchestrator'"],
      [
        'a missing object',
        { ...base, image_s3_key: 'users/u1/input/nope_image.png' },
        'ObjectNotFound',
        `image s3://${BUCKET}/users/u1/input/nope_image.png does not exist`,
      ],
      [
        'an object that is not an image',
        { ...base, image_s3_key: 'users/u1/input/text_image.png' },
        'NotAnImage',
        'image is not a PNG or JPEG image',
      ],
      [
        'image and mask of different sizes',
        { ...base, mask_s3_key: 'users/u1/input/small_mask.png' },
        'SizeMismatch',
        'image is 128x128 but mask is 64x64',
      ],
      [
        'an empty mask',
        { ...base, mask_s3_key: 'users/u1/input/empty_mask.png' },
        'EmptyMask',
        'nothing to reconstruct',
      ],
      [
        'an image over the pixel limit',
        { ...base, image_s3_key: 'users/u1/input/big_image.png' },
        'TooLarge',
        'the limit is 90000',
      ],
      [
        'an image over the byte limit',
        { ...base, image_s3_key: 'users/u1/input/heavy_image.png' },
        'TooLarge',
        `image s3://${BUCKET}/users/u1/input/heavy_image.png is 258062 bytes; the limit is 200000`,
      ],
      ['bad parameters', { ...base, parameters: { stride: 'x' } }, 'InvalidField', 'parameters.stride'],
    ])('%s', async (_what, body, code, message) => {
      const { status, json } = await invoke(body);
      expect(status).toBe(400);
      expect(json).toMatchObject({ status: 'error', error: { code } });
      expect((json.error as { message: string }).message).toContain(message);
    });

    it('an internal fault gets 500, and the next request is served', async () => {
      const { status, json } = await invoke({
        ...base,
        output_s3_key: `users/u1/output/sf/${'k'.repeat(100).concat('/').repeat(11)}x.ply`,
      });
      expect(status).toBe(500);
      expect(json).toMatchObject({ status: 'error', error: { code: 'InternalError' } });
      expect((await invoke(base)).status).toBe(200);
      expect(await ping()).toBe(200);
    });
  });

  it('answers 429 at once when every worker and queue place is taken, and /ping all the while', async () => {
    // An S3 that accepts connections and never answers holds the one admitted invocation in place.
    const sockets: Socket[] = [];
    const stuck = createNetServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => stuck.listen(0, '127.0.0.1', resolve));
    const extra = await startServer({
      MODEL_DIR: '/nonexistent',
      COMPUTE_WORKERS: '1',
      MAX_QUEUED_INVOCATIONS: '0',
      AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${(stuck.address() as AddressInfo).port}`,
      AWS_MAX_ATTEMPTS: '1',
    });
    const call = (): Promise<Response> =>
      fetch(`${extra.url}/invocations`, {
        method: 'POST',
        body: JSON.stringify({
          task: 'generate_3d',
          bucket: BUCKET,
          image_s3_key: 'users/u1/input/disc_image.png',
          mask_s3_key: 'users/u1/input/disc_mask.png',
          output_s3_key: 'users/u1/output/sf/held.ply',
        }),
      });
    try {
      await expect.poll(async () => (await fetch(`${extra.url}/ping`)).status, { timeout: 10_000 }).toBe(200);
      const held = call();
      await expect.poll(() => sockets.length, { timeout: 10_000 }).toBeGreaterThan(0);
      const refused = await call();
      expect(refused.status).toBe(429);
      expect(await refused.json()).toMatchObject({ error: { code: 'TooManyRequests' } });
      expect((await fetch(`${extra.url}/ping`)).status).toBe(200);
      stuck.close();
      for (const socket of sockets) socket.destroy();
      expect((await held).status).toBe(500);
      // The place is free again: the next call is admitted (and fails, with no S3 to read).
      expect((await call()).status).toBe(500);
    } finally {
      for (const socket of sockets) socket.destroy();
      stuck.close();
      await extra.process.stop();
    }
  });

  it('answers unknown routes with 404 and stops cleanly on SIGTERM', async () => {
    const extra = await startServer({ MODEL_DIR: '/nonexistent' });
    try {
      const res = await fetch(`${extra.url}/predict`);
      expect(res.status).toBe(404);
      await expect.poll(async () => (await fetch(`${extra.url}/ping`)).status, { timeout: 10_000 }).toBe(200);
    } finally {
      await extra.process.stop();
    }
    expect(extra.process.output()).toContain('"event":"stopped"');
  });
});
