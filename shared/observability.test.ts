import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  METRICS_NAMESPACE,
  MetricNames,
  metrics,
  recordMetric,
  setObservabilityContext,
} from './observability.ts';

afterEach(() => vi.restoreAllMocks());

describe('metrics', () => {
  it('go out as EMF in one namespace with the Orchestrator and WaitMode dimensions', () => {
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    setObservabilityContext({ orchestrator: 'ldf', waitMode: 'event' });
    recordMetric(MetricNames.JobLatency, 1234);
    recordMetric(MetricNames.JobCompleted, 1);
    metrics.publishStoredMetrics();

    const emf = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((o) => '_aws' in o);
    expect(emf).toMatchObject({
      Orchestrator: 'ldf',
      WaitMode: 'event',
      JobLatency: 1234,
      JobCompleted: 1,
      _aws: {
        CloudWatchMetrics: [
          {
            Namespace: METRICS_NAMESPACE,
            Dimensions: [expect.arrayContaining(['Orchestrator', 'WaitMode']) as unknown],
            Metrics: expect.arrayContaining([
              { Name: 'JobLatency', Unit: 'Milliseconds' },
              { Name: 'JobCompleted', Unit: 'Count' },
            ]) as unknown,
          },
        ],
      },
    });
  });
});
