// Each orchestrator's DynamoDB request units over a run, as its handlers published them (the
// DynamoDBReadUnits / DynamoDBWriteUnits metrics, summed from DynamoDB's own ConsumedCapacity
// answers: shared/consumed-capacity.ts), read back with GetMetricData from the target's CloudWatch.
import { CloudWatchClient, GetMetricDataCommand, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import { Dimensions, METRICS_NAMESPACE, MetricNames, SERVICE_NAME } from '../../shared/observability.ts';
import type { OrchestratorId, WaitModeId } from '../report/results.ts';
import type { Target } from './target.ts';
import { observing } from '../../shared/aws.ts';

export async function readConsumedCapacity(
  target: Target,
  orchestrator: OrchestratorId,
  waitMode: WaitModeId,
  from: Date,
  to: Date,
): Promise<{ readUnits: number; writeUnits: number }> {
  const cloudWatch = new CloudWatchClient(observing(target.clientConfig('cloudwatch')));
  const query = (id: string, name: string): MetricDataQuery => ({
    Id: id,
    MetricStat: {
      Metric: {
        Namespace: METRICS_NAMESPACE,
        MetricName: name,
        Dimensions: [
          { Name: 'service', Value: SERVICE_NAME },
          { Name: Dimensions.Orchestrator, Value: orchestrator },
          { Name: Dimensions.WaitMode, Value: waitMode },
        ],
      },
      Period: 60,
      Stat: 'Sum',
    },
  });
  try {
    const sums = { read: 0, write: 0 };
    let nextToken: string | undefined;
    do {
      const out = await cloudWatch.send(
        new GetMetricDataCommand({
          StartTime: from,
          EndTime: to,
          MetricDataQueries: [
            query('read', MetricNames.DynamoDBReadUnits),
            query('write', MetricNames.DynamoDBWriteUnits),
          ],
          NextToken: nextToken,
        }),
      );
      for (const r of out.MetricDataResults ?? [])
        sums[r.Id as 'read' | 'write'] += (r.Values ?? []).reduce((a, b) => a + b, 0);
      nextToken = out.NextToken;
    } while (nextToken);
    return { readUnits: sums.read, writeUnits: sums.write };
  } finally {
    cloudWatch.destroy();
  }
}
