// One orchestrator's jobs of a run, as results.json records them: each job item from the table joined
// with the facts of its executions (their histories) and the endpoint lifetimes SageMaker showed.
// Pure: the collector reads, this only joins and attributes, so a test can recount it by hand.
import type { Job } from '../../shared/job-store.ts';
import type {
  JobResult,
  OrchestratorId,
  Outcome,
  Phase,
  ScenarioParameters,
  Units,
  WaitModeId,
} from '../report/results.ts';
import type { EndpointLifetime } from './endpoint-watch.ts';
import type { ExecutionFacts } from './execution-facts.ts';

/** What a run measured for the whole of one orchestrator, split evenly over its jobs. */
export interface SharedTotals {
  dynamodbReadUnits: number;
  dynamodbWriteUnits: number;
  cloudwatchMetricValues: number;
  cloudwatchLogBytes: number;
}

export interface JobResultsInput {
  orchestrator: OrchestratorId;
  waitMode: WaitModeId;
  jobs: readonly Job[];
  /** When each upload's image was put, by job name (ms on the target's clock). */
  uploadedAt: ReadonlyMap<string, number>;
  /** The facts of every execution, by ARN. */
  facts: ReadonlyMap<string, ExecutionFacts>;
  lifetimes: readonly EndpointLifetime[];
  parameters: ScenarioParameters;
  /** Simulated seconds that `ms` of the target's timestamps stand for. */
  simulatedSeconds: (ms: number) => number;
  /** When the run ended (an endpoint still up then is billed until then). */
  endedMs: number;
  memoryMb: number;
  retentionDays: number;
  shared: SharedTotals;
}

const JOB_PHASES: Partial<Record<Phase, keyof Job['phases']>> = {
  admitted: 'RECEIVED',
  mask: 'MASK_READY',
  endpointAcquired: 'ENDPOINT_ACQUIRED',
  inService: 'ENDPOINT_READY',
  inferred: 'INFERRED',
};

const at = (iso: string | undefined): number | undefined => (iso === undefined ? undefined : Date.parse(iso));

/** Seconds after the upload at which the job reached each phase: the job item's, then its executions'. */
export function phasesOf(
  job: Job,
  facts: readonly ExecutionFacts[],
  uploadMs: number,
  seconds: (ms: number) => number,
): Partial<Record<Phase, number>> {
  const phases: Partial<Record<Phase, number>> = {};
  for (const [phase, status] of Object.entries(JOB_PHASES) as [Phase, keyof Job['phases']][]) {
    const t = at(job.phases[status]);
    if (t !== undefined) phases[phase] = seconds(t - uploadMs);
  }
  const recorded = at(job.phases.COMPLETED ?? job.phases.FAILED ?? job.phases.REJECTED);
  if (recorded !== undefined) phases.recorded = seconds(recorded - uploadMs);
  for (const moment of ['released', 'notified', 'stopped'] as const) {
    const t = facts.map((f) => f.moments[moment]).find((m) => m !== undefined);
    if (t !== undefined) phases[moment] = seconds(t - uploadMs);
  }
  return phases;
}

/** A job's executions' facts added up; `started`/`stoppedEndpoint` if any of them did. */
export function factsOf(job: Job, facts: ReadonlyMap<string, ExecutionFacts>): ExecutionFacts[] {
  const arns = new Set([...(job.createdBy ? [job.createdBy] : []), ...(job.executions ?? [])]);
  return [...arns].map((arn) => facts.get(arn)).filter((f): f is ExecutionFacts => f !== undefined);
}

const sum = (list: readonly ExecutionFacts[], key: keyof ExecutionFacts): number =>
  list.reduce((n, f) => n + (f[key] as number), 0);

function outcomeOf(job: Job): Outcome {
  if (job.status === 'COMPLETED' || job.status === 'FAILED' || job.status === 'REJECTED') return job.status;
  return 'TIMED_OUT';
}

interface Placed {
  job: Job;
  facts: ExecutionFacts[];
  lifetime?: EndpointLifetime;
  /** When its lease was released (its last use of the endpoint). */
  releasedMs?: number;
}

/** The lifetime a job's inference ran on: the one up when the job saw InService (or inferred). */
function lifetimeOf(job: Job, lifetimes: readonly EndpointLifetime[]): EndpointLifetime | undefined {
  const seen = at(job.phases.ENDPOINT_READY) ?? at(job.phases.INFERRED);
  if (seen === undefined) return undefined;
  return lifetimes.find((l) => l.createdMs <= seen && (l.deletedMs === undefined || seen <= l.deletedMs));
}

/**
 * Each job's share of the endpoint's bill, in simulated seconds, so that a lifetime's jobs add up to
 * it: the start (creation to InService) to the job that started it, the tail (last release to the
 * deletion's end: idle window and deletion) to the job whose stop deleted it, and the time between
 * split evenly among the jobs it served.
 */
export function gpuShares(
  placed: readonly Placed[],
  lifetimes: readonly EndpointLifetime[],
  endedMs: number,
  simulatedSeconds: (ms: number) => number,
): Map<Job, { instanceSeconds: number; idleTailSeconds: number }> {
  const shares = new Map<Job, { instanceSeconds: number; idleTailSeconds: number }>();
  for (const p of placed) shares.set(p.job, { instanceSeconds: 0, idleTailSeconds: 0 });
  for (const l of lifetimes) {
    const served = placed.filter((p) => p.lifetime === l);
    if (served.length === 0) continue;
    const end = l.deletedMs ?? endedMs;
    const inService = l.inServiceMs ?? end;
    const lastRelease = Math.min(end, Math.max(inService, ...served.map((p) => p.releasedMs ?? inService)));
    const starter = served.find((p) => p.facts.some((f) => f.started)) ?? served[0]!;
    const stopper = served.find((p) => p.facts.some((f) => f.stoppedEndpoint)) ?? served.at(-1)!;
    const start = simulatedSeconds(inService - l.createdMs);
    const tail = simulatedSeconds(end - lastRelease);
    const each = simulatedSeconds(lastRelease - inService) / served.length;
    for (const p of served) shares.get(p.job)!.instanceSeconds += each;
    shares.get(starter.job)!.instanceSeconds += start;
    shares.get(stopper.job)!.instanceSeconds += tail;
    shares.get(stopper.job)!.idleTailSeconds += tail;
  }
  return shares;
}

export function jobResults(input: JobResultsInput): JobResult[] {
  const { jobs, parameters: p } = input;
  const seconds = (ms: number): number => Math.round(input.simulatedSeconds(ms) * 1000) / 1000;
  const placed: Placed[] = jobs.map((job) => {
    const facts = factsOf(job, input.facts);
    const released = facts.map((f) => f.moments.released).filter((t): t is number => t !== undefined);
    const lifetime = lifetimeOf(job, input.lifetimes);
    return {
      job,
      facts,
      ...(lifetime ? { lifetime } : {}),
      ...(released.length ? { releasedMs: Math.max(...released) } : {}),
    };
  });
  const shares = gpuShares(placed, input.lifetimes, input.endedMs, input.simulatedSeconds);
  const n = Math.max(1, jobs.length);
  // Integer totals split so the jobs add up to them exactly: the remainder to the first jobs.
  const part = (total: number, i: number): number =>
    Math.floor(Math.round(total) / n) + (i < Math.round(total) % n ? 1 : 0);
  return placed.map(({ job, facts, lifetime }, i) => {
    const upload = input.uploadedAt.get(job.name) ?? Date.parse(job.createdAt);
    const phases = phasesOf(job, facts, upload, seconds);
    const started = facts.some((f) => f.started);
    const stoppedEndpoint = facts.some((f) => f.stoppedEndpoint);
    const acquired = at(job.phases.ENDPOINT_ACQUIRED);
    const inServiceWait =
      lifetime?.inServiceMs !== undefined && acquired !== undefined
        ? Math.max(0, seconds(lifetime.inServiceMs - (started ? lifetime.createdMs : acquired)))
        : 0;
    const inferences = sum(facts, 'inferenceAttempts');
    const share = shares.get(job) ?? { instanceSeconds: 0, idleTailSeconds: 0 };
    const units: Units = {
      stepFunctions: { stateTransitions: sum(facts, 'stateTransitions') },
      durable: {
        operationsBilled: sum(facts, 'operationsBilled'),
        operationsDistinct: sum(facts, 'operationsDistinct'),
        bytesWritten: sum(facts, 'bytesWritten'),
        bytesRetained: sum(facts, 'bytesWritten'),
        retentionDays: input.orchestrator === 'ldf' ? input.retentionDays : 0,
      },
      lambda: {
        requests: sum(facts, 'lambdaRequests'),
        gbSeconds: (sum(facts, 'lambdaMs') / 1000) * (input.memoryMb / 1024),
        architecture: 'arm64',
      },
      dynamodb: {
        readRequestUnits: input.shared.dynamodbReadUnits / n,
        writeRequestUnits: input.shared.dynamodbWriteUnits / n,
      },
      // The upload's two Object Created events (free on the default bus) and the job's notification.
      eventbridge: { customEvents: sum(facts, 'notifications'), awsServiceEvents: 2 },
      // Each inference reads the image and mask; each mask look is a HEAD; the PLY or error is a PUT.
      s3: {
        tier1Requests: (job.outputKey ? 1 : 0) + sum(facts, 'failureReports'),
        tier2Requests: sum(facts, 'maskLooks') + 2 * inferences,
      },
      cloudwatch: {
        metricValues: part(input.shared.cloudwatchMetricValues, i),
        logBytes: part(input.shared.cloudwatchLogBytes, i),
      },
      sagemaker: {
        endpointStarts: started ? 1 : 0,
        instanceSeconds: Math.round(share.instanceSeconds * 1000) / 1000,
        idleTailSeconds: Math.round(share.idleTailSeconds * 1000) / 1000,
      },
    };
    const completed = job.status === 'COMPLETED' && phases.recorded !== undefined;
    return {
      jobId: job.jobId,
      orchestrator: input.orchestrator,
      waitMode: input.waitMode,
      shape: started || inServiceWait > 0 ? 'cold' : 'warm',
      started,
      stoppedEndpoint,
      outcome: outcomeOf(job),
      ...(job.reason ? { error: job.reason } : {}),
      latency: { uploadToResultSeconds: completed ? phases.recorded! : null, phases },
      physical: {
        inServiceWaitSeconds: inServiceWait,
        inferenceSeconds: p.inferenceSeconds,
        ...(stoppedEndpoint ? { deleteSeconds: p.endpointDeleteSeconds } : {}),
      },
      units,
    };
  });
}
