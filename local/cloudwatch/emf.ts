// CloudWatch's Embedded Metric Format: a log line that is one JSON object with an `_aws` member
// becomes metrics, as CloudWatch Logs extracts them from a Lambda's output. Each directive's
// Namespace, each dimension set and each metric name; a metric's value is a number or an array of
// numbers. A line that is not EMF is no metric (it stays a log line); a line that claims to be EMF
// and breaks the specification is reported, as CloudWatch counts it under `AWS/Logs`.
import type { Datum } from './metrics.ts';

export type EmfResult = { datums: Datum[] } | { error: string } | undefined;

/** The metrics in one log line; undefined when the line is not EMF at all. */
export function parseEmfLine(line: string): EmfResult {
  const text = line.trim();
  if (!text.startsWith('{') || !text.includes('"_aws"')) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return undefined;
  const root = doc as Record<string, unknown>;
  const aws = root._aws as Record<string, unknown> | undefined;
  if (!aws || typeof aws !== 'object') return undefined;
  const timestamp = aws.Timestamp;
  if (typeof timestamp !== 'number' || !Number.isFinite(timestamp))
    return { error: '_aws.Timestamp must be a number of milliseconds since the epoch' };
  const directives = aws.CloudWatchMetrics;
  if (!Array.isArray(directives)) return { error: '_aws.CloudWatchMetrics must be an array' };
  const datums: Datum[] = [];
  for (const [i, d] of directives.entries()) {
    const directive = (d ?? {}) as Record<string, unknown>;
    const namespace = directive.Namespace;
    if (typeof namespace !== 'string' || namespace.length < 1 || namespace.length > 1024)
      return { error: `CloudWatchMetrics[${i}].Namespace must be 1 to 1024 characters` };
    const sets = directive.Dimensions ?? [[]];
    if (!Array.isArray(sets) || !sets.every((s) => Array.isArray(s) && s.every((k) => typeof k === 'string')))
      return { error: `CloudWatchMetrics[${i}].Dimensions must be an array of arrays of member names` };
    const metrics = directive.Metrics;
    if (!Array.isArray(metrics) || metrics.length > 100)
      return { error: `CloudWatchMetrics[${i}].Metrics must be an array of at most 100 metrics` };
    for (const set of sets) {
      if (set.length > 30) return { error: `CloudWatchMetrics[${i}]: a dimension set has more than 30 keys` };
      const dimensions = [];
      for (const key of set) {
        const value = root[key];
        if (typeof value !== 'string')
          return { error: `dimension ${key} must be a string member of the line` };
        dimensions.push({ Name: key, Value: value });
      }
      for (const m of metrics) {
        const { Name, Unit } = (m ?? {}) as Record<string, unknown>;
        if (typeof Name !== 'string' || Name.length < 1)
          return { error: `CloudWatchMetrics[${i}].Metrics: each metric needs a Name` };
        const raw = root[Name];
        const values = Array.isArray(raw) ? raw : [raw];
        if (
          values.length === 0 ||
          values.length > 100 ||
          !values.every((v) => typeof v === 'number' && Number.isFinite(v))
        )
          return { error: `metric ${Name} must be a number or an array of 1 to 100 numbers` };
        datums.push({
          metric: { Namespace: namespace, MetricName: Name, Dimensions: dimensions },
          timestamp,
          ...(typeof Unit === 'string' ? { unit: Unit } : {}),
          values: values as number[],
        });
      }
    }
  }
  return { datums };
}
