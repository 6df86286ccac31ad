import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { priceUnits } from '../cost/cost.ts';
import { analyticMinimum } from '../cost/minimum.ts';
import { loadPrices } from '../cost/prices.ts';
import { EXIT, runReportCli } from './cli.ts';
import { exampleRun } from './example-results.ts';
import { timeSpan } from './markdown.ts';
import { renderReport } from './render.ts';
import type { Results, Run } from './results.ts';

const dir = mkdtempSync(join(tmpdir(), 'report-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const prices = loadPrices();

/** A poll-mode run where the durable warm jobs are 40 s slower and bill 6 extra operations each. */
function slowDurableRun(): Run {
  const run = exampleRun('measured', { jobs: 3 }, { waitModes: ['poll'], seed: 5 });
  for (const job of run.jobs)
    if (job.orchestrator === 'ldf' && job.shape === 'warm') {
      job.latency.uploadToResultSeconds! += 40;
      job.latency.phases.inferred! += 40;
      job.units.durable.operationsBilled += 6;
    }
  return run;
}

const build = (...extra: Run[]): Results => ({
  schemaVersion: 1,
  createdAt: '2026-12-02T18:00:00.000Z',
  region: 'us-east-1',
  runs: [slowDurableRun(), ...extra],
});

const write = (name: string, results: Results) => renderReport(results, join(dir, name), { prices });

describe('renderReport', () => {
  it('writes report.md, a self-contained report.html and the results it was given', () => {
    const results = build();
    const out = write('basic', results);
    expect(JSON.parse(readFileSync(out.results, 'utf8'))).toEqual(results);
    const html = readFileSync(out.html, 'utf8');
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=|url\(http/);
    expect(html).toContain('Chart.js v4');
    expect(html.match(/<canvas /g)).toHaveLength(6);
    expect(html).toContain('<h2>Decision</h2>');
  });

  it('decides from the numbers: the faster orchestrator wins latency, the excess is named with its size', () => {
    const results = build();
    const md = readFileSync(write('decision', results).markdown, 'utf8');
    expect(md).toMatch(/\*\*Latency, warm jobs\*\*: \*\*Step Functions, poll, warm\*\* wins/);
    // The durable warm jobs' minimum, counted from the flow, and what was measured.
    const warm = results.runs[0]!.jobs.filter((j) => j.orchestrator === 'ldf' && j.shape === 'warm');
    const p = results.runs[0]!.scenario.parameters;
    const minimum =
      warm
        .map(
          (j) =>
            analyticMinimum(j, {
              inServiceWaitSeconds: 0,
              deleteSeconds: p.endpointDeleteSeconds,
              pollSeconds: p.pollSeconds,
              pollMaxSeconds: p.pollMaxSeconds,
              eventFallbackSeconds: p.pollMaxSeconds,
            }).billed,
        )
        .reduce((a, b) => a + b) / warm.length;
    const measured = warm.map((j) => j.units.durable.operationsBilled).reduce((a, b) => a + b) / warm.length;
    expect(measured / minimum).toBeGreaterThan(1.2);
    expect(md).toContain(
      `durable function, poll, warm: durable operations: ${measured.toFixed(1)} per job against a minimum of ${minimum.toFixed(1)} (+${(measured - minimum).toFixed(1)}`,
    );
    // GPU share of the cheapest mode, priced here from the jobs' own units.
    const ldf = results.runs[0]!.jobs.filter((j) => j.orchestrator === 'ldf');
    const sf = results.runs[0]!.jobs.filter((j) => j.orchestrator === 'sf');
    const mean = (jobs: typeof ldf, pick: (c: ReturnType<typeof priceUnits>) => number) =>
      jobs.map((j) => pick(priceUnits(j.units, p.instanceType, prices))).reduce((a, b) => a + b) /
      jobs.length;
    const cheaper = mean(ldf, (c) => c.total) < mean(sf, (c) => c.total) ? ldf : sf;
    const share = mean(cheaper, (c) => c.byComponent.gpu) / mean(cheaper, (c) => c.total);
    expect(md).toContain(`**GPU time is ${(share * 100).toFixed(1)}% of the cost**`);
    expect(md).toContain('### Where the answer flips');
    // One run in both wait modes is no poll/event pair at one start time: the flips scenario is named.
    expect(md).toMatch(
      /Endpoint start time, durable function.*No run pair to check it: run `dvs bench --scenario flips`/,
    );
  });

  it('calls medians within 2% a tie, not a win', () => {
    const run = exampleRun('even', { jobs: 3 }, { waitModes: ['poll'], seed: 5 });
    for (const job of run.jobs)
      if (job.shape === 'warm')
        job.latency.uploadToResultSeconds = 21 + (job.orchestrator === 'sf' ? 0.2 : 0);
    const md = readFileSync(write('tie', { ...build(), runs: [run] }).markdown, 'utf8');
    expect(md).toContain(
      '**Latency, warm jobs**: **durable function, poll, warm**, **Step Functions, poll, warm** tie (medians within 2%)',
    );
  });

  it('warns on a fixed scale clock and keeps its latencies out of the evidence', () => {
    const scaled = exampleRun(
      'scaled',
      { jobs: 3 },
      { waitModes: ['poll'], clock: { kind: 'scale', factor: 60 } },
    );
    // The scaled run's Step Functions jobs look much slower; the evidence says otherwise.
    for (const job of scaled.jobs) if (job.orchestrator === 'sf') job.latency.uploadToResultSeconds! += 500;
    const md = readFileSync(write('scaled', build(scaled)).markdown, 'utf8');
    expect(md).toContain('run `scaled` used a fixed scale clock (scale:60)');
    expect(md).toMatch(/\| `scaled` \| Step Functions, poll \| 3 \| \d+ s \(scale:60, not evidence\)/);
    expect(md).toMatch(/\*\*Latency, warm jobs\*\*: \*\*Step Functions, poll, warm\*\* wins/);
  });

  it("shows each run's real time beside the simulated time its clock read, and how much was skipped", () => {
    const run = exampleRun('spanned', { jobs: 2 }, { waitModes: ['poll'] });
    run.startedAt = '2026-12-03T10:00:00.000Z';
    run.endedAt = '2026-12-03T10:04:00.000Z';
    run.simulatedSeconds = 3600;
    expect(timeSpan(run)).toBe('240 / 3,600 (93.3% skipped)');
    const md = readFileSync(write('spanned', build(run)).markdown, 'utf8');
    expect(md).toContain('| real s / simulated s |');
    expect(md).toContain('240 / 3,600 (93.3% skipped)');
    // A run from before the field, or on a clock that never skips, says no more than it knows.
    expect(timeSpan({ ...run, simulatedSeconds: undefined })).toBe('n/a');
    expect(timeSpan({ ...run, clock: { kind: 'real' }, simulatedSeconds: 240 })).toBe('240 / 240');
  });

  it('shows an idle-window sweep with its Pareto set, and checks the idle-window flip against it', () => {
    const sweep = [60, 1800].map((w) =>
      exampleRun(`idle-${w}`, { jobs: 3, idleWindowSeconds: w }, { waitModes: ['poll'] }),
    );
    const busy = exampleRun('busy', { jobs: 3, arrivalsPerHour: 40 }, { waitModes: ['poll'] });
    const md = readFileSync(write('sweep', build(...sweep, busy)).markdown, 'utf8');
    const section = md.slice(md.indexOf('## Idle window'), md.indexOf('## Prices'));
    expect(section).toContain('`idle-60`');
    expect(section).toContain('`idle-1800`');
    expect(section).not.toContain('`busy`');
    expect(section).toMatch(/\*\*`idle-60`\*\*/); // the cheapest window is on the Pareto front
    // A 60 s deletion: break-even at 60 arrivals an hour; the sweep's 6 an hour is below it.
    expect(md).toMatch(
      /at 6 arrivals an hour the model picks 60 s window and the runs measure 60 s window \(agrees: .*runs `idle-60`, `measured`, `idle-1800`\)/,
    );
    expect(md).toContain('Flip at 60 arrivals an hour: below agrees, at or above no run');
  });
});

describe('npm run report', () => {
  const results = join(dir, 'results.json');
  writeFileSync(results, JSON.stringify(build()));
  const run = (...args: string[]) => {
    let out = '';
    let err = '';
    const code = runReportCli(
      args,
      { write: (s: string) => (out += s) },
      { write: (s: string) => (err += s) },
    );
    return { code, out, err };
  };

  it('rebuilds the report from a saved file', () => {
    const r = run(results, '--out', join(dir, 'cli'));
    expect(r.code).toBe(EXIT.ok);
    expect(readFileSync(join(dir, 'cli', 'report.md'), 'utf8')).toContain('## Decision');
  });

  it('answers --help, and exits non-zero with the reason on bad input', () => {
    const help = run('--help');
    expect(help.code).toBe(EXIT.ok);
    expect(help.out).toContain('Usage: npm run report');
    expect(run().code).toBe(EXIT.usage);
    expect(run('--nope', results).code).toBe(EXIT.usage);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ ...build(), region: 7 }));
    const badRun = run(bad, '--out', join(dir, 'x'));
    expect(badRun.code).toBe(EXIT.badResults);
    expect(badRun.err).toContain('/region: must be string');
    const badPrices = join(dir, 'prices.json');
    writeFileSync(badPrices, JSON.stringify({ prices: { 'lambda.request': { usd: 'cheap' } } }));
    const pricesRun = run(results, '--prices', badPrices);
    expect(pricesRun.code).toBe(EXIT.badPrices);
    expect(pricesRun.err).toContain('/prices/lambda.request/usd: must be number');
  });
});
