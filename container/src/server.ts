// The SageMaker container contract: GET /ping (503 until the model is loaded, 200 after) and
// POST /invocations. Requests carry S3 references; the server reads the inputs with the AWS SDK,
// runs the model backend and writes the result back to S3. Bad input gets 400 with a code that names
// the problem, its own faults 500; it keeps serving after either. The CPU work runs on a pool of
// worker threads (worker-pool.ts), so /ping answers at once under any load; invocations beyond the
// pool's workers and queue get 429 at once, as SageMaker's own model server answers when it is full.
import {
  GetObjectCommand,
  NoSuchBucket,
  NoSuchKey,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isOrchestrator, outputKey, parseInputKey } from '../../shared/keys.ts';
import { BadRequest, errorBody } from './errors.ts';
import type { ImageLimits } from './images.ts';
import { parseParameters, type ReconstructionParameters } from './reconstruct.ts';
import { WorkerPool } from './worker-pool.ts';

/** The largest JSON request accepted: requests carry S3 keys, not image bytes. */
const MAX_REQUEST_BYTES = 64 * 1024;

export interface InferenceServerOptions {
  s3: S3Client;
  limits: ImageLimits;
  /** Resolves with the backend's default parameters once the model is loaded; /ping answers 503 until then. */
  load: () => Promise<ReconstructionParameters>;
  log?: (entry: Record<string, unknown>) => void;
  /** Worker threads for the CPU work (default: one per core). */
  workers?: number;
  /** Invocations that may wait for a worker; one more gets 429 (default 64). */
  maxQueued?: number;
}

export interface InferenceServer {
  server: Server;
  listen(port: number, host: string): Promise<number>;
  /** Stops accepting, lets requests in flight finish (at most `graceMs`), then closes. */
  close(graceMs?: number): Promise<void>;
  /** Whether the model has loaded. */
  ready(): boolean;
}

interface Generate3dRequest {
  bucket: string;
  imageKey: string;
  maskKey: string;
  outputKey: string;
  parameters: ReconstructionParameters;
}

export function createInferenceServer(options: InferenceServerOptions): InferenceServer {
  const log = options.log ?? (() => undefined);
  const pool = new WorkerPool({
    ...(options.workers === undefined ? {} : { workers: options.workers }),
    maxQueued: options.maxQueued ?? 64,
  });
  /** Invocations admitted and not yet answered: at most the pool's workers plus its queue. */
  let admitted = 0;
  const capacity = pool.size + (options.maxQueued ?? 64);
  let defaults: ReconstructionParameters | undefined;
  let loadError: unknown;
  options.load().then(
    (p) => {
      defaults = p;
      log({ event: 'model loaded' });
    },
    (err: unknown) => {
      loadError = err;
      log({ event: 'model failed to load', error: String(err) });
    },
  );

  const server = createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      log({ event: 'internal error', error: String(err) });
      if (!res.headersSent) sendJson(res, 500, errorBody('InternalError', 'the server failed; see its log'));
    });
  });

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0];
    if (req.method === 'GET' && path === '/ping') {
      await drain(req);
      res.writeHead(defaults ? 200 : 503).end();
      return;
    }
    if (req.method === 'POST' && path === '/invocations') return invocation(req, res);
    await drain(req);
    sendJson(
      res,
      404,
      errorBody('NotFound', `no route for ${req.method} ${path}; use GET /ping or POST /invocations`),
    );
  }

  async function invocation(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    if (!defaults) {
      await drain(req);
      const why = loadError
        ? `the model failed to load: ${(loadError as Error).message}`
        : 'the model is still loading';
      return sendJson(res, 503, errorBody('ModelNotReady', why));
    }
    if (admitted >= capacity) {
      await drain(req);
      log({ event: 'invocation', status: 429, inFlight: admitted });
      return sendJson(
        res,
        429,
        errorBody('TooManyRequests', `the server is busy with ${admitted} invocations; retry later`),
      );
    }
    admitted++;
    let task = 'unknown';
    try {
      const body = await readBody(req, MAX_REQUEST_BYTES);
      const input = parseJson(body);
      task = typeof input.task === 'string' ? input.task : 'unknown';
      if (input.task === undefined)
        throw new BadRequest('MissingField', "'task' is required; the only task is 'generate_3d'");
      if (input.task !== 'generate_3d') {
        throw new BadRequest(
          'UnknownTask',
          `unknown task ${JSON.stringify(input.task)}; the only task is 'generate_3d'`,
        );
      }
      const request = parseGenerate3d(input, defaults);
      const result = await generate3d(request, started);
      log({
        event: 'invocation',
        task,
        status: 200,
        ms: Math.round(performance.now() - started),
        points: result.mesh_stats.num_points,
      });
      sendJson(res, 200, result);
    } catch (err) {
      const ms = Math.round(performance.now() - started);
      if (err instanceof BadRequest) {
        log({ event: 'invocation', task, status: 400, ms, code: err.code, error: err.message });
        return sendJson(res, 400, errorBody(err.code, err.message));
      }
      log({ event: 'invocation', task, status: 500, ms, error: String(err) });
      sendJson(
        res,
        500,
        errorBody('InternalError', `generate_3d failed: ${err instanceof Error ? err.message : String(err)}`),
      );
    } finally {
      admitted--;
    }
  }

  async function generate3d(request: Generate3dRequest, started: number) {
    const t = { start: performance.now() };
    const [imageBytes, maskBytes] = await Promise.all([
      getObject(request.bucket, request.imageKey, 'image'),
      getObject(request.bucket, request.maskKey, 'mask'),
    ]);
    const read = performance.now();
    const computed = await pool.run({
      image: imageBytes,
      mask: maskBytes,
      parameters: request.parameters,
      limits: options.limits,
    });
    const encoded = performance.now();
    const ply = computed.ply;
    const put = new PutObjectCommand({
      Bucket: request.bucket,
      Key: request.outputKey,
      Body: ply,
      ContentType: 'application/x-ply',
      ChecksumCRC32: computed.plyCrc32Base64,
    });
    // The SDK's signer takes the payload hash from this header rather than hashing 7 MB itself.
    put.middlewareStack.add(
      (next) => (args) => {
        const req = args.request as { headers?: Record<string, string> };
        if (req.headers) req.headers['x-amz-content-sha256'] = computed.plySha256Hex;
        return next(args);
      },
      { step: 'build', name: 'precomputedPayloadHash' },
    );
    await options.s3.send(put);
    const written = performance.now();
    const round = (ms: number): number => Math.round(ms * 10) / 10;
    return {
      status: 'success' as const,
      task: 'generate_3d' as const,
      output_s3_key: request.outputKey,
      mesh_stats: {
        num_points: computed.stats.count,
        file_size_bytes: ply.length,
        mask_coverage_percent: Math.round(computed.stats.maskCoveragePercent * 100) / 100,
        mask_pixels: computed.stats.maskPixels,
        width: computed.width,
        height: computed.height,
        bounds: computed.stats.bounds,
        algorithm: 'silhouette-inflation',
        parameters: request.parameters,
      },
      timings_ms: {
        read_inputs: round(read - t.start),
        queued: round(
          encoded -
            read -
            computed.timings.decode -
            computed.timings.reconstruct -
            computed.timings.encodePly,
        ),
        decode: round(computed.timings.decode),
        reconstruct: round(computed.timings.reconstruct),
        encode_ply: round(computed.timings.encodePly),
        write_output: round(written - encoded),
        total: round(written - started),
      },
    };
  }

  async function getObject(bucket: string, key: string, what: string): Promise<Uint8Array> {
    try {
      const out = await options.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      if (out.ContentLength !== undefined && out.ContentLength > options.limits.maxBytes) {
        await out.Body?.transformToByteArray().catch(() => undefined);
        throw new BadRequest(
          'TooLarge',
          `${what} s3://${bucket}/${key} is ${out.ContentLength} bytes; the limit is ${options.limits.maxBytes}`,
        );
      }
      return (await out.Body?.transformToByteArray()) ?? new Uint8Array();
    } catch (err) {
      if (err instanceof NoSuchKey || err instanceof NoSuchBucket || (err as Error).name === 'NotFound') {
        throw new BadRequest('ObjectNotFound', `${what} s3://${bucket}/${key} does not exist`);
      }
      throw err;
    }
  }

  let open = true;
  return {
    server,
    ready: () => defaults !== undefined,
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          const address = server.address();
          resolve(typeof address === 'object' && address ? address.port : port);
        });
      }),
    async close(graceMs = 25_000) {
      if (!open) return;
      open = false;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), graceMs);
      await closed;
      clearTimeout(timer);
      await pool.close();
    },
  };
}

function parseJson(body: Buffer): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    throw new BadRequest('InvalidJson', 'the request body is not valid JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new BadRequest('InvalidJson', 'the request body must be a JSON object');
  }
  return value as Record<string, unknown>;
}

function parseGenerate3d(
  input: Record<string, unknown>,
  defaults: ReconstructionParameters,
): Generate3dRequest {
  const text = (field: string): string => {
    const value = input[field];
    if (value === undefined || value === null || value === '')
      throw new BadRequest('MissingField', `'${field}' is required`);
    if (typeof value !== 'string') throw new BadRequest('InvalidField', `'${field}' must be a string`);
    return value;
  };
  const bucket = text('bucket');
  const imageKey = text('image_s3_key');
  const maskKey = text('mask_s3_key');
  let output: string;
  if (input.output_s3_key !== undefined) {
    output = text('output_s3_key');
  } else {
    // Derived from the key conventions: users/{u}/input/{name}_image.png -> users/{u}/output/{o}/{name}.ply.
    const parsed = parseInputKey(imageKey);
    if (!parsed.ok)
      throw new BadRequest(
        'InvalidField',
        `cannot derive output_s3_key: ${parsed.reason}; pass output_s3_key`,
      );
    if (!isOrchestrator(input.orchestrator)) {
      throw new BadRequest(
        'MissingField',
        "'output_s3_key' is required unless 'orchestrator' ('sf' or 'ldf') is given to derive it",
      );
    }
    output = outputKey(input.orchestrator, parsed.value.userId, parsed.value.name);
  }
  return {
    bucket,
    imageKey,
    maskKey,
    outputKey: output,
    parameters: parseParameters(input.parameters, defaults),
  };
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      req.resume();
      throw new BadRequest(
        'TooLarge',
        `the request body is over ${limit} bytes; send S3 keys, not image bytes`,
      );
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

async function drain(req: IncomingMessage): Promise<void> {
  for await (const _ of req) void _;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
