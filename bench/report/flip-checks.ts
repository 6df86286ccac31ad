// Each flip point checked against the runs: on either side of it, the side the model predicts cheaper
// set against the side the measured units make cheaper. A run only lists evidence; a check says
// whether the evidence agrees with the model, in numbers, or that no run pair reaches that side.
import { cheaperMode, gpuSecondsPerJob, idleWindowBreakEven } from '../cost/flips.ts';
import { priceOf, type PriceTable } from '../cost/prices.ts';
import { num, usd } from './format.ts';
import type { JobResult, OrchestratorId, Run, WaitModeId } from './results.ts';

/** One measured comparison at one value of the flip's parameter. */
export interface FlipCheck {
  /** The parameter's value of the runs compared (start seconds, arrivals an hour). */
  at: number;
  predicted: string;
  measured: string;
  agrees: boolean;
  /** The flip this check sits beside, from the checked runs' own parameters (idle window: the break-even rate). */
  flipAt?: number;
  /** The figures behind it, in words: model and measurement per side. */
  detail: string;
  runs: string[];
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** What the model prices for a cold job: billed orchestration units and Lambda requests. */
function coldOrchestrationUsd(job: JobResult, table: PriceTable): number {
  const billed =
    job.orchestrator === 'sf'
      ? job.units.stepFunctions.stateTransitions * priceOf(table, 'stepFunctions.stateTransition').usd
      : job.units.durable.operationsBilled * priceOf(table, 'durable.operation').usd;
  return billed + job.units.lambda.requests * priceOf(table, 'lambda.request').usd;
}

/**
 * The cheaper wait mode for a cold job, measured at each endpoint start time where a poll run and an
 * event run both have a completed starter of `orchestrator`, beside the mode the model picks there
 * (`cheaperMode`, from the run's own poll and fallback settings).
 */
export function startTimeChecks(
  runs: readonly Run[],
  orchestrator: OrchestratorId,
  table: PriceTable,
): FlipCheck[] {
  const starters = (r: Run) =>
    r.jobs.filter(
      (j) => j.orchestrator === orchestrator && j.shape === 'cold' && j.started && j.outcome === 'COMPLETED',
    );
  const byStart = new Map<number, Partial<Record<WaitModeId, Run[]>>>();
  for (const r of runs) {
    if (r.waitModes.length !== 1 || starters(r).length === 0) continue;
    const s = r.scenario.parameters.endpointStartSeconds;
    const slot = byStart.get(s) ?? {};
    (slot[r.waitModes[0]!] ??= []).push(r);
    byStart.set(s, slot);
  }
  const checks: FlipCheck[] = [];
  for (const [start, slot] of [...byStart].sort((a, b) => a[0] - b[0])) {
    const poll = slot.poll;
    const event = slot.event;
    if (!poll || !event) continue;
    const p = poll[0]!.scenario.parameters;
    const e = event[0]!.scenario.parameters;
    const model = cheaperMode(
      orchestrator,
      {
        inServiceWaitSeconds: start,
        deleteSeconds: p.endpointDeleteSeconds,
        pollSeconds: p.pollSeconds,
        pollMaxSeconds: p.pollMaxSeconds,
        eventFallbackSeconds: e.eventFallbackSeconds ?? e.pollMaxSeconds,
      },
      table,
    );
    const measuredUsd = (rs: Run[]) => mean(rs.flatMap(starters).map((j) => coldOrchestrationUsd(j, table)));
    const [mp, me] = [measuredUsd(poll), measuredUsd(event)];
    const measured: WaitModeId = mp <= me ? 'poll' : 'event';
    // Equal costs are no disagreement: either mode is as cheap.
    const agrees = measured === model.mode || mp === me || model.poll === model.event;
    checks.push({
      at: start,
      predicted: model.mode,
      measured,
      agrees,
      detail:
        `model poll ${usd(model.poll * 1000)}, event ${usd(model.event * 1000)}; ` +
        `measured poll ${usd(mp * 1000)}, event ${usd(me * 1000)} per 1,000 cold jobs`,
      runs: [...poll, ...event].map((r) => r.id),
    });
  }
  return checks;
}

/**
 * The cheaper idle window on GPU time, measured at each arrival rate where runs of one orchestrator
 * and wait mode ran two or more windows, beside the window the Poisson model (`gpuSecondsPerJob`)
 * picks among the same ones.
 */
export function idleWindowChecks(runs: readonly Run[], table: PriceTable): FlipCheck[] {
  const perSecondOf = (r: Run) =>
    priceOf(table, `sagemaker.instanceHour.${r.scenario.parameters.instanceType}`).usd / 3600;
  const groups = new Map<string, { rate: number; runs: Run[] }>();
  for (const r of runs) {
    const rate = r.scenario.parameters.arrivalsPerHour;
    if (rate === undefined || r.jobs.length === 0 || r.waitModes.length !== 1) continue;
    const key = `${rate}|${r.waitModes[0]}`;
    const g = groups.get(key) ?? { rate, runs: [] };
    g.runs.push(r);
    groups.set(key, g);
  }
  const checks: FlipCheck[] = [];
  for (const { rate, runs: rs } of [...groups.values()].sort((a, b) => a.rate - b.rate)) {
    const windows = [...new Set(rs.map((r) => r.scenario.parameters.idleWindowSeconds))].sort(
      (a, b) => a - b,
    );
    if (windows.length < 2) continue;
    const rows = windows.map((w) => {
      const at = rs.filter((r) => r.scenario.parameters.idleWindowSeconds === w);
      const p = at[0]!.scenario.parameters;
      const model = gpuSecondsPerJob(rate, w, {
        startSeconds: p.endpointStartSeconds,
        deleteSeconds: p.endpointDeleteSeconds,
        inferenceSeconds: p.inferenceSeconds,
      }).gpuSeconds;
      const jobs = at.flatMap((r) => r.jobs);
      const measured = mean(jobs.map((j) => j.units.sagemaker.instanceSeconds));
      return { w, model, measured, perSecond: perSecondOf(at[0]!), ids: at.map((r) => r.id) };
    });
    const cheapest = (pick: (row: (typeof rows)[number]) => number) =>
      rows.reduce((best, row) => (pick(row) < pick(best) ? row : best));
    const [predicted, measured] = [cheapest((r) => r.model), cheapest((r) => r.measured)];
    const p = rs[0]!.scenario.parameters;
    checks.push({
      at: rate,
      flipAt: idleWindowBreakEven({
        startSeconds: p.endpointStartSeconds,
        deleteSeconds: p.endpointDeleteSeconds,
      }).arrivalsPerHour,
      predicted: `${num(predicted.w)} s window`,
      measured: `${num(measured.w)} s window`,
      agrees: predicted.w === measured.w,
      detail: rows
        .map(
          (r) =>
            `${num(r.w)} s: model ${num(r.model, 0)} GPU s a job (${usd(r.model * r.perSecond * 1000)} per 1,000), ` +
            `measured ${num(r.measured, 0)} (${usd(r.measured * r.perSecond * 1000)})`,
        )
        .join('; '),
      runs: rows.flatMap((r) => r.ids),
    });
  }
  return checks;
}

/**
 * A flip point's checks in words: each measured side against the model's, then whether the flip is
 * checked on both sides (a check below and one at or above it, all agreeing).
 */
export function describeChecks(
  checks: readonly FlipCheck[],
  flipsAt: readonly number[],
  unit: string,
): string {
  if (checks.length === 0)
    return 'No run pair to check it: run `dvs bench --scenario flips` (cold jobs in each wait mode at several start times, streams under two idle windows).';
  const each = checks.map(
    (c) =>
      `at ${num(c.at, 2)} ${unit} the model picks ${c.predicted} and the runs measure ${c.measured} ` +
      `(${c.agrees ? 'agrees' : '**disagrees**'}: ${c.detail}; runs ${c.runs.map((id) => `\`${id}\``).join(', ')})`,
  );
  const sides = flipsAt.map((at) => {
    const below = checks.filter((c) => c.at < at);
    const above = checks.filter((c) => c.at >= at);
    const state = (list: FlipCheck[]) =>
      list.length === 0 ? 'no run' : list.every((c) => c.agrees) ? 'agrees' : 'disagrees';
    return `Flip at ${num(at, 2)} ${unit}: below ${state(below)}, at or above ${state(above)}`;
  });
  const disagreements = checks.filter((c) => !c.agrees).length;
  return (
    `Checked by runs: ${each.join('; ')}. ` +
    (sides.length ? `${sides.join('; ')}. ` : '') +
    (disagreements
      ? `${disagreements} of ${checks.length} measured comparisons disagree with the model.`
      : `Every measured comparison agrees with the model.`)
  );
}
