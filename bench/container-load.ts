// The inference server under a burst: N (40) concurrent generate_3d requests of size² (1024²) inputs
// against the real server process (tsx, as `npm run up` starts it) and the local S3, while /ping is
// polled every 20 ms. Reports invocation latency percentiles, /ping latency during the load, how
// many invocations were refused with 429, and the server's RSS (before, peak, after).
// Usage: npm run bench:container-load [-- --requests 40 --size 1024 --rounds 3 --workers N --queue N]
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { generateSample, samplePngs } from '../container/src/samples.ts';
import { spawnWatched } from '../local/common/child-process.ts';
import { freePort } from '../local/common/ports.ts';
import { startLocalS3 } from '../local/s3/service.ts';
import { percentile } from './stats.ts';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '40' },
    size: { type: 'string', default: '1024' },
    rounds: { type: 'string', default: '3' },
    workers: { type: 'string' },
    queue: { type: 'string' },
    help: { type: 'boolean' },
  },
});
if (values.help) {
  console.log(
    'Usage: npm run bench:container-load [-- --requests 40 --size 1024 --rounds 3 --workers N --queue N]\n' +
      'Sends --requests concurrent generate_3d invocations of --size² inputs to the inference server\n' +
      '(its own process, reading and writing the local S3), --rounds times, polling /ping every 20 ms.\n' +
      'Reports invocation latency p50/p95/p99/max, /ping p50/p99/max during the load, 429 refusals,\n' +
      'and the server RSS before, at its peak (VmHWM) and after. --workers and --queue set\n' +
      'COMPUTE_WORKERS and MAX_QUEUED_INVOCATIONS (defaults: one per core, 64).',
  );
  process.exit(0);
}
const positive = (name: string, raw: string): number => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got '${raw}'`);
  return n;
};
const requests = positive('requests', values.requests);
const size = positive('size', values.size);
const rounds = positive('rounds', values.rounds);

const BUCKET = 'bench-load';
const s3Server = await startLocalS3({ buckets: [BUCKET] });
const s3 = new S3Client({
  region: 'us-east-1',
  endpoint: s3Server.endpoint,
  forcePathStyle: true,
  credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
});
const pngs = samplePngs(generateSample('blob', size));
await s3.send(
  new PutObjectCommand({ Bucket: BUCKET, Key: 'users/b/input/load_image.png', Body: pngs.image }),
);
await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'users/b/input/load_mask.png', Body: pngs.mask }));

const port = await freePort();
const server = spawnWatched(process.execPath, ['--import', 'tsx', 'container/src/main.ts', 'serve'], {
  PATH: process.env.PATH, // eslint-disable-line no-restricted-properties -- the server needs a PATH
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  AWS_ENDPOINT_URL_S3: s3Server.endpoint,
  SAGEMAKER_BIND_TO_PORT: String(port),
  MODEL_DIR: '/nonexistent',
  MAX_IMAGE_PIXELS: String(4096 * 4096),
  ...(values.workers ? { COMPUTE_WORKERS: values.workers } : {}),
  ...(values.queue ? { MAX_QUEUED_INVOCATIONS: values.queue } : {}),
});
const url = `http://127.0.0.1:${port}`;
/** The server's own timings per phase (timings_ms of each answer). */
const phases: Record<string, number[]> = {};
const rssMiB = (field: 'VmRSS' | 'VmHWM'): number =>
  Number(
    new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))?.[1],
  ) / 1024;

try {
  await server.waitForLine(/"event":"model loaded"/, 60_000, 'the inference server');
  // One warm-up request, so the first round does not pay for module loading alone.
  await invoke(0, 0);
  const before = rssMiB('VmRSS');
  const latencies: number[] = [];
  const pings: number[] = [];
  let refused = 0;
  let pingErrors = 0;
  let failed = 0;
  const wall: number[] = [];
  for (let round = 1; round <= rounds; round++) {
    let loading = true;
    const pinger = (async () => {
      while (loading) {
        const t = performance.now();
        try {
          const res = await fetch(`${url}/ping`);
          await res.arrayBuffer();
          pings.push(performance.now() - t);
        } catch {
          pingErrors++;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const start = performance.now();
    const results = await Promise.all(Array.from({ length: requests }, (_, i) => invokeOrFail(round, i)));
    wall.push(performance.now() - start);
    loading = false;
    await pinger;
    for (const r of results) {
      if (r.status === 200) latencies.push(r.ms);
      else if (r.status === 429) refused++;
      else failed++;
    }
  }
  const after = rssMiB('VmRSS');
  const peak = rssMiB('VmHWM');
  const fmt = (xs: number[], ps: number[]): string =>
    xs.length
      ? ps.map((p) => `p${p} ${percentile(xs, p).toFixed(0)}`).join(' / ') +
        ` / max ${Math.max(...xs).toFixed(0)} ms`
      : 'none';
  console.log(`container load: ${rounds} rounds of ${requests} concurrent generate_3d, ${size}x${size} blob`);
  console.log(`  invocations ok ${latencies.length}, 429 ${refused}, other errors ${failed}`);
  console.log(`  invocation latency: ${fmt(latencies, [50, 95, 99])}`);
  console.log(
    `  server phases p50: ${Object.entries(phases)
      .map(([phase, xs]) => `${phase} ${percentile(xs, 50).toFixed(0)}`)
      .join(', ')} ms`,
  );
  console.log(`  burst wall time: ${fmt(wall, [50])}`);
  console.log(`  /ping during load (${pings.length} pings, ${pingErrors} failed): ${fmt(pings, [50, 99])}`);
  console.log(
    `  server RSS: before ${before.toFixed(0)} MiB, peak ${peak.toFixed(0)} MiB, after ${after.toFixed(0)} MiB`,
  );
} finally {
  await server.stop();
  s3.destroy();
  await s3Server.stop();
}

async function invoke(round: number, i: number): Promise<{ status: number; ms: number }> {
  const t = performance.now();
  const res = await fetch(`${url}/invocations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      task: 'generate_3d',
      bucket: BUCKET,
      image_s3_key: 'users/b/input/load_image.png',
      mask_s3_key: 'users/b/input/load_mask.png',
      output_s3_key: `users/b/output/sf/load-${round}-${i}.ply`,
    }),
  });
  const json = (await res.json()) as { timings_ms?: Record<string, number> };
  for (const [phase, ms] of Object.entries(json.timings_ms ?? {})) (phases[phase] ??= []).push(ms);
  return { status: res.status, ms: performance.now() - t };
}

/** An invocation, or status 0 when the connection itself failed. */
async function invokeOrFail(round: number, i: number): Promise<{ status: number; ms: number }> {
  try {
    return await invoke(round, i);
  } catch {
    return { status: 0, ms: 0 };
  }
}
