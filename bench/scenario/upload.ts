// `dvs upload`: one dual-trigger upload (an image and its mask, which start both orchestrators), then
// both executions followed live to their ends (the idle window and the stop included), drawn as a
// side-by-side timeline of the job's phases: each phase's simulated time after the upload and, at the
// bottom, the units each execution has billed so far, read from its history as it grows.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { isEnding } from '../../shared/job-model.ts';
import type { Job } from '../../shared/job-store.ts';
import { factsOf, phasesOf } from '../collect/job-results.ts';
import { executionArns, readFacts, readJobs } from '../collect/read.ts';
import type { ExecutionFacts } from '../collect/execution-facts.ts';
import type { Target } from '../collect/target.ts';
import { clockLabel, PHASES, type OrchestratorId, type Phase } from '../report/results.ts';
import { uploadPair, type DriveIo } from './drive.ts';

export interface UploadRequest {
  imagePath: string;
  maskPath: string;
  maskDelaySeconds: number;
  user: string;
  /** The upload's name (its keys are users/{user}/input/{name}_image.png and _mask.png). */
  name: string;
  /** Real seconds to follow the executions before giving up. */
  timeoutSeconds: number;
}

export const PHASE_LABELS: Record<Phase, string> = {
  admitted: 'admitted',
  mask: 'mask',
  endpointAcquired: 'endpoint acquired',
  inService: 'InService',
  inferred: 'inferred',
  recorded: 'recorded',
  released: 'released',
  notified: 'notified',
  stopped: 'stopped',
};

export interface Side {
  job?: Job;
  facts: ExecutionFacts[];
  phases: Partial<Record<Phase, number>>;
  /** Every execution of the job has ended. */
  ended: boolean;
}

const COLUMNS: [OrchestratorId, string][] = [
  ['ldf', 'durable function'],
  ['sf', 'Step Functions'],
];

const sum = (facts: readonly ExecutionFacts[], key: keyof ExecutionFacts): number =>
  facts.reduce((n, f) => n + (f[key] as number), 0);

/** The timeline as text: a row per phase, a column per orchestrator, the units so far below. */
export function renderTimeline(sides: Record<OrchestratorId, Side>, clock: string): string {
  const cell = (o: OrchestratorId, phase: Phase): string => {
    const t = sides[o].phases[phase];
    return t === undefined ? '·' : `${t.toFixed(1)} s`;
  };
  const units = (o: OrchestratorId): string => {
    const f = sides[o].facts;
    return o === 'ldf'
      ? `${sum(f, 'operationsBilled')} ops billed, ${sum(f, 'lambdaRequests')} invocations`
      : `${sum(f, 'stateTransitions')} transitions, ${sum(f, 'lambdaRequests')} Lambda`;
  };
  const status = (o: OrchestratorId): string => {
    const s = sides[o];
    const exec = s.facts.map((f) => f.status).join(', ') || 'not started';
    return `${s.job?.status ?? 'not admitted'} (${exec})`;
  };
  const rows: string[][] = [
    ['phase', ...COLUMNS.map(([, label]) => label)],
    ...PHASES.map((p) => [PHASE_LABELS[p], ...COLUMNS.map(([o]) => cell(o, p))]),
    ['billed so far', ...COLUMNS.map(([o]) => units(o))],
    ['job (executions)', ...COLUMNS.map(([o]) => status(o))],
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('   ')
      .trimEnd(),
  );
  return [`simulated seconds after the upload (clock ${clock})`, ...lines].join('\n');
}

/** Reads both sides once: the job items, their executions' histories so far. */
async function look(
  target: Target,
  user: string,
  name: string,
  uploadedAt: number,
): Promise<Record<OrchestratorId, Side>> {
  const out = {} as Record<OrchestratorId, Side>;
  for (const [o] of COLUMNS) {
    const job = (await readJobs(target, o, user)).find((j) => j.name === name);
    const mine = job ? factsOf(job, await readFacts(target, o, executionArns([job]))) : [];
    out[o] = {
      ...(job ? { job } : {}),
      facts: mine,
      phases: job
        ? phasesOf(job, mine, uploadedAt, (ms) => Math.round(target.simulatedSeconds(ms) * 10) / 10)
        : {},
      ended:
        job !== undefined &&
        isEnding(job.status) &&
        mine.length > 0 &&
        mine.every((f) => f.status !== 'RUNNING'),
    };
  }
  return out;
}

/** Reads a PNG named on the command line; a missing file is named with the fix. */
function readPng(path: string, what: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(
      `cannot read the ${what} ${path}: ${(err as Error).message}. Give the path of a PNG file.`,
      { cause: err },
    );
  }
}

/**
 * Uploads, follows, and returns the last look; `draw` gets the timeline each time it changed (the
 * command line redraws it in place on a terminal).
 */
export async function runUpload(
  target: Target,
  request: UploadRequest,
  io: DriveIo,
  draw: (timeline: string) => void,
): Promise<Record<OrchestratorId, Side>> {
  const pngs = { image: readPng(request.imagePath, 'image'), mask: readPng(request.maskPath, 'mask') };
  const s3 = new S3Client(target.clientConfig('s3'));
  let upload;
  try {
    io.progress.phase(
      `uploading ${basename(request.imagePath)} and ${basename(request.maskPath)} as ${request.user}/${request.name}`,
    );
    upload = await uploadPair(
      target,
      s3,
      request.user,
      request.name,
      pngs,
      request.maskDelaySeconds,
      io.signal,
    );
  } finally {
    s3.destroy();
  }
  const deadline = Date.now() + request.timeoutSeconds * 1000;
  let last = '';
  for (;;) {
    const sides = await look(target, request.user, request.name, upload.uploadedAt);
    const text = renderTimeline(sides, clockLabel(target.clock));
    if (text !== last) draw(text);
    last = text;
    if ((sides.ldf.ended && sides.sf.ended) || io.signal.aborted || Date.now() > deadline) return sides;
    await new Promise((r) => setTimeout(r, 500));
  }
}
