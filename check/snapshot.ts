// What the invariant checker looks at, read from a Target through the collectors' readers
// (bench/collect/read.ts) and the lifecycle's own reads: every table item (both prefixes), each
// orchestrator's executions as its service lists them and what each one's history says it started and
// stopped, each endpoint's item and what SageMaker says of it, and the deployed settings. The checks
// (invariants.ts) are pure functions of this, so a test can build any state and see each check fail.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { ExecutionFacts } from '../bench/collect/execution-facts.ts';
import {
  listExecutions,
  readDeployedSettings,
  readFacts,
  scanTable,
  type ExecutionSummary,
} from '../bench/collect/read.ts';
import type { Target } from '../bench/collect/target.ts';
import { EndpointStore, type EndpointItem } from '../shared/endpoint-lifecycle/endpoint-store.ts';
import { sageMakerControl, type SageMakerState } from '../shared/endpoint-lifecycle/sagemaker-control.ts';
import { isEnding } from '../shared/job-model.ts';
import { toJob, type Job } from '../shared/job-store.ts';
import { ORCHESTRATORS, type Orchestrator } from '../shared/keys.ts';
import { TABLE_SPEC } from '../shared/table-spec.ts';
import { orchestratorOfKey } from '../shared/table-keys.ts';
import { observing } from '../shared/aws.ts';

/** One execution: its listing, and what its history says it did to the endpoint. */
export interface ExecutionRecord extends ExecutionSummary {
  orchestrator: Orchestrator;
  /** Its starts SageMaker answered by creating the endpoint, with the generation each started. */
  creates: { generation?: number; at?: number }[];
  /** When its idle stop moved the endpoint to Stopping (ms), if it did. */
  stopBegan?: number;
}

/** One orchestrator's endpoint: the item that governs it and SageMaker's answer for it. */
export interface EndpointRecord {
  orchestrator: Orchestrator;
  name: string;
  /** The lifecycle item (a missing one reads as Stopped at generation 0, as the protocol reads it). */
  item: EndpointItem;
  sageMaker: SageMakerState;
}

export interface Snapshot {
  /** The target's time when read (ms), never before the latest moment the snapshot records. */
  now: number;
  /** The deployed idle window and job retention (shared/config.ts), in ms. */
  idleWindowMs: number;
  jobRetentionMs: number;
  /** Every item in the table, as DynamoDB holds it (keys included). */
  items: Record<string, unknown>[];
  executions: ExecutionRecord[];
  endpoints: EndpointRecord[];
  /** The endpoint name each orchestrator uses (the target's), to tell whose endpoint an item names. */
  endpointNames: Record<Orchestrator, string>;
}

/**
 * Reads everything the checks need from the target, through the same APIs locally and on AWS. The
 * order makes a live system read consistently: the table first, then the executions, so every
 * execution a job item names is either listed or read by its own history; then every job not yet
 * ended (or still waiting for its mask) again, and the endpoint items last: an execution listed as
 * ended had recorded its job and released its lease before it ended, so those later reads show it.
 */
export async function readSnapshot(
  target: Target,
  onProgress: (text: string) => void = () => undefined,
): Promise<Snapshot> {
  onProgress('reading the settings and the table');
  const settings = await readDeployedSettings(target);
  let items = await scanTable(target);
  const executions: ExecutionRecord[] = [];
  for (const o of ORCHESTRATORS) {
    const listed = await listExecutions(target, o);
    onProgress(`reading ${listed.length} ${o} execution histories`);
    const facts = await readFacts(
      target,
      o,
      listed.map((e) => e.arn),
    );
    for (const e of listed) executions.push(record(o, e, facts.get(e.arn)));
  }
  // An execution that began after the scan may have admitted its job and ended since: read the table
  // again so its job is there (only when some ended execution is named by no job item).
  if (executions.some((e) => e.status !== 'RUNNING' && !namedBy(items).has(e.arn)))
    items = await scanTable(target);
  // Executions a job names that the listings left out (past the listing's retention, or a name that
  // is no execution at all): their own history says how they ended, or that they are gone.
  const listed = new Set(executions.map((e) => e.arn));
  for (const [arn, o] of namedBy(items)) {
    if (listed.has(arn)) continue;
    const found = await readOne(target, o, arn);
    if (found) executions.push(found);
  }
  items = await rereadUnfinishedJobs(target, items);
  onProgress('reading the endpoints');
  const dynamodb = new DynamoDBClient(target.clientConfig('dynamodb'));
  const sagemaker = new SageMakerClient(observing(target.clientConfig('sagemaker')));
  const endpoints: EndpointRecord[] = [];
  try {
    const doc = DynamoDBDocumentClient.from(dynamodb);
    const control = sageMakerControl(sagemaker);
    for (const o of ORCHESTRATORS) {
      const name = target.endpointNames[o];
      const item = await new EndpointStore(doc, target.tableName, o).get(name);
      endpoints.push({ orchestrator: o, name, item, sageMaker: await control.describe(name) });
    }
  } finally {
    dynamodb.destroy();
    sagemaker.destroy();
  }
  return {
    now: Math.max(target.now(), latestMoment(items, executions, endpoints)),
    idleWindowMs: settings.idleWindowSeconds * 1000,
    jobRetentionMs: settings.jobRetentionDays * 86_400_000,
    items,
    executions,
    endpoints,
    endpointNames: target.endpointNames,
  };
}

function record(o: Orchestrator, e: ExecutionSummary, facts: ExecutionFacts | undefined): ExecutionRecord {
  return {
    ...e,
    orchestrator: o,
    creates: facts?.creates ?? [],
    ...(facts?.moments.stopBegan === undefined ? {} : { stopBegan: facts.moments.stopBegan }),
  };
}

/** A stored key attribute as text (a key of the wrong type shows as its JSON). */
export function keyText(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? '');
}

/** Every execution ARN a job item names, with the job's orchestrator. */
function namedBy(items: Record<string, unknown>[]): Map<string, Orchestrator> {
  const named = new Map<string, Orchestrator>();
  for (const item of items) {
    const job = jobOf(item);
    if (!job) continue;
    for (const arn of [job.createdBy, ...(job.executions ?? [])]) if (arn) named.set(arn, job.orchestrator);
  }
  return named;
}

function jobOf(item: Record<string, unknown>): Job | undefined {
  const sk = keyText(item[TABLE_SPEC.sortKey]);
  const o = orchestratorOfKey(sk);
  return o !== undefined && sk.startsWith(`${o}#job#`) ? toJob(item) : undefined;
}

/** Errors that say there is no such execution (or the name is not one). */
const NOT_FOUND = /NotFound|DoesNotExist|InvalidArn|ValidationException|InvalidParameterValue/;

/** One execution by its history alone; undefined when its service has none by that name. */
async function readOne(target: Target, o: Orchestrator, arn: string): Promise<ExecutionRecord | undefined> {
  try {
    const facts = (await readFacts(target, o, [arn])).get(arn);
    // A running execution is in its listing; one that is not and reads as running has no history at
    // all (a name that is no execution, which a service may answer with an empty history).
    return facts && facts.status !== 'RUNNING' ? record(o, { arn, status: facts.status }, facts) : undefined;
  } catch (err) {
    if (NOT_FOUND.test((err as Error).name ?? '')) return undefined;
    throw err;
  }
}

/** The table's items with every job that had not ended (or still had a mask waiter) read again. */
async function rereadUnfinishedJobs(
  target: Target,
  items: Record<string, unknown>[],
): Promise<Record<string, unknown>[]> {
  const dynamodb = new DynamoDBClient(target.clientConfig('dynamodb'));
  try {
    const doc = DynamoDBDocumentClient.from(dynamodb);
    const out: Record<string, unknown>[] = [];
    for (const item of items) {
      const job = jobOf(item);
      if (!job || (isEnding(job.status) && job.maskWaiter === undefined)) {
        out.push(item);
        continue;
      }
      const again = await doc.send(
        new GetCommand({
          TableName: target.tableName,
          Key: {
            [TABLE_SPEC.partitionKey]: item[TABLE_SPEC.partitionKey],
            [TABLE_SPEC.sortKey]: item[TABLE_SPEC.sortKey],
          },
          ConsistentRead: true,
        }),
      );
      if (again.Item) out.push(again.Item);
    }
    return out;
  } finally {
    dynamodb.destroy();
  }
}

/**
 * The latest moment anything recorded. A running local cloud seen from another process has a clock
 * this process cannot read (scale:N runs ahead of real time, skip jumps), so its "now" is at least
 * this: the idle check then errs towards no alarm, never a false one.
 */
function latestMoment(
  items: Record<string, unknown>[],
  executions: ExecutionRecord[],
  endpoints: EndpointRecord[],
): number {
  let latest = 0;
  const see = (t: unknown): void => {
    const ms = typeof t === 'number' ? t : typeof t === 'string' ? Date.parse(t) : NaN;
    if (Number.isFinite(ms) && ms > latest) latest = ms;
  };
  for (const item of items) see(item.updatedAt);
  for (const e of executions) {
    see(e.startedAt);
    see(e.endedAt);
  }
  for (const e of endpoints) {
    see(e.item.lastReleaseAt);
    see(e.item.inServiceAt);
    see(e.item.stoppingAt);
  }
  return latest;
}
