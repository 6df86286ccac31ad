// The comparison dashboard, defined once as plain data (CloudWatch's dashboard body format, no CDK
// import): the stack deploys this body as an AWS::CloudWatch::Dashboard, and a local page can render
// the very same body from the local cloud's metrics. Job metrics come from the names the handlers emit
// (shared/observability.ts); the rest are the services' own metrics (AWS/States, AWS/Lambda, SageMaker).
import type { WaitMode } from '../shared/config.ts';
import { WAIT_MODES } from '../shared/config.ts';
import { ORCHESTRATORS, type Orchestrator } from '../shared/keys.ts';
import {
  Dimensions,
  METRICS_NAMESPACE,
  MetricNames,
  SERVICE_NAME,
  type MetricName,
} from '../shared/observability.ts';
import { PRICES_US_EAST_1, type Prices } from './prices.ts';

/** Powertools Metrics adds this dimension (the service name) to every metric it emits. */
export const SERVICE_DIMENSION = 'service';
/** Where SageMaker publishes an endpoint's instance metrics (CPU, GPU, memory). */
export const SAGEMAKER_INSTANCE_NAMESPACE = '/aws/sagemaker/Endpoints';

export const ORCHESTRATOR_LABELS: Record<Orchestrator, string> = {
  sf: 'Step Functions',
  ldf: 'Durable function',
};

export interface FunctionRef {
  name: string;
  memoryMb: number;
}

/** Titles of the per-orchestrator widgets (the local checks name a widget by its title). */
export const WIDGET_TITLES = {
  latency: (o: Orchestrator) => `${ORCHESTRATOR_LABELS[o]}: job latency (upload to result), ms`,
  phases: (o: Orchestrator) => `${ORCHESTRATOR_LABELS[o]}: phases (average ms)`,
};

/** What one deployment names: the stack's resources and its region. */
export interface DashboardNames {
  region: string;
  stateMachineArn: string;
  functions: { durable: FunctionRef; sfnTasks: FunctionRef; waker: FunctionRef };
  /** The SageMaker endpoint each orchestrator starts and stops. */
  endpoints: Record<Orchestrator, string>;
  variantName: string;
  instanceType: string;
  prices?: Prices;
}

/** `[Namespace, MetricName, DimName, DimValue, ..., options]` or `[{ expression, ... }]`. */
export type MetricRow = (string | RenderingOptions)[];
export interface RenderingOptions {
  expression?: string;
  id?: string;
  label?: string;
  stat?: string;
  period?: number;
  visible?: boolean;
  yAxis?: 'left' | 'right';
}
export interface Widget {
  type: 'metric' | 'text';
  x: number;
  y: number;
  width: number;
  height: number;
  properties: Record<string, unknown>;
}
export interface DashboardBody {
  start: string;
  periodOverride: 'auto' | 'inherit';
  widgets: Widget[];
}

const metric = (
  namespace: string,
  name: string,
  dimensions: Record<string, string>,
  options: RenderingOptions = {},
): MetricRow => [namespace, name, ...Object.entries(dimensions).flat(), options];

const expression = (text: string, options: RenderingOptions): MetricRow => [{ expression: text, ...options }];

/** One of the project's own metrics, for one orchestrator and wait mode (the dimensions it is emitted with). */
export function jobMetric(
  name: MetricName,
  orchestrator: Orchestrator,
  waitMode: WaitMode,
  options: RenderingOptions = {},
): MetricRow {
  return metric(
    METRICS_NAMESPACE,
    name,
    {
      [SERVICE_DIMENSION]: SERVICE_NAME,
      [Dimensions.Orchestrator]: orchestrator,
      [Dimensions.WaitMode]: waitMode,
    },
    options,
  );
}

/** A project metric summed over both wait modes: a hidden row per mode and the visible sum. */
function acrossWaitModes(
  name: MetricName,
  orchestrator: Orchestrator,
  id: string,
  label: string,
): MetricRow[] {
  const ids = WAIT_MODES.map((mode) => `${id}_${mode}`);
  return [
    ...WAIT_MODES.map((mode, i) =>
      jobMetric(name, orchestrator, mode, { id: ids[i]!, stat: 'Sum', visible: false }),
    ),
    expression(ids.map((i) => `FILL(${i}, 0)`).join(' + '), { id, label }),
  ];
}

const graph = (title: string, metrics: MetricRow[], region: string, extra: Record<string, unknown> = {}) => ({
  type: 'metric' as const,
  properties: { title, region, view: 'timeSeries', stacked: false, period: 300, metrics, ...extra },
});

const text = (markdown: string) => ({ type: 'text' as const, properties: { markdown } });

/** Lays rows out left to right, top to bottom, on CloudWatch's 24-column grid. */
function layout(
  rows: { width: number; height: number; widget: Omit<Widget, 'x' | 'y' | 'width' | 'height'> }[][],
) {
  const widgets: Widget[] = [];
  let y = 0;
  for (const row of rows) {
    let x = 0;
    for (const cell of row) {
      widgets.push({ ...cell.widget, x, y, width: cell.width, height: cell.height });
      x += cell.width;
    }
    y += Math.max(...row.map((c) => c.height));
  }
  return widgets;
}

/** The dashboard body for one deployment's names. */
export function comparisonDashboard(names: DashboardNames): DashboardBody {
  const { region } = names;
  const prices = names.prices ?? PRICES_US_EAST_1;
  const sm = { StateMachineArn: names.stateMachineArn };
  const durableFn = { FunctionName: names.functions.durable.name };
  const instance = (o: Orchestrator) => ({
    EndpointName: names.endpoints[o],
    VariantName: names.variantName,
  });
  const instanceHour = prices.sagemakerInstanceHour[names.instanceType];

  const latency = ORCHESTRATORS.map((o) =>
    graph(
      WIDGET_TITLES.latency(o),
      WAIT_MODES.flatMap((mode) =>
        ['p50', 'p90', 'p99'].map((stat) =>
          jobMetric(MetricNames.JobLatency, o, mode, { stat, label: `${mode} ${stat}` }),
        ),
      ),
      region,
    ),
  );
  const serviceDuration = graph(
    'Execution wall clock as the services see it, ms',
    [
      metric('AWS/States', 'ExecutionTime', sm, { stat: 'p50', label: 'Step Functions p50' }),
      metric('AWS/States', 'ExecutionTime', sm, { stat: 'p90', label: 'Step Functions p90' }),
      metric('AWS/Lambda', 'DurableExecutionDuration', durableFn, { stat: 'p50', label: 'durable p50' }),
      metric('AWS/Lambda', 'DurableExecutionDuration', durableFn, { stat: 'p90', label: 'durable p90' }),
    ],
    region,
  );
  const phases = ORCHESTRATORS.map((o) =>
    graph(
      WIDGET_TITLES.phases(o),
      WAIT_MODES.flatMap((mode) =>
        [MetricNames.MaskWait, MetricNames.EndpointWait, MetricNames.InferenceLatency].map((name) =>
          jobMetric(name, o, mode, { stat: 'Average', label: `${mode} ${name}` }),
        ),
      ),
      region,
      { view: 'bar' },
    ),
  );
  const endpointStarts = graph(
    'Endpoint starts and stops',
    ORCHESTRATORS.flatMap((o) => [
      ...acrossWaitModes(MetricNames.EndpointStarted, o, `${o}_started`, `${ORCHESTRATOR_LABELS[o]} started`),
      ...acrossWaitModes(MetricNames.EndpointStopped, o, `${o}_stopped`, `${ORCHESTRATOR_LABELS[o]} stopped`),
    ]),
    region,
  );
  // An instance reports its utilization once a minute while it runs: samples × 60 = instance-seconds.
  const gpuSeconds = graph(
    `GPU instance-seconds (${names.instanceType}) and GPU utilization`,
    ORCHESTRATORS.flatMap((o) => [
      metric(SAGEMAKER_INSTANCE_NAMESPACE, 'CPUUtilization', instance(o), {
        id: `${o}_samples`,
        stat: 'SampleCount',
        visible: false,
      }),
      expression(`FILL(${o}_samples, 0) * 60`, {
        id: `${o}_gpus`,
        label: `${names.endpoints[o]} instance-seconds`,
      }),
      metric(SAGEMAKER_INSTANCE_NAMESPACE, 'GPUUtilization', instance(o), {
        stat: 'Average',
        label: `${names.endpoints[o]} GPU %`,
        yAxis: 'right',
      }),
    ]),
    region,
  );
  const units = graph(
    'Billed units: state transitions beside durable operations',
    [
      metric(
        'AWS/States',
        'ConsumedCapacity',
        { ServiceMetric: 'StateTransition' },
        {
          stat: 'Sum',
          label: 'state transitions (account-wide)',
        },
      ),
      metric('AWS/States', 'ExecutionsStarted', sm, { stat: 'Sum', label: 'Step Functions executions' }),
      metric('AWS/Lambda', 'DurableExecutionOperations', durableFn, {
        stat: 'Sum',
        label: 'durable operations',
      }),
      metric('AWS/Lambda', 'DurableExecutionStarted', durableFn, {
        stat: 'Sum',
        label: 'durable executions',
      }),
      metric('AWS/Lambda', 'DurableExecutionStorageWrittenBytes', durableFn, {
        stat: 'Sum',
        label: 'durable bytes written',
        yAxis: 'right',
      }),
    ],
    region,
  );
  const failures = graph(
    'Failures',
    [
      ...ORCHESTRATORS.flatMap((o) => [
        ...acrossWaitModes(MetricNames.JobFailed, o, `${o}_failed`, `${ORCHESTRATOR_LABELS[o]} jobs failed`),
        ...acrossWaitModes(
          MetricNames.JobRejected,
          o,
          `${o}_rejected`,
          `${ORCHESTRATOR_LABELS[o]} jobs rejected`,
        ),
        ...acrossWaitModes(
          MetricNames.EndpointStartFailed,
          o,
          `${o}_startfailed`,
          `${ORCHESTRATOR_LABELS[o]} endpoint starts failed`,
        ),
      ]),
      ...['ExecutionsFailed', 'ExecutionsTimedOut', 'ExecutionsAborted'].map((name) =>
        metric('AWS/States', name, sm, { stat: 'Sum', label: `Step Functions ${name}` }),
      ),
      ...['DurableExecutionFailed', 'DurableExecutionTimedOut', 'DurableExecutionStopped'].map((name) =>
        metric('AWS/Lambda', name, durableFn, { stat: 'Sum', label: name }),
      ),
      ...Object.values(names.functions).map((fn) =>
        metric(
          'AWS/Lambda',
          'Errors',
          { FunctionName: fn.name },
          { stat: 'Sum', label: `${fn.name} errors` },
        ),
      ),
    ],
    region,
  );
  const cost = graph(
    'Estimated cost over the time range, USD',
    costRows(names, prices, instanceHour),
    region,
    {
      view: 'singleValue',
      setPeriodToTimeRange: true,
    },
  );

  const intro = text(
    [
      '# Durable functions vs Step Functions: one GPU endpoint lifecycle',
      `Every upload runs through both orchestrators. Job metrics: namespace \`${METRICS_NAMESPACE}\`, dimensions ` +
        `\`${Dimensions.Orchestrator}\` and \`${Dimensions.WaitMode}\`. ` +
        'Per-execution units (transitions, operations, bytes) come from the history APIs: `npm run bench:job-costs`; ' +
        'AWS publishes state transitions per account only, so overlapping workloads mix into that line. ' +
        `Cost: ${prices.source}${instanceHour === undefined ? `; no price for ${names.instanceType}, GPU cost left out` : ''}.`,
    ].join('\n\n'),
  );

  return {
    start: '-PT6H',
    periodOverride: 'inherit',
    widgets: layout([
      [{ width: 24, height: 3, widget: intro }],
      [
        { width: 8, height: 6, widget: latency[0]! },
        { width: 8, height: 6, widget: latency[1]! },
        { width: 8, height: 6, widget: serviceDuration },
      ],
      [
        { width: 12, height: 6, widget: phases[0]! },
        { width: 12, height: 6, widget: phases[1]! },
      ],
      [
        { width: 8, height: 6, widget: endpointStarts },
        { width: 8, height: 6, widget: gpuSeconds },
        { width: 8, height: 6, widget: units },
      ],
      [
        { width: 12, height: 6, widget: failures },
        { width: 12, height: 6, widget: cost },
      ],
    ]),
  };
}

/**
 * A number as metric math writes it: plain decimal notation (never `2e-7`, which JavaScript prints for
 * small prices), rounded to 12 significant digits so float noise (`2.0000000000000002e-7`) goes.
 */
export function decimal(n: number): string {
  if (!Number.isFinite(n)) throw new RangeError(`not a finite number for a metric math expression: ${n}`);
  if (n === 0) return '0';
  const decimals = Math.min(100, Math.max(0, 12 - Math.floor(Math.log10(Math.abs(n))) - 1));
  const fixed = n.toFixed(decimals);
  return fixed.includes('.') ? fixed.replace(/\.?0+$/, '') : fixed;
}

/** The cost estimate: each orchestrator's billed units times the list prices, GPU time shown apart. */
function costRows(names: DashboardNames, prices: Prices, instanceHour: number | undefined): MetricRow[] {
  const hidden = (id: string, stat = 'Sum'): RenderingOptions => ({ id, stat, visible: false });
  const lambda = (id: string, fn: FunctionRef): { rows: MetricRow[]; cost: string } => ({
    rows: [
      metric('AWS/Lambda', 'Invocations', { FunctionName: fn.name }, hidden(`${id}_inv`)),
      metric('AWS/Lambda', 'Duration', { FunctionName: fn.name }, hidden(`${id}_ms`)),
    ],
    cost:
      `FILL(${id}_inv, 0) * ${decimal(prices.lambdaRequest)} + ` +
      `FILL(${id}_ms, 0) / 1000 * ${decimal(fn.memoryMb / 1024)} * ${decimal(prices.lambdaArmGbSecond)}`,
  });
  const gpu = (o: Orchestrator): { rows: MetricRow[]; cost: string } => ({
    rows: [
      metric(
        SAGEMAKER_INSTANCE_NAMESPACE,
        'CPUUtilization',
        { EndpointName: names.endpoints[o], VariantName: names.variantName },
        hidden(`${o}_inst`, 'SampleCount'),
      ),
    ],
    cost: instanceHour === undefined ? '0' : `FILL(${o}_inst, 0) * 60 / 3600 * ${decimal(instanceHour)}`,
  });
  const tasks = lambda('tasks', names.functions.sfnTasks);
  const durable = lambda('durable', names.functions.durable);
  const waker = lambda('waker', names.functions.waker);
  const sfGpu = gpu('sf');
  const ldfGpu = gpu('ldf');
  return [
    metric('AWS/States', 'ConsumedCapacity', { ServiceMetric: 'StateTransition' }, hidden('transitions')),
    metric(
      'AWS/Lambda',
      'DurableExecutionOperations',
      { FunctionName: names.functions.durable.name },
      hidden('ops'),
    ),
    metric(
      'AWS/Lambda',
      'DurableExecutionStorageWrittenBytes',
      { FunctionName: names.functions.durable.name },
      hidden('written'),
    ),
    ...tasks.rows,
    ...durable.rows,
    ...waker.rows,
    ...sfGpu.rows,
    ...ldfGpu.rows,
    expression(`FILL(transitions, 0) * ${decimal(prices.stateTransition)} + ${tasks.cost}`, {
      id: 'sf_orchestration',
      label: 'Step Functions orchestration (transitions + task Lambda)',
    }),
    expression(
      `FILL(ops, 0) * ${decimal(prices.durableOperation)} + FILL(written, 0) / 1000000000 * ${decimal(prices.durableGbWritten)} + ${durable.cost}`,
      { id: 'ldf_orchestration', label: 'Durable orchestration (operations + data + Lambda)' },
    ),
    expression(sfGpu.cost, { id: 'sf_gpu', label: `Step Functions endpoint GPU time` }),
    expression(ldfGpu.cost, { id: 'ldf_gpu', label: `Durable endpoint GPU time` }),
    expression(waker.cost, { id: 'waker_cost', label: 'Shared waker Lambda' }),
  ];
}

/** The body as CloudWatch's PutDashboard takes it: a JSON string. */
export function comparisonDashboardJson(names: DashboardNames): string {
  return JSON.stringify(comparisonDashboard(names));
}
