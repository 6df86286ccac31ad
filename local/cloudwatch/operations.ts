// The CloudWatch operations the project uses, on decoded request members (whatever protocol carried
// them): PutMetricData, GetMetricData, GetMetricStatistics, ListMetrics, and the dashboards
// (PutDashboard, GetDashboard, ListDashboards, DeleteDashboards). Timestamps come in as epoch
// seconds, a Date, or a CBOR tag 1, and go out as Date (the protocol layer encodes them).
import { CloudWatchError } from './errors.ts';
import { evaluate } from './expressions.ts';
import { isStatistic, MetricStore, type Datum, type Series } from './metrics.ts';
import {
  pageStart,
  requirePeriod,
  requireString,
  requireTime,
  toDatum,
  toMetricId,
  widgetProblems,
} from './requests.ts';

type Input = Record<string, unknown>;
type Output = Record<string, unknown>;

export interface CloudWatchOptions {
  region: string;
  account: string;
  /** The service's clock, epoch ms (ListMetrics' RecentlyActive, the default EndTime). */
  now?: () => number;
}

interface Dashboard {
  name: string;
  body: string;
  lastModified: Date;
}

const MAX_QUERIES = 500;
const PAGE = 500;

export class CloudWatchService {
  readonly metrics = new MetricStore();
  private readonly dashboards = new Map<string, Dashboard>();
  private readonly now: () => number;
  /** Requests answered, by operation: the local bill for the API calls (GetMetricData is priced per metric). */
  readonly requests: Record<string, number> = {};

  constructor(private readonly options: CloudWatchOptions) {
    this.now = options.now ?? Date.now;
  }

  handle(operation: string, input: Input): Output {
    const answer = this.dispatch(operation, input);
    this.requests[operation] = (this.requests[operation] ?? 0) + 1;
    return answer;
  }

  private dispatch(operation: string, input: Input): Output {
    switch (operation) {
      case 'PutMetricData':
        return this.putMetricData(input);
      case 'GetMetricData':
        return this.getMetricData(input);
      case 'GetMetricStatistics':
        return this.getMetricStatistics(input);
      case 'ListMetrics':
        return this.listMetrics(input);
      case 'PutDashboard':
        return this.putDashboard(input);
      case 'GetDashboard':
        return this.getDashboard(input);
      case 'ListDashboards':
        return this.listDashboards(input);
      case 'DeleteDashboards':
        return this.deleteDashboards(input);
      default:
        throw CloudWatchError.unknownOperation(operation);
    }
  }

  /** Datums from an EMF log line or any other in-process source, already checked. */
  putDatums(datums: readonly Datum[]): void {
    for (const d of datums) this.metrics.put(d);
  }

  dashboardArn(name: string): string {
    return `arn:aws:cloudwatch::${this.options.account}:dashboard/${name}`;
  }

  putMetricData(input: Input): Output {
    const namespace = requireString(input, 'Namespace', 1, 255);
    if (namespace.startsWith('AWS/'))
      throw CloudWatchError.invalid(
        'The value AWS/ for parameter Namespace is invalid: it is reserved for AWS services.',
      );
    const data = input.MetricData;
    if (!Array.isArray(data) || data.length === 0) throw CloudWatchError.missing('MetricData');
    if (data.length > 1000)
      throw CloudWatchError.invalid('The collection MetricData must not have a size greater than 1000.');
    const datums = data.map((raw: unknown, i) =>
      toDatum(namespace, (raw ?? {}) as Input, `MetricData.member.${i + 1}`, this.now()),
    );
    this.putDatums(datums);
    return {};
  }

  /** Metrics put through the API may not use `AWS/`; the local services publish theirs here. */
  publish(
    namespace: string,
    name: string,
    dimensions: Record<string, string>,
    value: number,
    unit = 'None',
    at = this.now(),
  ): void {
    this.metrics.put({
      metric: {
        Namespace: namespace,
        MetricName: name,
        Dimensions: Object.entries(dimensions).map(([Name, Value]) => ({ Name, Value })),
      },
      timestamp: at,
      unit,
      values: [value],
    });
  }

  getMetricData(input: Input): Output {
    const queries = input.MetricDataQueries;
    if (!Array.isArray(queries) || queries.length === 0) throw CloudWatchError.missing('MetricDataQueries');
    if (queries.length > MAX_QUERIES)
      throw CloudWatchError.invalid(
        `The collection MetricDataQueries must not have a size greater than ${MAX_QUERIES}.`,
      );
    const start = requireTime(input, 'StartTime');
    const end = requireTime(input, 'EndTime');
    if (end <= start) throw CloudWatchError.invalid('The parameter EndTime must be greater than StartTime.');
    const descending = (input.ScanBy ?? 'TimestampDescending') === 'TimestampDescending';
    const computed = new Map<string, Series>();
    const results: Output[] = [];
    const ids = new Set<string>();
    for (const [i, raw] of queries.entries()) {
      const q = (raw ?? {}) as Input;
      const where = `MetricDataQueries.member.${i + 1}`;
      const id = q.Id;
      if (typeof id !== 'string' || !/^[a-z][a-zA-Z0-9_]*$/.test(id))
        throw CloudWatchError.invalid(
          `${where}.Id must start with a lowercase letter and hold only letters, digits and _`,
        );
      if (ids.has(id)) throw CloudWatchError.invalid(`The value ${id} for ${where}.Id is not unique.`);
      ids.add(id);
      let series: Series;
      let label: string;
      if (q.MetricStat !== undefined && q.Expression !== undefined)
        throw CloudWatchError.combination(`${where}: give MetricStat or Expression, not both`);
      if (q.MetricStat !== undefined) {
        const stat = q.MetricStat as Input;
        const metric = toMetricId((stat.Metric ?? {}) as Input, `${where}.MetricStat.Metric`);
        const period = requirePeriod(stat.Period, `${where}.MetricStat.Period`);
        const statistic = stat.Stat;
        if (typeof statistic !== 'string' || !isStatistic(statistic))
          throw CloudWatchError.invalid(
            `The value ${String(statistic)} for ${where}.MetricStat.Stat is not a statistic the local CloudWatch computes (SampleCount, Sum, Average, Minimum, Maximum, pNN)`,
          );
        series = this.metrics.statistic(
          metric,
          statistic,
          period,
          start,
          end,
          typeof stat.Unit === 'string' ? stat.Unit : undefined,
        );
        label = metric.MetricName;
      } else if (typeof q.Expression === 'string') {
        series = evaluate(q.Expression, computed);
        label = id;
      } else throw CloudWatchError.missing(`${where}.MetricStat or ${where}.Expression`);
      computed.set(id, series);
      if (q.ReturnData === false) continue;
      const order = series.timestamps.map((_, k) => k);
      if (descending) order.reverse();
      results.push({
        Id: id,
        Label: typeof q.Label === 'string' ? q.Label : label,
        Timestamps: order.map((k) => new Date(series.timestamps[k]!)),
        Values: order.map((k) => series.values[k]!),
        StatusCode: 'Complete',
        Messages: [],
      });
    }
    return { MetricDataResults: results, Messages: [] };
  }

  getMetricStatistics(input: Input): Output {
    const metric = toMetricId(input, '');
    const start = requireTime(input, 'StartTime');
    const end = requireTime(input, 'EndTime');
    const period = requirePeriod(input.Period, 'Period');
    const stats = [
      ...((input.Statistics as unknown[]) ?? []),
      ...((input.ExtendedStatistics as unknown[]) ?? []),
    ];
    if (stats.length === 0) throw CloudWatchError.missing('Statistics or ExtendedStatistics');
    const points = new Map<number, Output>();
    for (const s of stats) {
      if (typeof s !== 'string' || !isStatistic(s))
        throw CloudWatchError.invalid(`The statistic ${String(s)} is not supported`);
      const series = this.metrics.statistic(metric, s, period, start, end);
      series.timestamps.forEach((t, k) => {
        const point = points.get(t) ?? { Timestamp: new Date(t) };
        if (s.startsWith('p'))
          point.ExtendedStatistics = { ...(point.ExtendedStatistics as Output), [s]: series.values[k] };
        else point[s] = series.values[k];
        points.set(t, point);
      });
    }
    return { Label: metric.MetricName, Datapoints: [...points.values()] };
  }

  listMetrics(input: Input): Output {
    const dims = input.Dimensions;
    const filter = {
      ...(typeof input.Namespace === 'string' ? { namespace: input.Namespace } : {}),
      ...(typeof input.MetricName === 'string' ? { metricName: input.MetricName } : {}),
      dimensions: Array.isArray(dims) ? dims.map((d) => d as { Name: string; Value?: string }) : [],
    };
    const since = input.RecentlyActive === 'PT3H' ? this.now() - 3 * 3600_000 : undefined;
    const all = this.metrics.list(filter, since);
    const from = pageStart(input.NextToken);
    const page = all.slice(from, from + PAGE);
    return { Metrics: page, ...(from + PAGE < all.length ? { NextToken: String(from + PAGE) } : {}) };
  }

  putDashboard(input: Input): Output {
    const name = requireString(input, 'DashboardName', 1, 255);
    if (!/^[A-Za-z0-9_-]+$/.test(name))
      throw CloudWatchError.invalid('The value for DashboardName may hold only letters, digits, - and _.');
    const body = requireString(input, 'DashboardBody', 1, Infinity);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch (err) {
      throw CloudWatchError.dashboardInvalid(
        `The DashboardBody is not valid JSON: ${(err as Error).message}`,
      );
    }
    const widgets = (parsed as { widgets?: unknown } | null)?.widgets;
    if (!Array.isArray(widgets))
      throw CloudWatchError.dashboardInvalid('The DashboardBody must be an object with a "widgets" array.');
    if (widgets.length > 500)
      throw CloudWatchError.dashboardInvalid('A dashboard holds at most 500 widgets.');
    const messages = widgets.flatMap((w: unknown, i) => widgetProblems(w, `/widgets/${i}`));
    const errors = messages.filter((m) => m.error);
    if (errors.length > 0)
      throw CloudWatchError.dashboardInvalid(
        `The dashboard body is invalid, there are ${errors.length} validation errors: ${JSON.stringify(errors.map(({ DataPath, Message }) => ({ dataPath: DataPath, message: Message })))}`,
      );
    this.dashboards.set(name, { name, body, lastModified: new Date(this.now()) });
    return { DashboardValidationMessages: messages.map(({ DataPath, Message }) => ({ DataPath, Message })) };
  }

  getDashboard(input: Input): Output {
    const name = requireString(input, 'DashboardName', 1, 255);
    const d = this.dashboards.get(name);
    if (!d) throw CloudWatchError.dashboardNotFound(name);
    return { DashboardArn: this.dashboardArn(name), DashboardBody: d.body, DashboardName: name };
  }

  listDashboards(input: Input): Output {
    const prefix = typeof input.DashboardNamePrefix === 'string' ? input.DashboardNamePrefix : '';
    const all = [...this.dashboards.values()]
      .filter((d) => d.name.startsWith(prefix))
      .sort((a, b) => (a.name < b.name ? -1 : 1));
    const from = pageStart(input.NextToken);
    return {
      DashboardEntries: all.slice(from, from + 1000).map((d) => ({
        DashboardName: d.name,
        DashboardArn: this.dashboardArn(d.name),
        LastModified: d.lastModified,
        Size: Buffer.byteLength(d.body),
      })),
      ...(from + 1000 < all.length ? { NextToken: String(from + 1000) } : {}),
    };
  }

  deleteDashboards(input: Input): Output {
    const names = input.DashboardNames;
    if (!Array.isArray(names) || names.length === 0) throw CloudWatchError.missing('DashboardNames');
    const missing: unknown = names.find((n) => typeof n !== 'string' || !this.dashboards.has(n));
    if (missing !== undefined)
      throw CloudWatchError.dashboardNotFound(
        typeof missing === 'string' ? missing : JSON.stringify(missing),
      );
    for (const n of names) this.dashboards.delete(n as string);
    return {};
  }
}

/** The operations served, for the README and the tests. */
export const OPERATION_NAMES = [
  'PutMetricData',
  'GetMetricData',
  'GetMetricStatistics',
  'ListMetrics',
  'PutDashboard',
  'GetDashboard',
  'ListDashboards',
  'DeleteDashboards',
] as const;
