// The invariants every run of both orchestrators must keep (design: "Endpoint lifecycle protocol",
// "Single table"), each a pure function of a Snapshot (snapshot.ts) that returns its violations: the
// job, the execution and the endpoint involved, what is wrong, and what to do about it. `dvs check`
// prints them (cli/check.ts); the scenario contract asserts there are none after every scenario.
import { liveLeases } from '../shared/endpoint-lifecycle/endpoint-store.ts';
import { isEnding, type JobStatus } from '../shared/job-model.ts';
import { toJob, type Job } from '../shared/job-store.ts';
import type { Orchestrator } from '../shared/keys.ts';
import { TABLE_SPEC } from '../shared/table-spec.ts';
import { keyPrefix, orchestratorOfKey, tableKey } from '../shared/table-keys.ts';
import { keyText, type EndpointRecord, type ExecutionRecord, type Snapshot } from './snapshot.ts';

/** Each invariant by its id, with what it holds. */
export const INVARIANTS = {
  'jobs-end': 'every admitted job is in a final state once its execution ended',
  'executions-agree': "every ended execution and its job's status agree",
  'idle-endpoint': 'no endpoint running past its idle window',
  'nothing-left': 'no lease or waiter left once its executions ended',
  'one-start-per-generation': 'at most one CreateEndpoint per generation',
  'no-stop-under-lease': 'no stop while a job was using the endpoint',
  'prefixes-apart': 'sf# and ldf# items never cross',
} as const;
export type Invariant = keyof typeof INVARIANTS;

export interface Violation {
  invariant: Invariant;
  orchestrator?: Orchestrator;
  job?: { userId: string; jobId: string; name?: string; status?: string };
  execution?: string;
  endpoint?: string;
  /** What is wrong, with the facts that show it. */
  problem: string;
  /** What to do about it. */
  fix: string;
}

export interface CheckOptions {
  /** Slack past the idle window before a serving endpoint counts as forgotten (ms). */
  marginMs: number;
}

export const CHECK_DEFAULTS: CheckOptions = { marginMs: 60_000 };

/** Every violation the snapshot shows, invariant by invariant. */
export function checkInvariants(s: Snapshot, options: CheckOptions = CHECK_DEFAULTS): Violation[] {
  const view = viewOf(s);
  return [
    ...jobsEnd(view),
    ...executionsAgree(view),
    ...idleEndpoints(view, options),
    ...nothingLeft(view),
    ...oneStartPerGeneration(view),
    ...noStopUnderLease(view),
    ...prefixesApart(view),
  ];
}

/** An execution status that is not an ending (PENDING_REDRIVE: a failed Step Functions run may go on). */
const isRunning = (status: string): boolean => status === 'RUNNING' || status === 'PENDING_REDRIVE';

/** The snapshot indexed for the checks. */
interface View {
  s: Snapshot;
  jobs: Job[];
  /** Job items by orchestrator and job id. */
  jobById: Record<Orchestrator, Map<string, Job>>;
  executionByArn: Map<string, ExecutionRecord>;
}

function viewOf(s: Snapshot): View {
  const jobs: Job[] = [];
  const jobById: View['jobById'] = { sf: new Map(), ldf: new Map() };
  for (const item of s.items) {
    const o = orchestratorOfKey(keyText(item[TABLE_SPEC.sortKey]));
    if (o === undefined || !keyText(item[TABLE_SPEC.sortKey]).startsWith(`${keyPrefix(o)}job#`)) continue;
    const job = toJob(item);
    jobs.push(job);
    jobById[o].set(job.jobId, job);
  }
  return { s, jobs, jobById, executionByArn: new Map(s.executions.map((e) => [e.arn, e])) };
}

/** The executions a job names: the one that admitted it first, then any duplicate delivery's. */
function executionsOf(job: Job): string[] {
  return [...new Set([...(job.createdBy ? [job.createdBy] : []), ...(job.executions ?? [])])];
}

function jobRef(job: Job): NonNullable<Violation['job']> {
  return { userId: job.userId, jobId: job.jobId, name: job.name, status: job.status };
}

const SERVICE: Record<Orchestrator, string> = { sf: 'Step Functions', ldf: 'Lambda' };

/** How to see an execution's ending and error with the AWS CLI. */
function describeCommand(o: Orchestrator, arn: string): string {
  return o === 'sf'
    ? `aws stepfunctions describe-execution --execution-arn ${arn}`
    : `aws lambda get-durable-execution --durable-execution-arn '${arn}'`;
}

/** The execution's ending as a phrase: `ended FAILED at …`, or unknown to its service. */
function ending(o: Orchestrator, arn: string, e: ExecutionRecord | undefined): string {
  if (e === undefined)
    return `${arn} is unknown to ${SERVICE[o]} (past its retention, or never an execution)`;
  return `${arn} ended ${e.status}${e.endedAt === undefined ? '' : ` at ${new Date(e.endedAt).toISOString()}`}`;
}

function jobsEnd(v: View): Violation[] {
  const out: Violation[] = [];
  for (const job of v.jobs) {
    if (isEnding(job.status)) continue;
    const arns = executionsOf(job);
    const seen = arns.map((arn) => v.executionByArn.get(arn));
    if (seen.some((e) => e !== undefined && isRunning(e.status))) continue;
    const o = job.orchestrator;
    out.push({
      invariant: 'jobs-end',
      orchestrator: o,
      job: jobRef(job),
      ...(arns[0] === undefined ? {} : { execution: arns[0] }),
      problem:
        arns.length === 0
          ? `job is ${job.status} and names no execution that could end it`
          : `job is still ${job.status} though every execution that ran it has ended: ${arns.map((arn, i) => ending(o, arn, seen[i])).join('; ')}`,
      fix: `the platform ended the execution outside the workflow (a timeout, a stop, a crash that never resumed); see its error with \`${describeCommand(o, arns[0] ?? 'ARN')}\`, record the job FAILED with that error, release its lease, and upload the image again to rerun it`,
    });
  }
  return out;
}

/** The job statuses an execution's ending stands for (both orchestrators end the same way). */
function agreeingStatuses(executionStatus: string): readonly JobStatus[] {
  // A completed or rejected job's execution succeeds; a failed job's execution fails with the job's
  // error; an execution the platform ended (timeout, stop) leaves a job that can only have FAILED.
  return executionStatus === 'SUCCEEDED' ? ['COMPLETED', 'REJECTED'] : ['FAILED'];
}

function executionsAgree(v: View): Violation[] {
  const out: Violation[] = [];
  const named = new Set<string>();
  for (const job of v.jobs) {
    const o = job.orchestrator;
    for (const arn of executionsOf(job)) {
      named.add(arn);
      const e = v.executionByArn.get(arn);
      if (e === undefined || isRunning(e.status) || !isEnding(job.status)) continue;
      const duplicate = arn !== (job.createdBy ?? arn);
      // A duplicate delivery's execution joins the job and succeeds: the job is the first one's.
      const agreeing = duplicate ? ['SUCCEEDED'] : agreeingStatuses(e.status);
      if (duplicate ? e.status === 'SUCCEEDED' : agreeing.includes(job.status)) continue;
      out.push({
        invariant: 'executions-agree',
        orchestrator: o,
        job: jobRef(job),
        execution: arn,
        problem: duplicate
          ? `a duplicate delivery's execution ${arn} ended ${e.status}; joining a job ends SUCCEEDED`
          : `execution ended ${e.status} but its job is ${job.status} (an execution that ended ${e.status} leaves a job ${agreeing.join(' or ')})`,
        fix: `compare the job item with the execution's history (\`${describeCommand(o, arn)}\`): the workflow recorded one outcome and ended with another; the step after the recorded outcome that failed is the bug to fix`,
      });
    }
  }
  for (const e of v.s.executions) {
    if (isRunning(e.status) || named.has(e.arn)) continue;
    // Job items live for the retention period; an older execution's job may be gone by design.
    if (e.startedAt !== undefined && e.startedAt < v.s.now - v.s.jobRetentionMs) continue;
    out.push({
      invariant: 'executions-agree',
      orchestrator: e.orchestrator,
      execution: e.arn,
      problem: `execution ${ending(e.orchestrator, e.arn, e)}, but no ${e.orchestrator}# job item names it: it ended before admitting its upload`,
      fix: `see why with \`${describeCommand(e.orchestrator, e.arn)}\`: every upload must end as a job item (REJECTED with a reason when it cannot be processed), never as a bare failed execution`,
    });
  }
  return out;
}

const iso = (ms: number): string => new Date(ms).toISOString();

function idleEndpoints(v: View, options: CheckOptions): Violation[] {
  const out: Violation[] = [];
  const { now, idleWindowMs } = v.s;
  for (const e of v.s.endpoints) {
    const { item, sageMaker: sm } = e;
    const serving = sm.status !== 'missing' && sm.status !== 'Failed' && sm.status !== 'Deleting';
    if (!serving) continue;
    const base = { invariant: 'idle-endpoint' as const, orchestrator: e.orchestrator, endpoint: e.name };
    const deleteIt = `delete it with \`aws sagemaker delete-endpoint --endpoint-name ${e.name}\``;
    if (item.state === 'InService') {
      if (liveLeases(item, now).length > 0) continue;
      // Idle since the last thing that could keep it: serving, a release, or a lease running out.
      const expiries = Object.values(item.leases);
      const since = Math.max(item.lastReleaseAt ?? 0, item.inServiceAt ?? 0, ...expiries);
      if (now - since <= idleWindowMs + options.marginMs) continue;
      out.push({
        ...base,
        problem: `endpoint is InService in SageMaker (${sm.status}) and its item, with no live lease, idle since ${iso(since)}: ${Math.round((now - since) / 1000)} s, past the idle window of ${idleWindowMs / 1000} s`,
        fix: `the last job's idle stop did not run (its execution ended early, or its lease ran out); ${deleteIt}: the next job finds it gone and starts a new generation`,
      });
    } else if (item.state === 'Stopped') {
      out.push({
        ...base,
        problem: `SageMaker has endpoint ${e.name} ${sm.status}, but its item says Stopped (generation ${item.generation}): nothing governs it, and nothing will stop it`,
        fix: `it was created outside the lifecycle (or its item was reset); ${deleteIt}`,
      });
    } else if (item.state === 'Stopping' && now - (item.stoppingAt ?? now) > options.marginMs) {
      out.push({
        ...base,
        problem: `the stop of generation ${item.generation} began at ${iso(item.stoppingAt!)}, yet SageMaker still has the endpoint ${sm.status}`,
        fix: `the DeleteEndpoint was lost; ${deleteIt} (the next acquire then finishes the stop)`,
      });
    }
  }
  return out;
}

function endpointKeyCommand(e: EndpointRecord, path: string): string {
  const p = keyPrefix(e.orchestrator);
  return `aws dynamodb update-item --table-name TABLE --key '{"pk":{"S":"${p}endpoint#${e.name}"},"sk":{"S":"${p}lease"}}' --update-expression 'REMOVE ${path}'`;
}

function nothingLeft(v: View): Violation[] {
  const out: Violation[] = [];
  const allEnded = (o: Orchestrator): boolean =>
    v.s.executions.every((e) => e.orchestrator !== o || !isRunning(e.status));
  /** The job holding something, and whether every execution it names has ended. */
  const holder = (o: Orchestrator, jobId: string): { job?: Job; ended: boolean } => {
    const job = v.jobById[o].get(jobId);
    if (job === undefined) return { ended: allEnded(o) };
    const ended = executionsOf(job).every((arn) => {
      const e = v.executionByArn.get(arn);
      return e === undefined || !isRunning(e.status);
    });
    return { job, ended };
  };
  for (const e of v.s.endpoints) {
    const held: [string, 'lease' | 'waiter', string][] = [
      ...Object.keys(e.item.leases).map((id): [string, 'lease', string] => [id, 'lease', `leases.#j`]),
      ...Object.keys(e.item.waiters).map((id): [string, 'waiter', string] => [id, 'waiter', `waiters.#j`]),
    ];
    for (const [jobId, what, path] of held) {
      const { job, ended } = holder(e.orchestrator, jobId);
      if (!ended) continue;
      out.push({
        invariant: 'nothing-left',
        orchestrator: e.orchestrator,
        endpoint: e.name,
        job: job ? jobRef(job) : { userId: '?', jobId },
        ...(job && executionsOf(job)[0] ? { execution: executionsOf(job)[0]! } : {}),
        problem:
          what === 'lease'
            ? `job ${jobId} still holds a lease on ${e.name} (expiring ${iso(e.item.leases[jobId]!)}) though ${job ? 'every execution of the job' : `no job item of that id exists and every ${e.orchestrator} execution`} has ended`
            : `a waiter of job ${jobId} (${e.item.waiters[jobId]!.kind}) is still registered on ${e.name} though ${job ? 'every execution of the job' : `every ${e.orchestrator} execution`} has ended`,
        fix:
          what === 'lease'
            ? `a lease left behind keeps the endpoint from stopping until it expires; remove it: \`${endpointKeyCommand(e, path)} --expression-attribute-names '{"#j":"${jobId}"}'\``
            : `nobody waits on it any more; remove it: \`${endpointKeyCommand(e, path)} --expression-attribute-names '{"#j":"${jobId}"}'\``,
      });
    }
  }
  for (const job of v.jobs) {
    if (job.maskWaiter === undefined || !holder(job.orchestrator, job.jobId).ended) continue;
    out.push({
      invariant: 'nothing-left',
      orchestrator: job.orchestrator,
      job: jobRef(job),
      ...(executionsOf(job)[0] ? { execution: executionsOf(job)[0]! } : {}),
      problem: `job still has a mask waiter (${job.maskWaiter.kind}) though every execution of the job has ended`,
      fix: `the wait ended without claiming its waiter; remove maskWaiter from the job item (pk ${tableKey(job.orchestrator, 'user', job.userId)}, sk ${tableKey(job.orchestrator, 'job', job.jobId)})`,
    });
  }
  return out;
}

function oneStartPerGeneration(v: View): Violation[] {
  const out: Violation[] = [];
  for (const e of v.s.endpoints) {
    const starts = v.s.executions
      .filter((x) => x.orchestrator === e.orchestrator)
      .flatMap((x) => x.creates.map((c) => ({ ...c, arn: x.arn })));
    const base = {
      invariant: 'one-start-per-generation' as const,
      orchestrator: e.orchestrator,
      endpoint: e.name,
    };
    const fix = `two jobs each believed they were the starter: read the acquire and start steps of these executions (\`${describeCommand(e.orchestrator, 'ARN')}\` and its history); only the conditional Stopped → Starting write may make a starter`;
    const byGeneration = new Map<number, string[]>();
    for (const start of starts) {
      if (start.generation === undefined) continue;
      byGeneration.set(start.generation, [...(byGeneration.get(start.generation) ?? []), start.arn]);
    }
    for (const [generation, arns] of byGeneration) {
      if (arns.length > 1)
        out.push({
          ...base,
          execution: arns[0]!,
          problem: `${arns.length} CreateEndpoint calls for generation ${generation}, by ${arns.join(', ')}`,
          fix,
        });
      if (generation > e.item.generation)
        out.push({
          ...base,
          execution: arns[0]!,
          problem: `a CreateEndpoint for generation ${generation}, which the endpoint item (at generation ${e.item.generation}) never reached`,
          fix: `the item was reset or rewritten outside the lifecycle; ${fix}`,
        });
    }
    if (starts.length > e.item.generation)
      out.push({
        ...base,
        ...(starts[0] ? { execution: starts[0].arn } : {}),
        problem: `${starts.length} CreateEndpoint calls in the executions' histories, but the endpoint item has started only ${e.item.generation} generation(s)`,
        fix,
      });
  }
  return out;
}

/** When a job was using its endpoint: from taking its lease to its inference's end (or its ending). */
function usage(job: Job, now: number): { from: number; to: number } | undefined {
  const t = (status: JobStatus): number | undefined => {
    const at = job.phases[status];
    return at === undefined ? undefined : Date.parse(at);
  };
  // A job that never found its endpoint ready never used it (a failed start drops its lease).
  if (t('ENDPOINT_READY') === undefined) return undefined;
  const from = t('ENDPOINT_ACQUIRED') ?? t('ENDPOINT_READY')!;
  const to = t('INFERRED') ?? t('COMPLETED') ?? t('FAILED') ?? t('REJECTED') ?? now;
  return { from, to };
}

function noStopUnderLease(v: View): Violation[] {
  const out: Violation[] = [];
  for (const e of v.s.endpoints) {
    const stops = new Map<number, string | undefined>();
    for (const x of v.s.executions)
      if (x.orchestrator === e.orchestrator && x.stopBegan !== undefined) stops.set(x.stopBegan, x.arn);
    if (e.item.stoppingAt !== undefined && !stops.has(e.item.stoppingAt))
      stops.set(e.item.stoppingAt, undefined);
    for (const job of v.jobs) {
      if (job.orchestrator !== e.orchestrator) continue;
      const used = usage(job, v.s.now);
      if (used === undefined) continue;
      for (const [at, by] of stops) {
        if (at <= used.from || at >= used.to) continue;
        out.push({
          invariant: 'no-stop-under-lease',
          orchestrator: e.orchestrator,
          endpoint: e.name,
          job: jobRef(job),
          ...(by === undefined ? {} : { execution: by }),
          problem: `the endpoint's stop began at ${iso(at)}${by ? ` (by ${by})` : ' (the item records it)'} while job ${job.jobId} was using it (lease from ${iso(used.from)} to ${iso(used.to)})`,
          fix: `a stop must find no live lease and an unchanged item version; check the lease TTL is longer than a job's longest hold (LEASE_TTL_SECONDS), and read the stopping execution's begin-stop step`,
        });
      }
    }
  }
  return out;
}

/** The orchestrator an execution ARN belongs to: Step Functions' (sf) or a Lambda function's (ldf). */
export function orchestratorOfExecution(arn: string): Orchestrator | undefined {
  if (/^arn:aws[a-z-]*:states:/.test(arn)) return 'sf';
  if (/^arn:aws[a-z-]*:lambda:/.test(arn)) return 'ldf';
  return undefined;
}

const WAITER_KIND: Record<Orchestrator, string> = { sf: 'sfn-task-token', ldf: 'durable-callback' };

function prefixesApart(v: View): Violation[] {
  const out: Violation[] = [];
  const fix = (o: Orchestrator | undefined): string =>
    `one orchestrator wrote the other's data: every key and reference of a ${o ?? '?'}# item is built with that orchestrator's own prefix (shared/table-keys.ts); find the writer and fix it, then delete or correct the item`;
  const other = (o: Orchestrator): Orchestrator => (o === 'sf' ? 'ldf' : 'sf');
  for (const item of v.s.items) {
    const keys = [
      TABLE_SPEC.partitionKey,
      TABLE_SPEC.sortKey,
      TABLE_SPEC.gsi1.partitionKey,
      TABLE_SPEC.gsi1.sortKey,
    ];
    const pk = keyText(item[TABLE_SPEC.partitionKey]);
    const sk = keyText(item[TABLE_SPEC.sortKey]);
    const o = orchestratorOfKey(pk);
    const where = `item (pk ${pk}, sk ${sk})`;
    const problems: string[] = [];
    if (o === undefined) problems.push('its partition key has no orchestrator prefix (sf# or ldf#)');
    for (const k of keys.slice(1)) {
      const value = item[k];
      if (value !== undefined && o !== undefined && orchestratorOfKey(keyText(value)) !== o)
        problems.push(`its ${k} '${keyText(value)}' does not start with ${o}#`);
    }
    if (o !== undefined && sk.startsWith(`${o}#job#`)) {
      const job = toJob(item);
      if (job.orchestrator !== o) problems.push(`it says it is a job of orchestrator '${job.orchestrator}'`);
      for (const arn of executionsOf(job))
        if (orchestratorOfExecution(arn) === other(o))
          problems.push(`it names the ${other(o)} execution ${arn}`);
      for (const key of [job.outputKey, job.errorKey])
        if (key?.includes(`/output/${other(o)}/`))
          problems.push(`its artifact key ${key} is the ${other(o)} orchestrator's`);
      if (job.maskWaiter && job.maskWaiter.kind !== WAITER_KIND[o])
        problems.push(`its mask waiter is a ${job.maskWaiter.kind}, the ${other(o)} orchestrator's kind`);
      if (problems.length > 0)
        out.push({
          invariant: 'prefixes-apart',
          orchestrator: o,
          job: jobRef(job),
          problem: `${where}: ${problems.join('; ')}`,
          fix: fix(o),
        });
      continue;
    }
    if (o !== undefined && sk === `${o}#lease`) {
      const name = pk.slice(`${o}#endpoint#`.length);
      if (name === v.s.endpointNames[other(o)])
        problems.push(`it governs the ${other(o)} orchestrator's endpoint ${name}`);
      const waiters = (item.waiters ?? {}) as Record<string, { kind?: string }>;
      for (const [jobId, w] of Object.entries(waiters))
        if (w.kind !== WAITER_KIND[o])
          problems.push(`job ${jobId}'s waiter is a ${String(w.kind)}, the ${other(o)} orchestrator's kind`);
      for (const jobId of Object.keys(item.leases ?? {}))
        if (!v.jobById[o].has(jobId) && v.jobById[other(o)].has(jobId))
          problems.push(`its lease is held by job ${jobId}, which only the ${other(o)} orchestrator has`);
    }
    if (problems.length > 0)
      out.push({
        invariant: 'prefixes-apart',
        ...(o ? { orchestrator: o } : {}),
        ...(o !== undefined && sk === `${o}#lease` ? { endpoint: pk.slice(`${o}#endpoint#`.length) } : {}),
        problem: `${where}: ${problems.join('; ')}`,
        fix: fix(o),
      });
  }
  return out;
}
