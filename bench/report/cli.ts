// `npm run report -- <results.json>`: rebuilds the report from saved results, no cloud running.
// The project's command line will call runReportCli as its `report` subcommand.
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { loadPrices } from '../cost/prices.ts';
import { exampleResults } from './example-results.ts';
import { defaultReportDir, renderReport } from './render.ts';
import { readResults, SchemaError } from './results.ts';

export const USAGE = `Usage: npm run report -- <results.json> [--out DIR] [--prices FILE]
       npm run report -- --example [--out DIR]

Rebuilds the comparison report from saved results (no cloud needs to run): report.md, a
self-contained report.html with charts, and results.json (validated against
bench/report/results.schema.json), in DIR (default reports/<timestamp>/).

  --out DIR       where to write the report
  --prices FILE   a price override file, same shape as bench/cost/prices.json; its prices replace
                  the repo's key by key
  --example       render the built-in TEST DATA (bench/report/example-results.ts), not measurements
  --help          this text

Exit codes: 0 written; 2 bad arguments; 3 the results file is missing or invalid (each bad field
named); 4 the price override file is missing or invalid; 1 anything else.`;

export const EXIT = { ok: 0, failed: 1, usage: 2, badResults: 3, badPrices: 4 } as const;

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Where the CLI writes (process.stdout / process.stderr by default). */
export interface Sink {
  write(text: string): unknown;
}

export function runReportCli(argv: string[], out: Sink = process.stdout, err: Sink = process.stderr): number {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        out: { type: 'string' },
        prices: { type: 'string' },
        example: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    });
  } catch (e) {
    err.write(`${(e as Error).message}\n\n${USAGE}\n`);
    return EXIT.usage;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    out.write(`${USAGE}\n`);
    return EXIT.ok;
  }
  if (positionals.length !== (values.example ? 0 : 1)) {
    err.write(
      `${values.example ? '--example takes no results file' : 'name one results file'}\n\n${USAGE}\n`,
    );
    return EXIT.usage;
  }
  let prices;
  try {
    prices = loadPrices(values.prices);
  } catch (e) {
    err.write(`${(e as Error).message}\n`);
    return e instanceof SchemaError ? EXIT.badPrices : EXIT.failed;
  }
  let results;
  try {
    results = values.example ? exampleResults() : readResults(positionals[0]!);
  } catch (e) {
    err.write(`${(e as Error).message}\n`);
    return e instanceof SchemaError ? EXIT.badResults : EXIT.failed;
  }
  try {
    const written = renderReport(results, values.out ?? defaultReportDir(REPO_ROOT), { prices });
    out.write(
      `${values.example ? 'TEST DATA report (not measurements)' : 'Report'} written:\n  ${written.markdown}\n  ${written.html}\n  ${written.results}\n`,
    );
    return EXIT.ok;
  } catch (e) {
    if (e instanceof SchemaError) {
      err.write(`${e.message}\n`);
      return EXIT.badResults;
    }
    err.write(`${(e as Error).stack ?? String(e)}\n`);
    return EXIT.failed;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1])
  process.exitCode = runReportCli(process.argv.slice(2));
