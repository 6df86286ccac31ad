// Reads a dashboard body's metric widgets back through GetMetricData, as the CloudWatch console
// renders them: each row of a widget becomes one query (a metric with its stat and period, or an
// expression over the rows' ids), hidden rows feed expressions without being returned. Used to check
// that every widget of the deployed comparison dashboard has data after a run, and by the console page
// (console/) to draw them.
import {
  GetMetricDataCommand,
  type CloudWatchClient,
  type MetricDataQuery,
} from '@aws-sdk/client-cloudwatch';
import { type DashboardBody, type MetricRow, type RenderingOptions, type Widget } from './comparison.ts';

export interface WidgetData {
  title: string;
  /** Visible series that have at least one point. */
  seriesWithData: number;
  /** Visible series asked for. */
  series: number;
}

/** The GetMetricData queries of one metric widget, in its rows' order. */
export function widgetQueries(widget: Widget): MetricDataQuery[] {
  const props = widget.properties as { metrics?: MetricRow[]; period?: number; stat?: string };
  return (props.metrics ?? []).map((row, i): MetricDataQuery => {
    const last = row[row.length - 1];
    const options: RenderingOptions = typeof last === 'object' ? last : {};
    const head = (typeof last === 'object' ? row.slice(0, -1) : row) as string[];
    const common = {
      Id: options.id ?? `row${i}`,
      ReturnData: options.visible !== false,
      ...(options.label !== undefined ? { Label: options.label } : {}),
    };
    if (options.expression !== undefined) return { ...common, Expression: options.expression };
    const [namespace, metricName, ...pairs] = head;
    const dimensions = [];
    for (let d = 0; d + 1 < pairs.length; d += 2) dimensions.push({ Name: pairs[d], Value: pairs[d + 1] });
    return {
      ...common,
      MetricStat: {
        Metric: { Namespace: namespace, MetricName: metricName, Dimensions: dimensions },
        Period: options.period ?? props.period ?? 300,
        Stat: options.stat ?? props.stat ?? 'Average',
      },
    };
  });
}

/** One visible series of a widget as GetMetricData returned it, oldest point first. */
export interface Series {
  id: string;
  label: string;
  /** ms since the epoch, one per value. */
  timestamps: number[];
  values: number[];
  yAxis: 'left' | 'right';
}

/**
 * The period a widget is drawn with over [start, end]: a single-value widget with
 * `setPeriodToTimeRange` takes the whole range (rounded up to a minute, as CloudWatch does); else
 * `override` when given (the viewer's choice), else the widget's own (`widgetQueries`).
 */
function periodFor(widget: Widget, start: Date, end: Date, override: number | undefined): number | undefined {
  if (widget.properties.setPeriodToTimeRange === true)
    return Math.max(60, Math.ceil((end.getTime() - start.getTime()) / 60_000) * 60);
  return override;
}

/** A metric widget's visible series over [start, end], each with its points (GetMetricData, every page). */
export async function readWidgetSeries(
  client: CloudWatchClient,
  widget: Widget,
  start: Date,
  end: Date,
  periodOverride?: number,
): Promise<Series[]> {
  const period = periodFor(widget, start, end, periodOverride);
  const queries = widgetQueries(widget).map((q) =>
    q.MetricStat && period !== undefined ? { ...q, MetricStat: { ...q.MetricStat, Period: period } } : q,
  );
  const rows = (widget.properties as { metrics?: MetricRow[] }).metrics ?? [];
  const axis = new Map(
    queries.map((q, i) => {
      const last = rows[i]?.[rows[i].length - 1];
      return [q.Id, typeof last === 'object' && last.yAxis === 'right' ? 'right' : 'left'] as const;
    }),
  );
  const found = new Map<string, Series>();
  let token: string | undefined;
  do {
    const answer = await client.send(
      new GetMetricDataCommand({
        MetricDataQueries: queries,
        StartTime: start,
        EndTime: end,
        ScanBy: 'TimestampAscending',
        ...(token ? { NextToken: token } : {}),
      }),
    );
    for (const r of answer.MetricDataResults ?? []) {
      const id = r.Id ?? '';
      const series = found.get(id) ?? {
        id,
        label: r.Label ?? id,
        timestamps: [],
        values: [],
        yAxis: axis.get(id) ?? 'left',
      };
      series.timestamps.push(...(r.Timestamps ?? []).map((t) => t.getTime()));
      series.values.push(...(r.Values ?? []));
      found.set(id, series);
    }
    token = answer.NextToken;
  } while (token);
  // Only the visible rows, in the widget's order.
  return queries
    .filter((q) => q.ReturnData !== false)
    .map(
      (q) =>
        found.get(q.Id!) ?? {
          id: q.Id!,
          label: q.Label ?? q.Id!,
          timestamps: [],
          values: [],
          yAxis: axis.get(q.Id) ?? 'left',
        },
    );
}

/** Every metric widget of `body` over [start, end]: how many of its visible series have data. */
export async function readWidgetData(
  client: CloudWatchClient,
  body: DashboardBody,
  start: Date,
  end: Date,
): Promise<WidgetData[]> {
  const out: WidgetData[] = [];
  for (const widget of body.widgets.filter((w) => w.type === 'metric')) {
    const series = await readWidgetSeries(client, widget, start, end);
    out.push({
      title: String(widget.properties.title),
      series: series.length,
      seriesWithData: series.filter((s) => s.values.length > 0).length,
    });
  }
  return out;
}
