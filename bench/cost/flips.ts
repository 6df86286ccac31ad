// Where the decision flips, computed from the cost model: the monthly volume at which one
// orchestrator's free tier stops outweighing the other's per-job price, the arrival rate and idle
// window at which keeping the GPU up costs less than stopping it, and the endpoint start time at
// which event waits start costing more (or less) than polling.
import type { OrchestratorId, WaitModeId } from '../report/results.ts';
import { monthlyCost, type Cost } from './cost.ts';
import { analyticMinimum, type FlowTimes } from './minimum.ts';
import { priceOf, type PriceTable } from './prices.ts';

export const HOURS_PER_MONTH = 730;

/** A flip: the value where the cheaper side changes, and which side wins below and above it. */
export interface Flip<T extends string> {
  at: number;
  below: T;
  above: T;
}

/**
 * Bisects the first sign change of `diff` on a log grid in [lo, hi]; undefined when none. `diff(x) < 0`
 * means side a is cheaper at x.
 */
function firstCrossing(diff: (x: number) => number, lo: number, hi: number, steps = 200): number | undefined {
  let prev = lo;
  let prevSign = Math.sign(diff(lo));
  for (let i = 1; i <= steps; i++) {
    const x = lo * (hi / lo) ** (i / steps);
    const sign = Math.sign(diff(x));
    if (sign !== 0 && prevSign !== 0 && sign !== prevSign) {
      let [a, b] = [prev, x];
      for (let k = 0; k < 60; k++) {
        const m = (a + b) / 2;
        if (Math.sign(diff(m)) === prevSign) a = m;
        else b = m;
      }
      return b;
    }
    if (sign !== 0) prevSign = sign;
    prev = x;
  }
  return undefined;
}

/**
 * The monthly job volume at which the cheaper of two per-job costs changes once each line's free
 * tier is taken off (Step Functions' 4,000 transitions, Lambda's requests and GB-s), between 1 and
 * 100 million jobs a month. Undefined when one side is cheaper at every volume.
 */
export function volumeFlip<T extends string>(
  a: { name: T; cost: Cost; fixedUsd: number },
  b: { name: T; cost: Cost; fixedUsd: number },
  table: PriceTable,
): Flip<T> | undefined {
  const diff = (n: number) =>
    monthlyCost(a.cost, n, table, { freeTier: true, fixedUsd: a.fixedUsd }) -
    monthlyCost(b.cost, n, table, { freeTier: true, fixedUsd: b.fixedUsd });
  const at = firstCrossing(diff, 1, 1e8);
  if (at === undefined) return undefined;
  return diff(at / 2) < 0 ? { at, below: a.name, above: b.name } : { at, below: b.name, above: a.name };
}

/**
 * GPU seconds billed per job, on average, for Poisson arrivals at `perHour` with an idle window, as a
 * renewal process over endpoint lives. A life begins with a job on a stopped endpoint: the start (S),
 * which every job arriving during it shares; then it stays up while each next job comes within the
 * window (W) of the endpoint going idle; then the window runs out and the deletion (D) is billed.
 * Jobs per life: 1 + λS (joined the start) + e^(λW) − 1 (came within a window); GPU per life:
 * S + D + W + the gaps shorter than W, which sums to S + D + (e^(λW) − 1)/λ. The first flips run
 * measured why the start must be shared: at 30 an hour and a 300 s start, 26 cold jobs shared 6
 * starts, which a model charging each cold job its own start overstated threefold.
 */
export function gpuSecondsPerJob(
  perHour: number,
  idleWindowSeconds: number,
  times: { startSeconds: number; deleteSeconds: number; inferenceSeconds: number },
): { gpuSeconds: number; coldFraction: number; startWaitSeconds: number } {
  const { startSeconds: S, deleteSeconds: D, inferenceSeconds } = times;
  const rate = perHour / 3600;
  if (rate <= 0)
    return { gpuSeconds: inferenceSeconds + S + D + idleWindowSeconds, coldFraction: 1, startWaitSeconds: S };
  const kept = Math.exp(rate * idleWindowSeconds); // 1 + the jobs expected within a window of each other
  // A window so long that no gap outlasts it: the endpoint never stops, and each job bills its gap.
  if (!Number.isFinite(kept))
    return { gpuSeconds: inferenceSeconds + 1 / rate, coldFraction: 0, startWaitSeconds: 0 };
  const jobs = rate * S + kept;
  const gpu = S + D + (kept - 1) / rate;
  return {
    gpuSeconds: inferenceSeconds + gpu / jobs,
    coldFraction: (1 + rate * S) / jobs,
    // The job that starts the endpoint waits S; those joining it wait S/2 on average.
    startWaitSeconds: (S + (rate * S * S) / 2) / jobs,
  };
}

/**
 * The idle window's break-even, from `gpuSecondsPerJob`: its derivative in e^(λW) has the sign of
 * 1/λ − D, so a longer window lowers the GPU cost per job exactly when jobs arrive faster than one per
 * deletion time (the break-even rate, 3600/D an hour), whatever the start time (the jobs that arrive
 * during a start share it). Below that rate stopping at once bills the least GPU, at a start's wait
 * for the jobs that find it stopped; above it, keeping the endpoint up does. `gapSeconds` is what one
 * stop and restart bills: a single gap shorter than it is cheaper kept when no one else shares the start.
 */
export function idleWindowBreakEven(times: { startSeconds: number; deleteSeconds: number }): {
  gapSeconds: number;
  arrivalsPerHour: number;
} {
  return {
    gapSeconds: times.startSeconds + times.deleteSeconds,
    arrivalsPerHour: 3600 / times.deleteSeconds,
  };
}

/** Orchestration cost of the flow's minimum for one cold job (the starter, endpoint kept). */
export function coldMinimumCost(
  orchestrator: OrchestratorId,
  waitMode: WaitModeId,
  times: FlowTimes,
  table: PriceTable,
): number {
  const m = analyticMinimum(
    { orchestrator, waitMode, shape: 'cold', started: true, stoppedEndpoint: false },
    times,
  );
  const unit = orchestrator === 'sf' ? 'stepFunctions.stateTransition' : 'durable.operation';
  return m.billed * priceOf(table, unit).usd + m.lambdaRequests * priceOf(table, 'lambda.request').usd;
}

/**
 * Every endpoint start time (1 s to 1 h) at which the cheaper wait mode for a cold job changes, from
 * the flows' minimum units; empty when one mode is cheaper at every start time. The flows count
 * whole rounds, so the costs are step functions of the start time and may change more than once.
 */
export function startTimeFlips(
  orchestrator: OrchestratorId,
  times: Omit<FlowTimes, 'inServiceWaitSeconds'>,
  table: PriceTable,
): Flip<WaitModeId>[] {
  const cheaper = (s: number): WaitModeId | undefined => {
    const t = { ...times, inServiceWaitSeconds: s };
    const d =
      coldMinimumCost(orchestrator, 'poll', t, table) - coldMinimumCost(orchestrator, 'event', t, table);
    return d < 0 ? 'poll' : d > 0 ? 'event' : undefined;
  };
  const flips: Flip<WaitModeId>[] = [];
  let prev: WaitModeId | undefined;
  for (let s = 1; s <= 3600; s++) {
    const now = cheaper(s);
    if (now === undefined) continue;
    if (prev !== undefined && now !== prev) flips.push({ at: s, below: prev, above: now });
    prev = now;
  }
  return flips;
}

/** Which mode is cheaper for a cold job at this start time. */
export function cheaperMode(
  orchestrator: OrchestratorId,
  times: FlowTimes,
  table: PriceTable,
): { mode: WaitModeId; poll: number; event: number } {
  const poll = coldMinimumCost(orchestrator, 'poll', times, table);
  const event = coldMinimumCost(orchestrator, 'event', times, table);
  return { mode: poll <= event ? 'poll' : 'event', poll, event };
}
