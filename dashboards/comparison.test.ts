import { afterEach, describe, expect, it, vi } from 'vitest';
import { WAIT_MODES } from '../shared/config.ts';
import { ORCHESTRATORS } from '../shared/keys.ts';
import {
  METRICS_NAMESPACE,
  MetricNames,
  metrics,
  recordMetric,
  setObservabilityContext,
} from '../shared/observability.ts';
import {
  comparisonDashboard,
  comparisonDashboardJson,
  type DashboardNames,
  type MetricRow,
  type RenderingOptions,
  type Widget,
} from './comparison.ts';
import { PRICES_US_EAST_1 } from './prices.ts';

const NAMES: DashboardNames = {
  region: 'eu-west-1',
  stateMachineArn: 'arn:aws:states:eu-west-1:000000000000:stateMachine:sfn',
  functions: {
    durable: { name: 'durable-fn', memoryMb: 512 },
    sfnTasks: { name: 'tasks-fn', memoryMb: 512 },
    waker: { name: 'waker-fn', memoryMb: 256 },
  },
  endpoints: { sf: 'reconstruct-3d-sf', ldf: 'reconstruct-3d-ldf' },
  variantName: 'AllTraffic',
  instanceType: 'ml.g5.xlarge',
};

const body = comparisonDashboard(NAMES);
const metricWidgets = body.widgets.filter((w) => w.type === 'metric');
const rowsOf = (w: Widget) => w.properties.metrics as MetricRow[];
const optionsOf = (row: MetricRow) => row.find((c): c is RenderingOptions => typeof c === 'object');
const plain = (row: MetricRow) => row.filter((c): c is string => typeof c === 'string');
const byTitle = (fragment: string) =>
  metricWidgets.find((w) => String(w.properties.title).includes(fragment))!;

afterEach(() => vi.restoreAllMocks());

/** + - * / and parentheses over numbers: the part of CloudWatch's metric math the cost rows use. */
function evaluateArithmetic(text: string): number {
  const tokens = text.match(/\d+(?:\.\d+)?(?:e[+-]?\d+)?|[-+*/()]/g) ?? [];
  let i = 0;
  const primary = (): number => {
    const token = tokens[i++];
    if (token === '(') {
      const value = sum();
      i++;
      return value;
    }
    return token === '-' ? -primary() : Number(token);
  };
  const product = (): number => {
    let value = primary();
    while (tokens[i] === '*' || tokens[i] === '/')
      value = tokens[i++] === '*' ? value * primary() : value / primary();
    return value;
  };
  const sum = (): number => {
    let value = product();
    while (tokens[i] === '+' || tokens[i] === '-')
      value = tokens[i++] === '+' ? value + product() : value - product();
    return value;
  };
  return sum();
}

describe('the comparison dashboard', () => {
  it('charts the project metrics with exactly the namespace and dimensions the handlers emit', () => {
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    setObservabilityContext({ orchestrator: 'sf', waitMode: 'poll' });
    recordMetric(MetricNames.JobLatency, 1);
    metrics.publishStoredMetrics();
    const emf = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((o) => '_aws' in o)!;
    const [directive] = (emf._aws as { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] })
      .CloudWatchMetrics;
    const emitted = directive!.Dimensions[0]!;

    const own = metricWidgets.flatMap(rowsOf).filter((row) => row[0] === METRICS_NAMESPACE);
    expect(own.length).toBeGreaterThan(20);
    for (const row of own) {
      const [, name, ...dims] = plain(row);
      expect(Object.values(MetricNames)).toContain(name);
      const names = dims.filter((_, i) => i % 2 === 0);
      expect(names).toEqual(emitted);
      const values = Object.fromEntries(names.map((n, i) => [n, dims[i * 2 + 1]]));
      expect(values).toMatchObject({ service: emf.service });
      expect(ORCHESTRATORS).toContain(values.Orchestrator);
      expect(WAIT_MODES).toContain(values.WaitMode);
    }
  });

  it('shows p50, p90 and p99 job latency for every orchestrator and wait mode', () => {
    const series = metricWidgets
      .flatMap(rowsOf)
      .filter((row) => row[1] === MetricNames.JobLatency)
      .map((row) => `${plain(row)[5]}/${plain(row)[7]}/${optionsOf(row)!.stat}`);
    for (const o of ORCHESTRATORS)
      for (const mode of WAIT_MODES)
        for (const p of ['p50', 'p90', 'p99']) expect(series).toContain(`${o}/${mode}/${p}`);
  });

  it('sets each widget on the 24-column grid without overlaps, each metric widget in the region', () => {
    for (const w of body.widgets) {
      expect(w.x + w.width).toBeLessThanOrEqual(24);
      if (w.type === 'metric') expect(w.properties.region).toBe(NAMES.region);
    }
    for (const [i, a] of body.widgets.entries()) {
      for (const b of body.widgets.slice(i + 1)) {
        const apart =
          a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y;
        expect(apart, `${String(a.properties.title)} / ${String(b.properties.title)}`).toBe(true);
      }
    }
  });

  it('gives every expression only ids defined in its own widget, each id unique there', () => {
    for (const w of metricWidgets) {
      const ids = rowsOf(w).flatMap((row) => (optionsOf(row)?.id ? [optionsOf(row)!.id!] : []));
      expect(new Set(ids).size).toBe(ids.length);
      for (const id of ids) expect(id).toMatch(/^[a-z][a-zA-Z0-9_]*$/);
      for (const row of rowsOf(w)) {
        const expression = optionsOf(row)?.expression;
        if (!expression) continue;
        const used = expression.match(/\b[a-z][a-zA-Z0-9_]*\b/g) ?? [];
        for (const id of used) expect(ids, `${expression} in ${String(w.properties.title)}`).toContain(id);
      }
    }
  });

  it('prices an hour of GPU instance, a million durable operations and a million transitions at the list prices', () => {
    const cost = byTitle('Estimated cost');
    const evaluate = (id: string, values: Record<string, number>) => {
      const row = rowsOf(cost).find((r) => optionsOf(r)?.id === id)!;
      const arithmetic = optionsOf(row)!.expression!.replace(/FILL\((\w+), 0\)/g, (_, name: string) =>
        String(values[name] ?? 0),
      );
      expect(arithmetic).toMatch(/^[0-9.e+\-*/ ()]+$/);
      return evaluateArithmetic(arithmetic);
    };
    expect(evaluate('sf_gpu', { sf_inst: 60 })).toBeCloseTo(
      PRICES_US_EAST_1.sagemakerInstanceHour['ml.g5.xlarge']!,
    );
    expect(evaluate('ldf_orchestration', { ops: 1e6 })).toBeCloseTo(8);
    expect(evaluate('sf_orchestration', { transitions: 1e6 })).toBeCloseTo(25);
    // 1,000 s of a 512 MB function: 500 GB-s.
    expect(evaluate('sf_orchestration', { tasks_ms: 1e6 })).toBeCloseTo(
      500 * PRICES_US_EAST_1.lambdaArmGbSecond,
    );
  });

  it('says so, and leaves GPU cost out, for an instance type it has no price for', () => {
    const other = comparisonDashboard({ ...NAMES, instanceType: 'ml.p5.48xlarge' });
    expect(String(other.widgets[0]!.properties.markdown)).toContain('no price for ml.p5.48xlarge');
    const cost = other.widgets.find((w) => String(w.properties.title).includes('Estimated cost'))!;
    expect(rowsOf(cost).find((r) => optionsOf(r)?.id === 'sf_gpu')).toEqual([
      { expression: '0', id: 'sf_gpu', label: 'Step Functions endpoint GPU time' },
    ]);
  });

  it('watches the services’ own metrics for this deployment’s state machine, function and endpoints', () => {
    const rows = metricWidgets.flatMap(rowsOf).map(plain);
    expect(rows).toContainEqual(['AWS/States', 'ExecutionTime', 'StateMachineArn', NAMES.stateMachineArn]);
    expect(rows).toContainEqual(['AWS/Lambda', 'DurableExecutionOperations', 'FunctionName', 'durable-fn']);
    for (const o of ORCHESTRATORS) {
      expect(rows).toContainEqual([
        '/aws/sagemaker/Endpoints',
        'CPUUtilization',
        'EndpointName',
        NAMES.endpoints[o],
        'VariantName',
        'AllTraffic',
      ]);
    }
  });

  it('serializes to the JSON string PutDashboard takes', () => {
    expect(JSON.parse(comparisonDashboardJson(NAMES))).toEqual(body);
  });
});
