// A MetricsSink that keeps every datum it is given, for tests that check what a service published.
import type { MetricsSink } from './service-metrics.ts';

export interface PublishedDatum {
  namespace: string;
  name: string;
  dimensions: Record<string, string>;
  value: number;
  unit: string;
  at: number;
}

const sameDimensions = (a: Record<string, string>, b: Record<string, string>): boolean =>
  JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());

export class RecordingSink implements MetricsSink {
  readonly published: PublishedDatum[] = [];

  readonly publish: MetricsSink['publish'] = (namespace, name, dimensions, value, unit, at) =>
    void this.published.push({ namespace, name, dimensions, value, unit, at });

  /** The values of one metric with exactly these dimensions (in any order), as published. */
  values(namespace: string, name: string, dimensions: Record<string, string>): number[] {
    return this.published
      .filter((p) => p.namespace === namespace && p.name === name && sameDimensions(p.dimensions, dimensions))
      .map((p) => p.value);
  }
}
