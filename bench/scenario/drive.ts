// The dual-trigger upload driver and the waits around it: uploads land in the target's bucket through
// S3 (each image and its mask, which start both orchestrators), at the plan's simulated offsets; then
// the driver waits until every job has ended, and every execution too (the idle window and the stop
// run after the job). It only reads through the services' APIs, so it drives a deployed stack alike.
import { ListDurableExecutionsByFunctionCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { isEnding } from '../../shared/job-model.ts';
import type { Job } from '../../shared/job-store.ts';
import { inputImageKey, inputMaskKey } from '../../shared/keys.ts';
import type { Target } from '../collect/target.ts';
import { readJobs } from '../collect/read.ts';
import type { OrchestratorId } from '../report/results.ts';
import type { Wave } from './scenarios.ts';
import { observing } from '../../shared/aws.ts';

/** What a long piece of work tells the person watching (the command line draws it). */
export interface Progress {
  phase(text: string): void;
  tick(done: number, total: number, detail?: string): void;
  line(text: string): void;
  end(): void;
}

export interface DriveIo {
  progress: Progress;
  signal: AbortSignal;
}

export interface Upload {
  name: string;
  /** When its image was put (ms on the target's clock): the job's latency starts here. */
  uploadedAt: number;
}

const realPause = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });

/** Uploads one image and its mask (the mask `maskDelaySeconds` simulated seconds later). */
export async function uploadPair(
  target: Target,
  s3: S3Client,
  user: string,
  name: string,
  pngs: { image: Uint8Array; mask: Uint8Array },
  maskDelaySeconds: number,
  signal?: AbortSignal,
): Promise<Upload> {
  const put = (key: string, body: Uint8Array): Promise<unknown> =>
    s3.send(new PutObjectCommand({ Bucket: target.bucket, Key: key, Body: body }));
  const uploadedAt = target.now();
  // With no delay, the pair is one piece of client work: a skip clock must not jump between the two.
  if (maskDelaySeconds <= 0) {
    await target.busy(async () => {
      await put(inputImageKey(user, name), pngs.image);
      await put(inputMaskKey(user, name), pngs.mask);
    });
    return { name, uploadedAt };
  }
  await target.busy(() => put(inputImageKey(user, name), pngs.image));
  await target.sleep(maskDelaySeconds, signal);
  await target.busy(() => put(inputMaskKey(user, name), pngs.mask));
  return { name, uploadedAt };
}

export interface WaveOptions {
  user: string;
  pngs: { image: Uint8Array; mask: Uint8Array };
  maskDelaySeconds: number;
  /** Uploads in flight at once (a burst of 1,000 would otherwise open 1,000 sockets). */
  inFlight: number;
  /** Real seconds the whole wave may take, its jobs' ends included. */
  timeoutSeconds: number;
  firstIndex: number;
}

const jobName = (i: number): string => `job-${String(i).padStart(4, '0')}`;

/** Plays one wave: every upload at its offset, then waits until all of its jobs ended on both sides. */
export async function playWave(target: Target, wave: Wave, o: WaveOptions, io: DriveIo): Promise<Upload[]> {
  const s3 = new S3Client(target.clientConfig('s3'));
  const uploads: Upload[] = [];
  try {
    const begin = target.now();
    const order = wave.arrivals.map((t, i) => ({ t, name: jobName(o.firstIndex + i) }));
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < order.length && !io.signal.aborted) {
        const { t, name } = order[next++]!;
        const wait = t - target.simulatedSeconds(target.now() - begin);
        if (wait > 0) await target.sleep(wait, io.signal).catch(() => undefined);
        if (io.signal.aborted) return;
        uploads.push(await uploadPair(target, s3, o.user, name, o.pngs, o.maskDelaySeconds, io.signal));
        io.progress.tick(uploads.length, order.length, `${wave.label}: uploaded`);
      }
    };
    await Promise.all(Array.from({ length: Math.min(o.inFlight, order.length) }, worker));
    await waitForJobs(target, o.user, new Set(uploads.map((u) => u.name)), o.timeoutSeconds, wave.label, io);
    return uploads;
  } finally {
    s3.destroy();
  }
}

/**
 * The pause between two looks at a wave's jobs; each look reads every job, so a big wave is looked at
 * less often. On the skip clock it is a timer on that clock: the clock may jump, but never more than
 * one pause past the moment the jobs ended, so the next wave still finds the endpoint in its idle
 * window (a real pause would let the clock run on to the idle stop).
 */
function nextLook(target: Target, jobs: number, signal: AbortSignal): Promise<void> {
  if (target.clock.kind === 'skip')
    return target.sleep(Math.min(5, Math.max(1, jobs / 100)), signal).catch(() => undefined);
  return realPause(target.kind === 'aws' ? 2000 : Math.max(500, jobs * 2), signal);
}

/** Waits until each named job has ended for both orchestrators (or the timeout, or an abort). */
export async function waitForJobs(
  target: Target,
  user: string,
  names: ReadonlySet<string>,
  timeoutSeconds: number,
  label: string,
  io: DriveIo,
): Promise<Record<OrchestratorId, Job[]>> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  for (;;) {
    const seen = await target.busy(async () => ({
      sf: (await readJobs(target, 'sf', user)).filter((j) => names.has(j.name)),
      ldf: (await readJobs(target, 'ldf', user)).filter((j) => names.has(j.name)),
    }));
    const ended = (o: OrchestratorId): number => seen[o].filter((j) => isEnding(j.status)).length;
    io.progress.tick(
      ended('sf') + ended('ldf'),
      names.size * 2,
      `${label}: jobs ended (ldf ${ended('ldf')}, sf ${ended('sf')} of ${names.size})`,
    );
    if ((ended('sf') === names.size && ended('ldf') === names.size) || io.signal.aborted) return seen;
    if (Date.now() > deadline) {
      io.progress.line(
        `${label}: gave up after ${timeoutSeconds} s with ${names.size * 2 - ended('sf') - ended('ldf')} job(s) not ended`,
      );
      return seen;
    }
    await nextLook(target, names.size, io.signal);
  }
}

/** Waits until neither orchestrator has a running execution started since `since` (idle stops included). */
export async function waitForExecutions(
  target: Target,
  since: Date,
  timeoutSeconds: number,
  io: DriveIo,
): Promise<number> {
  const lambda = new LambdaClient(observing(target.clientConfig('lambda')));
  const sfn = new SFNClient(observing(target.clientConfig('stepfunctions')));
  const deadline = Date.now() + timeoutSeconds * 1000;
  try {
    for (;;) {
      const durable = await lambda.send(
        new ListDurableExecutionsByFunctionCommand({
          FunctionName: target.durableFunctionName,
          Statuses: ['RUNNING'],
          StartedAfter: since,
          MaxItems: 1000,
        }),
      );
      const machine = await sfn.send(
        new ListExecutionsCommand({
          stateMachineArn: target.stateMachineArn,
          statusFilter: 'RUNNING',
          maxResults: 1000,
        }),
      );
      const running = (durable.DurableExecutions ?? []).length + (machine.executions ?? []).length;
      io.progress.tick(0, running, `executions still running (idle windows and stops): ${running}`);
      if (running === 0 || io.signal.aborted) return running;
      if (Date.now() > deadline) {
        io.progress.line(`gave up after ${timeoutSeconds} s with ${running} execution(s) still running`);
        return running;
      }
      await realPause(target.kind === 'aws' ? 5000 : 500, io.signal);
    }
  } finally {
    lambda.destroy();
    sfn.destroy();
  }
}
