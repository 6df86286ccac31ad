// The stack's alarms: failed jobs (the project's own JobFailed metric and each service's failed
// executions) and, per endpoint, a GPU instance left running with no traffic past the idle window,
// the one failure that costs money by the hour. They use the dashboard's metric rows' names, so an
// alarm and its chart watch the same series.
import { Duration, type Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import {
  ORCHESTRATOR_LABELS,
  SAGEMAKER_INSTANCE_NAMESPACE,
  SERVICE_DIMENSION,
  type DashboardNames,
} from '../dashboards/comparison.ts';
import { WAIT_MODES } from '../shared/config.ts';
import { ORCHESTRATORS } from '../shared/keys.ts';
import { Dimensions, METRICS_NAMESPACE, MetricNames, SERVICE_NAME } from '../shared/observability.ts';

/** Minutes a running endpoint may go without invocations beyond its idle window before it alarms. */
export const STOP_GRACE_MINUTES = 10;

export function createAlarms(
  stack: Stack,
  names: DashboardNames & { idleWindowSeconds: number },
): cloudwatch.Alarm[] {
  const alarms: cloudwatch.Alarm[] = [];
  const failedJobs: Record<string, cloudwatch.IMetric> = {};
  for (const orchestrator of ORCHESTRATORS) {
    for (const waitMode of WAIT_MODES) {
      failedJobs[`${orchestrator}_${waitMode}`] = new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: MetricNames.JobFailed,
        dimensionsMap: {
          [SERVICE_DIMENSION]: SERVICE_NAME,
          [Dimensions.Orchestrator]: orchestrator,
          [Dimensions.WaitMode]: waitMode,
        },
        statistic: 'Sum',
        period: Duration.minutes(5),
      });
    }
  }
  const anyFailure = (id: string, description: string, metric: cloudwatch.IMetric) =>
    new cloudwatch.Alarm(stack, id, {
      alarmDescription: description,
      metric,
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  alarms.push(
    anyFailure(
      'JobsFailed',
      'A job ended FAILED (JobFailed, either orchestrator, either wait mode): its _error.json says why.',
      new cloudwatch.MathExpression({
        expression: Object.keys(failedJobs)
          .map((id) => `FILL(${id}, 0)`)
          .join(' + '),
        usingMetrics: failedJobs,
        period: Duration.minutes(5),
        label: 'failed jobs',
      }),
    ),
    anyFailure(
      'StateMachineExecutionsFailed',
      'A Step Functions execution failed, timed out or was aborted.',
      new cloudwatch.MathExpression({
        expression: 'FILL(failed, 0) + FILL(timedOut, 0) + FILL(aborted, 0)',
        usingMetrics: Object.fromEntries(
          [
            ['failed', 'ExecutionsFailed'],
            ['timedOut', 'ExecutionsTimedOut'],
            ['aborted', 'ExecutionsAborted'],
          ].map(([id, metricName]) => [
            id!,
            new cloudwatch.Metric({
              namespace: 'AWS/States',
              metricName: metricName!,
              dimensionsMap: { StateMachineArn: names.stateMachineArn },
              statistic: 'Sum',
            }),
          ]),
        ),
        period: Duration.minutes(5),
      }),
    ),
    anyFailure(
      'DurableExecutionsFailed',
      'A durable execution failed or timed out.',
      new cloudwatch.MathExpression({
        expression: 'FILL(failed, 0) + FILL(timedOut, 0)',
        usingMetrics: {
          failed: durableMetric(names, 'DurableExecutionFailed'),
          timedOut: durableMetric(names, 'DurableExecutionTimedOut'),
        },
        period: Duration.minutes(5),
      }),
    ),
  );

  // An instance reports its utilization every minute while it runs; a minute with samples and no
  // invocation is an idle minute. More idle minutes in a row than the idle window plus the stop's
  // grace means the guarded stop did not happen.
  const idleMinutes = Math.ceil(names.idleWindowSeconds / 60) + STOP_GRACE_MINUTES;
  for (const orchestrator of ORCHESTRATORS) {
    const dimensionsMap = { EndpointName: names.endpoints[orchestrator], VariantName: names.variantName };
    alarms.push(
      new cloudwatch.Alarm(stack, `EndpointLeftRunning-${orchestrator}`, {
        alarmDescription:
          `${ORCHESTRATOR_LABELS[orchestrator]}'s endpoint ${names.endpoints[orchestrator]} has run ${idleMinutes} minutes ` +
          'without an invocation, past its idle window: it costs by the hour until deleted ' +
          `(aws sagemaker delete-endpoint --endpoint-name ${names.endpoints[orchestrator]}).`,
        metric: new cloudwatch.MathExpression({
          expression: 'IF(FILL(samples, 0) > 0 AND FILL(invocations, 0) == 0, 1, 0)',
          usingMetrics: {
            samples: new cloudwatch.Metric({
              namespace: SAGEMAKER_INSTANCE_NAMESPACE,
              metricName: 'CPUUtilization',
              dimensionsMap,
              statistic: 'SampleCount',
            }),
            invocations: new cloudwatch.Metric({
              namespace: 'AWS/SageMaker',
              metricName: 'Invocations',
              dimensionsMap,
              statistic: 'Sum',
            }),
          },
          period: Duration.minutes(1),
          label: 'idle running minute',
        }),
        threshold: 1,
        evaluationPeriods: idleMinutes,
        datapointsToAlarm: idleMinutes,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
  }
  return alarms;
}

function durableMetric(names: DashboardNames, metricName: string): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: 'AWS/Lambda',
    metricName,
    dimensionsMap: { FunctionName: names.functions.durable.name },
    statistic: 'Sum',
  });
}
