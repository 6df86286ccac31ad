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

/** Every metric widget of `body` over [start, end]: how many of its visible series have data. */
export async function readWidgetData(
  client: CloudWatchClient,
  body: DashboardBody,
  start: Date,
  end: Date,
): Promise<WidgetData[]> {
  const out: WidgetData[] = [];
  for (const widget of body.widgets.filter((w) => w.type === 'metric')) {
    const queries = widgetQueries(widget);
    const answer = await client.send(
      new GetMetricDataCommand({ MetricDataQueries: queries, StartTime: start, EndTime: end }),
    );
    const visible = new Set(queries.filter((q) => q.ReturnData !== false).map((q) => q.Id));
    const results = (answer.MetricDataResults ?? []).filter((r) => visible.has(r.Id));
    out.push({
      title: String(widget.properties.title),
      series: visible.size,
      seriesWithData: results.filter((r) => (r.Values ?? []).length > 0).length,
    });
  }
  return out;
}
