// What the console page shows, read from a target through the AWS SDK clients it configures: the
// deployed comparison dashboard (GetDashboard) and each widget's series (GetMetricData), the recent
// uploads (the job table, both prefixes), and one upload's executions as timelines (ListExecutions is
// not needed: each job item names its executions; GetExecutionHistory, GetDurableExecutionHistory).
import { CloudWatchClient, GetDashboardCommand } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { durableFacts, sfnFacts, type ExecutionFacts } from '../bench/collect/execution-facts.ts';
import { phasesOf } from '../bench/collect/job-results.ts';
import { executionArns } from '../bench/collect/read.ts';
import type { Target } from '../bench/collect/target.ts';
import { PHASES, type Phase } from '../bench/report/results.ts';
import { PHASE_LABELS } from '../bench/scenario/upload.ts';
import { readUploads, type UploadStatus } from '../cli/status.ts';
import type { DashboardBody } from '../dashboards/comparison.ts';
import { readWidgetSeries, type Series } from '../dashboards/widget-data.ts';
import { readDurableHistory } from '../metering/durable-history.ts';
import { readExecutionHistory } from '../metering/sfn-history.ts';
import { JobStore, type Job } from '../shared/job-store.ts';
import { ORCHESTRATORS, type Orchestrator } from '../shared/keys.ts';
import { durableTimeline, sfnTimeline, type ExecutionTimeline, type Lane } from './timeline.ts';
import { observing } from '../shared/aws.ts';

/** The target's clients, made once per console and closed with it. */
export interface ConsoleClients {
  cloudWatch: CloudWatchClient;
  dynamodb: DynamoDBClient;
  store: JobStore;
  lambda: LambdaClient;
  sfn: SFNClient;
  destroy(): void;
}

export function consoleClients(target: Target): ConsoleClients {
  const cloudWatch = new CloudWatchClient(observing(target.clientConfig('cloudwatch')));
  const dynamodb = new DynamoDBClient(target.clientConfig('dynamodb'));
  const lambda = new LambdaClient(observing(target.clientConfig('lambda')));
  const sfn = new SFNClient(observing(target.clientConfig('stepfunctions')));
  return {
    cloudWatch,
    dynamodb,
    store: new JobStore(DynamoDBDocumentClient.from(dynamodb), target.tableName, { retentionDays: 1 }),
    lambda,
    sfn,
    destroy: () => [cloudWatch, dynamodb, lambda, sfn].forEach((c) => c.destroy()),
  };
}

/** The dashboard body the deployment put in its CloudWatch, as GetDashboard returns it. */
export async function readDashboard(clients: ConsoleClients, name: string): Promise<DashboardBody> {
  const { DashboardBody: body } = await clients.cloudWatch.send(
    new GetDashboardCommand({ DashboardName: name }),
  );
  if (body === undefined) throw new Error(`GetDashboard returned no body for ${name}`);
  return JSON.parse(body) as DashboardBody;
}

/** One widget as the page draws it. */
export interface WidgetView {
  /** Its index in the body's `widgets`. */
  index: number;
  title: string;
  view: string;
  /** The period its points are over, in seconds. */
  period: number;
  series: Series[];
}

/**
 * Every metric widget of the body over [start, end]. `periodOverride` replaces each widget's period
 * (the viewer's choice, as the CloudWatch console's period setting does); a single-value widget with
 * `setPeriodToTimeRange` always takes the range.
 */
export async function readWidgets(
  clients: ConsoleClients,
  body: DashboardBody,
  start: Date,
  end: Date,
  periodOverride?: number,
): Promise<WidgetView[]> {
  const metricWidgets = body.widgets.map((w, index) => ({ w, index })).filter(({ w }) => w.type === 'metric');
  return Promise.all(
    metricWidgets.map(async ({ w, index }) => {
      const props = w.properties as {
        title?: string;
        view?: string;
        period?: number;
        setPeriodToTimeRange?: boolean;
      };
      const rangeSeconds = Math.max(60, Math.ceil((end.getTime() - start.getTime()) / 60_000) * 60);
      return {
        index,
        title: props.title ?? '',
        view: props.view ?? 'timeSeries',
        period: props.setPeriodToTimeRange ? rangeSeconds : (periodOverride ?? props.period ?? 300),
        series: await readWidgetSeries(clients.cloudWatch, w, start, end, periodOverride),
      };
    }),
  );
}

/** An upload in the page's list: its job id, name and each side's status. */
export interface UploadSummary {
  jobId: string;
  userId: string;
  name: string;
  firstAdmitted: string;
  status: Partial<Record<Orchestrator, string>>;
}

const summary = (u: UploadStatus): UploadSummary => ({
  jobId: u.jobId,
  userId: u.userId,
  name: u.name,
  firstAdmitted: u.firstAdmitted,
  status: Object.fromEntries(ORCHESTRATORS.filter((o) => u.jobs[o]).map((o) => [o, u.jobs[o]!.status])),
});

/** The most recent uploads, newest first (the table's status index, as `dvs status` lists them). */
export async function listUploads(clients: ConsoleClients, limit: number): Promise<UploadSummary[]> {
  return (await readUploads(clients.store, { limit })).map(summary);
}

/** One execution of a side, on the upload's time axis. */
export interface ExecutionView {
  arn: string;
  status: string;
  /** Seconds after the upload's origin (simulated seconds on a scaled local clock). */
  start?: number;
  end?: number;
  lanes: LaneView[];
  /** What it billed so far, read from the same history. */
  units: { label: string; value: number }[];
}
export interface LaneView {
  name: string;
  kind: Lane['kind'];
  spans: { start: number; end?: number; outcome: string; attempts: number; error?: string }[];
}
export interface SideView {
  job?: { status: string; reason?: string };
  /** Each phase the job reached, in the flow's order, seconds after the origin (bench/collect phasesOf). */
  phases: { phase: Phase; label: string; at: number }[];
  executions: ExecutionView[];
}
export interface UploadTimelines {
  upload: UploadSummary;
  /** The time 0 of both timelines: the earliest execution start (ISO). */
  origin: string;
  /** Seconds after the origin, now. */
  now: number;
  /** Some execution of the upload still runs. */
  running: boolean;
  sides: Record<Orchestrator, SideView>;
}

/** What an execution billed, from its facts (bench/collect/execution-facts.ts). */
function unitsOf(facts: ExecutionFacts): { label: string; value: number }[] {
  return facts.orchestrator === 'ldf'
    ? [
        { label: 'operations billed', value: facts.operationsBilled },
        { label: 'invocations', value: facts.lambdaRequests },
        { label: 'bytes written', value: facts.bytesWritten },
      ]
    : [
        { label: 'state transitions', value: facts.stateTransitions },
        { label: 'Lambda invocations', value: facts.lambdaRequests },
      ];
}

/** The timelines of an execution, read through its service's history API. */
async function readExecution(
  clients: ConsoleClients,
  orchestrator: Orchestrator,
  arn: string,
): Promise<{ arn: string; timeline: ExecutionTimeline; facts: ExecutionFacts }> {
  if (orchestrator === 'ldf') {
    const events = await readDurableHistory(clients.lambda, arn);
    return { arn, timeline: durableTimeline(events), facts: durableFacts(events) };
  }
  const events = await readExecutionHistory(clients.sfn, arn);
  return { arn, timeline: sfnTimeline(events), facts: sfnFacts(events) };
}

export class UnknownUploadError extends Error {
  override name = 'UnknownUploadError';
}

/**
 * Both executions of one upload (the latest when `jobId` is absent; a job id or the start of one
 * otherwise), laid on one time axis in the target's seconds. Null when there is no upload yet.
 */
export async function readUploadTimelines(
  clients: ConsoleClients,
  target: Pick<Target, 'simulatedSeconds' | 'now'>,
  jobId?: string,
): Promise<UploadTimelines | null> {
  const found = await readUploads(clients.store, jobId === undefined ? { limit: 1 } : { jobId, limit: 1 });
  const upload = found[0];
  if (upload === undefined) {
    if (jobId !== undefined) throw new UnknownUploadError(`no upload with job id ${jobId} in the table`);
    return null;
  }
  const read = await Promise.all(
    ORCHESTRATORS.map(async (o) => {
      const job = upload.jobs[o];
      const arns = job ? executionArns([job]) : [];
      return { o, job, executions: await Promise.all(arns.map((arn) => readExecution(clients, o, arn))) };
    }),
  );
  const starts = read.flatMap((r) => r.executions.map((e) => e.timeline.startMs ?? Infinity));
  const originMs = Math.min(Date.parse(upload.firstAdmitted), ...starts);
  const at = (ms: number): number => round(target.simulatedSeconds(ms - originMs));
  const sides = {} as Record<Orchestrator, SideView>;
  for (const { o, job, executions } of read) sides[o] = sideView(job, executions, originMs, at);
  return {
    upload: summary(upload),
    origin: new Date(originMs).toISOString(),
    now: at(target.now()),
    running:
      read.some((r) => r.executions.length === 0) ||
      read.some((r) => r.executions.some((e) => e.timeline.status === 'RUNNING')),
    sides,
  };
}

const round = (s: number): number => Math.round(s * 1000) / 1000;

const phaseList = (phases: Partial<Record<Phase, number>>): SideView['phases'] =>
  PHASES.filter((p) => phases[p] !== undefined).map((p) => ({
    phase: p,
    label: PHASE_LABELS[p],
    at: phases[p]!,
  }));

function sideView(
  job: Job | undefined,
  executions: { arn: string; timeline: ExecutionTimeline; facts: ExecutionFacts }[],
  originMs: number,
  at: (ms: number) => number,
): SideView {
  return {
    ...(job ? { job: { status: job.status, ...(job.reason ? { reason: job.reason } : {}) } } : {}),
    phases: job
      ? phaseList(
          phasesOf(
            job,
            executions.map((e) => e.facts),
            originMs,
            (ms) => at(originMs + ms),
          ),
        )
      : [],
    executions: executions.map(({ arn, timeline, facts }) => ({
      arn,
      status: timeline.status,
      ...(timeline.startMs === undefined ? {} : { start: at(timeline.startMs) }),
      ...(timeline.endMs === undefined ? {} : { end: at(timeline.endMs) }),
      lanes: timeline.lanes.map((l) => ({
        name: l.name,
        kind: l.kind,
        spans: l.spans.map((s) => ({
          start: at(s.startMs),
          ...(s.endMs === undefined ? {} : { end: at(s.endMs) }),
          outcome: s.outcome,
          attempts: s.attempts,
          ...(s.error === undefined ? {} : { error: s.error }),
        })),
      })),
      units: unitsOf(facts),
    })),
  };
}
