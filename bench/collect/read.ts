// What the collector reads from a target, through the services' own APIs and the AWS SDK clients the
// target configures: a user's job items from the table (both prefixes), and each execution's history
// (GetExecutionHistory, GetDurableExecutionHistory); for the invariant checker (check/) also the whole
// table, every execution's listing and the deployed settings. The same calls read a deployed stack.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  GetFunctionCommand,
  LambdaClient,
  ListDurableExecutionsByFunctionCommand,
} from '@aws-sdk/client-lambda';
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, ScanCommand, type NativeAttributeValue } from '@aws-sdk/lib-dynamodb';
import { readDurableHistory } from '../../metering/durable-history.ts';
import { readExecutionHistory } from '../../metering/sfn-history.ts';
import { CONFIG_DEFAULTS, CONFIG_ENV, type Config } from '../../shared/config.ts';
import { JobStore, type Job } from '../../shared/job-store.ts';
import type { OrchestratorId } from '../report/results.ts';
import { durableFacts, sfnFacts, type ExecutionFacts } from './execution-facts.ts';
import type { Target } from './target.ts';
import { observing } from '../../shared/aws.ts';

/** Every job of `userId` for one orchestrator, paging through the user's partition. */
export async function readJobs(target: Target, orchestrator: OrchestratorId, userId: string): Promise<Job[]> {
  const dynamodb = new DynamoDBClient(target.clientConfig('dynamodb'));
  try {
    const store = new JobStore(DynamoDBDocumentClient.from(dynamodb), target.tableName, { retentionDays: 1 });
    const jobs: Job[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.listByUser(orchestrator, userId, cursor === undefined ? {} : { cursor });
      jobs.push(...page.jobs);
      cursor = page.cursor;
    } while (cursor);
    return jobs.sort((a, b) => a.name.localeCompare(b.name));
  } finally {
    dynamodb.destroy();
  }
}

/** Runs `fn` over `items`, at most `limit` at a time. */
async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** The ARNs of every execution that took part in the jobs (a duplicate delivery's included). */
export function executionArns(jobs: readonly Job[]): string[] {
  return [...new Set(jobs.flatMap((j) => [...(j.createdBy ? [j.createdBy] : []), ...(j.executions ?? [])]))];
}

/** Reads each execution's history and what it did; `onRead` is told after each one (progress). */
export async function readFacts(
  target: Target,
  orchestrator: OrchestratorId,
  arns: readonly string[],
  onRead: (done: number) => void = () => undefined,
): Promise<Map<string, ExecutionFacts>> {
  const facts = new Map<string, ExecutionFacts>();
  const lambda = new LambdaClient(observing(target.clientConfig('lambda')));
  const sfn = new SFNClient(observing(target.clientConfig('stepfunctions')));
  try {
    await eachLimited(arns, 8, async (arn) => {
      facts.set(
        arn,
        orchestrator === 'ldf'
          ? durableFacts(await readDurableHistory(lambda, arn))
          : sfnFacts(await readExecutionHistory(sfn, arn)),
      );
      onRead(facts.size);
    });
    return facts;
  } finally {
    lambda.destroy();
    sfn.destroy();
  }
}

/** One execution as the orchestrator's service lists it (ListExecutions, ListDurableExecutionsByFunction). */
export interface ExecutionSummary {
  arn: string;
  /** RUNNING, SUCCEEDED, FAILED, TIMED_OUT, and ABORTED (Step Functions) or STOPPED (durable). */
  status: string;
  startedAt?: number;
  endedAt?: number;
}

/** Every execution of the orchestrator's state machine or durable function, paging through the listing. */
export async function listExecutions(
  target: Target,
  orchestrator: OrchestratorId,
): Promise<ExecutionSummary[]> {
  const out: ExecutionSummary[] = [];
  if (orchestrator === 'ldf') {
    const lambda = new LambdaClient(observing(target.clientConfig('lambda')));
    try {
      let marker: string | undefined;
      do {
        const page = await lambda.send(
          new ListDurableExecutionsByFunctionCommand({
            FunctionName: target.durableFunctionName,
            Marker: marker,
          }),
        );
        for (const e of page.DurableExecutions ?? [])
          out.push(summary(e.DurableExecutionArn, e.Status, e.StartTimestamp, e.EndTimestamp));
        marker = page.NextMarker;
      } while (marker);
    } finally {
      lambda.destroy();
    }
    return out;
  }
  const sfn = new SFNClient(observing(target.clientConfig('stepfunctions')));
  try {
    let nextToken: string | undefined;
    do {
      const page = await sfn.send(
        new ListExecutionsCommand({ stateMachineArn: target.stateMachineArn, maxResults: 1000, nextToken }),
      );
      for (const e of page.executions ?? [])
        out.push(summary(e.executionArn, e.status, e.startDate, e.stopDate));
      nextToken = page.nextToken;
    } while (nextToken);
  } finally {
    sfn.destroy();
  }
  return out;
}

function summary(
  arn: string | undefined,
  status: string | undefined,
  started: Date | undefined,
  ended: Date | undefined,
): ExecutionSummary {
  return {
    arn: arn ?? '',
    status: status ?? 'RUNNING',
    ...(started ? { startedAt: started.getTime() } : {}),
    ...(ended ? { endedAt: ended.getTime() } : {}),
  };
}

/** Every item of the table, both prefixes and every kind (a full Scan, strongly consistent). */
export async function scanTable(target: Target): Promise<Record<string, NativeAttributeValue>[]> {
  const dynamodb = new DynamoDBClient(target.clientConfig('dynamodb'));
  try {
    const doc = DynamoDBDocumentClient.from(dynamodb);
    const items: Record<string, NativeAttributeValue>[] = [];
    let start: Record<string, NativeAttributeValue> | undefined;
    do {
      const page = await doc.send(
        new ScanCommand({ TableName: target.tableName, ConsistentRead: true, ExclusiveStartKey: start }),
      );
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  } finally {
    dynamodb.destroy();
  }
}

/**
 * The settings the orchestrators were deployed with, from the durable function's environment
 * (GetFunction): both orchestrators get the same ones from the one app definition. A setting left out
 * is its default, as the handler reads it (shared/config.ts).
 */
export async function readDeployedSettings(
  target: Target,
): Promise<Pick<Config, 'idleWindowSeconds' | 'leaseTtlSeconds' | 'jobRetentionDays'>> {
  const lambda = new LambdaClient(observing(target.clientConfig('lambda')));
  try {
    const out = await lambda.send(new GetFunctionCommand({ FunctionName: target.durableFunctionName }));
    const env = out.Configuration?.Environment?.Variables ?? {};
    const number = (key: 'idleWindowSeconds' | 'leaseTtlSeconds' | 'jobRetentionDays'): number => {
      const value = Number(env[CONFIG_ENV[key]]);
      return Number.isFinite(value) && value > 0 ? value : CONFIG_DEFAULTS[key];
    };
    return {
      idleWindowSeconds: number('idleWindowSeconds'),
      leaseTtlSeconds: number('leaseTtlSeconds'),
      jobRetentionDays: number('jobRetentionDays'),
    };
  } finally {
    lambda.destroy();
  }
}
