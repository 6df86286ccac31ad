// The idle window's cost/latency trade-off: from a sweep's runs (runs that differ from the reference
// run only in the idle window), each orchestrator and wait mode's mean cost and latency per job, and
// the Pareto set among them; beside it the model's curve for the reference's arrival rate.
import { meanCost } from '../cost/cost.ts';
import { gpuSecondsPerJob } from '../cost/flips.ts';
import { priceOf, type PriceTable } from '../cost/prices.ts';
import { latencyIsEvidence, type Run, type ScenarioParameters } from './results.ts';
import { groupLabel, type JobView } from './summary.ts';

export interface TradeoffPoint {
  runId: string;
  label: string;
  idleWindowSeconds: number;
  costPerThousand: number;
  latencySeconds: number;
  pareto: boolean;
}

/** True when two runs' parameters match, the named ones (and the number of jobs) aside. */
export function sameParameters(a: ScenarioParameters, b: ScenarioParameters, ...aside: string[]): boolean {
  const ignored = new Set(['jobs', ...aside]);
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((k) => ignored.has(k) || a[k] === b[k]);
}

/** The sweep's points (one per run, orchestrator and wait mode) with the Pareto set marked. */
export function tradeoffPoints(views: readonly JobView[], reference: Run): TradeoffPoint[] {
  // Latencies on a scale clock are not evidence, so such runs stay out of the trade-off.
  const runs = [...new Set(views.map((v) => v.run))]
    .filter((r) => latencyIsEvidence(r.clock))
    .filter((r) => sameParameters(r.scenario.parameters, reference.scenario.parameters, 'idleWindowSeconds'));
  const points: TradeoffPoint[] = [];
  for (const run of runs)
    for (const w of run.waitModes)
      for (const o of ['sf', 'ldf'] as const) {
        const jobs = views.filter(
          (v) =>
            v.run === run &&
            v.job.orchestrator === o &&
            v.job.waitMode === w &&
            v.job.outcome === 'COMPLETED',
        );
        const latencies = jobs
          .map((v) => v.job.latency.uploadToResultSeconds)
          .filter((x): x is number => x !== null);
        if (latencies.length === 0) continue;
        points.push({
          runId: run.id,
          label: groupLabel(o, w),
          idleWindowSeconds: run.scenario.parameters.idleWindowSeconds,
          costPerThousand: meanCost(jobs.map((v) => v.cost)).total * 1000,
          latencySeconds: latencies.reduce((a, b) => a + b, 0) / latencies.length,
          pareto: false,
        });
      }
  // The idle window trades cost for latency within one orchestrator and wait mode.
  for (const p of points)
    p.pareto = !points.some(
      (q) =>
        q !== p &&
        q.label === p.label &&
        q.costPerThousand <= p.costPerThousand &&
        q.latencySeconds <= p.latencySeconds &&
        (q.costPerThousand < p.costPerThousand || q.latencySeconds < p.latencySeconds),
    );
  return points;
}

/** The model's GPU cost per 1,000 jobs and expected latency for a range of idle windows. */
export function modelCurve(
  p: ScenarioParameters,
  prices: PriceTable,
): { idleWindowSeconds: number; gpuPerThousand: number; latencySeconds: number; coldFraction: number }[] {
  const perSecond = priceOf(prices, `sagemaker.instanceHour.${p.instanceType}`).usd / 3600;
  const rate = p.arrivalsPerHour;
  if (rate === undefined) return [];
  return [0, 60, 120, 300, 600, 900, 1200, 1800, 2700, 3600, 7200].map((w) => {
    const g = gpuSecondsPerJob(rate, w, {
      startSeconds: p.endpointStartSeconds,
      deleteSeconds: p.endpointDeleteSeconds,
      inferenceSeconds: p.inferenceSeconds,
    });
    return {
      idleWindowSeconds: w,
      gpuPerThousand: g.gpuSeconds * perSecond * 1000,
      latencySeconds: p.inferenceSeconds + g.startWaitSeconds,
      coldFraction: g.coldFraction,
    };
  });
}
