// Everything the report shows, computed once from the results and the price table; report.md,
// report.html and the charts all read this one model.
import type { PriceTable } from '../cost/prices.ts';
import { operationalLoad, type OperationalView } from './operational.ts';
import type { OrchestratorId, Results, Run } from './results.ts';
import { allJobs, groups, modes, type GroupSummary, type JobView, type ModeSummary } from './summary.ts';
import { modelCurve, sameParameters, tradeoffPoints, type TradeoffPoint } from './tradeoff.ts';

export interface ReportModel {
  results: Results;
  prices: PriceTable;
  views: JobView[];
  groups: GroupSummary[];
  modes: ModeSummary[];
  operational: Record<OrchestratorId, OperationalView>;
  runs: Run[];
  /** The first run: its parameters define the measured workload and the flip points. */
  reference: Run;
  /** The runs with the reference's parameters (the number of jobs aside): the measured workload. */
  workload: Run[];
  /** Per run, orchestrator and wait mode, for the table of all runs. */
  perRun: { run: Run; modes: ModeSummary[] }[];
  tradeoff: TradeoffPoint[];
  curve: ReturnType<typeof modelCurve>;
}

export function buildModel(results: Results, prices: PriceTable, repoRoot?: string): ReportModel {
  const views = allJobs(results, prices);
  const reference = results.runs[0]!;
  const workload = results.runs.filter((r) =>
    sameParameters(r.scenario.parameters, reference.scenario.parameters),
  );
  const measured = views.filter((v) => workload.includes(v.run));
  return {
    results,
    prices,
    views,
    groups: groups(measured),
    modes: modes(measured),
    operational: operationalLoad(results, repoRoot),
    runs: results.runs,
    reference,
    workload,
    perRun: results.runs.map((run) => ({ run, modes: modes(views.filter((v) => v.run === run)) })),
    tradeoff: tradeoffPoints(views, reference),
    curve: modelCurve(reference.scenario.parameters, prices),
  };
}
