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

/** GPU seconds billed per job, on average, for Poisson arrivals at `perHour` with an idle window. */
export function gpuSecondsPerJob(
  perHour: number,
  idleWindowSeconds: number,
  times: { startSeconds: number; deleteSeconds: number; inferenceSeconds: number },
): { gpuSeconds: number; coldFraction: number } {
  const rate = perHour / 3600;
  const cold = Math.exp(-rate * idleWindowSeconds);
  // Each gap after a job: idle up to the window, and past it a stop and the next job's start.
  const idle = rate > 0 ? (1 - cold) / rate : idleWindowSeconds;
  return {
    gpuSeconds: times.inferenceSeconds + idle + cold * (times.startSeconds + times.deleteSeconds),
    coldFraction: cold,
  };
}

/**
 * The idle window's break-even. Keeping the endpoint up through a gap costs the gap; stopping it costs
 * the deletion and the next start (billed while they run) plus the start's latency. So a gap shorter
 * than start + delete is cheaper kept (the break-even idle window), and for Poisson arrivals the GPU
 * cost per job falls with a longer window exactly when arrivals come faster than one per
 * (start + delete) seconds: the break-even arrival rate.
 */
export function idleWindowBreakEven(times: { startSeconds: number; deleteSeconds: number }): {
  windowSeconds: number;
  arrivalsPerHour: number;
} {
  const penalty = times.startSeconds + times.deleteSeconds;
  return { windowSeconds: penalty, arrivalsPerHour: 3600 / penalty };
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
