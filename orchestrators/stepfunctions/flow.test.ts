// The state machine's flow, path by path: the real ASL on aws-local-stepfunctions, every Task served
// by a FAKE world (testing/fake-world.ts) whose clock only Wait states and token waits move. Each test
// forces one path on purpose and checks which activities ran, in which order, what was recorded and
// how the execution ended; the transition counts are pinned, so a change to the flow shows up here.
import { describe, expect, it } from 'vitest';
import { JOB_STATUSES } from '../../shared/job-model.ts';
import { FakeWorld, type WorldOptions } from '../testing/fake-world.ts';
import { flowConfig, runFlow } from '../testing/run-flow.ts';

const MODES = ['poll', 'event'] as const;
type Mode = (typeof MODES)[number];

async function run(mode: Mode, options: WorldOptions = {}, settings: Record<string, string> = {}) {
  const world = new FakeWorld(options);
  const result = await runFlow(world, flowConfig({ WAIT_MODE: mode, ...settings }));
  return { world, result };
}

const seconds = (iso: string | undefined) =>
  (Date.parse(iso ?? '') - Date.parse('2026-01-01T00:00:00Z')) / 1000;

/** The job's part of a completed warm job; the idle stop follows. */
const WARM_JOB = [
  'admit',
  'checkMask',
  'acquireEndpoint',
  'checkEndpoint',
  'invoke',
  'recordOutcome',
  'releaseLease',
  'notify',
  'beginStop',
];

describe.each(MODES)('%s mode', (mode) => {
  it('warm: joins the serving endpoint, invokes, records COMPLETED, and keeps the endpoint another job used', async () => {
    const { world, result } = await run(mode, { endpoint: 'warm', idle: false });
    expect(result.status).toBe('SUCCEEDED');
    expect(world.calls).toEqual(WARM_JOB);
    expect(world.recorded?.status).toBe('COMPLETED');
    // Every phase before the ending, each stamped by the step that reached it.
    expect(Object.keys(world.recorded?.phases ?? {})).toEqual(JOB_STATUSES.slice(0, 6));
    expect(world.notified.map((n) => n.status)).toEqual(['COMPLETED']);
    expect(result.describeCalls).toBe(0);
    // Waited only the idle window.
    expect(world.now).toBe(600);
  });

  it('cold: the starter creates the endpoint once, waits for InService, and the idle stop deletes it', async () => {
    const { world, result } = await run(mode, { endpoint: 'cold', createSeconds: 300, idle: true });
    expect(result.status).toBe('SUCCEEDED');
    expect(world.invocations.filter((c) => c.task === 'startEndpoint')).toEqual([
      { task: 'startEndpoint', args: [1] },
    ]);
    expect(world.recorded?.status).toBe('COMPLETED');
    const ready = seconds(world.recorded?.phases.ENDPOINT_READY);
    if (mode === 'poll') {
      // Intervals 5, 10, 20, 40, 60, 60, 60, 60: the 8th look (315 s) is the first to see InService,
      // through Step Functions' own DescribeEndpoint; the fold runs once, on the change.
      expect(ready).toBe(315);
      expect(result.describeCalls).toBe(8);
      expect(world.invocations.filter((c) => c.task === 'checkEndpoint').map((c) => c.args[1])).toEqual([
        'describes',
        'observed',
      ]);
    } else {
      // Woken by the state change at 300 s exactly, inside the one EVENT_FALLBACK_SECONDS round (600 s):
      // one registration and the first check, no fallback check (was 5 and 5 with 60 s rounds).
      expect(ready).toBe(300);
      expect(result.describeCalls).toBe(0);
      expect(world.called('registerEndpointWaiter')).toBe(1);
      expect(world.called('checkEndpoint')).toBe(1);
    }
    // The stop: beginStop, then finishStop until the deletion (60 s) is done: after 5 + 10 + 20 + 40.
    expect(world.calls.slice(-5)).toEqual(['beginStop', ...Array<string>(4).fill('finishStop')]);
    // The job metrics the durable workflow emits too (shared/job-metrics.ts), each once, in order.
    expect(result.metrics.map(([name]) => name)).toEqual([
      'JobAdmitted',
      'EndpointStarted',
      'MaskWait',
      'EndpointWait',
      'InferenceLatency',
      'JobLatency',
      'JobCompleted',
      'EndpointStopped',
    ]);
    const acquired = seconds(world.recorded?.phases.ENDPOINT_ACQUIRED);
    expect(result.metrics).toContainEqual(['EndpointWait', (ready - acquired) * 1000]);
  });

  it('take-over: a start whose starter died is taken over after the stall and started as generation 2', async () => {
    const { world, result } = await run(mode, {
      endpoint: 'takeover',
      stalledStartSeconds: 120,
      idle: false,
    });
    expect(result.status).toBe('SUCCEEDED');
    expect(world.invocations.filter((c) => c.task === 'startEndpoint')).toEqual([
      { task: 'startEndpoint', args: [2] },
    ]);
    expect(world.recorded?.status).toBe('COMPLETED');
    expect(seconds(world.recorded?.phases.ENDPOINT_READY)).toBeGreaterThanOrEqual(120 + 300);
    // No event says a start stalled: event mode finds it by the fallback check, after one round of
    // EVENT_FALLBACK_SECONDS (600 s), then waits the 300 s start. The price of a long fallback.
    if (mode === 'event') expect(seconds(world.recorded?.phases.ENDPOINT_READY)).toBe(600 + 300);
  });

  it('rejected: reports, keeps the REJECTED job, notifies, and never touches the endpoint', async () => {
    const { world, result } = await run(mode, { upload: 'rejected' });
    expect(result.status).toBe('SUCCEEDED');
    expect(result.entered.at(-1)).toBe('Rejected');
    expect(world.calls).toEqual(['admit', 'reportFailure', 'recordOutcome', 'notify']);
    expect(world.recorded).toMatchObject({ status: 'REJECTED', failure: { error: 'InvalidInputError' } });
    expect(world.notified).toEqual([
      {
        status: 'REJECTED',
        failure: { error: 'InvalidInputError', message: "key 'x.png' is not an input key" },
      },
    ]);
  });

  it('a duplicate delivery joins the job another execution admitted and does nothing else', async () => {
    const { world, result } = await run(mode, { upload: 'duplicate' });
    expect(result.status).toBe('SUCCEEDED');
    expect(world.calls).toEqual(['admit']);
    expect(result.entered).toEqual(['Admit', 'IsAdmitted', 'JoinedExistingJob']);
  });

  it('mask late: waits for it, then goes on', async () => {
    const { world, result } = await run(mode, { maskArrivesAt: 12, idle: false });
    expect(result.status).toBe('SUCCEEDED');
    expect(world.recorded?.status).toBe('COMPLETED');
    const maskReady = seconds(world.recorded?.phases.MASK_READY);
    if (mode === 'poll') {
      // Looks at 0, 5 and 15 s.
      expect(world.called('checkMask')).toBe(3);
      expect(maskReady).toBe(15);
    } else {
      // One look, then the waiter is woken by the mask's Object Created at 12 s.
      expect(world.calls.slice(0, 4)).toEqual([
        'admit',
        'checkMask',
        'registerMaskWaiter',
        'acquireEndpoint',
      ]);
      expect(maskReady).toBe(12);
    }
  });

  it('mask never: fails with MaskTimeoutError after the bound, records FAILED, releases, notifies', async () => {
    const { world, result } = await run(mode, { maskArrivesAt: null });
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('MaskTimeoutError');
    expect(result.cause).toBe('the mask users/user-1/input/chair_mask.png did not arrive within 300 seconds');
    expect(world.now).toBe(300);
    expect(world.called('acquireEndpoint')).toBe(0);
    expect(world.calls.slice(-4)).toEqual(['reportFailure', 'recordOutcome', 'releaseLease', 'notify']);
    expect(world.recorded).toMatchObject({ status: 'FAILED', failure: { error: 'MaskTimeoutError' } });
    expect(world.reports.map((r) => r.error)).toEqual(['MaskTimeoutError']);
    // It never held the endpoint: no idle stop.
    expect(world.called('beginStop')).toBe(0);
  });

  it('endpoint failed: every waiting job fails with SageMaker’s reason, and the idle stop still runs', async () => {
    const { world, result } = await run(mode, {
      endpoint: 'cold',
      startFailure: 'insufficient capacity for ml.g5.xlarge',
      idle: false,
    });
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('EndpointFailedError');
    expect(world.recorded?.status).toBe('FAILED');
    expect(world.recorded?.failure?.message).toContain('insufficient capacity for ml.g5.xlarge');
    expect(world.called('invoke')).toBe(0);
    expect(world.calls.slice(-5)).toEqual([
      'reportFailure',
      'recordOutcome',
      'releaseLease',
      'notify',
      'beginStop',
    ]);
  });

  it('endpoint never InService: fails with EndpointTimeoutError after the bound', async () => {
    const { world, result } = await run(mode, { endpoint: 'cold', createSeconds: 100_000, idle: false });
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('EndpointTimeoutError');
    expect(result.cause).toBe('endpoint reconstruct-3d-sf did not reach InService within 1800 seconds');
    // The bound is exact: the waits add up to ENDPOINT_WAIT_SECONDS, then the idle window.
    expect(world.now).toBe(1800 + 600);
    expect(world.recorded).toMatchObject({ status: 'FAILED', failure: { error: 'EndpointTimeoutError' } });
  });

  it('inference throttled, then OK: retried with backoff by name, billed one transition per retry', async () => {
    const warm = await run(mode, { idle: false });
    const { world, result } = await run(mode, { idle: false, invoke: ['throttled', 'throttled', 'ok'] });
    expect(result.status).toBe('SUCCEEDED');
    expect(world.called('invoke')).toBe(3);
    expect(world.recorded?.status).toBe('COMPLETED');
    expect(result.retries).toBe(2);
    expect(result.transitions).toBe(warm.result.transitions + 2);
  });

  it('inference failing on every attempt: the task Retry tries eight more times, then FAILED with InferenceError and its report', async () => {
    const { world, result } = await run(mode, { idle: false, invoke: ['failed'] });
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('InferenceError');
    expect(world.called('invoke')).toBe(9);
    expect(result.metrics.filter(([name]) => name.startsWith('Job'))).toEqual([
      ['JobAdmitted', 1],
      ['JobFailed', 1],
    ]);
    expect(world.recorded).toMatchObject({
      status: 'FAILED',
      failure: { error: 'InferenceError', message: 'the model server failed: out of memory' },
    });
    expect(world.reports).toEqual([
      { error: 'InferenceError', message: 'the model server failed: out of memory' },
    ]);
    expect(world.notified.map((n) => n.status)).toEqual(['FAILED']);
    // It held the endpoint: released, then the idle stop.
    expect(world.calls.slice(-3)).toEqual(['releaseLease', 'notify', 'beginStop']);
  });

  it('stop path: a deletion that outlasts the bound ends the loop; the execution still succeeds', async () => {
    const { world, result } = await run(mode, { idle: true, deleteSeconds: 100_000 });
    expect(result.status).toBe('SUCCEEDED');
    expect(result.entered.at(-1)).toBe('Completed');
    // The deletion loop is polled in both modes, bounded by ENDPOINT_WAIT_SECONDS.
    expect(world.now).toBe(600 + 1800);
    expect(world.called('finishStop')).toBeGreaterThan(4);
  });
});

describe('event mode specifics', () => {
  it('a lost wake-up costs one timeout: the wait falls back to one check', async () => {
    const woken = await run('event', { endpoint: 'cold', createSeconds: 270, idle: false });
    expect(seconds(woken.world.recorded?.phases.ENDPOINT_READY)).toBe(270);
    const { world, result } = await run('event', {
      endpoint: 'cold',
      createSeconds: 270,
      lostWakeUps: 1,
      idle: false,
    });
    expect(result.status).toBe('SUCCEEDED');
    // The wake-up at 270 s was lost; the one round (EVENT_FALLBACK_SECONDS, 600 s) times out at 600 s
    // into a check that sees InService: a lost event costs latency up to one round, not units.
    expect(seconds(world.recorded?.phases.ENDPOINT_READY)).toBe(600);
    expect(world.invocations.filter((c) => c.task === 'checkEndpoint').at(-1)?.args).toEqual([
      1,
      'describes',
    ]);
  });

  it('the event waits time out after EVENT_FALLBACK_SECONDS, whatever it is set to', async () => {
    const { world } = await run(
      'event',
      { endpoint: 'cold', idle: false },
      { EVENT_FALLBACK_SECONDS: '150' },
    );
    // Timeouts at 150 and 300 s... the second round is woken at 300 s: two registrations.
    expect(world.called('registerEndpointWaiter')).toBe(2);
  });
});

describe('state transitions per job (the billed unit), pinned', () => {
  const paths: [string, WorldOptions][] = [
    ['warm, endpoint kept', { endpoint: 'warm', idle: false }],
    ['warm, then stops the endpoint', { endpoint: 'warm', idle: true }],
    ['cold (300 s start), then stops the endpoint', { endpoint: 'cold', createSeconds: 300, idle: true }],
    ['rejected', { upload: 'rejected' }],
    ['duplicate delivery', { upload: 'duplicate' }],
    ['mask 12 s late, warm, kept', { maskArrivesAt: 12, idle: false }],
    ['mask never', { maskArrivesAt: null }],
    ['start failed after 300 s, kept', { endpoint: 'cold', startFailure: 'no capacity', idle: false }],
    ['take-over after 120 s, kept', { endpoint: 'takeover', idle: false }],
    ['warm, inference throttled twice, kept', { invoke: ['throttled', 'throttled', 'ok'], idle: false }],
    ['warm, inference failed, kept', { invoke: ['failed'], idle: false }],
  ];

  it('for every path in each wait mode: transitions, task Lambda invocations, native DescribeEndpoint calls', async () => {
    const table: Record<string, string> = {};
    for (const [label, options] of paths) {
      for (const mode of MODES) {
        const { result } = await run(mode, options);
        table[`${label} (${mode})`] =
          `${result.status} ${result.transitions} ${result.lambdaInvocations} ${result.describeCalls}`;
      }
    }
    // README.md reports this table; change both together. status transitions lambda describe.
    // Event mode waits in rounds of EVENT_FALLBACK_SECONDS (600 s): a 300 s start, a 300 s mask bound
    // or a failure at 300 s is one round (4 transitions and 2 invocations less per 60 s round saved).
    expect(table).toEqual({
      'warm, endpoint kept (poll)': 'SUCCEEDED 17 9 0',
      'warm, endpoint kept (event)': 'SUCCEEDED 17 9 0',
      'warm, then stops the endpoint (poll)': 'SUCCEEDED 33 13 0',
      'warm, then stops the endpoint (event)': 'SUCCEEDED 33 13 0',
      'cold (300 s start), then stops the endpoint (poll)': 'SUCCEEDED 68 15 8',
      'cold (300 s start), then stops the endpoint (event)': 'SUCCEEDED 37 15 0',
      'rejected (poll)': 'SUCCEEDED 6 4 0',
      'rejected (event)': 'SUCCEEDED 6 4 0',
      'duplicate delivery (poll)': 'SUCCEEDED 3 1 0',
      'duplicate delivery (event)': 'SUCCEEDED 3 1 0',
      'mask 12 s late, warm, kept (poll)': 'SUCCEEDED 25 11 0',
      'mask 12 s late, warm, kept (event)': 'SUCCEEDED 20 10 0',
      'mask never (poll)': 'FAILED 43 14 0',
      'mask never (event)': 'FAILED 15 8 0',
      'start failed after 300 s, kept (poll)': 'FAILED 52 11 8',
      'start failed after 300 s, kept (event)': 'FAILED 21 11 0',
      'take-over after 120 s, kept (poll)': 'SUCCEEDED 66 16 10',
      'take-over after 120 s, kept (event)': 'SUCCEEDED 26 13 0',
      'warm, inference throttled twice, kept (poll)': 'SUCCEEDED 19 11 0',
      'warm, inference throttled twice, kept (event)': 'SUCCEEDED 19 11 0',
      'warm, inference failed, kept (poll)': 'FAILED 27 18 0',
      'warm, inference failed, kept (event)': 'FAILED 27 18 0',
    });
  });
});
