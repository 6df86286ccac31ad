// report.md: every table of the report and its decision, from the report model. The HTML page shows
// the same sections (converted by html.ts) with the charts beside them.
import { COMPONENTS } from '../cost/cost.ts';
import { decisionSection } from './decision.ts';
import { num, pct, seconds, sig, table, usd } from './format.ts';
import type { ReportModel } from './model.ts';
import { clockLabel, latencyIsEvidence, PHASES, type Run } from './results.ts';

function runsSection(m: ReportModel): string[] {
  const rows = m.results.runs.map((r) => {
    const p = r.scenario.parameters;
    const named = new Set([
      'endpointStartSeconds',
      'inferenceSeconds',
      'endpointConcurrency',
      'idleWindowSeconds',
      'arrivalsPerHour',
    ]);
    const rest = Object.entries(p)
      .filter(([k]) => !named.has(k))
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(', ');
    return [
      `\`${r.id}\``,
      r.scenario.name,
      r.target,
      clockLabel(r.clock),
      timeSpan(r),
      String(r.seed),
      r.waitModes.join(', '),
      String(r.jobs.length),
      num(p.endpointStartSeconds),
      num(p.inferenceSeconds),
      num(p.endpointConcurrency),
      num(p.idleWindowSeconds),
      p.arrivalsPerHour === undefined ? 'n/a' : num(p.arrivalsPerHour, 2),
      rest,
    ];
  });
  const warnings = m.results.runs
    .filter((r) => !latencyIsEvidence(r.clock))
    .map(
      (r) =>
        `> **Warning:** run \`${r.id}\` used a fixed scale clock (${clockLabel(r.clock)}): its latencies are real time multiplied by the scale, ` +
        `so CPU queueing is magnified; they are not evidence. Only runs on the skip or real clock are evidence of latency.`,
    );
  const ids = (runs: Run[]) => runs.map((r) => `\`${r.id}\``).join(', ');
  const perRun = m.perRun.flatMap(({ run, modes }) =>
    modes.map((s) => [
      `\`${run.id}\``,
      s.label,
      String(s.jobs.length),
      s.latency
        ? `${seconds(s.latency.p50)} (${clockLabel(run.clock)}${s.latencyEvidence ? '' : ', not evidence'})`
        : 'n/a',
      usd(s.cost.total * 1000),
      pct(s.cost.byComponent.gpu / s.cost.total),
    ]),
  );
  return [
    '## Runs',
    '',
    ...table(
      [
        'run',
        'scenario',
        'target',
        'clock',
        'real s / simulated s',
        'seed',
        'wait modes',
        'jobs',
        'start s',
        'inference s',
        'endpoint concurrency',
        'idle window s',
        'arrivals/h',
        'other parameters',
      ],
      rows,
    ),
    '',
    ...warnings.flatMap((w) => [w, '']),
    `**The measured workload** is the first run and every run with its parameters: ${ids(m.workload)}. ` +
      'The summary, phases, minimum, cost and decision below are over its jobs; the table here shows every run.',
    '',
    ...table(
      ['run', 'orchestrator, wait mode', 'jobs', 'latency p50 (clock)', 'cost per 1,000 jobs', 'GPU share'],
      perRun,
      ['l', 'l', 'r', 'r', 'r', 'r'],
    ),
    '',
  ];
}

/** A run's real span beside the simulated span its clock read, and how much of it the clock skipped. */
export function timeSpan(r: Run): string {
  if (r.startedAt === undefined || r.endedAt === undefined || r.simulatedSeconds === undefined) return 'n/a';
  const real = (Date.parse(r.endedAt) - Date.parse(r.startedAt)) / 1000;
  const sim = r.simulatedSeconds;
  const skipped = r.clock.kind === 'skip' && sim > 0 ? ` (${pct(Math.max(0, 1 - real / sim))} skipped)` : '';
  return `${num(real)} / ${num(sim)}${skipped}`;
}

function summarySection(m: ReportModel): string[] {
  const rows = m.groups.map((g) => [
    g.label,
    `${g.completed}/${g.jobs.length}`,
    g.latency ? `${seconds(g.latency.p50)} / ${seconds(g.latency.p90)}` : 'n/a',
    g.clocks.join(', ') + (g.latencyEvidence ? '' : ' (not evidence)'),
    seconds(g.overhead?.p50),
    `${num(g.billedMean)} / ${num(g.billedMinimum)}`,
    `${num(g.lambdaMean)} / ${num(g.lambdaMinimum)}`,
    usd(g.cost.total * 1000),
    usd(g.cost.byComponent.gpu * 1000),
  ]);
  return [
    '## Summary',
    '',
    'Latency is from the upload to the result, on the clock named. The overhead is the latency over the physical limit ' +
      '(cold: minus the endpoint’s own time to InService and the inference; warm: minus the inference). Units are per job, ' +
      'measured / analytic minimum: state transitions for Step Functions, durable operations as billed for the durable function.',
    '',
    ...table(
      [
        'orchestrator, wait mode, shape',
        'completed',
        'latency p50 / p90',
        'clock',
        'overhead p50',
        'transitions or operations',
        'Lambda requests',
        'cost per 1,000 jobs',
        'of which GPU',
      ],
      rows,
      ['l', 'r', 'r', 'l', 'r', 'r', 'r', 'r', 'r'],
    ),
    '',
  ];
}

function phasesSection(m: ReportModel): string[] {
  const phases = PHASES.filter((p) => m.groups.some((g) => g.phases[p] !== undefined));
  return [
    '## Phases',
    '',
    'Median seconds after the upload at which completed jobs reached each phase.',
    '',
    ...table(
      ['orchestrator, wait mode, shape', ...phases],
      m.groups.map((g) => [g.label, ...phases.map((p) => seconds(g.phases[p]))]),
      ['l', ...phases.map(() => 'r' as const)],
    ),
    '',
  ];
}

function minimumSection(m: ReportModel): string[] {
  const excess = m.groups.flatMap((g) => g.excess.map((e) => `- ${g.label}: ${e}.`));
  const paths = m.groups.map((g) => {
    const path = g.jobs[0]!.minimum.path.map((s) => (s.times > 1 ? `${s.name} ×${s.times}` : s.name)).join(
      ' → ',
    );
    return `- ${g.label} (first job's shape): ${path}`;
  });
  return [
    '## Measured against the analytic minimum',
    '',
    'The minimum is the fewest units the flow could bill for the job’s shape, read off the ASL (states entered) and the durable workflow ' +
      '(operations as metered: step 1 + retries, waitForCondition 1 + polls, waitForCallback 3, wait 1), with the poll rounds of the ' +
      'run’s backoff until the endpoint’s own InService time, the event rounds of `pollMaxSeconds`, and the deletion polls of the job that stops the endpoint.',
    '',
    ...table(
      [
        'orchestrator, wait mode, shape',
        'unit',
        'measured',
        'minimum',
        'ratio',
        'Lambda requests measured',
        'minimum',
      ],
      m.groups.map((g) => [
        g.label,
        g.billedUnit,
        num(g.billedMean),
        num(g.billedMinimum),
        `${(g.billedMean / Math.max(1, g.billedMinimum)).toFixed(2)}×`,
        num(g.lambdaMean),
        num(g.lambdaMinimum),
      ]),
      ['l', 'l', 'r', 'r', 'r', 'r', 'r'],
    ),
    '',
    excess.length ? 'Where measured exceeds 1.2 × the minimum:' : 'No unit exceeds 1.2 × its minimum.',
    '',
    ...excess,
    ...(excess.length ? [''] : []),
    'The minimum paths:',
    '',
    ...paths,
    '',
  ];
}

function costSection(m: ReportModel): string[] {
  const rows = m.modes.map((s) => [
    s.label,
    String(s.jobs.length),
    ...COMPONENTS.map((c) => usd(s.cost.byComponent[c] * 1000)),
    usd(s.cost.total * 1000),
    usd(s.cost.total),
    pct(s.cost.byComponent.gpu / s.cost.total),
  ]);
  const keys = m.modes[0]!.cost.lines.map((l) => l.key);
  const lineRows = keys.map((key, i) => [
    `\`${key}\``,
    m.modes[0]!.cost.lines[i]!.component,
    ...m.modes.map((s) => `${sig(s.cost.lines[i]!.units)} → ${usd(s.cost.lines[i]!.usd * 1000)}`),
  ]);
  return [
    '## Cost per 1,000 jobs',
    '',
    `Each orchestrator and wait mode over all its jobs (the measured mix of shapes), at ${m.prices.region} prices; free tiers not subtracted.`,
    '',
    ...table(['orchestrator, wait mode', 'jobs', ...COMPONENTS, 'total', 'per job', 'GPU share'], rows, [
      'l',
      ...rows[0]!.slice(1).map(() => 'r' as const),
    ]),
    '',
    'Per dimension: units per job → cost per 1,000 jobs.',
    '',
    ...table(['price', 'component', ...m.modes.map((s) => s.label)], lineRows),
    '',
    ...fixedAndFree(m),
  ];
}

function fixedAndFree(m: ReportModel): string[] {
  const free = Object.entries(m.prices.prices).filter(([, p]) => p.freeTier);
  const metrics = m.reference.monthly?.customMetrics;
  const fixed = metrics
    ? [
        `Fixed monthly: ${Object.entries(metrics)
          .map(
            ([o, n]) =>
              `${o} ${n} custom metrics = ${usd(n * m.prices.prices['cloudwatch.customMetricMonth']!.usd)} a month`,
          )
          .join('; ')} (not in the per-job figures).`,
        '',
      ]
    : [];
  return [
    ...fixed,
    'Free tiers, shown and not subtracted (the flip points subtract them where said):',
    '',
    ...free.map(
      ([key, p]) =>
        `- \`${key}\`: ${num(p.freeTier!.units)} free per month (${usd(p.freeTier!.units * p.usd)} of value).`,
    ),
    '',
  ];
}

function tradeoffSection(m: ReportModel): string[] {
  const points = m.tradeoff;
  const sweep = new Set(points.map((p) => p.idleWindowSeconds)).size > 1;
  return [
    '## Idle window: cost against latency',
    '',
    sweep
      ? `Runs that differ from \`${m.reference.id}\` only in the idle window (on a skip or real clock); **bold** rows are each orchestrator and wait mode's Pareto set (no other idle window is both cheaper and faster).`
      : 'No idle-window sweep in these results: one window only.',
    '',
    ...table(
      ['run', 'orchestrator, wait mode', 'idle window', 'cost per 1,000 jobs', 'mean latency'],
      points.map((p) => {
        const cells = [
          `\`${p.runId}\``,
          p.label,
          seconds(p.idleWindowSeconds),
          usd(p.costPerThousand),
          seconds(p.latencySeconds),
        ];
        return p.pareto ? cells.map((c) => `**${c}**`) : cells;
      }),
      ['l', 'l', 'r', 'r', 'r'],
    ),
    '',
    ...(m.curve.length
      ? [
          `The model for random arrivals at ${num(m.reference.scenario.parameters.arrivalsPerHour ?? 0, 2)} an hour (GPU only):`,
          '',
          ...table(
            ['idle window', 'cold jobs', 'GPU per 1,000 jobs', 'expected latency'],
            m.curve.map((c) => [
              seconds(c.idleWindowSeconds),
              pct(c.coldFraction),
              usd(c.gpuPerThousand),
              seconds(c.latencySeconds),
            ]),
            ['r', 'r', 'r', 'r'],
          ),
          '',
        ]
      : []),
  ];
}

function jobsSection(m: ReportModel): string[] {
  const measured = m.views.filter((v) => m.workload.includes(v.run));
  return [
    '## Jobs',
    '',
    'Every job of the measured workload: its latency on its run’s clock, its overhead over the physical limit, its units against its minimum, its cost.',
    '',
    ...table(
      [
        'run',
        'job',
        'orchestrator, wait mode, shape',
        'outcome',
        'latency',
        'overhead',
        'transitions or operations / minimum',
        'Lambda requests / minimum',
        'cost',
      ],
      measured.map((v) => [
        `\`${v.run.id}\``,
        v.job.jobId,
        `${v.job.orchestrator}, ${v.job.waitMode}, ${v.job.shape}${v.job.started ? ', started' : ''}${v.job.stoppedEndpoint ? ', stopped' : ''}`,
        v.job.outcome + (v.job.error ? ` (${v.job.error})` : ''),
        v.job.latency.uploadToResultSeconds === null
          ? 'n/a'
          : `${seconds(v.job.latency.uploadToResultSeconds)} (${clockLabel(v.run.clock)})`,
        seconds(v.overheadSeconds),
        `${num(v.billed)} / ${num(v.minimum.billed)}`,
        `${num(v.job.units.lambda.requests)} / ${num(v.minimum.lambdaRequests)}`,
        usd(v.cost.total),
      ]),
      ['l', 'l', 'l', 'l', 'r', 'r', 'r', 'r', 'r'],
    ),
    '',
  ];
}

function pricesSection(m: ReportModel): string[] {
  return [
    '## Prices',
    '',
    `${m.prices.region}. ${m.prices.note ?? ''}`,
    '',
    ...table(
      ['price', 'USD', 'per', 'source', 'read on', 'note'],
      Object.entries(m.prices.prices).map(([key, p]) => [
        `\`${key}\``,
        String(p.usd),
        p.per,
        p.source,
        p.readOn,
        p.note ?? '',
      ]),
    ),
    '',
  ];
}

export function reportMarkdown(m: ReportModel): string {
  return [
    '# Durable functions vs Step Functions: comparison report',
    '',
    `Results of ${m.results.createdAt}, region ${m.results.region}${m.results.commit ? `, commit ${m.results.commit}` : ''}; ` +
      `${m.views.length} jobs in ${m.results.runs.length} runs.`,
    '',
    'Latencies are on the clock each run names: only the skip and real clocks are evidence of latency; a run on a fixed scale clock is flagged.',
    '',
    ...runsSection(m),
    ...summarySection(m),
    ...phasesSection(m),
    ...minimumSection(m),
    ...costSection(m),
    ...tradeoffSection(m),
    ...jobsSection(m),
    ...pricesSection(m),
    ...decisionSection(m),
    '',
  ].join('\n');
}
