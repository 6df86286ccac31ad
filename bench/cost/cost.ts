// The cost model: a job's billable units times the price table, each dimension each service bills,
// split into orchestration, compute, storage and GPU. Free tiers are shown, never subtracted, unless
// a monthly total is asked for with them (monthlyCost), which the flip points use.
import type { Units } from '../report/results.ts';
import { priceOf, type PriceKey, type PriceTable } from './prices.ts';

export const COMPONENTS = ['orchestration', 'compute', 'storage', 'gpu'] as const;
export type Component = (typeof COMPONENTS)[number];

export interface CostLine {
  key: PriceKey;
  component: Component;
  /** Units in the price's own unit (transitions, GB, GB-months, instance-hours, ...). */
  units: number;
  usd: number;
}

export interface Cost {
  lines: CostLine[];
  byComponent: Record<Component, number>;
  total: number;
}

const GB = 1024 ** 3;
const HOURS_PER_MONTH = 730;

/** The priced quantities of one job's units: [price key, component, quantity in the price's unit]. */
export function quantities(units: Units, instanceType: string): [PriceKey, Component, number][] {
  const retainedMonths = (units.durable.retentionDays * 24) / HOURS_PER_MONTH;
  return [
    ['stepFunctions.stateTransition', 'orchestration', units.stepFunctions.stateTransitions],
    ['durable.operation', 'orchestration', units.durable.operationsBilled],
    ['eventbridge.customEvent', 'orchestration', units.eventbridge.customEvents],
    ['lambda.request', 'compute', units.lambda.requests],
    [
      units.lambda.architecture === 'arm64' ? 'lambda.gbSecondArm64' : 'lambda.gbSecondX86',
      'compute',
      units.lambda.gbSeconds,
    ],
    ['durable.dataWrittenGb', 'storage', units.durable.bytesWritten / GB],
    ['durable.dataRetainedGbMonth', 'storage', (units.durable.bytesRetained / GB) * retainedMonths],
    ['dynamodb.readRequestUnit', 'storage', units.dynamodb.readRequestUnits],
    ['dynamodb.writeRequestUnit', 'storage', units.dynamodb.writeRequestUnits],
    ['s3.tier1Request', 'storage', units.s3.tier1Requests],
    ['s3.tier2Request', 'storage', units.s3.tier2Requests],
    ['cloudwatch.logIngestedGb', 'storage', units.cloudwatch.logBytes / GB],
    [`sagemaker.instanceHour.${instanceType}`, 'gpu', units.sagemaker.instanceSeconds / 3600],
  ];
}

/** What one job's units cost at the table's prices, line by line (free tiers not subtracted). */
export function priceUnits(units: Units, instanceType: string, table: PriceTable): Cost {
  const lines = quantities(units, instanceType).map(([key, component, n]): CostLine => ({
    key,
    component,
    units: n,
    usd: n * priceOf(table, key).usd,
  }));
  return summarize(lines);
}

function summarize(lines: CostLine[]): Cost {
  const byComponent: Record<Component, number> = { orchestration: 0, compute: 0, storage: 0, gpu: 0 };
  for (const line of lines) byComponent[line.component] += line.usd;
  return { lines, byComponent, total: lines.reduce((sum, l) => sum + l.usd, 0) };
}

/** The mean cost of a set of costs (per job), line by line; scaled by `factor` (1000 for per 1,000 jobs). */
export function meanCost(costs: readonly Cost[], factor = 1): Cost {
  if (costs.length === 0) throw new RangeError('mean of no costs');
  const first = costs[0]!;
  const lines = first.lines.map((line, i) => {
    const at = (c: Cost): CostLine => c.lines[i]!;
    const mean = (pick: (l: CostLine) => number) =>
      (costs.reduce((sum, c) => sum + pick(at(c)), 0) / costs.length) * factor;
    return { ...line, units: mean((l) => l.units), usd: mean((l) => l.usd) };
  });
  return summarize(lines);
}

/** Scales a cost (per job → per 1,000 jobs). */
export const perThousand = (cost: Cost): Cost => meanCost([cost], 1000);

/**
 * A month's bill for `jobsPerMonth` jobs of this per-job cost, plus fixed monthly items; with
 * `freeTier`, each line's monthly free units are taken off first (the account's whole free tier is
 * assumed to go to this workload).
 */
export function monthlyCost(
  perJob: Cost,
  jobsPerMonth: number,
  table: PriceTable,
  options: { freeTier: boolean; fixedUsd?: number },
): number {
  let usd = options.fixedUsd ?? 0;
  for (const line of perJob.lines) {
    const price = priceOf(table, line.key);
    const free = options.freeTier ? (price.freeTier?.units ?? 0) : 0;
    usd += Math.max(0, line.units * jobsPerMonth - free) * price.usd;
  }
  return usd;
}

/** Fixed monthly cost of `metrics` custom metrics. */
export const customMetricsMonthly = (metrics: number, table: PriceTable): number =>
  metrics * priceOf(table, 'cloudwatch.customMetricMonth').usd;
