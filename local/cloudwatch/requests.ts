// Request members read as CloudWatch reads them: required strings, timestamps in any protocol's form,
// periods, metrics and datums, page tokens, and the checks PutDashboard makes on each widget. Each bad
// member is refused with CloudWatch's error and the member's path.
import { CloudWatchError } from './errors.ts';
import { checkDimensions, type Datum, type MetricId } from './metrics.ts';

type Input = Record<string, unknown>;

export function requireString(input: Input, member: string, min: number, max: number): string {
  const v = input[member];
  if (v === undefined || v === null) throw CloudWatchError.missing(member);
  if (typeof v !== 'string' || v.length < min || v.length > max)
    throw CloudWatchError.invalid(
      `The value for parameter ${member} must be a string of ${min} to ${max} characters.`,
    );
  return v;
}

/** A timestamp member as epoch ms: epoch seconds (JSON), a Date, or CBOR's tag 1. */
export function toEpochMs(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v * 1000;
  if (v instanceof Date && !Number.isNaN(v.getTime())) return v.getTime();
  if (v !== null && typeof v === 'object' && (v as { tag?: unknown }).tag === 1)
    return toEpochMs((v as { value: unknown }).value);
  return undefined;
}

export function requireTime(input: Input, member: string): number {
  if (input[member] === undefined) throw CloudWatchError.missing(member);
  const ms = toEpochMs(input[member]);
  if (ms === undefined) throw CloudWatchError.invalid(`The parameter ${member} must be a timestamp.`);
  return ms;
}

export function requirePeriod(v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
    throw CloudWatchError.invalid(`The parameter ${where} must be a positive whole number of seconds.`);
  if (v >= 60 ? v % 60 !== 0 : ![1, 5, 10, 20, 30].includes(v))
    throw CloudWatchError.invalid(`The parameter ${where} must be 1, 5, 10, 20, 30 or a multiple of 60.`);
  return v;
}

export function toMetricId(m: Input, where: string): MetricId {
  const prefix = where === '' ? '' : `${where}.`;
  const Namespace = m.Namespace;
  const MetricName = m.MetricName;
  if (typeof Namespace !== 'string' || Namespace.length === 0)
    throw CloudWatchError.missing(`${prefix}Namespace`);
  if (typeof MetricName !== 'string' || MetricName.length === 0)
    throw CloudWatchError.missing(`${prefix}MetricName`);
  return { Namespace, MetricName, Dimensions: checkDimensions(m.Dimensions, where || 'Metric') };
}

export function toDatum(namespace: string, m: Input, where: string, now: number): Datum {
  const name = m.MetricName;
  if (typeof name !== 'string' || name.length < 1 || name.length > 255)
    throw CloudWatchError.missing(`${where}.MetricName`);
  const metric: MetricId = {
    Namespace: namespace,
    MetricName: name,
    Dimensions: checkDimensions(m.Dimensions, where),
  };
  const timestamp = m.Timestamp === undefined ? now : toEpochMs(m.Timestamp);
  if (timestamp === undefined) throw CloudWatchError.invalid(`${where}.Timestamp must be a timestamp`);
  const unit = typeof m.Unit === 'string' ? { unit: m.Unit } : {};
  const given = [m.Value !== undefined, m.Values !== undefined, m.StatisticValues !== undefined].filter(
    Boolean,
  ).length;
  if (given !== 1)
    throw CloudWatchError.combination(`${where}: give exactly one of Value, Values or StatisticValues`);
  if (m.Value !== undefined) {
    if (typeof m.Value !== 'number' || !Number.isFinite(m.Value))
      throw CloudWatchError.invalid(`${where}.Value must be a number`);
    return { metric, timestamp, ...unit, values: [m.Value] };
  }
  if (m.Values !== undefined) {
    const values = m.Values;
    const counts = m.Counts ?? values;
    if (
      !Array.isArray(values) ||
      !values.every((v) => typeof v === 'number' && Number.isFinite(v)) ||
      values.length > 150
    )
      throw CloudWatchError.invalid(`${where}.Values must be at most 150 numbers`);
    if (m.Counts !== undefined && (!Array.isArray(counts) || counts.length !== values.length))
      throw CloudWatchError.combination(`${where}: Counts must have as many entries as Values`);
    return {
      metric,
      timestamp,
      ...unit,
      values,
      ...(m.Counts !== undefined ? { counts: counts as number[] } : {}),
    };
  }
  const s = m.StatisticValues as Input;
  const n = (k: string): number => {
    const v = s[k];
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw CloudWatchError.missing(`${where}.StatisticValues.${k}`);
    return v;
  };
  return {
    metric,
    timestamp,
    ...unit,
    statistics: {
      SampleCount: n('SampleCount'),
      Sum: n('Sum'),
      Minimum: n('Minimum'),
      Maximum: n('Maximum'),
    },
  };
}

export function pageStart(token: unknown): number {
  if (token === undefined) return 0;
  const n = Number(token);
  if (typeof token !== 'string' || !Number.isInteger(n) || n < 0)
    throw new CloudWatchError(
      'InvalidNextToken',
      'InvalidNextToken',
      400,
      'The service cannot parse the NextToken.',
    );
  return n;
}

interface ValidationMessage {
  DataPath: string;
  Message: string;
  error: boolean;
}

/** What PutDashboard checks in a widget: its type and place; a metric widget's rows. */
export function widgetProblems(w: unknown, path: string): ValidationMessage[] {
  const out: ValidationMessage[] = [];
  const widget = (w ?? {}) as Input;
  const types = ['metric', 'text', 'log', 'alarm', 'explorer', 'custom'];
  if (typeof widget.type !== 'string' || !types.includes(widget.type))
    out.push({ DataPath: `${path}/type`, Message: `Should be one of ${types.join(', ')}`, error: true });
  for (const k of ['width', 'height'] as const)
    if (
      widget[k] !== undefined &&
      (typeof widget[k] !== 'number' || widget[k] < 1 || widget[k] > (k === 'width' ? 24 : 1000))
    )
      out.push({
        DataPath: `${path}/${k}`,
        Message: `Should be a number from 1 to ${k === 'width' ? 24 : 1000}`,
        error: true,
      });
  const props = widget.properties as Input | undefined;
  if (widget.type === 'metric') {
    if (!props || !Array.isArray(props.metrics) || props.metrics.length === 0)
      out.push({
        DataPath: `${path}/properties/metrics`,
        Message: 'Should have at least one metric',
        error: true,
      });
    if (!props || typeof props.region !== 'string')
      out.push({ DataPath: `${path}/properties/region`, Message: 'Field is required', error: true });
  }
  if (widget.type === 'text' && (!props || typeof props.markdown !== 'string'))
    out.push({ DataPath: `${path}/properties/markdown`, Message: 'Field is required', error: true });
  return out;
}
