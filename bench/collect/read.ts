// What the collector reads from a target, through the services' own APIs and the AWS SDK clients the
// target configures: a user's job items from the table (both prefixes), and each execution's history
// (GetExecutionHistory, GetDurableExecutionHistory). The same calls read a deployed stack.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { readDurableHistory } from '../../metering/durable-history.ts';
import { readExecutionHistory } from '../../metering/sfn-history.ts';
import { JobStore, type Job } from '../../shared/job-store.ts';
import type { OrchestratorId } from '../report/results.ts';
import { durableFacts, sfnFacts, type ExecutionFacts } from './execution-facts.ts';
import type { Target } from './target.ts';

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
  const lambda = new LambdaClient(target.clientConfig('lambda'));
  const sfn = new SFNClient(target.clientConfig('stepfunctions'));
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
