// renderReport(results, outDir): report.md, report.html (self-contained, charts inlined) and
// results.json (validated) in outDir, from saved results alone; no cloud needs to run.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadPrices, type PriceTable } from '../cost/prices.ts';
import { reportHtml } from './html.ts';
import { reportMarkdown } from './markdown.ts';
import { buildModel } from './model.ts';
import { checkResults, writeResults, type Results } from './results.ts';

export interface RenderOptions {
  /** The price table; the repo's (bench/cost/prices.json) when absent. */
  prices?: PriceTable;
  /** Where the orchestrators' files are, to count lines of orchestration code; this repo when absent. */
  repoRoot?: string;
}

export interface RenderedReport {
  dir: string;
  markdown: string;
  html: string;
  results: string;
}

/** Writes the report's three files into `outDir` (created) and returns their paths. */
export function renderReport(results: Results, outDir: string, options: RenderOptions = {}): RenderedReport {
  checkResults(results);
  const prices = options.prices ?? loadPrices();
  const model = buildModel(results, prices, options.repoRoot);
  const markdown = reportMarkdown(model);
  mkdirSync(outDir, { recursive: true });
  const paths = {
    dir: outDir,
    markdown: join(outDir, 'report.md'),
    html: join(outDir, 'report.html'),
    results: join(outDir, 'results.json'),
  };
  writeFileSync(paths.markdown, markdown);
  writeFileSync(paths.html, reportHtml(model, markdown));
  writeResults(paths.results, results);
  return paths;
}

/** reports/<timestamp>/, the default place of a report (a timestamp safe in file names). */
export const defaultReportDir = (root: string, now = new Date()): string =>
  join(root, 'reports', now.toISOString().replace(/[:.]/g, '-'));
