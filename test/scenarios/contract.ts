// The scenario contract: one list of orchestrator-independent scenarios that both orchestrators must
// pass unchanged. Each scenario forces its path on purpose (faults armed, a holder lease, a late mask)
// and asserts what a user relies on: the job item, the S3 artifacts, exactly one notification, exactly
// the starts the scenario needs, and the lifecycle invariants (one start per generation, no stop under
// a lease, no lease or waiter left, and the endpoint Stopped once its last user's idle stop ran), and
// then the invariant checker's verdict over the whole table and every execution so far (check/).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { checkInvariants } from '../../check/invariants.ts';
import { readSnapshot } from '../../check/snapshot.ts';
import type { ApiCall } from '../../local/sagemaker/emulator.ts';
import type { WaitMode } from '../../shared/config.ts';
import { isEnding } from '../../shared/job-model.ts';
import type { Job } from '../../shared/job-store.ts';
import { inputMaskKey, type Orchestrator } from '../../shared/keys.ts';
import { tableKey } from '../../shared/table-keys.ts';
import { startWorld, type World } from '../support/scenario-world.ts';
import { stopWhenIdle, warmHolder } from '../support/warm-holder.ts';

interface Scenario {
  name: string;
  /** Longer than the default test timeout, for a scenario whose every crash costs a cold start. */
  timeoutMs?: number;
  /** Arranges, uploads, and returns the jobs it expects, by name, with what each must end as. */
  run(world: World, user: string): Promise<Expectation[]>;
}

interface Expectation {
  /** The upload's name, or its whole key for an upload whose key names no job. */
  name: string;
  /** The job, when the name has more than one (a new version of an upload is a new job). */
  jobId?: string;
  /** The user the job is recorded under, when not the scenario's own (an unparseable key: '_unknown'). */
  user?: string;
  status: 'COMPLETED' | 'FAILED' | 'REJECTED';
  /** The error name a failed job records. */
  error?: string;
  deliveries?: number;
  /** `Job Completed` / `Job Failed` events for the job (default 1). */
  notifications?: number;
  /** CreateEndpoint calls the scenario makes, exactly (the job's start, or the warm holder's). */
  creates: number;
}

/** The attempts the AWS SDK makes of one DynamoDB call by default (its `amz-sdk-request: max=`). */
const SDK_DYNAMODB_ATTEMPTS = 4;

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits until the job is parked on its mask: event mode registers a waiter on the job item. */
export async function waitingForMask(world: World, user: string, name: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const job = await world.job(user, name);
    if (job && (world.waitMode === 'poll' || job.maskWaiter !== undefined)) return;
    await pause(25);
  }
  throw new Error(`job ${user}/${name} never started waiting for its mask`);
}

/** The object key an S3 `Object Created` event names. */
const keyOf = (event: { detail?: unknown }): string | undefined =>
  (event.detail as { object?: { key?: string } } | undefined)?.object?.key;

/** Waits until the name has `count` jobs, all ended; oldest first. */
async function waitForJobs(world: World, user: string, name: string, count: number): Promise<Job[]> {
  for (let i = 0; i < 1200; i++) {
    const jobs = await world.jobs(user, name);
    if (jobs.length >= count && jobs.every((j) => isEnding(j.status))) return jobs;
    await pause(50);
  }
  throw new Error(`${user}/${name} did not reach ${count} ended jobs`);
}

export const SCENARIOS: Scenario[] = [
  {
    name: 'warm endpoint: the job joins a serving endpoint and starts nothing',
    async run(world, user) {
      const release = await warmHolder(world);
      const before = creates(world);
      await world.upload(user, 'warm');
      await world.waitForEnding(user, 'warm');
      expect(creates(world), 'the job started nothing').toBe(before);
      await releaseAfterJobs(world, release);
      return [{ name: 'warm', status: 'COMPLETED', creates: 1 }];
    },
  },
  {
    name: 'cold endpoint: the job starts it once, completes, and the idle stop deletes it',
    async run(world, user) {
      await world.upload(user, 'cold');
      return [{ name: 'cold', status: 'COMPLETED', creates: 1 }];
    },
  },
  {
    name: 'mask arriving late: the job waits for it, then completes',
    async run(world, user) {
      await world.upload(user, 'late', 'image');
      await waitingForMask(world, user, 'late');
      await pause(200);
      await world.upload(user, 'late', 'mask');
      return [{ name: 'late', status: 'COMPLETED', creates: 1 }];
    },
  },
  {
    name: 'mask never arriving: the job fails with MaskTimeoutError after its bounded wait',
    async run(world, user) {
      await world.upload(user, 'nomask', 'image');
      return [{ name: 'nomask', status: 'FAILED', error: 'MaskTimeoutError', creates: 0 }];
    },
  },
  {
    name: 'endpoint failing to start: the job fails with the FailureReason',
    async run(world, user) {
      world.cloud.sagemakerEmulator.faults.failNextStart('scenario: no GPU capacity in the zone');
      await world.upload(user, 'nogpu');
      return [{ name: 'nogpu', status: 'FAILED', error: 'EndpointFailedError', creates: 1 }];
    },
  },
  {
    name: 'inference throttled, then succeeding: the job retries and completes',
    async run(world, user) {
      const release = await warmHolder(world);
      world.cloud.sagemakerEmulator.faults.throttle(2, ['InvokeEndpoint']);
      await world.upload(user, 'throttled');
      await world.waitForEnding(user, 'throttled');
      await releaseAfterJobs(world, release);
      return [{ name: 'throttled', status: 'COMPLETED', creates: 1 }];
    },
  },
  {
    name: 'inference failing for good: the job fails with InferenceError',
    async run(world, user) {
      const release = await warmHolder(world);
      const before = invocations(world).length;
      // The real model server answering 500 on every attempt (its S3 link cut).
      world.cloud.sagemakerEmulator.faults.failInContainer(20, 'error');
      await world.upload(user, 'modelerror');
      const failed = await world.waitForEnding(user, 'modelerror');
      world.cloud.sagemakerEmulator.faults.clear();
      // Retried within the bounded attempts (durable: 6; the ASL's Retry: 1 + 8), every one answered
      // 500; the user reads the container's own answer in the reason.
      const outcomes = invocations(world).slice(before).map(outcomeOf);
      expect(outcomes.length, 'attempts').toBe(world.orchestrator === 'ldf' ? 6 : 9);
      expect(new Set(outcomes)).toEqual(new Set(['ModelError (500)']));
      expect(failed.reason).toMatch(/InferenceError: the model server failed \(500\): InternalError/);
      await releaseAfterJobs(world, release);
      return [{ name: 'modelerror', status: 'FAILED', error: 'InferenceError', creates: 1 }];
    },
  },
  {
    name: 'the container answering 500 twice, then healthy: the job retries and completes',
    async run(world, user) {
      const release = await warmHolder(world);
      const before = invocations(world).length;
      // Its storage link cut, the real model server cannot read the inputs and answers 500.
      world.cloud.sagemakerEmulator.faults.failInContainer(2, 'error');
      await world.upload(user, 'flaky');
      await world.waitForEnding(user, 'flaky');
      expect(invocations(world).slice(before).map(outcomeOf)).toEqual([
        'ModelError (500)',
        'ModelError (500)',
        'ok',
      ]);
      await releaseAfterJobs(world, release);
      return [{ name: 'flaky', status: 'COMPLETED', creates: 1 }];
    },
  },
  {
    name: 'the container hanging: SageMaker cuts the call off after its 60 s timeout, the job retries and completes',
    async run(world, user) {
      const release = await warmHolder(world);
      const before = invocations(world).length;
      world.cloud.sagemakerEmulator.faults.failInContainer(1, 'hang');
      await world.upload(user, 'hung');
      await world.waitForEnding(user, 'hung');
      const calls = invocations(world).slice(before);
      expect(calls.map(outcomeOf)).toEqual(['ModelError (0)', 'ok']);
      expect(calls[1]!.at - calls[0]!.at, 'the retry came after the timeout').toBeGreaterThanOrEqual(60_000);
      await releaseAfterJobs(world, release);
      return [{ name: 'hung', status: 'COMPLETED', creates: 1 }];
    },
  },
  {
    name: 'the container dying mid-call: SageMaker replaces the instance, the job retries and completes on the new one',
    async run(world, user) {
      const release = await warmHolder(world);
      const before = invocations(world).length;
      world.cloud.sagemakerEmulator.faults.failInContainer(1, 'die');
      await world.upload(user, 'killed');
      await world.waitForEnding(user, 'killed');
      const outcomes = invocations(world).slice(before).map(outcomeOf);
      // The call in flight and any while the replacement comes up get no answer; then the
      // replacement (the killed process can answer nothing) serves the retry.
      expect(outcomes.length).toBeGreaterThan(1);
      expect(outcomes.at(-1)).toBe('ok');
      expect(new Set(outcomes.slice(0, -1))).toEqual(new Set(['ModelError (0)']));
      await releaseAfterJobs(world, release);
      return [{ name: 'killed', status: 'COMPLETED', creates: 1 }];
    },
  },
  {
    name: 'endpoint state events lost, duplicated and out of order: the wait ends through its fallback, the stale InService wakes nobody',
    async run(world, user) {
      const faults = world.cloud.sagemakerEmulator.faults;
      // Creating comes twice, InService only after the next event (Deleting, itself lost): the
      // event wait never hears InService in time, and hears it once the endpoint is being deleted.
      faults
        .stateEvents('Creating', 'duplicate')
        .stateEvents('InService', 'hold')
        .stateEvents('Deleting', 'lose');
      const heard: string[] = [];
      const stopRecording = world.cloud.bus.addTarget('endpoint-state-changed', 'scenario-recorder', (e) => {
        const detail = e.detail as { EndpointName?: string; EndpointStatus?: string };
        if (detail.EndpointName === world.endpointName) heard.push(detail.EndpointStatus ?? '?');
      });
      try {
        await world.upload(user, 'unheard');
        await world.waitForEnding(user, 'unheard');
        await world.quiesce(); // the idle stop has run: its Deleting was lost, the held InService went out
      } finally {
        stopRecording();
      }
      expect(faults.armed().eventFaults, 'every event fault met').toBe(0);
      expect(heard).toEqual(['CREATING', 'CREATING', 'IN_SERVICE']);
      return [{ name: 'unheard', status: 'COMPLETED', creates: 1 }];
    },
  },
  {
    name: 'the same upload delivered twice: one job, two deliveries, one result',
    async run(world, user) {
      const seen = world.uploadEvents.length;
      await world.upload(user, 'twice');
      for (let i = 0; world.uploadEvents.length === seen && i < 200; i++) await pause(10);
      const event = world.uploadEvents[seen]!;
      world.cloud.bus.publish({ ...event, id: randomUUID() });
      return [{ name: 'twice', status: 'COMPLETED', deliveries: 2, creates: 1 }];
    },
  },
  {
    name: 'an invocation killed in the middle of each step: every step runs again and the job completes',
    timeoutMs: 180_000,
    async run(world, user) {
      const failedBefore = crashedInvocations(world);
      for (const step of world.coreSteps) world.injectCrash(step);
      await world.upload(user, 'crashes');
      await world.waitForEnding(user, 'crashes', 120_000);
      await world.quiesce(); // release and notify come after the recorded ending
      // Each core step was killed once, and each ran again (its activity is safe to repeat).
      expect(crashedInvocations(world) - failedBefore).toBeGreaterThanOrEqual(world.coreSteps.length);
      // The notify step was killed after its event went out, and ran again: a second event, as
      // EventBridge's own at-least-once delivery allows; every other step's repeat changed nothing.
      return [{ name: 'crashes', status: 'COMPLETED', creates: 1, notifications: 2 }];
    },
  },
  {
    name: "DynamoDB throttling the lifecycle's writes past the SDK's retries: the orchestrator retries, the job completes",
    async run(world, user) {
      const faults = world.cloud.dynamoDbFaults;
      const before = faults.served().length;
      // The endpoint item's conditional updates (acquire, start, ready, release, stop): the first
      // one's every SDK attempt is throttled (ProvisionedThroughputExceededExceptions, then a
      // ThrottlingException), so the SDK gives up and the orchestrator's own retry must carry it.
      const lifecycle = {
        operations: ['UpdateItem'],
        keyPrefix: tableKey(world.orchestrator, 'endpoint', world.endpointName),
      };
      faults
        .throttle(SDK_DYNAMODB_ATTEMPTS - 1, {
          ...lifecycle,
          error: 'ProvisionedThroughputExceededException',
        })
        .throttle(1, { ...lifecycle, error: 'ThrottlingException' });
      await world.upload(user, 'ddbthrottled');
      await world.waitForEnding(user, 'ddbthrottled');
      const served = faults.served().slice(before);
      expect(faults.pending(), 'every throttle was taken').toBe(0);
      expect(new Set(served.map((t) => t.error))).toEqual(
        new Set(['ProvisionedThroughputExceededException', 'ThrottlingException']),
      );
      expect(
        served.some((t) => t.attempt !== undefined && t.attempt === t.maxAttempts),
        "a call whose every SDK attempt was throttled: the orchestrator's retry carried it",
      ).toBe(true);
      return [{ name: 'ddbthrottled', status: 'COMPLETED', creates: 1 }];
    },
  },
  {
    name: 'a new version of an upload (same name, new content): a second job, both complete, each with its own result',
    async run(world, user) {
      const release = await warmHolder(world);
      await world.upload(user, 'versions', 'both', 1);
      const first = await world.waitForEnding(user, 'versions');
      // The new version's mask first, so its image's job reads its own mask, not the old one.
      await world.upload(user, 'versions', 'mask', 2);
      await world.upload(user, 'versions', 'image', 2);
      const second = await waitForJobs(world, user, 'versions', 2).then((jobs) => jobs[1]!);
      expect(second.jobId, 'a new version is a new job').not.toBe(first.jobId);
      const points = (job: Job) =>
        (job.result?.mesh_stats as { num_points?: number } | undefined)?.num_points;
      expect(points(second), "each job's own result").not.toBe(points(first));
      // The name's PLY is the latest version's result.
      const ply = (await world.object(second.outputKey!)) ?? '';
      expect(ply).toContain(`element vertex ${points(second)}\n`);
      await releaseAfterJobs(world, release);
      return [
        { name: 'versions', jobId: first.jobId, status: 'COMPLETED', creates: 1 },
        { name: 'versions', jobId: second.jobId, status: 'COMPLETED', creates: 0 },
      ];
    },
  },
  {
    name: 'the mask arriving before its image (its event first): the job finds it and completes',
    async run(world, user) {
      const imagesBefore = world.uploadEvents.length;
      await world.upload(user, 'maskfirst', 'mask');
      // The mask's Object Created is delivered (to the mask rule's waker: nobody waits yet) before
      // the image is even stored.
      const maskKey = inputMaskKey(user, 'maskfirst');
      for (let i = 0; !world.maskEvents.some((e) => keyOf(e) === maskKey) && i < 400; i++) await pause(10);
      await world.cloud.bus.idle();
      expect(world.maskEvents.map(keyOf), 'the mask event came first').toContain(maskKey);
      expect(world.uploadEvents.length, 'no image event yet').toBe(imagesBefore);
      await world.upload(user, 'maskfirst', 'image');
      return [{ name: 'maskfirst', status: 'COMPLETED', creates: 1 }];
    },
  },
  {
    name: 'a bad upload: the job is REJECTED with its reason, nothing crashes',
    async run(world, user) {
      const key = `users/${user}/uploads/chair_image.png`;
      await world.uploadKey(key);
      return [{ name: key, user: '_unknown', status: 'REJECTED', error: 'not of the form', creates: 0 }];
    },
  },
];

/**
 * Releases a warm holder once the job's execution has ended (its idle stop found the holder's lease
 * and kept the endpoint), then plays the holder's own idle stop: the scenario ends with the endpoint
 * Stopped, whatever the timing, and the next scenario finds it cold.
 */
async function releaseAfterJobs(world: World, release: () => Promise<void>): Promise<void> {
  await world.quiesce();
  await release();
  await stopWhenIdle(world);
}

/** Invocations the local Lambda saw die (injected crashes), across the functions of the app. */
function crashedInvocations(world: World): number {
  return world.cloud.lambdaService.injectedCrashes();
}

/** This world's InvokeEndpoint calls, in arrival order. */
function invocations(world: World): readonly ApiCall[] {
  return world.cloud.sagemakerEmulator
    .calls()
    .filter((c) => c.operation === 'InvokeEndpoint' && c.endpointName === world.endpointName);
}

/** A call's outcome as a user reads it: 'ok', or the error with the container's status, if any. */
function outcomeOf(call: ApiCall): string {
  return call.originalStatusCode === undefined
    ? call.outcome
    : `${call.outcome} (${call.originalStatusCode})`;
}

function creates(world: World): number {
  return world.cloud.sagemakerEmulator
    .calls()
    .filter(
      (c) => c.operation === 'CreateEndpoint' && c.endpointName === world.endpointName && c.outcome === 'ok',
    ).length;
}

/** What every scenario must leave behind, checked once all its executions have ended. */
async function checkScenario(
  world: World,
  user: string,
  expected: Expectation[],
  createsBefore: number,
): Promise<void> {
  for (const e of expected) await world.waitForEnding(e.user ?? user, e.name);
  // The notification and the idle stop come after the recorded ending: let every execution finish.
  await world.quiesce();
  for (const e of expected) {
    const job = (await expectedJob(world, user, e))!;
    expect(job.status, `${e.name}: ${job.reason ?? ''}`).toBe(e.status);
    if (e.error) expect(job.reason ?? '', e.name).toContain(e.error);
    if (e.deliveries) expect(job.deliveries).toBe(e.deliveries);
    await checkArtifacts(world, job, e);
  }
  const item = await world.endpointItem();
  expect(item.leases, 'no lease left').toEqual({});
  expect(item.waiters, 'no waiter left').toEqual({});
  const calls = world.cloud.sagemakerEmulator.calls().filter((c) => c.endpointName === world.endpointName);
  const made =
    calls.filter((c) => c.operation === 'CreateEndpoint' && c.outcome === 'ok').length - createsBefore;
  expect(made, 'CreateEndpoint calls').toBe(expected.reduce((n, e) => n + e.creates, 0));
  // Every generation has at most one CreateEndpoint: the total never exceeds the generations started.
  expect(
    calls.filter((c) => c.operation === 'CreateEndpoint' && c.outcome === 'ok').length,
  ).toBeLessThanOrEqual(item.generation);
  // No DeleteEndpoint while a completed job was using the endpoint (from serving to result).
  const deletes = calls
    .filter((c) => c.operation === 'DeleteEndpoint' && c.outcome === 'ok')
    .map((c) => c.at);
  for (const e of expected) {
    const job = await expectedJob(world, user, e);
    if (job?.status !== 'COMPLETED') continue;
    const from = Date.parse(job.phases.ENDPOINT_READY ?? job.phases.ENDPOINT_ACQUIRED ?? '');
    const to = Date.parse(job.phases.INFERRED ?? job.phases.COMPLETED ?? '');
    expect(
      deletes.filter((at) => at > from && at < to),
      `DeleteEndpoint while ${e.name} used it`,
    ).toEqual([]);
  }
  // Nothing left running: the last user's idle stop has run (or nobody started the endpoint), and
  // SageMaker has no endpoint left.
  expect(item.state, 'the endpoint after the idle stop').toBe('Stopped');
  expect(await world.sageMakerStatus(), 'the endpoint in SageMaker').toBe('missing');
  // And the invariant checker (`dvs check`), reading everything through the AWS APIs, agrees.
  expect(checkInvariants(await readSnapshot(world.target)), 'dvs check').toEqual([]);
}

/** The job an expectation is about: by its id when it names one, else the name's job. */
async function expectedJob(world: World, user: string, e: Expectation): Promise<Job | undefined> {
  if (e.jobId === undefined) return world.job(e.user ?? user, e.name);
  return (await world.jobs(e.user ?? user, e.name)).find((j) => j.jobId === e.jobId);
}

async function checkArtifacts(world: World, job: Job, e: Expectation): Promise<void> {
  const notes = world.notifications.filter((n) => (n.detail as { jobId?: string }).jobId === job.jobId);
  expect(notes.length, `${e.name}: notifications`).toBe(e.notifications ?? 1);
  expect(new Set(notes.map((n) => n['detail-type']))).toEqual(
    new Set([e.status === 'COMPLETED' ? 'Job Completed' : 'Job Failed']),
  );
  if (e.status === 'COMPLETED') {
    expect((await world.object(job.outputKey!))?.startsWith('ply'), `${e.name}: PLY`).toBe(true);
  } else if (job.errorKey) {
    const report = JSON.parse((await world.object(job.errorKey)) ?? '{}') as { error?: { error?: string } };
    expect(report.error?.error, `${e.name}: _error.json`).toBe(e.error);
  } else {
    // A key that names no user has nowhere to hold an artifact: the job item and the event say why.
    expect(e.status).toBe('REJECTED');
  }
}

/** Runs every scenario, in order, against one orchestrator in one wait mode. */
export function runContract(orchestrator: Orchestrator, waitMode: WaitMode): void {
  describe(`${orchestrator} orchestrator, ${waitMode} wait mode`, () => {
    let world: World;
    beforeAll(async () => {
      world = await startWorld(orchestrator, waitMode);
    });
    afterAll(async () => {
      await world?.stop();
    });
    /** Jobs the scenarios expected: each is at least one execution. */
    let jobs = 0;
    SCENARIOS.forEach((scenario, i) => {
      it(
        scenario.name,
        async () => {
          onTestFailed(() => {
            // eslint-disable-next-line no-console -- what the functions logged explains a failed scenario
            console.error(`last function logs:\n${world.functionLogs.slice(-80).join('\n')}`);
          });
          const user = `u${i}`;
          const before = creates(world);
          const expected = await scenario.run(world, user);
          jobs += expected.length;
          await checkScenario(world, user, expected, before);
        },
        scenario.timeoutMs,
      );
    });
    it('replays every execution from its recorded history without non-determinism', async () => {
      await world.quiesce();
      const executions = await world.executions();
      expect(executions.length, 'every expected job ran as an execution').toBeGreaterThanOrEqual(jobs);
      // One at a time: the durable replays share one warm sandbox of the replay pool (one cold start).
      const found = new Map<string, string[]>();
      for (const e of executions) found.set(e.arn, await world.checkHistory(e.arn));
      expect(found.size, 'every execution checked').toBe(executions.length);
      expect(Object.fromEntries([...found].filter(([, findings]) => findings.length > 0))).toEqual({});
    });
  });
}
