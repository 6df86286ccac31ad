// The scenario runner: plays a scenario's plan against a target, one configuration at a time, collects
// what each orchestrator did through the services' APIs, and returns results.json's shape (validated
// when written). Interrupted (the signal aborts), it stops waiting and collects what was measured.
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { generateSample, samplePngs } from '../../container/src/samples.ts';
import { EndpointWatch, type EndpointLifetime } from '../collect/endpoint-watch.ts';
import { jobResults, type SharedTotals } from '../collect/job-results.ts';
import { readConsumedCapacity } from '../collect/capacity.ts';
import type { LogTotals } from '../collect/log-meter.ts';
import { executionArns, readFacts, readJobs } from '../collect/read.ts';
import type { Target } from '../collect/target.ts';
import type { JobResult, OrchestratorId, Results, Run, ScenarioParameters } from '../report/results.ts';
import { playWave, waitForExecutions, type DriveIo, type Upload } from './drive.ts';
import { plan, specFor, type Configuration, type ScenarioSpec } from './scenarios.ts';
import { observing } from '../../shared/aws.ts';

/** A target set up for one configuration, with what only the session itself can measure. */
export interface Session {
  target: Target;
  /** What the orchestrator's functions logged (bytes, EMF values); undefined where not measured. */
  logs(o: OrchestratorId): LogTotals | undefined;
  memoryMb: Record<OrchestratorId, number>;
  retentionDays: number;
  instanceType: string;
  close(): Promise<void>;
}

/** Opens a session for a configuration: the local cloud starts one; a deployed stack checks its settings. */
export type SessionFactory = (config: Configuration) => Promise<Session>;

export interface RunnerOptions {
  /** Real seconds each wave may take, its jobs' ends included, and the executions after the last. */
  timeoutSeconds: number;
  /** Uploads in flight at once. */
  inFlight: number;
  /** The run id's prefix (a timestamp by default) and the user every upload is for. */
  runId: string;
}

function parametersOf(
  spec: ScenarioSpec,
  config: Configuration,
  session: Session,
  jobs: number,
): ScenarioParameters {
  return {
    endpointStartSeconds: spec.endpointStartSeconds,
    inferenceSeconds: spec.inferenceSeconds,
    endpointConcurrency: spec.endpointConcurrency,
    endpointDeleteSeconds: spec.endpointDeleteSeconds,
    idleWindowSeconds: config.idleWindowSeconds,
    pollSeconds: spec.pollSeconds,
    pollMaxSeconds: spec.pollMaxSeconds,
    lambdaMemoryMb: session.memoryMb.ldf,
    instanceType: session.instanceType,
    eventFallbackSeconds: config.eventFallbackSeconds,
    maskDelaySeconds: spec.maskDelaySeconds,
    jobs,
    ...(spec.scenario === 'stream' || spec.scenario === 'sweep' || config.overrides?.ratePerHour !== undefined
      ? { arrivalsPerHour: spec.ratePerHour, durationSeconds: spec.durationSeconds }
      : {}),
  };
}

/** What the run measured for a whole orchestrator: DynamoDB units from CloudWatch, the logs' size. */
async function sharedTotals(
  session: Session,
  o: OrchestratorId,
  waitMode: Configuration['waitMode'],
  startedAt: Date,
): Promise<SharedTotals> {
  // The metrics' timestamps are the handlers' clock: a minute's margin each side.
  const from = new Date(startedAt.getTime() - 60_000);
  const to = new Date(session.target.now() + 120_000);
  const capacity = await readConsumedCapacity(session.target, o, waitMode, from, to);
  const logs = session.logs(o);
  return {
    dynamodbReadUnits: capacity.readUnits,
    dynamodbWriteUnits: capacity.writeUnits,
    cloudwatchMetricValues: logs?.metricValues ?? 0,
    cloudwatchLogBytes: logs?.logBytes ?? 0,
  };
}

/** Plays the whole plan for one configuration and collects its run. */
async function runConfiguration(
  scenario: ScenarioSpec,
  config: Configuration,
  session: Session,
  o: RunnerOptions,
  io: DriveIo,
): Promise<Run> {
  const { target } = session;
  const spec = specFor(scenario, config);
  const over = config.overrides;
  const id =
    `${o.runId}-${config.waitMode}-idle${config.idleWindowSeconds}-fb${config.eventFallbackSeconds}` +
    (over?.endpointStartSeconds !== undefined ? `-start${over.endpointStartSeconds}` : '') +
    (over?.ratePerHour !== undefined ? `-rate${over.ratePerHour}` : '');
  const user = `bench-${id}`.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 64);
  const sagemaker = new SageMakerClient(observing(target.clientConfig('sagemaker')));
  const watch = new EndpointWatch(
    sagemaker,
    target.endpointNames,
    () => target.now(),
    target.kind === 'aws' ? 2000 : 100,
  );
  const startedAt = new Date();
  const simulatedFrom = target.now();
  const uploads: Upload[] = [];
  let lifetimes: EndpointLifetime[];
  try {
    watch.start();
    const pngs = samplePngs(generateSample('blob', 256));
    for (const wave of plan(spec).waves) {
      if (io.signal.aborted) break;
      io.progress.phase(
        `${config.waitMode} mode, idle ${config.idleWindowSeconds} s: ${wave.label} (${wave.arrivals.length} upload(s))`,
      );
      uploads.push(
        ...(await playWave(
          target,
          wave,
          {
            user,
            pngs,
            maskDelaySeconds: spec.maskDelaySeconds,
            inFlight: o.inFlight,
            timeoutSeconds: o.timeoutSeconds,
            firstIndex: uploads.length,
          },
          io,
        )),
      );
    }
    io.progress.phase(`${config.waitMode} mode: idle windows and stops`);
    await waitForExecutions(target, new Date(startedAt.getTime() - 60_000), o.timeoutSeconds, io);
  } finally {
    // Stopped even when interrupted: the lifetimes seen so far are measured.
    lifetimes = await watch.stop();
    sagemaker.destroy();
  }
  const endedMs = target.now();
  const uploadedAt = new Map(uploads.map((u) => [u.name, u.uploadedAt]));
  const jobs: JobResult[] = [];
  for (const orchestrator of ['ldf', 'sf'] as const) {
    io.progress.phase(`${config.waitMode} mode: reading the ${orchestrator} histories`);
    const items = (await readJobs(target, orchestrator, user)).filter((j) => uploadedAt.has(j.name));
    const arns = executionArns(items);
    const facts = await readFacts(target, orchestrator, arns, (done) =>
      io.progress.tick(done, arns.length, 'histories read'),
    );
    jobs.push(
      ...jobResults({
        orchestrator,
        waitMode: config.waitMode,
        jobs: items,
        uploadedAt,
        facts,
        lifetimes: lifetimes.filter((l) => l.orchestrator === orchestrator),
        parameters: parametersOf(spec, config, session, uploads.length),
        simulatedSeconds: (ms) => target.simulatedSeconds(ms),
        endedMs,
        memoryMb: session.memoryMb[orchestrator],
        retentionDays: session.retentionDays,
        shared: await sharedTotals(session, orchestrator, config.waitMode, startedAt),
      }),
    );
  }
  return {
    id,
    scenario: { name: scenario.scenario, parameters: parametersOf(spec, config, session, uploads.length) },
    seed: spec.seed,
    waitModes: [config.waitMode],
    target: target.kind,
    clock: target.clock,
    startedAt: startedAt.toISOString(),
    endedAt: new Date().toISOString(),
    simulatedSeconds: target.simulatedSeconds(endedMs - simulatedFrom),
    jobs,
  };
}

/** Runs every configuration of the scenario, each in its own session, and returns the results. */
export async function runScenario(
  spec: ScenarioSpec,
  open: SessionFactory,
  o: RunnerOptions,
  io: DriveIo,
): Promise<Results> {
  const runs: Run[] = [];
  let region = 'us-east-1';
  for (const config of plan(spec).configurations) {
    if (io.signal.aborted) break;
    io.progress.phase(`${config.waitMode} mode, idle window ${config.idleWindowSeconds} s: setting up`);
    const session = await open(config);
    region = session.target.region;
    try {
      runs.push(await runConfiguration(spec, config, session, o, io));
    } finally {
      await session.close();
    }
  }
  io.progress.end();
  return { schemaVersion: 1, createdAt: new Date().toISOString(), region, runs };
}
