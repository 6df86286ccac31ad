// `dvs bench`: a scenario run end to end: the runner's results, the report written from them
// (reports/<timestamp>/ by default), and the report's summary and decision for the terminal.
import { readFileSync } from 'node:fs';
import { synthesizedOperationalLoad } from '../collect/operational.ts';
import { defaultReportDir, renderReport, type RenderedReport } from '../report/render.ts';
import { timeSpan } from '../report/markdown.ts';
import { clockLabel, type Results } from '../report/results.ts';
import { runScenario, type RunnerOptions, type SessionFactory } from './run.ts';
import type { DriveIo } from './drive.ts';
import type { ScenarioSpec } from './scenarios.ts';

export interface BenchOutcome {
  results: Results;
  report: RenderedReport;
  /** The report's summary table and its decision, as Markdown. */
  summary: string;
  /** Jobs that did not complete, by orchestrator and outcome. */
  notCompleted: number;
}

/** The named `## ` sections of a Markdown report, in the report's order. */
export function sections(markdown: string, names: readonly string[]): string {
  const parts = markdown.split(/^(?=## )/m);
  return parts
    .filter((p) => names.some((n) => p.startsWith(`## ${n}`)))
    .join('\n')
    .trim();
}

export async function runBench(
  spec: ScenarioSpec,
  open: SessionFactory,
  options: RunnerOptions & { outDir?: string; repoRoot: string },
  io: DriveIo,
): Promise<BenchOutcome> {
  const results = await runScenario(spec, open, options, io);
  io.progress.phase('counting the operational load from the synthesized stack');
  results.operational = synthesizedOperationalLoad();
  const report = renderReport(results, options.outDir ?? defaultReportDir(options.repoRoot));
  const markdown = readFileSync(report.markdown, 'utf8');
  const notCompleted = results.runs.flatMap((r) => r.jobs).filter((j) => j.outcome !== 'COMPLETED').length;
  // What each run cost in real time, beside the simulated time it stood for.
  const spans = results.runs.map(
    (r) => `- \`${r.id}\`: ${timeSpan(r)} (real s / simulated s, ${clockLabel(r.clock)} clock)`,
  );
  const summary = [sections(markdown, ['Summary', 'Decision']), '', '## Time', '', ...spans].join('\n');
  return { results, report, summary, notCompleted };
}
