// The report's decision: which orchestrator and wait mode wins on latency, on cost and on operational
// load for the measured workload, and where that answer flips (monthly volume, arrival rate and idle
// window, endpoint start time), each flip computed from the cost model and checked against the runs
// on either side of it.
import { customMetricsMonthly } from '../cost/cost.ts';
import {
  cheaperMode,
  gpuSecondsPerJob,
  HOURS_PER_MONTH,
  idleWindowBreakEven,
  startTimeFlips,
  volumeFlip,
} from '../cost/flips.ts';
import { priceOf, type PriceTable } from '../cost/prices.ts';
import { num, pct, seconds, usd } from './format.ts';
import { describeChecks, idleWindowChecks, startTimeChecks } from './flip-checks.ts';
import type { OperationalView } from './operational.ts';
import { ORCHESTRATOR_LABELS, type OrchestratorId, type Run } from './results.ts';
import type { GroupSummary, ModeSummary } from './summary.ts';

export interface DecisionInput {
  groups: GroupSummary[];
  modes: ModeSummary[];
  operational: Record<OrchestratorId, OperationalView>;
  runs: Run[];
  reference: Run;
  prices: PriceTable;
}

/** Latency medians this close to the best count as a tie. */
export const TIE_RATIO = 0.02;

/** Free tiers are monthly allowances of an account: no local run can sit on either side of this one. */
const VOLUME_CHECK =
  'No run checks it: it is the measured per-job costs above, extrapolated with the free tiers, which are monthly allowances of an account.';

const nonGpu = (m: ModeSummary): number => m.cost.total - m.cost.byComponent.gpu;

function latencyLines(groups: GroupSummary[]): string[] {
  const lines: string[] = [];
  for (const shape of ['warm', 'cold'] as const) {
    const candidates = groups.filter((g) => g.shape === shape && g.latency);
    if (candidates.length === 0) continue;
    const evidence = candidates.filter((g) => g.latencyEvidence);
    if (evidence.length === 0) {
      lines.push(`- **Latency, ${shape} jobs**: no evidence: every latency came from a fixed scale clock.`);
      continue;
    }
    const ranked = [...evidence].sort((a, b) => a.latency!.p50 - b.latency!.p50);
    const best = ranked[0]!;
    const others = ranked.slice(1).map((g) => `${g.label} ${seconds(g.latency!.p50)}`);
    // Medians within TIE_RATIO of the best are no win: the decision names them all.
    const tied = ranked.filter((g) => g.latency!.p50 <= best.latency!.p50 * (1 + TIE_RATIO));
    const verdict =
      tied.length > 1
        ? `${tied.map((g) => `**${g.label}**`).join(', ')} tie (medians within ${TIE_RATIO * 100}%); the fastest, ${best.label}, has`
        : `**${best.label}** wins,`;
    lines.push(
      `- **Latency, ${shape} jobs**: ${verdict} median ${seconds(best.latency!.p50)} from upload to result ` +
        `(overhead over the physical limit ${seconds(best.overhead?.p50)}; clock ${best.clocks.join(', ')})` +
        (others.length ? `, against ${others.join(', ')}.` : '.'),
    );
  }
  return lines;
}

function costLines(modes: ModeSummary[]): string[] {
  const byTotal = [...modes].sort((a, b) => a.cost.total - b.cost.total);
  const byOrchestration = [...modes].sort((a, b) => nonGpu(a) - nonGpu(b));
  const best = byTotal[0]!;
  const bestO = byOrchestration[0]!;
  const worstO = byOrchestration.at(-1)!;
  const gpuShare = best.cost.byComponent.gpu / best.cost.total;
  return [
    `- **Cost**: **${best.label}** wins at ${usd(best.cost.total * 1000)} per 1,000 jobs, against ` +
      byTotal
        .slice(1)
        .map((m) => `${m.label} ${usd(m.cost.total * 1000)}`)
        .join(', ') +
      '.',
    `- **Cost without the GPU** (orchestration, compute, storage): **${bestO.label}** wins at ${usd(nonGpu(bestO) * 1000)} per 1,000 jobs; ` +
      `the dearest, ${worstO.label}, costs ${usd(nonGpu(worstO) * 1000)} (${usd((nonGpu(worstO) - nonGpu(bestO)) * 1000)} more per 1,000 jobs).`,
    `- **GPU time is ${pct(gpuShare)} of the cost** (${usd(best.cost.byComponent.gpu * 1000)} of ${usd(best.cost.total * 1000)} per 1,000 jobs, ${best.label}); ` +
      `the orchestrators' whole difference outside the GPU is ${pct((nonGpu(worstO) - nonGpu(bestO)) / best.cost.total)} of it.`,
  ];
}

function operationalLines(op: Record<OrchestratorId, OperationalView>): string[] {
  const measures: [string, (v: OperationalView) => number | undefined][] = [
    ['resources to deploy and watch', (v) => v.resources],
    ['IAM statements', (v) => v.iamStatements],
    ['lines of orchestration code', (v) => v.orchestrationLines],
  ];
  const score: Record<OrchestratorId, number> = { sf: 0, ldf: 0 };
  const parts: string[] = [];
  for (const [name, pick] of measures) {
    const [s, l] = [pick(op.sf), pick(op.ldf)];
    if (s === undefined || l === undefined) {
      parts.push(`${name}: not counted`);
      continue;
    }
    if (s < l) score.sf++;
    if (l < s) score.ldf++;
    parts.push(`${name} ${ORCHESTRATOR_LABELS.sf} ${s}, ${ORCHESTRATOR_LABELS.ldf} ${l}`);
  }
  const winner =
    score.sf === score.ldf
      ? 'neither orchestrator'
      : `**${ORCHESTRATOR_LABELS[score.sf > score.ldf ? 'sf' : 'ldf']}**`;
  const lines = [
    `- **Operational load**: ${winner} wins (${parts.join('; ')}).`,
    '  - Wait mode: **poll** has fewer moving parts. The app deploys the waker Lambda and its two rules in both modes ' +
      '(`infra/app-definition.ts`), so the resources are the same; event mode puts them on every waiting job’s path ' +
      '(task tokens or callbacks, a waker invocation per wake-up, a fallback check each `pollMaxSeconds` for a lost one).',
  ];
  for (const o of ['sf', 'ldf'] as const)
    if (op[o].failedExecutionDebug)
      lines.push(`  - A failed ${ORCHESTRATOR_LABELS[o]} execution leaves ${op[o].failedExecutionDebug}.`);
  if (op.sf.linesSource === 'repo')
    lines.push(
      `  - Lines of orchestration code counted from the repo files, comments and blank lines left out (the ${ORCHESTRATOR_LABELS.sf} count includes its ASL file, JSON).`,
    );
  return lines;
}

function flipLines(input: DecisionInput): string[] {
  const { modes, prices, reference, runs } = input;
  const p = reference.scenario.parameters;
  const lines: string[] = ['### Where the answer flips', ''];
  // 1. Monthly volume, free tiers subtracted: each orchestrator in its cheaper wait mode.
  const cheapest = (o: OrchestratorId) =>
    modes.filter((m) => m.orchestrator === o).sort((a, b) => a.cost.total - b.cost.total)[0];
  const [sf, ldf] = [cheapest('sf'), cheapest('ldf')];
  const metrics = reference.monthly?.customMetrics ?? {};
  if (sf && ldf) {
    const side = (m: ModeSummary) => ({
      name: m.label,
      cost: m.cost,
      fixedUsd: customMetricsMonthly(metrics[m.orchestrator] ?? 0, prices),
    });
    const flip = volumeFlip(side(sf), side(ldf), prices);
    const rateAt = (jobs: number) => jobs / HOURS_PER_MONTH;
    lines.push(
      flip
        ? `1. **Monthly volume** (free tiers subtracted, fixed custom metrics added): below ${num(Math.round(flip.at))} jobs a month ` +
            `(${num(rateAt(flip.at), 2)} arrivals an hour) **${flip.below}** costs less; above it **${flip.above}**. ` +
            VOLUME_CHECK
        : `1. **Monthly volume** (free tiers subtracted): no flip between 1 and 100 million jobs a month; ` +
            `the cheaper one stays cheaper at every volume. ${VOLUME_CHECK}`,
    );
  }
  // 2. Arrival rate and idle window: keep the GPU up through a gap, or stop it and pay the next start.
  const even = idleWindowBreakEven({
    startSeconds: p.endpointStartSeconds,
    deleteSeconds: p.endpointDeleteSeconds,
  });
  const perSecond = priceOf(prices, `sagemaker.instanceHour.${p.instanceType}`).usd / 3600;
  let idleText =
    `2. **Idle window and arrival rate**: one stop and restart bills the deletion and the next start, ${seconds(even.gapSeconds)} ` +
    `(${usd(even.gapSeconds * perSecond)} of GPU), and makes the jobs that find the endpoint stopped wait up to ${seconds(p.endpointStartSeconds)}; ` +
    `but every job that arrives during a start shares it. Over random arrivals (the endpoint's lives as a renewal process, \`bench/cost/flips.ts\`) ` +
    `a longer idle window lowers the GPU cost per job exactly when jobs arrive faster than one per deletion time, ` +
    `${num(even.arrivalsPerHour, 2)} an hour, whatever the start time; below that rate stopping at once bills the least GPU, and a window buys only latency.`;
  if (p.arrivalsPerHour !== undefined) {
    const model = (w: number) =>
      gpuSecondsPerJob(p.arrivalsPerHour!, w, {
        startSeconds: p.endpointStartSeconds,
        deleteSeconds: p.endpointDeleteSeconds,
        inferenceSeconds: p.inferenceSeconds,
      });
    const now = model(p.idleWindowSeconds);
    const zero = model(0);
    idleText +=
      ` At the reference run's ${num(p.arrivalsPerHour, 2)} arrivals an hour and ${seconds(p.idleWindowSeconds)} window, the model bills ` +
      `${usd(now.gpuSeconds * perSecond * 1000)} of GPU per 1,000 jobs with ${pct(now.coldFraction)} of jobs waiting a start; stopping at once bills ` +
      `${usd(zero.gpuSeconds * perSecond * 1000)} with every job cold.`;
  }
  // The streams checked may model another start than the reference: each side is taken from their own.
  const idleChecks = idleWindowChecks(runs, prices);
  const idleFlips = idleChecks.length
    ? [...new Set(idleChecks.map((c) => c.flipAt ?? even.arrivalsPerHour))]
    : [even.arrivalsPerHour];
  lines.push(`${idleText} ${describeChecks(idleChecks, idleFlips, 'arrivals an hour')}`);
  // 3. Endpoint start time: which wait mode bills less for a cold job.
  const times = {
    deleteSeconds: p.endpointDeleteSeconds,
    pollSeconds: p.pollSeconds,
    pollMaxSeconds: p.pollMaxSeconds,
    eventFallbackSeconds: p.eventFallbackSeconds ?? p.pollMaxSeconds,
  };
  for (const [i, o] of (['sf', 'ldf'] as const).entries()) {
    const flips = startTimeFlips(o, times, prices);
    const here = cheaperMode(o, { ...times, inServiceWaitSeconds: p.endpointStartSeconds }, prices);
    const name = ORCHESTRATOR_LABELS[o];
    const head =
      `${3 + i}. **Endpoint start time, ${name}** (a cold job's minimum orchestration cost, poll ${num(p.pollSeconds)}..${num(p.pollMaxSeconds)} s, event fallback ${num(p.eventFallbackSeconds ?? p.pollMaxSeconds)} s): ` +
      `at the reference's ${seconds(p.endpointStartSeconds)} start **${here.mode}** bills less (poll ${usd(here.poll * 1000)}, event ${usd(here.event * 1000)} per 1,000 cold jobs).`;
    const checked = describeChecks(
      startTimeChecks(runs, o, prices),
      flips.map((f) => f.at),
      's start',
    );
    lines.push(
      flips.length === 0
        ? `${head} No flip between 1 s and 1 h: ${here.mode} is cheaper at every start time. ${checked}`
        : `${head} The cheaper mode changes at ${flips.map((f) => `${seconds(f.at)} (${f.below} below, ${f.above} above)`).join(', ')}. ${checked}`,
    );
  }
  lines.push(
    '',
    'Event waits see InService when it happens; poll waits see it up to one interval late ' +
      `(up to ${seconds(p.pollMaxSeconds)} of GPU already billed), so on latency event mode never loses to poll mode for a cold job.`,
  );
  return lines;
}

/** The decision section, as Markdown lines. */
export function decisionSection(input: DecisionInput): string[] {
  const jobs = input.modes.reduce((n, m) => n + m.jobs.length, 0);
  return [
    '## Decision',
    '',
    `From the measured numbers (${jobs} jobs in ${input.runs.length} runs; the flip points take the parameters of the reference run \`${input.reference.id}\`):`,
    '',
    ...latencyLines(input.groups),
    ...costLines(input.modes),
    ...operationalLines(input.operational),
    '',
    ...flipLines(input),
  ];
}
