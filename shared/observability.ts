// One logger and one metrics object for every handler (Powertools for AWS Lambda). Metrics go out as
// CloudWatch EMF on stdout, in one namespace, with the dimensions Orchestrator and WaitMode; the
// metric names are constants the dashboards import, so a chart and the code cannot drift apart.
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { WaitMode } from './config.ts';
import type { CapacityMeter } from './consumed-capacity.ts';
import type { Orchestrator } from './keys.ts';

export const SERVICE_NAME = 'durable-vs-sfn';
export const METRICS_NAMESPACE = 'DurableVsStepFunctions';

export const Dimensions = {
  Orchestrator: 'Orchestrator',
  WaitMode: 'WaitMode',
} as const;

/** Every metric the project emits, with its unit. */
export const MetricNames = {
  JobAdmitted: 'JobAdmitted',
  JobDuplicate: 'JobDuplicate',
  JobRejected: 'JobRejected',
  JobCompleted: 'JobCompleted',
  JobFailed: 'JobFailed',
  /** Upload seen to result stored. */
  JobLatency: 'JobLatency',
  MaskWait: 'MaskWait',
  /** From acquiring the endpoint to its being InService (0 when warm). */
  EndpointWait: 'EndpointWait',
  EndpointStarted: 'EndpointStarted',
  EndpointStopped: 'EndpointStopped',
  EndpointStartFailed: 'EndpointStartFailed',
  InferenceLatency: 'InferenceLatency',
  InferenceRetries: 'InferenceRetries',
  /** DynamoDB request units the invocation's requests consumed (ConsumedCapacity). */
  DynamoDBReadUnits: 'DynamoDBReadUnits',
  DynamoDBWriteUnits: 'DynamoDBWriteUnits',
} as const;
export type MetricName = (typeof MetricNames)[keyof typeof MetricNames];

export const METRIC_UNITS: Record<MetricName, (typeof MetricUnit)[keyof typeof MetricUnit]> = {
  JobAdmitted: MetricUnit.Count,
  JobDuplicate: MetricUnit.Count,
  JobRejected: MetricUnit.Count,
  JobCompleted: MetricUnit.Count,
  JobFailed: MetricUnit.Count,
  JobLatency: MetricUnit.Milliseconds,
  MaskWait: MetricUnit.Milliseconds,
  EndpointWait: MetricUnit.Milliseconds,
  EndpointStarted: MetricUnit.Count,
  EndpointStopped: MetricUnit.Count,
  EndpointStartFailed: MetricUnit.Count,
  InferenceLatency: MetricUnit.Milliseconds,
  InferenceRetries: MetricUnit.Count,
  DynamoDBReadUnits: MetricUnit.Count,
  DynamoDBWriteUnits: MetricUnit.Count,
};

export const logger = new Logger({ serviceName: SERVICE_NAME });
export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });

/** Tags every later log line and metric with the orchestrator and wait mode; call once at cold start. */
export function setObservabilityContext(context: { orchestrator: Orchestrator; waitMode: WaitMode }): void {
  logger.appendPersistentKeys({ orchestrator: context.orchestrator, waitMode: context.waitMode });
  metrics.setDefaultDimensions({
    [Dimensions.Orchestrator]: context.orchestrator,
    [Dimensions.WaitMode]: context.waitMode,
  });
}

/** Records one value of a named metric, in its declared unit. */
export function recordMetric(name: MetricName, value: number): void {
  metrics.addMetric(name, METRIC_UNITS[name], value);
}

/** Publishes the DynamoDB units an invocation consumed (once, at its end; nothing when none). */
export function publishConsumedCapacity(capacity: CapacityMeter): void {
  const { readUnits, writeUnits } = capacity.take();
  if (readUnits + writeUnits === 0) return;
  recordMetric(MetricNames.DynamoDBReadUnits, readUnits);
  recordMetric(MetricNames.DynamoDBWriteUnits, writeUnits);
  metrics.publishStoredMetrics();
}
