// TEST DATA, not measurements: a results object shaped like the scenario runner's, built from the
// flows' analytic minimum plus seeded, deliberate excess (a late mask, a retried step, extra replays),
// so the report's tests and `report --example` exercise every section. Nothing here is evidence.
import { seededRandom } from '../../shared/random.ts';
import { analyticMinimum, pollSchedule } from '../cost/minimum.ts';
import type {
  JobResult,
  OrchestratorId,
  Results,
  Run,
  ScenarioParameters,
  Units,
  WaitModeId,
} from './results.ts';

export const EXAMPLE_PARAMETERS: ScenarioParameters = {
  endpointStartSeconds: 300,
  inferenceSeconds: 20,
  endpointConcurrency: 1,
  endpointDeleteSeconds: 60,
  idleWindowSeconds: 600,
  pollSeconds: 5,
  pollMaxSeconds: 60,
  lambdaMemoryMb: 512,
  instanceType: 'ml.g5.xlarge',
  arrivalsPerHour: 6,
  jobs: 5,
};

interface JobPlan {
  shape: 'warm' | 'cold';
  started: boolean;
  stoppedEndpoint: boolean;
  /** The mask landed this many seconds after the image. */
  maskLateSeconds: number;
  /** Extra attempts of one step (throttled inference). */
  retries: number;
}

function exampleJob(
  rnd: () => number,
  index: number,
  orchestrator: OrchestratorId,
  waitMode: WaitModeId,
  p: ScenarioParameters,
  plan: JobPlan,
  gapSeconds: number,
): JobResult {
  const inServiceWait = plan.shape === 'cold' ? p.endpointStartSeconds : 0;
  const min = analyticMinimum(
    {
      orchestrator,
      waitMode,
      shape: plan.shape,
      started: plan.started,
      stoppedEndpoint: plan.stoppedEndpoint,
    },
    {
      inServiceWaitSeconds: inServiceWait,
      deleteSeconds: p.endpointDeleteSeconds,
      pollSeconds: p.pollSeconds,
      pollMaxSeconds: p.pollMaxSeconds,
      eventFallbackSeconds: p.eventFallbackSeconds ?? p.pollMaxSeconds,
    },
  );
  // A late mask costs a callback round (event) or a few looks (poll); a retry one attempt each.
  const maskExtra = plan.maskLateSeconds > 0 ? (waitMode === 'event' ? 3 : 2) : 0;
  const billed = min.billed + maskExtra + plan.retries + (orchestrator === 'sf' && plan.retries ? 1 : 0);
  const lambdaRequests = min.lambdaRequests + plan.retries + (maskExtra > 0 ? 1 : 0) + (rnd() < 0.3 ? 1 : 0);
  const step = () => 0.05 + rnd() * 0.1;
  // Poll mode sees InService on the first look after it; event mode about when it happens.
  const pollSeen = pollSchedule(p, inServiceWait).waited;
  const seenAfter = plan.shape === 'warm' ? 0 : waitMode === 'poll' ? pollSeen : inServiceWait + 0.5 + rnd();
  const orchestration = orchestrator === 'sf' ? 0.3 : 0.15; // per-step overhead of the service
  const admitted = step() + orchestration;
  const mask = admitted + plan.maskLateSeconds + step();
  const endpointAcquired = mask + step() + orchestration;
  const inService = endpointAcquired + seenAfter + step() + orchestration;
  const inferred = inService + p.inferenceSeconds * (0.95 + rnd() * 0.1) + plan.retries * 2 + orchestration;
  const recorded = inferred + step() + orchestration;
  const released = recorded + step() + orchestration;
  const notified = released + step() + orchestration;
  const idleTail = plan.stoppedEndpoint ? p.idleWindowSeconds : Math.min(gapSeconds, p.idleWindowSeconds);
  const ops = orchestrator === 'ldf' ? billed : 0;
  const units: Units = {
    stepFunctions: { stateTransitions: orchestrator === 'sf' ? billed : 0 },
    durable: {
      operationsBilled: ops,
      operationsDistinct: ops === 0 ? 0 : min.path.length + (maskExtra ? 1 : 0),
      bytesWritten: ops * 150,
      bytesRetained: ops * 150,
      retentionDays: ops === 0 ? 0 : 7,
    },
    lambda: {
      requests: lambdaRequests,
      gbSeconds: lambdaRequests * 0.12 * (p.lambdaMemoryMb / 1024),
      architecture: 'arm64',
    },
    dynamodb: {
      readRequestUnits: 2 + (plan.shape === 'cold' ? 2 : 0),
      writeRequestUnits: 5 + (plan.started ? 2 : 0),
    },
    eventbridge: {
      customEvents: 1,
      awsServiceEvents: 2 + (waitMode === 'event' && plan.shape === 'cold' ? 2 : 0),
    },
    s3: { tier1Requests: 1, tier2Requests: 3 },
    cloudwatch: { metricValues: 6, logBytes: 4000 + billed * 300 },
    sagemaker: {
      endpointStarts: plan.started ? 1 : 0,
      instanceSeconds:
        (plan.started ? p.endpointStartSeconds : 0) +
        (inferred - inService) +
        idleTail +
        (plan.stoppedEndpoint ? p.endpointDeleteSeconds : 0),
      idleTailSeconds: idleTail,
    },
  };
  return {
    jobId: `${orchestrator}-${waitMode}-${index}`,
    orchestrator,
    waitMode,
    shape: plan.shape,
    started: plan.started,
    stoppedEndpoint: plan.stoppedEndpoint,
    outcome: 'COMPLETED',
    latency: {
      uploadToResultSeconds: inferred,
      phases: {
        admitted,
        mask,
        endpointAcquired,
        inService,
        inferred,
        recorded,
        released,
        notified,
        ...(plan.stoppedEndpoint
          ? { stopped: notified + p.idleWindowSeconds + p.endpointDeleteSeconds }
          : {}),
      },
    },
    physical: { inServiceWaitSeconds: inServiceWait, inferenceSeconds: p.inferenceSeconds },
    units,
  };
}

/** One run: per orchestrator and wait mode, a cold starter, then warm jobs, the last one stopping. */
export function exampleRun(
  id: string,
  overrides: Partial<ScenarioParameters> = {},
  options: { seed?: number; clock?: Run['clock']; waitModes?: WaitModeId[] } = {},
): Run {
  const p = { ...EXAMPLE_PARAMETERS, ...overrides };
  const seed = options.seed ?? 7;
  const rnd = seededRandom(seed);
  const waitModes = options.waitModes ?? ['poll', 'event'];
  const n = p.jobs ?? 5;
  const gap = 3600 / (p.arrivalsPerHour ?? 6);
  // With an idle window shorter than the gap between jobs, every job finds the endpoint stopped.
  const allCold = p.idleWindowSeconds < gap;
  const jobs: JobResult[] = [];
  for (const waitMode of waitModes)
    for (const orchestrator of ['sf', 'ldf'] as const)
      for (let i = 0; i < n; i++) {
        const cold = i === 0 || allCold;
        const plan: JobPlan = {
          shape: cold ? 'cold' : 'warm',
          started: cold,
          stoppedEndpoint: i === n - 1 || allCold,
          maskLateSeconds: i === 2 ? 8 : 0,
          retries: i === 3 ? 1 : 0,
        };
        jobs.push(exampleJob(rnd, i, orchestrator, waitMode, p, plan, gap));
      }
  return {
    id,
    scenario: { name: 'example: a cold start, then warm jobs', parameters: p },
    seed,
    waitModes,
    target: 'local',
    clock: options.clock ?? { kind: 'skip' },
    monthly: { customMetrics: { sf: 10, ldf: 10 } },
    jobs,
  };
}

/** The whole example: a main run, an idle-window sweep, and one run on a fixed scale clock. */
export function exampleResults(): Results {
  return {
    schemaVersion: 1,
    createdAt: '2026-12-02T18:00:00.000Z',
    region: 'us-east-1',
    operational: {
      sf: {
        resources: 7,
        iamStatements: 9,
        failedExecutionDebug: 'the execution history: each state, its input and output, the caught error',
      },
      ldf: {
        resources: 5,
        iamStatements: 7,
        failedExecutionDebug:
          'the durable execution history (operations, their results and errors) and the function logs',
      },
    },
    runs: [
      exampleRun('main'),
      ...[60, 300, 1800].map((w) => exampleRun(`idle-${w}`, { idleWindowSeconds: w, jobs: 4 }, { seed: w })),
      exampleRun('busy', { arrivalsPerHour: 30, jobs: 6, endpointStartSeconds: 45 }, { seed: 3 }),
      exampleRun(
        'scaled',
        { jobs: 3 },
        { seed: 11, clock: { kind: 'scale', factor: 60 }, waitModes: ['poll'] },
      ),
    ],
  };
}
