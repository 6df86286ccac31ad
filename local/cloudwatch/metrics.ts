// The local CloudWatch's metric store: every datum kept as it was put (raw values with their counts,
// or a statistic set), so any statistic can be computed afterwards, as CloudWatch does for the
// retention it keeps. A metric is its namespace, name and set of dimensions; two datums with the
// same dimensions in another order are one metric.
import { CloudWatchError } from './errors.ts';

export interface Dimension {
  Name: string;
  Value: string;
}

export interface MetricId {
  Namespace: string;
  MetricName: string;
  Dimensions: Dimension[];
}

/** One datum as PutMetricData or an EMF line delivers it, already checked. */
export interface Datum {
  metric: MetricId;
  /** Epoch ms. */
  timestamp: number;
  unit?: string;
  /** Raw values, each seen `counts[i]` times. */
  values?: number[];
  counts?: number[];
  /** A pre-aggregated statistic set (no raw values: percentiles cannot be computed from it). */
  statistics?: { SampleCount: number; Sum: number; Minimum: number; Maximum: number };
}

interface StoredMetric {
  id: MetricId;
  datums: Datum[];
  lastPut: number;
}

/** A statistic CloudWatch computes: the five basic ones and percentiles `pNN` / `pNN.NN`. */
export type Statistic = 'SampleCount' | 'Sum' | 'Average' | 'Minimum' | 'Maximum' | `p${number}`;

const BASIC = new Set(['SampleCount', 'Sum', 'Average', 'Minimum', 'Maximum']);
const PERCENTILE = /^p(\d{1,2}(?:\.\d{1,2})?|100)$/;

export function isStatistic(value: string): value is Statistic {
  return BASIC.has(value) || PERCENTILE.test(value);
}

/** The key two equal metrics share: dimensions sorted by name. */
export function metricKey(id: MetricId): string {
  const dims = [...id.Dimensions].sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
  return JSON.stringify([id.Namespace, id.MetricName, dims.map((d) => [d.Name, d.Value])]);
}

export interface Series {
  timestamps: number[];
  values: number[];
}

export class MetricStore {
  private readonly metrics = new Map<string, StoredMetric>();

  put(datum: Datum): void {
    const key = metricKey(datum.metric);
    const stored = this.metrics.get(key) ?? { id: datum.metric, datums: [], lastPut: 0 };
    // A kept datum refers to its metric's one MetricId, not to a copy of its own: a long run puts
    // tens of thousands of datums on a few hundred metrics.
    stored.datums.push(datum.metric === stored.id ? datum : { ...datum, metric: stored.id });
    stored.lastPut = Math.max(stored.lastPut, datum.timestamp);
    this.metrics.set(key, stored);
  }

  /**
   * Metrics matching the filter, as ListMetrics answers: a dimension filter without a value matches
   * any value, and a metric must carry every filtered dimension. `since` keeps those put after it.
   */
  list(
    filter: { namespace?: string; metricName?: string; dimensions?: { Name: string; Value?: string }[] },
    since?: number,
  ): MetricId[] {
    const out: MetricId[] = [];
    for (const m of this.metrics.values()) {
      if (filter.namespace !== undefined && m.id.Namespace !== filter.namespace) continue;
      if (filter.metricName !== undefined && m.id.MetricName !== filter.metricName) continue;
      if (since !== undefined && m.lastPut < since) continue;
      const dims = filter.dimensions ?? [];
      if (
        !dims.every((f) =>
          m.id.Dimensions.some((d) => d.Name === f.Name && (f.Value === undefined || d.Value === f.Value)),
        )
      )
        continue;
      out.push(m.id);
    }
    return out.sort((a, b) => (metricKey(a) < metricKey(b) ? -1 : 1));
  }

  /**
   * The statistic of one metric per period in [start, end): periods start at multiples of `period`
   * seconds since the epoch, as CloudWatch aligns them; a period with no datum has no point.
   */
  statistic(
    id: MetricId,
    stat: Statistic,
    periodSeconds: number,
    start: number,
    end: number,
    unit?: string,
  ): Series {
    const stored = this.metrics.get(metricKey(id));
    const buckets = new Map<number, Datum[]>();
    const periodMs = periodSeconds * 1000;
    for (const d of stored?.datums ?? []) {
      if (d.timestamp < start || d.timestamp >= end) continue;
      if (unit !== undefined && d.unit !== undefined && d.unit !== unit) continue;
      const at = Math.floor(d.timestamp / periodMs) * periodMs;
      const bucket = buckets.get(at) ?? [];
      bucket.push(d);
      buckets.set(at, bucket);
    }
    const timestamps = [...buckets.keys()].sort((a, b) => a - b);
    const series: Series = { timestamps: [], values: [] };
    for (const at of timestamps) {
      const value = compute(stat, buckets.get(at)!);
      if (value === undefined) continue;
      series.timestamps.push(at);
      series.values.push(value);
    }
    return series;
  }
}

/** One statistic over the datums of a period; undefined where it cannot be computed (a percentile of statistic sets). */
export function compute(stat: Statistic, datums: readonly Datum[]): number | undefined {
  let count = 0;
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  const raw: [value: number, count: number][] = [];
  let onlyRaw = true;
  for (const d of datums) {
    if (d.statistics) {
      onlyRaw = false;
      count += d.statistics.SampleCount;
      sum += d.statistics.Sum;
      min = Math.min(min, d.statistics.Minimum);
      max = Math.max(max, d.statistics.Maximum);
      continue;
    }
    const values = d.values ?? [];
    values.forEach((v, i) => {
      const c = d.counts?.[i] ?? 1;
      count += c;
      sum += v * c;
      min = Math.min(min, v);
      max = Math.max(max, v);
      raw.push([v, c]);
    });
  }
  if (count === 0) return undefined;
  switch (stat) {
    case 'SampleCount':
      return count;
    case 'Sum':
      return sum;
    case 'Average':
      return sum / count;
    case 'Minimum':
      return min;
    case 'Maximum':
      return max;
    default: {
      if (!onlyRaw) return undefined;
      const p = Number(stat.slice(1)) / 100;
      return percentile(raw, count, p);
    }
  }
}

/** The nearest-rank percentile of weighted values (CloudWatch's exact percentiles for raw values). */
function percentile(raw: [number, number][], total: number, p: number): number {
  raw.sort((a, b) => a[0] - b[0]);
  const rank = Math.max(1, Math.ceil(p * total));
  let seen = 0;
  for (const [value, c] of raw) {
    seen += c;
    if (seen >= rank) return value;
  }
  return raw.at(-1)![0];
}

/** Checks a dimension list as CloudWatch does: at most 30, names and values 1..1024 characters. */
export function checkDimensions(dimensions: unknown, where: string): Dimension[] {
  if (dimensions === undefined) return [];
  if (!Array.isArray(dimensions)) throw CloudWatchError.invalid(`${where}.Dimensions must be a list`);
  if (dimensions.length > 30)
    throw CloudWatchError.invalid(`The collection ${where}.Dimensions must not have a size greater than 30.`);
  return dimensions.map((d: unknown, i) => {
    const { Name, Value } = (d ?? {}) as Record<string, unknown>;
    if (typeof Name !== 'string' || Name.length < 1 || Name.length > 1024)
      throw CloudWatchError.invalid(`${where}.Dimensions.member.${i + 1}.Name must be 1 to 1024 characters`);
    if (typeof Value !== 'string' || Value.length < 1 || Value.length > 1024)
      throw CloudWatchError.invalid(`${where}.Dimensions.member.${i + 1}.Value must be 1 to 1024 characters`);
    return { Name, Value };
  });
}
