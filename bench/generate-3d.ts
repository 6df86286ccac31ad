// generate_3d's latency (p50, p95, per phase) and peak memory for 256, 512 and 1024 px inputs.
// Each size runs in its own Node process pinned to one core (taskset, when present), so its peak
// RSS is its own. Usage: npm run bench:generate-3d [-- --runs N --sizes 256,512,1024 --shape blob]
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { spawnWatched } from '../local/common/child-process.ts';
import { freePort } from '../local/common/ports.ts';
import { startLocalS3 } from '../local/s3/service.ts';
import { parseArgs } from 'node:util';
import { decodeImage } from '../container/src/images.ts';
import { encodePly } from '../container/src/ply.ts';
import { DEFAULT_PARAMETERS, reconstruct } from '../container/src/reconstruct.ts';
import { generateSample, samplePngs, SHAPES, type Shape } from '../container/src/samples.ts';
import { percentile } from './stats.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '40' },
    sizes: { type: 'string', default: '256,512,1024' },
    shape: { type: 'string', default: 'blob' },
    child: { type: 'string' },
    http: { type: 'boolean' },
    help: { type: 'boolean' },
  },
});
if (values.help) {
  console.log(
    'Usage: npm run bench:generate-3d [-- --runs N --sizes 256,512,1024 --shape blob]\n' +
      'Times decode (PNG image + mask) -> silhouette inflation -> binary PLY, the compute of generate_3d\n' +
      '(S3 transfer excluded), and reports p50/p95 per size and each process peak RSS.\n' +
      'With --http it also times POST /invocations end to end against the real server process and the\n' +
      'local S3 (read both inputs, compute, write the PLY), and reports the server process peak RSS.',
  );
  process.exit(0);
}

const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1)
  throw new Error(`--runs must be a positive integer, got '${values.runs}'`);
if (!(SHAPES as readonly string[]).includes(values.shape))
  throw new Error(`--shape must be one of ${SHAPES.join(', ')}`);
const shape = values.shape as Shape;

interface Result {
  size: number;
  points: number;
  plyBytes: number;
  p50: number;
  p95: number;
  phases: Record<string, number>;
  baselineRssMiB: number;
  peakRssMiB: number;
}

function measure(size: number): Result {
  const baselineRssMiB = process.memoryUsage().rss / 2 ** 20;
  const pngs = samplePngs(generateSample(shape, size));
  const limits = { maxBytes: 64 * 2 ** 20, maxPixels: 4096 * 4096 };
  const totals: number[] = [];
  const phases: Record<string, number[]> = { decode: [], reconstruct: [], encode_ply: [] };
  let points = 0;
  let plyBytes = 0;
  for (let i = -3; i < runs; i++) {
    const t0 = performance.now();
    const image = decodeImage(pngs.image, 'image', limits);
    const mask = decodeImage(pngs.mask, 'mask', limits);
    const t1 = performance.now();
    const cloud = reconstruct(image, mask, DEFAULT_PARAMETERS);
    const t2 = performance.now();
    const ply = encodePly(cloud);
    const t3 = performance.now();
    if (i < 0) continue; // warm-up
    totals.push(t3 - t0);
    phases.decode!.push(t1 - t0);
    phases.reconstruct!.push(t2 - t1);
    phases.encode_ply!.push(t3 - t2);
    points = cloud.count;
    plyBytes = ply.length;
  }
  return {
    size,
    points,
    plyBytes,
    p50: percentile(totals, 50),
    p95: percentile(totals, 95),
    phases: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, percentile(v, 50)])),
    baselineRssMiB,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
  };
}

if (values.child) {
  process.stdout.write(JSON.stringify(measure(Number(values.child))));
  process.exit(0);
}

const sizes = values.sizes.split(',').map(Number);
const pin = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
console.log(
  `generate_3d compute, shape '${shape}', ${runs} runs per size after 3 warm-up runs, Node ${process.versions.node}, ${pin ? 'pinned to CPU 0' : 'not pinned (no taskset)'}`,
);
console.log(
  'size       points     PLY MiB   p50 ms   p95 ms   decode/reconstruct/encode p50 ms   peak RSS MiB (idle)',
);
for (const size of sizes) {
  const args = [
    '--import',
    'tsx',
    'bench/generate-3d.ts',
    '--child',
    String(size),
    '--runs',
    String(runs),
    '--shape',
    shape,
  ];
  const child = pin
    ? spawnSync('taskset', ['-c', '0', process.execPath, ...args], { encoding: 'utf8' })
    : spawnSync(process.execPath, args, { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`size ${size} failed: ${child.stderr}`);
  const r = JSON.parse(child.stdout) as Result;
  const f = (n: number): string => n.toFixed(1);
  console.log(
    `${`${size}x${size}`.padEnd(10)} ${String(r.points).padStart(8)}   ${(r.plyBytes / 2 ** 20).toFixed(2).padStart(7)}   ${f(r.p50).padStart(6)}   ${f(r.p95).padStart(6)}   ${[r.phases.decode!, r.phases.reconstruct!, r.phases.encode_ply!].map(f).join(' / ').padStart(32)}   ${f(r.peakRssMiB).padStart(7)} (${f(r.baselineRssMiB)})`,
  );
}

/** End to end: the server process (pinned when possible) over HTTP, inputs and output in the local S3. */
async function measureHttp(): Promise<void> {
  const s3Server = await startLocalS3({ buckets: ['bench'] });
  const s3 = new S3Client({
    region: 'us-east-1',
    endpoint: s3Server.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
  const port = await freePort();
  const command = pin ? 'taskset' : process.execPath;
  const prefix = pin ? ['-c', '0', process.execPath] : [];
  const server = spawnWatched(command, [...prefix, '--import', 'tsx', 'container/src/main.ts', 'serve'], {
    ...process.env, // eslint-disable-line no-restricted-properties -- the server needs PATH
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_ENDPOINT_URL_S3: s3Server.endpoint,
    SAGEMAKER_BIND_TO_PORT: String(port),
  });
  try {
    await server.waitForLine(/"event":"model loaded"/, 30_000, 'the inference server');
    // The watchdog shell execs into taskset, which execs into Node: the pid is the server's.
    const serverPid = server.pid;
    console.log(
      `\nPOST /invocations end to end (server process${pin ? ' pinned to CPU 0' : ''}, local S3), ${runs} runs per size`,
    );
    console.log('size       p50 ms   p95 ms   server peak RSS MiB');
    for (const size of sizes) {
      const pngs = samplePngs(generateSample(shape, size));
      const prefixKey = `users/bench/input/${shape}-${size}`;
      await s3.send(
        new PutObjectCommand({ Bucket: 'bench', Key: `${prefixKey}_image.png`, Body: pngs.image }),
      );
      await s3.send(new PutObjectCommand({ Bucket: 'bench', Key: `${prefixKey}_mask.png`, Body: pngs.mask }));
      const body = JSON.stringify({
        task: 'generate_3d',
        bucket: 'bench',
        image_s3_key: `${prefixKey}_image.png`,
        mask_s3_key: `${prefixKey}_mask.png`,
        orchestrator: 'sf',
      });
      const times: number[] = [];
      for (let i = -3; i < runs; i++) {
        const t = performance.now();
        const res = await fetch(`http://127.0.0.1:${port}/invocations`, { method: 'POST', body });
        if (res.status !== 200) throw new Error(`invocation failed: ${res.status} ${await res.text()}`);
        await res.arrayBuffer();
        if (i >= 0) times.push(performance.now() - t);
      }
      const status = readFileSync(`/proc/${serverPid}/status`, 'utf8');
      const hwm = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN) / 1024;
      console.log(
        `${`${size}x${size}`.padEnd(10)} ${percentile(times, 50).toFixed(1).padStart(6)}   ${percentile(times, 95).toFixed(1).padStart(6)}   ${hwm.toFixed(1).padStart(8)}`,
      );
    }
  } finally {
    await server.stop();
    s3.destroy();
    await s3Server.stop();
  }
}

if (values.http) await measureHttp();
