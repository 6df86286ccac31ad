// The job metrics both orchestrators emit, in one place, so the dashboard's per-orchestrator charts
// read the same names and meanings from each: the admission, an endpoint started or stopped by this
// job, a successful inference's retries, and the job's ending with its phase durations. The durable
// workflow calls these from inside step bodies, the Step Functions task Lambda from its tasks.
import type { JobOutcome } from './activities.ts';
import { ErrorNames } from './errors.ts';
import { MetricNames, metrics, recordMetric, type MetricName } from './observability.ts';
import type { Phases } from './phases.ts';

/** Where metrics go (Powertools Metrics in the handlers, a list in tests). */
export interface MetricsSink {
  record(name: MetricName, value: number): void;
  flush(): void;
}

/** The handlers' sink: Powertools Metrics, one EMF line on stdout per flush. */
export const emfMetrics: MetricsSink = { record: recordMetric, flush: () => metrics.publishStoredMetrics() };

/** A job admitted: a new one, or a duplicate delivery of one already admitted. */
export function recordAdmission(sink: MetricsSink, created: boolean): void {
  sink.record(created ? MetricNames.JobAdmitted : MetricNames.JobDuplicate, 1);
  sink.flush();
}

/** This job's CreateEndpoint started the endpoint (`outcome` is the start activity's answer). */
export function recordEndpointStart(sink: MetricsSink, outcome: string): void {
  if (outcome !== 'created') return;
  sink.record(MetricNames.EndpointStarted, 1);
  sink.flush();
}

/** This job's idle stop deleted the endpoint. */
export function recordEndpointStop(sink: MetricsSink, done: boolean): void {
  if (!done) return;
  sink.record(MetricNames.EndpointStopped, 1);
  sink.flush();
}

/**
 * The ending of a job: its phase durations (the ones it reached), its outcome, and for a completed job
 * its inference retries when the caller knows its attempts (the durable step does; the state machine's
 * task Lambda does not see its Invoke state's retries, which its history counts).
 */
export function recordJobEnded(
  sink: MetricsSink,
  outcome: JobOutcome,
  phases: Phases,
  inferenceAttempts?: number,
): void {
  const between = (from: keyof Phases, to: keyof Phases): number | undefined => {
    const start = phases[from];
    const end = phases[to];
    return start === undefined || end === undefined ? undefined : Date.parse(end) - Date.parse(start);
  };
  const timed: [MetricName, number | undefined][] = [
    [MetricNames.MaskWait, between('RECEIVED', 'MASK_READY')],
    [MetricNames.EndpointWait, between('ENDPOINT_ACQUIRED', 'ENDPOINT_READY')],
    [MetricNames.InferenceLatency, between('INFERRING', 'INFERRED')],
    [MetricNames.JobLatency, between('RECEIVED', 'INFERRED')],
  ];
  for (const [name, value] of timed) if (value !== undefined) sink.record(name, value);
  if (outcome.status === 'COMPLETED') {
    sink.record(MetricNames.JobCompleted, 1);
    if (inferenceAttempts !== undefined)
      sink.record(MetricNames.InferenceRetries, Math.max(0, inferenceAttempts - 1));
  } else {
    sink.record(outcome.status === 'REJECTED' ? MetricNames.JobRejected : MetricNames.JobFailed, 1);
    if (outcome.failure.error === ErrorNames.EndpointFailed) sink.record(MetricNames.EndpointStartFailed, 1);
  }
  sink.flush();
}
