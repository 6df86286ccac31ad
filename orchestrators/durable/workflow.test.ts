// The workflow's logic, path by path, under the durable SDK's own LocalDurableTestRunner: the real
// withDurableExecution, real checkpoints, suspensions and replays (and the runner's replay
// validation), with the Activities scripted (fake-activities.ts) to force each path. skipTime jumps
// over durable waits and retry delays; only the callback timeouts of the two "no wake-up" tests run
// on real timers (the runner's worker keeps them real), for one second each.
import { LocalDurableTestRunner } from '@aws/durable-execution-sdk-js-testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  attemptsOf,
  EVENT,
  EVENT_NO_WAKE,
  metricCount,
  POLL,
  run,
  type Run,
} from '../testing/run-workflow.ts';
import { JOB_STATUSES } from '../../shared/job-model.ts';
import { waitedBeforeLook } from '../../shared/backoff.ts';
import { OP, type WorkflowSettings } from './workflow.ts';

beforeAll(() => LocalDurableTestRunner.setupTestEnvironment({ skipTime: true }));
afterAll(() => LocalDurableTestRunner.teardownTestEnvironment());

/** The job FAILED with `name`: reported, recorded and notified with it, and its execution failed with it. */
function expectFailed(r: Run, name: string): void {
  expect(r.error?.errorType).toBe(name);
  expect(r.fake.reports.map((f) => f.error)).toEqual([name]);
  expect(r.fake.outcomes.map((o) => o.outcome)).toEqual([{ status: 'FAILED', failure: r.fake.reports[0] }]);
  expect(r.fake.notified).toEqual([{ status: 'FAILED', failure: r.fake.reports[0] }]);
}

/** A waitForCallback: its context, its callback and its submitter step. */
const callback = (name: string) => [name, `${name}/CALLBACK`, `${name}/STEP`];

const WARM_TAIL = ['invoke', 'recordOutcome', 'releaseLease', 'notify', 'beginStop'];
const JOB_TAIL = [OP.invoke, OP.record, OP.release, OP.notify, OP.idle, OP.beginStop];

describe('durable workflow, poll mode', () => {
  it('warm endpoint: one look for the mask, one check, infer, record, release, notify, idle stop kept', async () => {
    const r = await run({});
    expect(r.output).toMatchObject({ status: 'COMPLETED', outputKey: 'users/user-1/output/ldf/chair.ply' });
    expect(r.output?.stop).toEqual({ outcome: 'kept', reason: 'used within the idle window' });
    expect(r.fake.calls).toEqual(['admit', 'checkMask', 'acquireEndpoint', 'checkEndpoint(1)', ...WARM_TAIL]);
    expect(r.ops).toEqual([OP.admit, OP.waitForMask, OP.acquire, OP.waitForEndpoint, ...JOB_TAIL]);
    expect(r.billed).toBe(10);
    const [recorded] = r.fake.outcomes;
    expect(recorded?.outcome.status).toBe('COMPLETED');
    const phases = recorded!.phases;
    // Every phase before the ending, stamped in order.
    const order = JOB_STATUSES.slice(0, JOB_STATUSES.indexOf('COMPLETED'));
    const times = order.map((p) => phases[p]);
    expect(times.every((t) => t !== undefined)).toBe(true);
    expect([...times].sort()).toEqual(times);
    expect(r.fake.notified).toEqual([recorded?.outcome]);
    // admit gets the execution's own id (the runner's stand-in for the durable execution ARN).
    expect(r.fake.executionIds).toHaveLength(1);
    expect(r.fake.executionIds[0]).toMatch(/\S/);
  });

  it('cold endpoint: the starter starts it and polls with capped backoff until InService', async () => {
    const r = await run({ endpoint: { state: 'Stopped', readyAtCheck: 4 } });
    expect(r.output?.status).toBe('COMPLETED');
    expect(r.fake.calls.slice(0, 8)).toEqual([
      'admit',
      'checkMask',
      'acquireEndpoint',
      'startEndpoint(2)',
      'checkEndpoint(2)',
      'checkEndpoint(2)',
      'checkEndpoint(2)',
      'checkEndpoint(2)',
    ]);
    expect(r.ops).toEqual([OP.admit, OP.waitForMask, OP.acquire, OP.start, OP.waitForEndpoint, ...JOB_TAIL]);
    expect(attemptsOf(r, OP.waitForEndpoint)).toBe(4);
    expect(r.billed).toBe(14);
    expect(metricCount(r, 'EndpointStarted')).toBe(1);
  });

  it('take-over: a check hands this job a new generation; it starts it and keeps waiting', async () => {
    const r = await run({ endpoint: { state: 'Stopped', takeOverAtCheck: 2, readyAtCheck: 3 } });
    expect(r.output?.status).toBe('COMPLETED');
    expect(r.fake.calls.filter((c) => c.startsWith('start') || c.startsWith('check'))).toEqual([
      'checkMask',
      'startEndpoint(2)',
      'checkEndpoint(2)',
      'checkEndpoint(2)',
      'startEndpoint(3)',
      'checkEndpoint(3)',
    ]);
    expect(r.ops).toEqual([
      OP.admit,
      OP.waitForMask,
      OP.acquire,
      OP.start,
      OP.waitForEndpoint,
      OP.start,
      OP.waitForEndpoint,
      ...JOB_TAIL,
    ]);
  });

  it('mask late: looks again with backoff until it is there, and stamps MASK_READY from that look', async () => {
    const r = await run({ maskAtLook: 3 });
    expect(r.output?.status).toBe('COMPLETED');
    expect(r.fake.count('checkMask')).toBe(3);
    expect(attemptsOf(r, OP.waitForMask)).toBe(3);
    const phases = r.fake.outcomes[0]!.phases;
    expect(phases.MASK_READY! < phases.ENDPOINT_ACQUIRED!).toBe(true);
  });

  it('mask never arriving: bounded by maskWaitSeconds, fails with MaskTimeoutError, never touches the endpoint', async () => {
    const r = await run({ maskAtLook: Infinity });
    expectFailed(r, 'MaskTimeoutError');
    // 60 s of waiting at 5, 10, 20, 20 and the 5 s left: six looks.
    expect(r.fake.count('checkMask')).toBe(6);
    expect(r.fake.calls.slice(-3)).toEqual(['reportFailure', 'recordOutcome', 'notify']);
    expect(r.fake.count('acquireEndpoint') + r.fake.count('releaseLease')).toBe(0);
    expect(r.ops).toEqual([OP.admit, OP.waitForMask, OP.reportFailure, OP.record, OP.notify]);
    expect(r.output?.stop).toBeUndefined();
  });

  it('endpoint failing to start: EndpointFailedError, the lease released, the idle stop still tried', async () => {
    const r = await run({ endpoint: { state: 'Stopped', failAtCheck: 2 } });
    expectFailed(r, 'EndpointFailedError');
    expect(r.error?.errorMessage).toContain('scripted FailureReason');
    expect(r.fake.count('invoke')).toBe(0);
    expect(r.fake.calls.slice(-5)).toEqual([
      'reportFailure',
      'recordOutcome',
      'releaseLease',
      'notify',
      'beginStop',
    ]);
    expect(metricCount(r, 'EndpointStartFailed')).toBe(1);
    expect(metricCount(r, 'JobFailed')).toBe(1);
  });

  it('endpoint never InService: bounded by endpointWaitSeconds, EndpointTimeoutError', async () => {
    const r = await run({ endpoint: { state: 'Stopped' } }, { ...POLL, endpointWaitSeconds: 60 });
    expectFailed(r, 'EndpointTimeoutError');
    expect(r.fake.count('checkEndpoint')).toBe(6);
    expect(r.fake.count('releaseLease')).toBe(1);
  });

  it('acquire while the previous generation deletes, start refused for capacity: both retried by name', async () => {
    const r = await run({
      endpoint: { state: 'Stopped', readyAtCheck: 1 },
      errors: {
        acquireEndpoint: ['EndpointStoppingError', 'ThrottledError'],
        startEndpoint: ['CapacityError'],
      },
    });
    expect(r.output?.status).toBe('COMPLETED');
    expect(attemptsOf(r, OP.acquire)).toBe(3);
    expect(attemptsOf(r, OP.start)).toBe(2);
    expect(r.fake.count('startEndpoint')).toBe(2);
  });

  it('inference throttled then succeeding: retried, the lease renewed before each retry', async () => {
    const r = await run({ errors: { invoke: ['ThrottledError', 'EndpointNotReadyError'] } });
    expect(r.output?.status).toBe('COMPLETED');
    expect(r.fake.calls.slice(4, 9)).toEqual(['invoke', 'renewLease', 'invoke', 'renewLease', 'invoke']);
    expect(attemptsOf(r, OP.invoke)).toBe(3);
    expect(r.metrics).toContainEqual(['InferenceRetries', 2]);
  });

  it('inputs the model refuses: a terminal name is not retried; the job fails with it', async () => {
    const r = await run({ errors: { invoke: ['InferenceInputError'] } });
    expectFailed(r, 'InferenceInputError');
    expect(r.fake.count('invoke')).toBe(1);
    expect(r.fake.calls).toContain('releaseLease');
  });

  it('the model server failing on every attempt: retried up to six attempts, then InferenceError', async () => {
    const r = await run({ errors: { invoke: Array<'InferenceError'>(6).fill('InferenceError') } });
    expectFailed(r, 'InferenceError');
    expect(r.fake.count('invoke')).toBe(6);
    expect(r.fake.calls).toContain('releaseLease');
  });

  it('the model server failing once: the retry completes the job', async () => {
    const r = await run({ errors: { invoke: ['InferenceError'] } });
    expect(r.output?.status).toBe('COMPLETED');
    expect(attemptsOf(r, OP.invoke)).toBe(2);
  });

  it('inference throttled on every attempt: gives up after six attempts with ThrottledError', async () => {
    const r = await run({ errors: { invoke: Array<'ThrottledError'>(6).fill('ThrottledError') } });
    expectFailed(r, 'ThrottledError');
    expect(r.fake.count('invoke')).toBe(6);
    expect(r.fake.count('renewLease')).toBe(5);
  });

  it('idle stop: begins the stop, then waits for the deletion to finish', async () => {
    const r = await run({ stop: { outcome: 'stopping', doneAtLook: 3 } });
    expect(r.output?.stop).toEqual({ outcome: 'stopped', generation: 1 });
    expect(r.fake.calls.slice(-4)).toEqual(['beginStop', 'finishStop', 'finishStop', 'finishStop']);
    expect(r.ops.slice(-3)).toEqual([OP.idle, OP.beginStop, OP.finishStop]);
    expect(metricCount(r, 'EndpointStopped')).toBe(1);
    const idle = r.result.getOperations().find((o) => o.getName() === OP.idle);
    expect(idle?.getWaitDetails()?.waitSeconds).toBe(600);
  });

  it('a stop that cannot begin does not fail the execution: the job is already recorded', async () => {
    const r = await run({ errors: { beginStop: Array<'ThrottledError'>(6).fill('ThrottledError') } });
    expect(r.output).toMatchObject({ status: 'COMPLETED', stop: { outcome: 'error' } });
    expect(r.fake.count('beginStop')).toBe(6);
  });

  it('a notification that fails for good is logged; the recorded job and the stop go on', async () => {
    const r = await run({ errors: { notify: Array<'Error'>(6).fill('Error') } });
    expect(r.output?.status).toBe('COMPLETED');
    expect(r.fake.count('notify')).toBe(6);
    expect(r.fake.calls.slice(-2)).toEqual(['notify', 'beginStop']);
    expect(r.logs.filter((l) => l.startsWith('ERROR notify failed for good'))).toHaveLength(1);
  });

  it('an error report that cannot be written does not keep the failed job from being recorded', async () => {
    const r = await run({
      errors: { invoke: ['InferenceInputError'], reportFailure: Array<'Error'>(6).fill('Error') },
    });
    expect(r.error?.errorType).toBe('InferenceInputError');
    expect(r.fake.outcomes.map((o) => o.outcome)).toEqual([
      {
        status: 'FAILED',
        failure: { error: 'InferenceInputError', message: 'scripted InferenceInputError from invoke' },
      },
    ]);
    expect(r.fake.calls).toContain('releaseLease');
  });
});

describe('durable workflow, event mode', () => {
  it('warm endpoint: one look at each, as in poll mode; nothing to wait for', async () => {
    const r = await run({}, EVENT);
    expect(r.output?.status).toBe('COMPLETED');
    expect(r.fake.calls).toEqual(['admit', 'checkMask', 'acquireEndpoint', 'checkEndpoint(1)', ...WARM_TAIL]);
    expect(r.ops).toEqual([OP.admit, OP.checkMask, OP.acquire, OP.checkEndpoint, ...JOB_TAIL]);
    expect(r.billed).toBe(10);
  });

  it('cold endpoint: the waker answers the callback when SageMaker reports InService', async () => {
    const r = await run({ endpoint: { state: 'Stopped', readyEventAfterRegistration: 1 } }, EVENT);
    expect(r.output?.status).toBe('COMPLETED');
    expect(r.fake.calls.slice(2, 7)).toEqual([
      'acquireEndpoint',
      'startEndpoint(2)',
      'checkEndpoint(2)',
      'registerEndpointWaiter(2)',
      'invoke',
    ]);
    expect(r.ops).toEqual([
      OP.admit,
      OP.checkMask,
      OP.acquire,
      OP.start,
      OP.checkEndpoint,
      ...callback(OP.waitForEndpoint),
      ...JOB_TAIL,
    ]);
    expect(r.billed).toBe(14);
  });

  it("take-over: the registration's own check hands over a generation; the job starts it and waits again", async () => {
    const r = await run(
      { endpoint: { state: 'Stopped', takeOverAtCheck: 2, readyEventAfterRegistration: 2 } },
      EVENT,
    );
    expect(r.output?.status).toBe('COMPLETED');
    expect(r.fake.calls.filter((c) => /^(start|check|register)\w*\(/.test(c))).toEqual([
      'startEndpoint(2)',
      'checkEndpoint(2)',
      'registerEndpointWaiter(2)',
      'startEndpoint(3)',
      'registerEndpointWaiter(3)',
    ]);
  });

  it('mask late: its own Object Created event wakes the job, no polling at all', async () => {
    const r = await run({ maskAtLook: Infinity, maskEventAfterRegistration: 1 }, EVENT);
    expect(r.output?.status).toBe('COMPLETED');
    expect(r.fake.calls.slice(0, 4)).toEqual(['admit', 'checkMask', 'registerMaskWaiter', 'acquireEndpoint']);
    expect(r.ops.slice(0, 6)).toEqual([OP.admit, OP.checkMask, ...callback(OP.waitForMask), OP.acquire]);
    // Woken by a callback, the mask phase is stamped by the next activity.
    const phases = r.fake.outcomes[0]!.phases;
    expect(phases.MASK_READY).toBe(phases.ENDPOINT_ACQUIRED);
  });

  it('mask landing between the look and the registration: the registration answers its own waiter', async () => {
    const r = await run({ maskAtLook: 2 }, EVENT);
    expect(r.output?.status).toBe('COMPLETED');
    expect(r.fake.calls.slice(0, 4)).toEqual(['admit', 'checkMask', 'registerMaskWaiter', 'acquireEndpoint']);
  });

  it('mask late and its event lost: the callback times out into one check, which finds it', async () => {
    const r = await run({ maskAtLook: 3 }, { ...EVENT_NO_WAKE, maskWaitSeconds: 60 });
    expect(r.output?.status).toBe('COMPLETED');
    expect(r.fake.calls.slice(0, 5)).toEqual([
      'admit',
      'checkMask',
      'registerMaskWaiter',
      'checkMask',
      'acquireEndpoint',
    ]);
    expect(r.ops.slice(0, 7)).toEqual([
      OP.admit,
      OP.checkMask,
      ...callback(OP.waitForMask),
      OP.checkMask,
      OP.acquire,
    ]);
  });

  it('mask never arriving: timeouts and checks until maskWaitSeconds, then MaskTimeoutError', async () => {
    const r = await run({ maskAtLook: Infinity }, EVENT_NO_WAKE);
    expectFailed(r, 'MaskTimeoutError');
    expect(r.fake.calls).toEqual([
      'admit',
      'checkMask',
      'registerMaskWaiter',
      'checkMask',
      'registerMaskWaiter',
      'checkMask',
      'reportFailure',
      'recordOutcome',
      'notify',
    ]);
  });

  it('endpoint failing to start: the waker fails the callback; one check names the error', async () => {
    const r = await run({ endpoint: { state: 'Stopped', failEventAfterRegistration: 1 } }, EVENT);
    expectFailed(r, 'EndpointFailedError');
    expect(r.fake.calls.slice(3, 7)).toEqual([
      'startEndpoint(2)',
      'checkEndpoint(2)',
      'registerEndpointWaiter(2)',
      'checkEndpoint(2)',
    ]);
    expect(r.fake.count('invoke')).toBe(0);
    expect(r.fake.calls).toContain('releaseLease');
  });

  it('endpoint never InService and no event: timeouts and checks until endpointWaitSeconds', async () => {
    const r = await run({ endpoint: { state: 'Stopped' } }, { ...EVENT_NO_WAKE, endpointWaitSeconds: 2 });
    expectFailed(r, 'EndpointTimeoutError');
    expect(r.fake.calls.filter((c) => /^(check|register)\w*Endpoint/.test(c))).toEqual([
      'checkEndpoint(2)',
      'registerEndpointWaiter(2)',
      'checkEndpoint(2)',
      'registerEndpointWaiter(2)',
      'checkEndpoint(2)',
    ]);
  });

  it('a registration that fails for good: one check, then the job fails with what is left of the error', async () => {
    const r = await run(
      { endpoint: { state: 'Stopped' }, errors: { registerEndpointWaiter: ['LeaseLostError'] } },
      EVENT,
    );
    // The SDK serializes a submitter's failure through its child context: the name is gone, the
    // message stays.
    expectFailed(r, 'CallbackSubmitterError');
    expect(r.error?.errorMessage).toBe('scripted LeaseLostError from registerEndpointWaiter');
    expect(r.fake.calls.filter((c) => /(start|check|register)Endpoint/.test(c))).toEqual([
      'startEndpoint(2)',
      'checkEndpoint(2)',
      'registerEndpointWaiter(2)',
      'checkEndpoint(2)',
    ]);
  });
});

describe('durable workflow, admission', () => {
  it('rejected upload: reported, recorded REJECTED, notified; nothing else runs', async () => {
    const r = await run({ reject: "key 'x' is not an input key" });
    expect(r.output).toEqual({
      jobId: 'job-1',
      status: 'REJECTED',
      failure: { error: 'InvalidInputError', message: "key 'x' is not an input key" },
    });
    expect(r.fake.calls).toEqual(['admit', 'reportFailure', 'recordOutcome', 'notify']);
    expect(r.fake.outcomes[0]?.outcome.status).toBe('REJECTED');
    expect(r.ops).toEqual([OP.admit, OP.reportFailure, OP.record, OP.notify]);
    expect(metricCount(r, 'JobRejected')).toBe(1);
  });

  it('a duplicate delivery ends at admission: the job belongs to the execution that admitted it', async () => {
    const r = await run({ duplicate: true });
    expect(r.output).toEqual({ jobId: 'job-1', status: 'DUPLICATE' });
    expect(r.fake.calls).toEqual(['admit']);
    expect(r.metrics).toEqual([['JobDuplicate', 1]]);
  });
});

describe('durable workflow, what a job bills (durable operations, each poll and retry counted)', () => {
  // The defaults of shared/config.ts; a 300 s endpoint start and a 60 s deletion, as the emulator's.
  const DEFAULTS: WorkflowSettings = {
    ...POLL,
    pollSeconds: 5,
    pollMaxSeconds: 60,
    eventFallbackSeconds: 600,
    endpointWaitSeconds: 1800,
  };
  const lookFinding = (seconds: number) => {
    for (let n = 1; ; n++)
      if (waitedBeforeLook(DEFAULTS, DEFAULTS.endpointWaitSeconds, n) >= seconds) return n;
  };

  it('poll: 10 warm, 19 cold (a 300 s start found on the 9th look), 5 more for the job that stops it', async () => {
    expect((await run({}, DEFAULTS)).billed).toBe(10);
    const cold = await run({ endpoint: { state: 'Stopped', readyAtCheck: lookFinding(300) } }, DEFAULTS);
    expect(attemptsOf(cold, OP.waitForEndpoint)).toBe(9);
    expect(cold.billed).toBe(19);
    const stopping = await run({ stop: { outcome: 'stopping', doneAtLook: lookFinding(60) } }, DEFAULTS);
    expect(stopping.billed).toBe(15);
  });

  it('event: 10 warm, 14 cold when InService comes within one callback timeout', async () => {
    expect((await run({}, { ...DEFAULTS, waitMode: 'event' })).billed).toBe(10);
    const cold = await run(
      { endpoint: { state: 'Stopped', readyEventAfterRegistration: 1 } },
      { ...DEFAULTS, waitMode: 'event' },
    );
    expect(cold.billed).toBe(14);
  });

  it('event: each callback timeout before InService adds a check and a new callback (4 operations)', async () => {
    // A start that outlasts EVENT_FALLBACK_SECONDS (a 300 s one under 60 s rounds: four timeouts);
    // here four one-second ones, on real time.
    const r = await run(
      { endpoint: { state: 'Stopped', readyEventAfterRegistration: 5 } },
      { ...DEFAULTS, waitMode: 'event', eventFallbackSeconds: 1 },
    );
    expect(r.fake.count('registerEndpointWaiter')).toBe(5);
    expect(r.billed).toBe(14 + 4 * 4);
  });
});
