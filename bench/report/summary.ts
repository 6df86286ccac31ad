// From results to the numbers the report shows: each job priced and set against its flow's analytic
// minimum and its physical limit, then grouped by orchestrator, wait mode and job shape.
import { meanCost, priceUnits, type Cost } from '../cost/cost.ts';
import { analyticMinimum, type Minimum } from '../cost/minimum.ts';
import type { PriceTable } from '../cost/prices.ts';
import { percentile } from '../stats.ts';
import {
  clockLabel,
  latencyIsEvidence,
  ORCHESTRATOR_LABELS,
  PHASES,
  type JobResult,
  type OrchestratorId,
  type Phase,
  type Results,
  type Run,
  type Shape,
  type WaitModeId,
} from './results.ts';

/** One job with everything derived from it. */
export interface JobView {
  run: Run;
  job: JobResult;
  cost: Cost;
  minimum: Minimum;
  /** Measured units the minimum is stated in: transitions (sf) or billed durable operations (ldf). */
  billed: number;
  /** Latency over the physical limit: minus the endpoint's own time to InService and the inference. */
  overheadSeconds: number | undefined;
}

export interface Spread {
  p50: number;
  p90: number;
  max: number;
}

export interface GroupSummary {
  orchestrator: OrchestratorId;
  waitMode: WaitModeId;
  shape: Shape;
  label: string;
  jobs: JobView[];
  completed: number;
  clocks: string[];
  /** True when the latencies shown came from a skip or real clock (then only those are shown). */
  latencyEvidence: boolean;
  latency?: Spread;
  overhead?: Spread;
  /** Median seconds after the upload at which each phase was reached. */
  phases: Partial<Record<Phase, number>>;
  billedMean: number;
  billedMinimum: number;
  billedUnit: Minimum['billedUnit'];
  lambdaMean: number;
  lambdaMinimum: number;
  /** Per job, mean over the group. */
  cost: Cost;
  /** Each unit measured over 1.2 × its minimum, in words. */
  excess: string[];
}

export const EXCESS_RATIO = 1.2;

export function viewJob(run: Run, job: JobResult, prices: PriceTable): JobView {
  const p = run.scenario.parameters;
  const minimum = analyticMinimum(job, {
    inServiceWaitSeconds: job.physical.inServiceWaitSeconds,
    deleteSeconds: job.physical.deleteSeconds ?? p.endpointDeleteSeconds,
    pollSeconds: p.pollSeconds,
    pollMaxSeconds: p.pollMaxSeconds,
    eventFallbackSeconds: p.eventFallbackSeconds ?? p.pollMaxSeconds,
  });
  const latency = job.latency.uploadToResultSeconds;
  return {
    run,
    job,
    cost: priceUnits(job.units, p.instanceType, prices),
    minimum,
    billed:
      job.orchestrator === 'sf'
        ? job.units.stepFunctions.stateTransitions
        : job.units.durable.operationsBilled,
    overheadSeconds:
      job.outcome === 'COMPLETED' && latency !== null
        ? latency - job.physical.inServiceWaitSeconds - job.physical.inferenceSeconds
        : undefined,
  };
}

export const allJobs = (results: Results, prices: PriceTable): JobView[] =>
  results.runs.flatMap((run) => run.jobs.map((job) => viewJob(run, job, prices)));

/**
 * The completed jobs whose latencies count: a scale clock's are not evidence, so when a skip or real
 * clock measured any of these jobs only those are taken.
 */
function latencyOf(jobs: readonly JobView[]): { done: JobView[]; latencies: number[]; evidence: boolean } {
  const completed = jobs.filter((v) => v.job.outcome === 'COMPLETED');
  const evidence = completed.filter((v) => latencyIsEvidence(v.run.clock));
  const done = evidence.length > 0 ? evidence : completed;
  const latencies = done
    .map((v) => v.job.latency.uploadToResultSeconds)
    .filter((x): x is number => x !== null);
  return { done, latencies, evidence: evidence.length > 0 };
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
export const spread = (xs: readonly number[]): Spread | undefined =>
  xs.length === 0 ? undefined : { p50: percentile(xs, 50), p90: percentile(xs, 90), max: Math.max(...xs) };

export const groupLabel = (o: OrchestratorId, w: WaitModeId, shape?: Shape): string =>
  `${ORCHESTRATOR_LABELS[o]}, ${w}${shape ? `, ${shape}` : ''}`;

const fmtPct = (ratio: number): string => `${Math.round((ratio - 1) * 100)}%`;

export function summarize(
  views: readonly JobView[],
  o: OrchestratorId,
  w: WaitModeId,
  shape: Shape,
): GroupSummary | undefined {
  const jobs = views.filter((v) => v.job.orchestrator === o && v.job.waitMode === w && v.job.shape === shape);
  if (jobs.length === 0) return undefined;
  const completed = jobs.filter((v) => v.job.outcome === 'COMPLETED');
  const { done, latencies, evidence } = latencyOf(jobs);
  const phases: Partial<Record<Phase, number>> = {};
  for (const phase of PHASES) {
    const at = done.map((v) => v.job.latency.phases[phase]).filter((x): x is number => x !== undefined);
    if (at.length > 0) phases[phase] = percentile(at, 50);
  }
  const first = jobs[0]!.minimum;
  // The minimum is a completed job's path: failed jobs are priced, but not held to it.
  const compared = completed.length > 0 ? completed : jobs;
  const summary: GroupSummary = {
    orchestrator: o,
    waitMode: w,
    shape,
    label: groupLabel(o, w, shape),
    jobs,
    completed: completed.length,
    clocks: [...new Set(done.map((v) => clockLabel(v.run.clock)))],
    latencyEvidence: evidence,
    latency: spread(latencies),
    overhead: spread(done.map((v) => v.overheadSeconds).filter((x): x is number => x !== undefined)),
    phases,
    billedMean: mean(compared.map((v) => v.billed)),
    billedMinimum: mean(compared.map((v) => v.minimum.billed)),
    billedUnit: first.billedUnit,
    lambdaMean: mean(compared.map((v) => v.job.units.lambda.requests)),
    lambdaMinimum: mean(compared.map((v) => v.minimum.lambdaRequests)),
    cost: meanCost(jobs.map((v) => v.cost)),
    excess: [],
  };
  const check = (unit: string, measured: number, minimum: number, why: string) => {
    if (minimum > 0 && measured > EXCESS_RATIO * minimum)
      summary.excess.push(
        `${unit}: ${measured.toFixed(1)} per job against a minimum of ${minimum.toFixed(1)} ` +
          `(+${(measured - minimum).toFixed(1)}, ${fmtPct(measured / minimum)} over; ${why})`,
      );
  };
  check(
    summary.billedUnit,
    summary.billedMean,
    summary.billedMinimum,
    o === 'sf'
      ? 'extra states entered: retries, extra poll or event rounds, a late mask'
      : 'extra operations: step retries, extra looks, a late mask, callback rounds',
  );
  check(
    'Lambda requests',
    summary.lambdaMean,
    summary.lambdaMinimum,
    o === 'sf'
      ? 'extra task Lambda invocations: retries, extra rounds'
      : 'extra invocations: replays after suspensions the minimum does not need, failed invocations',
  );
  return summary;
}

/** Every group present, in a stable order. */
export function groups(views: readonly JobView[]): GroupSummary[] {
  const out: GroupSummary[] = [];
  for (const shape of ['warm', 'cold'] as const)
    for (const w of ['poll', 'event'] as const)
      for (const o of ['sf', 'ldf'] as const) {
        const g = summarize(views, o, w, shape);
        if (g) out.push(g);
      }
  return out;
}

/** Per orchestrator and wait mode over all its jobs (the measured workload's mix of shapes). */
export interface ModeSummary {
  orchestrator: OrchestratorId;
  waitMode: WaitModeId;
  label: string;
  jobs: JobView[];
  cost: Cost;
  latency?: Spread;
  latencyEvidence: boolean;
}

export function modes(views: readonly JobView[]): ModeSummary[] {
  const out: ModeSummary[] = [];
  for (const w of ['poll', 'event'] as const)
    for (const o of ['sf', 'ldf'] as const) {
      const jobs = views.filter((v) => v.job.orchestrator === o && v.job.waitMode === w);
      if (jobs.length === 0) continue;
      const { latencies, evidence } = latencyOf(jobs);
      out.push({
        orchestrator: o,
        waitMode: w,
        label: groupLabel(o, w),
        jobs,
        cost: meanCost(jobs.map((v) => v.cost)),
        latency: spread(latencies),
        latencyEvidence: evidence,
      });
    }
  return out;
}
