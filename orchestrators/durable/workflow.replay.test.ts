// Replay, for real: without skipTime every durable wait, poll interval and retry delay ends the
// invocation and the next one replays the execution from its checkpoints, exactly as on Lambda. The
// runner validates each replay (operation type, name and order), so a workflow that is not
// deterministic fails here; the control at the end shows that it would. One-second settings keep
// the real waiting to a few seconds.
import { withDurableExecution, type DurableExecutionHandler } from '@aws/durable-execution-sdk-js';
import { LocalDurableTestRunner } from '@aws/durable-execution-sdk-js-testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeActivities } from '../testing/fake-activities.ts';
import { metricCount, run, UPLOAD } from '../testing/run-workflow.ts';
import { createWorkflow, OP, type JobResult, type WorkflowSettings } from './workflow.ts';

const REAL: WorkflowSettings = {
  waitMode: 'poll',
  maskWaitSeconds: 10,
  endpointWaitSeconds: 10,
  pollSeconds: 1,
  pollMaxSeconds: 1,
  eventFallbackSeconds: 1,
  idleWindowSeconds: 1,
};

beforeAll(() => LocalDurableTestRunner.setupTestEnvironment({ skipTime: false }));
afterAll(() => LocalDurableTestRunner.teardownTestEnvironment());

describe('durable workflow, replay', () => {
  it('replays without running an activity twice; each activity and each metric once', async () => {
    const first = await run(
      {
        maskAtLook: 2,
        endpoint: { state: 'Stopped', readyAtCheck: 2 },
        errors: { invoke: ['ThrottledError'] },
        stop: { outcome: 'stopping', doneAtLook: 2 },
      },
      REAL,
    );
    // Every wait, poll and retry suspended the execution and the next invocation replayed it.
    expect(first.result.getInvocations().length).toBeGreaterThan(5);
    // ctx.logger is replay-aware: a line logged before a suspension is not logged again.
    expect(first.logs.filter((line) => line.includes('job job-1 COMPLETED'))).toHaveLength(1);
    expect(first.fake.calls).toEqual([
      'admit',
      'checkMask',
      'checkMask',
      'acquireEndpoint',
      'startEndpoint(2)',
      'checkEndpoint(2)',
      'checkEndpoint(2)',
      'invoke',
      'renewLease',
      'invoke',
      'recordOutcome',
      'releaseLease',
      'notify',
      'beginStop',
      'finishStop',
      'finishStop',
    ]);
    expect(first.ops).toEqual([
      OP.admit,
      OP.waitForMask,
      OP.acquire,
      OP.start,
      OP.waitForEndpoint,
      OP.invoke,
      OP.record,
      OP.release,
      OP.notify,
      OP.idle,
      OP.beginStop,
      OP.finishStop,
    ]);
    for (const name of [
      'JobAdmitted',
      'EndpointStarted',
      'JobCompleted',
      'JobLatency',
      'EndpointStopped',
    ] as const)
      expect(metricCount(first, name)).toBe(1);
  });

  it("event mode and a failed job replay alike: the execution fails once, with the job's error", async () => {
    const r = await run(
      {
        maskAtLook: Infinity,
        maskEventAfterRegistration: 1,
        endpoint: { state: 'Stopped', failEventAfterRegistration: 1 },
      },
      { ...REAL, waitMode: 'event', eventFallbackSeconds: 30 },
    );
    expect(r.result.getInvocations().length).toBeGreaterThan(2);
    expect(r.error?.errorType).toBe('EndpointFailedError');
    expect(r.fake.calls).toEqual([
      'admit',
      'checkMask',
      'registerMaskWaiter',
      'acquireEndpoint',
      'startEndpoint(2)',
      'checkEndpoint(2)',
      'registerEndpointWaiter(2)',
      'checkEndpoint(2)',
      'reportFailure',
      'recordOutcome',
      'releaseLease',
      'notify',
      'beginStop',
    ]);
    expect(metricCount(r, 'JobFailed')).toBe(1);
    expect(r.logs.filter((line) => line.startsWith('ERROR job job-1 failed'))).toHaveLength(1);
  });

  it('the runner rejects a workflow whose operations change between replays (so the runs above prove it)', async () => {
    // Control: flip the wait mode after the first invocation; the replay meets another operation type.
    let invocations = 0;
    const fake = new FakeActivities({ maskAtLook: 2 });
    const flipping: DurableExecutionHandler<unknown, JobResult> = (event, ctx) =>
      createWorkflow({
        activities: fake,
        settings: invocations++ === 0 ? REAL : { ...REAL, waitMode: 'event' },
        metrics: { record: () => undefined, flush: () => undefined },
      })(event, ctx);
    const runner = new LocalDurableTestRunner<JobResult>({ handlerFunction: withDurableExecution(flipping) });
    const result = await runner.run({ payload: UPLOAD });
    expect(result.getStatus()).toBe('FAILED');
    expect(result.getError().errorMessage).toMatch(/mismatch|non-?determin/i);
  });
});
