// The lifecycle protocol against DynamoDB Local and the SageMaker emulator, through the real SDKs, one
// path per scenario, forced on purpose. The waiting a workflow does between steps is played by the
// harness (acquireAndWait, stopIfIdle); time that only needs to pass comes from a manual clock, a
// transient SageMaker status is held by holding SageMaker's clock, and the randomized interleavings
// wait on a skipping clock: no test waits for real time to pass. Over 400 lines on purpose: every path
// of the protocol shares one harness (DynamoDB Local and the emulator take seconds to start).
import { DeleteEndpointCommand, DescribeEndpointCommand } from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand } from '@aws-sdk/client-sagemaker-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SageMakerEndpointStateChangeEvent } from '../aws-events.ts';
import { isRetryable } from '../errors.ts';
import { seededRandom } from '../random.ts';
import { EndpointStore } from './endpoint-store.ts';
import type { EndpointLifecycle } from './lifecycle.ts';
import { sageMakerControl, type EndpointControl } from './sagemaker-control.ts';
import {
  acquireAndWait,
  manualClock,
  skippingClock,
  startHarness,
  stopIfIdle,
  waitUntilReady,
  type Harness,
} from '../../test/support/lifecycle-harness.ts';
import type { SendOutcome, WaiterSender } from './waiter-senders.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

/** A bound on waiting for the emulator's own transition (0.3 s at the harness's scale), not a timing. */
const SETTLES = { timeout: 10_000 };

let endpoints = 0;
const freshName = (): string => `gpu-${++endpoints}`;

const okCalls = (operation: string, name: string) =>
  h.emulator
    .calls()
    .filter((c) => c.operation === operation && c.endpointName === name && c.outcome === 'ok');
const creates = (name: string) => okCalls('CreateEndpoint', name);
const deletes = (name: string) => okCalls('DeleteEndpoint', name);
const store = (): EndpointStore => new EndpointStore(h.doc, h.tableName, 'sf');
const sageMakerStatus = async (name: string): Promise<string> => {
  try {
    return (
      (await h.sagemaker.send(new DescribeEndpointCommand({ EndpointName: name }))).EndpointStatus ?? '?'
    );
  } catch {
    return 'missing';
  }
};

/**
 * Serves the endpoint to one job, lets it go idle and begins its stop, then runs `meanwhile` while
 * SageMaker's clock is held: the deletion cannot end before `meanwhile` does, however loaded the machine.
 */
async function whileDeleting(lifecycle: EndpointLifecycle, meanwhile: () => Promise<void>): Promise<void> {
  await acquireAndWait(lifecycle, 'j1');
  await lifecycle.release('j1');
  const release = h.holdSageMakerClock();
  try {
    expect(await lifecycle.beginStop()).toEqual({ outcome: 'stopping', generation: 1 });
    await meanwhile();
  } finally {
    release();
  }
}

describe('acquire and start', () => {
  it('starts a stopped endpoint exactly once for 100 concurrent jobs, all of which then see it serve', async () => {
    const name = freshName();
    const lifecycle = h.lifecycle(name);
    const jobs = Array.from({ length: 100 }, (_, i) => `job-${i}`);
    const acquired = await Promise.all(jobs.map((job) => lifecycle.acquire(job)));
    expect(acquired.filter((a) => a.role === 'starter')).toHaveLength(1);
    expect(new Set(acquired.map((a) => a.generation))).toEqual(new Set([1]));
    // Acquiring calls no SageMaker API: the starter's next step does.
    expect(creates(name)).toHaveLength(0);
    const starter = jobs[acquired.findIndex((a) => a.role === 'starter')]!;
    expect(await lifecycle.startEndpoint(1)).toBe('created');
    expect(creates(name)).toHaveLength(1);
    await Promise.all(jobs.map((job) => waitUntilReady(lifecycle, job, 1)));
    const item = await store().get(name);
    expect(item).toMatchObject({ state: 'InService', generation: 1, startedBy: starter });
    expect(Object.keys(item.leases)).toHaveLength(100);
  });

  it('is safe to repeat: a retried acquire is the starter again, a retried start joins its own endpoint', async () => {
    const name = freshName();
    const lifecycle = h.lifecycle(name);
    expect(await lifecycle.acquire('job-a')).toMatchObject({ role: 'starter', generation: 1 });
    expect(await lifecycle.acquire('job-a')).toMatchObject({ role: 'starter', generation: 1 });
    expect(await lifecycle.startEndpoint(1)).toBe('created');
    expect(await lifecycle.startEndpoint(1)).toBe('joined');
    expect(creates(name)).toHaveLength(1);
    await waitUntilReady(lifecycle, 'job-a', 1);
    expect(await lifecycle.startEndpoint(1)).toBe('not-needed');
    expect(await lifecycle.acquire('job-a')).toMatchObject({ role: 'joiner', state: 'InService' });
  });

  it('keeps the orchestrators apart: sf# and ldf# items are separate endpoints of the protocol', async () => {
    const name = freshName();
    await h.lifecycle(`${name}-sf`, { orchestrator: 'sf' }).acquire('j');
    await h.lifecycle(`${name}-ldf`, { orchestrator: 'ldf' }).acquire('j');
    expect((await new EndpointStore(h.doc, h.tableName, 'ldf').get(`${name}-sf`)).state).toBe('Stopped');
    expect((await new EndpointStore(h.doc, h.tableName, 'ldf').get(`${name}-ldf`)).state).toBe('Starting');
    expect((await store().get(`${name}-sf`)).state).toBe('Starting');
  });
});

describe('the guarded stop', () => {
  it('waits out the idle window after the last release, then deletes the endpoint', async () => {
    const name = freshName();
    const clock = manualClock();
    const lifecycle = h.lifecycle(name, { idleWindowMs: 300_000, now: clock.now });
    await acquireAndWait(lifecycle, 'j1');
    expect(await lifecycle.beginStop()).toEqual({ outcome: 'kept', reason: '1 live lease(s)' });
    await lifecycle.release('j1');
    clock.advance(299_000);
    expect(await lifecycle.beginStop()).toEqual({ outcome: 'kept', reason: 'used within the idle window' });
    clock.advance(1_000);
    expect(await stopIfIdle(lifecycle)).toEqual({ outcome: 'stopping', generation: 1 });
    expect(deletes(name)).toHaveLength(1);
    expect(await sageMakerStatus(name)).toBe('missing');
    expect((await store().get(name)).state).toBe('Stopped');
    // Stopping again is harmless.
    expect(await lifecycle.beginStop()).toEqual({ outcome: 'kept', reason: 'endpoint is Stopped' });
    expect(await lifecycle.finishStop()).toEqual({ done: true });
  });

  it('refuses to stop when anything happened after the idle check read the item', async () => {
    const name = freshName();
    const lifecycle = h.lifecycle(name, { idleWindowMs: 0 });
    await acquireAndWait(lifecycle, 'j1');
    await lifecycle.release('j1');
    const seen = await store().get(name);
    // A job acquires between the stopper's read and its conditional write.
    await lifecycle.acquire('j2');
    expect(await store().beginStop(name, seen, Date.now())).toBeUndefined();
    expect(await lifecycle.beginStop()).toEqual({ outcome: 'kept', reason: '1 live lease(s)' });
    expect(deletes(name)).toHaveLength(0);
  });

  it('ignores an expired lease: a job that died without releasing cannot keep the GPU running', async () => {
    const name = freshName();
    const clock = manualClock();
    const lifecycle = h.lifecycle(name, { idleWindowMs: 50, leaseTtlMs: 1000, now: clock.now });
    await acquireAndWait(lifecycle, 'crashed-job');
    expect(await lifecycle.beginStop()).toEqual({ outcome: 'kept', reason: '1 live lease(s)' });
    clock.advance(1001);
    expect(await stopIfIdle(lifecycle)).toMatchObject({ outcome: 'stopping' });
    // The crashed job's lease went with the stop; renewing it now says so, by name.
    await expect(lifecycle.renew('crashed-job')).rejects.toMatchObject({ name: 'LeaseLostError' });
    await expect(lifecycle.checkEndpoint('crashed-job', 1)).rejects.toMatchObject({ name: 'LeaseLostError' });
  });

  it('gives a job that arrives while the endpoint stops a fresh start once the deletion is over', async () => {
    const name = freshName();
    const lifecycle = h.lifecycle(name, { idleWindowMs: 0 });
    await whileDeleting(lifecycle, async () => {
      expect(await lifecycle.finishStop()).toEqual({ done: false });
      // Stopping: a new job is told to come back, by a retryable name.
      const refused = await lifecycle.acquire('late-job').catch((e: unknown) => e);
      expect(refused).toMatchObject({ name: 'EndpointStoppingError' });
      expect(isRetryable(refused)).toBe(true);
    });
    expect(await acquireAndWait(lifecycle, 'late-job')).toBe(2);
    expect(creates(name)).toHaveLength(2);
  });
});

describe('SageMaker answers folded in', () => {
  it('folds a start whose jobs are gone: InService recorded without a job, so the idle stop applies', async () => {
    const name = freshName();
    const clock = manualClock();
    const lifecycle = h.lifecycle(name, { idleWindowMs: 60_000, now: clock.now });
    const acquired = await lifecycle.acquire('gone');
    await lifecycle.startEndpoint(acquired.generation);
    // The job's execution ended (its lease released from outside) and no state-change event came.
    await lifecycle.abandon('gone');
    await expect.poll(() => sageMakerStatus(name), SETTLES).toBe('InService');
    expect((await store().get(name)).state).toBe('Starting');
    expect(await lifecycle.beginStop()).toEqual({ outcome: 'kept', reason: 'endpoint is Starting' });
    await lifecycle.foldStart();
    expect((await store().get(name)).state).toBe('InService');
    clock.advance(60_000);
    expect(await stopIfIdle(lifecycle)).toEqual({ outcome: 'stopping', generation: acquired.generation });
    expect(await sageMakerStatus(name)).toBe('missing');
    await lifecycle.foldStart(); // nothing to fold on a stopped item
    expect((await store().get(name)).state).toBe('Stopped');
  });

  it('a failed start reaches every waiting job with its FailureReason, and the next job starts afresh', async () => {
    const name = freshName();
    const lifecycle = h.lifecycle(name);
    h.emulator.faults.failNextStart('The instance could not be launched: injected');
    const jobs = ['a', 'b', 'c', 'd', 'e'];
    const results = await Promise.allSettled(jobs.map((j) => acquireAndWait(lifecycle, j)));
    for (const r of results) {
      expect(r).toMatchObject({
        status: 'rejected',
        reason: { name: 'EndpointFailedError', message: expect.stringContaining('injected') as unknown },
      });
    }
    const item = await store().get(name);
    expect(item).toMatchObject({ state: 'Stopped', leases: {}, lastFailure: { generation: 1 } });
    await expect.poll(() => sageMakerStatus(name), SETTLES).toBe('missing');
    expect(await acquireAndWait(lifecycle, 'next')).toBe(2);
  });

  it('a start meeting the failed remains of its own generation reports the failure and never recreates', async () => {
    const name = freshName();
    const lifecycle = h.lifecycle(name);
    h.emulator.faults.failNextStart('injected: own failure');
    await lifecycle.acquire('j1');
    expect(await lifecycle.startEndpoint(1)).toBe('created');
    await expect.poll(() => sageMakerStatus(name), SETTLES).toBe('Failed');
    // The step re-runs (a crash after CreateEndpoint): it must not create again.
    await expect(lifecycle.startEndpoint(1)).rejects.toMatchObject({ name: 'EndpointFailedError' });
    expect(creates(name)).toHaveLength(1);
    expect(await store().get(name)).toMatchObject({ state: 'Stopped', lastFailure: { generation: 1 } });
  });

  it('capacity refusals and throttling are retryable and leave the start to be tried again', async () => {
    const name = freshName();
    const lifecycle = h.lifecycle(name);
    await lifecycle.acquire('j1');
    h.emulator.faults.rejectCapacity();
    const capacity = await lifecycle.startEndpoint(1).catch((e: unknown) => e);
    expect(capacity).toMatchObject({ name: 'CapacityError' });
    expect(isRetryable(capacity)).toBe(true);
    h.emulator.faults.throttle(1, ['CreateEndpoint']);
    const throttled = await lifecycle.startEndpoint(1).catch((e: unknown) => e);
    expect(throttled).toMatchObject({ name: 'ThrottledError' });
    expect(isRetryable(throttled)).toBe(true);
    expect(await store().get(name)).toMatchObject({ state: 'Starting', generation: 1 });
    expect(await lifecycle.startEndpoint(1)).toBe('created');
    expect(await waitUntilReady(lifecycle, 'j1', 1)).toBe(1);
    expect(creates(name)).toHaveLength(1);
  });

  it('waits out a previous generation still deleting, by a retryable error, before starting', async () => {
    const name = freshName();
    const lifecycle = h.lifecycle(name, { idleWindowMs: 0 });
    await whileDeleting(lifecycle, async () => {
      // The item is forced to Stopped while SageMaker still deletes (as a stopper that died would leave
      // it once repaired): the next start meets the Deleting leftover.
      await store().finishStop(name, 1, Date.now());
      await lifecycle.acquire('j2');
      await expect(lifecycle.startEndpoint(2)).rejects.toMatchObject({ name: 'EndpointStoppingError' });
    });
    // acquireAndWait waits the deletion out by that retryable name.
    expect(await acquireAndWait(lifecycle, 'j2')).toBe(2);
  });

  it('repairs an item that says InService when the endpoint was deleted behind its back', async () => {
    const name = freshName();
    const lifecycle = h.lifecycle(name);
    await acquireAndWait(lifecycle, 'j1');
    await h.sagemaker.send(new DeleteEndpointCommand({ EndpointName: name }));
    await expect.poll(() => sageMakerStatus(name), SETTLES).toBe('missing');
    await lifecycle.acquire('j2');
    expect(await lifecycle.checkEndpoint('j2', 1)).toEqual({ status: 'start', generation: 2 });
    expect(await store().get(name)).toMatchObject({ state: 'Starting', generation: 2, startedBy: 'j2' });
    // The other job, checking too, only waits: the take-over has one winner.
    expect(await lifecycle.checkEndpoint('j1', 1)).toMatchObject({ status: 'waiting', generation: 2 });
    expect(await lifecycle.startEndpoint(2)).toBe('created');
    expect(await waitUntilReady(lifecycle, 'j1', 2)).toBe(2);
    expect(creates(name)).toHaveLength(2);
  });

  it('takes over a start whose starter died before it called CreateEndpoint', async () => {
    const name = freshName();
    const clock = manualClock();
    const lifecycle = h.lifecycle(name, { stalledStartMs: 100, now: clock.now });
    // The starter wins the conditional write and then crashes.
    await store().acquire(name, 'dead-starter', clock.now(), clock.now() + 60_000);
    expect(await lifecycle.acquire('j2')).toMatchObject({ role: 'joiner', generation: 1 });
    expect(await lifecycle.checkEndpoint('j2', 1)).toEqual({
      status: 'waiting',
      generation: 1,
      sageMakerStatus: 'missing',
    });
    clock.advance(101);
    expect(await lifecycle.checkEndpoint('j2', 1)).toEqual({ status: 'start', generation: 2 });
    expect(await lifecycle.startEndpoint(2)).toBe('created');
    expect(await waitUntilReady(lifecycle, 'j2', 2)).toBe(2);
    expect(creates(name)).toHaveLength(1);
  });

  it('folds an observed DescribeEndpoint (a Step Functions native call) without describing again', async () => {
    const name = freshName();
    const lifecycle = h.lifecycle(name);
    await lifecycle.acquire('j1');
    await lifecycle.startEndpoint(1);
    const describes = () => okCalls('DescribeEndpoint', name).length;
    const before = describes();
    expect(await lifecycle.checkEndpoint('j1', 1, { status: 'Creating' })).toMatchObject({
      status: 'waiting',
    });
    expect(await lifecycle.checkEndpoint('j1', 1, { status: 'InService' })).toEqual({
      status: 'ready',
      generation: 1,
    });
    expect(describes()).toBe(before);
    expect((await store().get(name)).state).toBe('InService');
  });
});

/** A sender that records what it sends; tokens in `gone` answer as an ended execution would. */
function recordingSender(gone = new Set<string>(), failing = new Set<string>()) {
  const sent: { token: string; ok: boolean; detail: string }[] = [];
  const sender: WaiterSender = {
    succeed: (token, output) => answer(token, true, JSON.stringify(output)),
    fail: (token, error, cause) => answer(token, false, `${error}: ${cause}`),
  };
  function answer(token: string, ok: boolean, detail: string): Promise<SendOutcome> {
    if (failing.has(token)) return Promise.reject(new Error(`throttled sending to ${token}`));
    if (gone.has(token)) return Promise.resolve('gone');
    sent.push({ token, ok, detail });
    return Promise.resolve('sent');
  }
  return { sender, sent };
}

describe('event wait mode', () => {
  it('wakes every waiter once, whatever duplicates and out-of-order events arrive, and leaves none behind', async () => {
    const name = freshName();
    const lifecycle = h.lifecycle(name);
    const jobs = ['w1', 'w2', 'w3', 'w4'];
    const acquired = await Promise.all(jobs.map((j) => lifecycle.acquire(j)));
    const sfn = recordingSender();
    const durable = recordingSender();
    const senders = { 'sfn-task-token': sfn.sender, 'durable-callback': durable.sender };
    // Registered before the start: nothing can be ready yet, whatever the machine's speed.
    const registered = await Promise.all(
      jobs.map((j, i) =>
        lifecycle.registerWaiter(
          j,
          acquired[i]!.generation,
          { kind: i % 2 ? 'sfn-task-token' : 'durable-callback', token: `token-${j}` },
          senders,
        ),
      ),
    );
    expect(registered.every((r) => r.status === 'waiting')).toBe(true);
    expect([...sfn.sent, ...durable.sent]).toEqual([]);
    await lifecycle.startEndpoint(1);

    await expect.poll(() => h.events.filter((e) => e.detail.EndpointName === name).length, SETTLES).toBe(2);
    const ours = h.events.filter((e) => e.detail.EndpointName === name);
    const stale: SageMakerEndpointStateChangeEvent = {
      ...ours[0]!,
      detail: { ...ours[0]!.detail, EndpointStatus: 'FAILED', FailureReason: 'an old failure' },
    };
    // Out of order, duplicated, and a stale FAILED that DescribeEndpoint does not confirm.
    const shuffled = [ours[1]!, stale, ours[0]!, ours[1]!, ours[1]!];
    const results = await Promise.all(shuffled.map((e) => lifecycle.handleStateChange(e, senders)));
    expect(results).toContain('ignored CREATING');

    const sent = [...sfn.sent, ...durable.sent];
    expect(sent.map((s) => s.token).sort()).toEqual(jobs.map((j) => `token-${j}`).sort());
    expect(sent.every((s) => s.ok)).toBe(true);
    expect((await store().get(name)).waiters).toEqual({});
    expect((await store().get(name)).state).toBe('InService');
  });

  it('closes the registration race: a waiter registered after InService is answered at once', async () => {
    const name = freshName();
    const lifecycle = h.lifecycle(name);
    await acquireAndWait(lifecycle, 'early');
    const late = await lifecycle.acquire('late');
    const { sender, sent } = recordingSender();
    expect(
      await lifecycle.registerWaiter(
        'late',
        late.generation,
        { kind: 'sfn-task-token', token: 'token-late' },
        {
          'sfn-task-token': sender,
        },
      ),
    ).toEqual({ status: 'ready', generation: 1 });
    expect(sent).toEqual([{ token: 'token-late', ok: true, detail: '{"status":"ready","generation":1}' }]);
    expect((await store().get(name)).waiters).toEqual({});
  });

  it('a wait that ended through its fallback check (its event lost) leaves no waiter once the job releases', async () => {
    const name = freshName();
    const lifecycle = h.lifecycle(name);
    const { generation } = await lifecycle.acquire('unheard');
    const { sender, sent } = recordingSender();
    const registered = await lifecycle.registerWaiter(
      'unheard',
      generation,
      { kind: 'durable-callback', token: 'token-unheard' },
      { 'durable-callback': sender },
    );
    expect(registered.status).toBe('waiting');
    await lifecycle.startEndpoint(generation);
    // No event is handled: the callback times out and the job's own check finds the endpoint serving.
    await expect
      .poll(() => lifecycle.checkEndpoint('unheard', generation), SETTLES)
      .toMatchObject({
        status: 'ready',
      });
    expect(Object.keys((await store().get(name)).waiters)).toEqual(['unheard']);
    await lifecycle.release('unheard');
    expect((await store().get(name)).waiters).toEqual({});
    expect(sent).toEqual([]);
  });

  it('fails every waiter of a failed start, drops waiters whose execution is gone, and retries on send errors', async () => {
    const name = freshName();
    const lifecycle = h.lifecycle(name);
    h.emulator.faults.failNextStart('injected start failure');
    const jobs = ['f1', 'f2', 'f3'];
    const flaky = new Set(['token-f3']);
    const { sender, sent } = recordingSender(new Set(['token-f2']), flaky);
    for (const j of jobs) {
      const { generation } = await lifecycle.acquire(j);
      await lifecycle.registerWaiter(
        j,
        generation,
        { kind: 'sfn-task-token', token: `token-${j}` },
        {
          'sfn-task-token': sender,
        },
      );
    }
    await lifecycle.startEndpoint(1);
    await expect
      .poll(() =>
        h.events.some((e) => e.detail.EndpointName === name && e.detail.EndpointStatus === 'FAILED'),
      )
      .toBe(true);
    const failedEvent = h.events.find(
      (e) => e.detail.EndpointName === name && e.detail.EndpointStatus === 'FAILED',
    )!;
    await expect(lifecycle.handleStateChange(failedEvent, { 'sfn-task-token': sender })).rejects.toThrow(
      /could not answer 1 waiter/,
    );
    expect(sent).toEqual([
      { token: 'token-f1', ok: false, detail: expect.stringContaining('injected start failure') as unknown },
    ]);
    // f2's execution is gone: removed. f3's send failed: kept for the bus's next delivery.
    expect(Object.keys((await store().get(name)).waiters)).toEqual(['f3']);
    flaky.clear();
    await lifecycle.handleStateChange(failedEvent, { 'sfn-task-token': sender });
    expect(sent.map((s) => s.token)).toEqual(['token-f1', 'token-f3']);
    expect((await store().get(name)).waiters).toEqual({});
  });
});

describe('randomized concurrent interleavings (seeded)', () => {
  // Each seed replays the decisions (arrivals, holds, renewals, stopper timing, faults); the real
  // interleaving still varies, so only invariants are asserted, never which paths a run took. Each
  // path is forced in its own scenario above.
  it.each([1, 2, 3, 4, 5, 6])('seed %i keeps every invariant', async (seed) => {
    const rand = seededRandom(seed);
    const clock = skippingClock();
    const sleep = clock.sleep;
    const name = `gpu-random-${seed}`;
    const holding = new Set<string>();
    const violations: string[] = [];
    const outcomes = new Map<string, string>();
    void sleep(rand() * 600).then(() => h.emulator.faults.failNextStart(`seed ${seed} start failure`));
    void sleep(rand() * 600).then(() =>
      h.emulator.faults.throttle(2, ['CreateEndpoint', 'DescribeEndpoint']),
    );

    // Every DeleteEndpoint is checked against the jobs holding the endpoint at that moment, and every
    // successful CreateEndpoint is recorded with the generation the item had when it was made.
    const real = sageMakerControl(h.sagemaker);
    const createdFor: number[] = [];
    const control: EndpointControl = {
      ...real,
      create: async (endpoint, config) => {
        const generation = (await store().get(name)).generation;
        const outcome = await real.create(endpoint, config);
        if (outcome === 'created') createdFor.push(generation);
        return outcome;
      },
      delete: (endpoint) => {
        if (holding.size > 0) violations.push(`DeleteEndpoint while ${[...holding].join(', ')} held leases`);
        return real.delete(endpoint);
      },
    };
    const lifecycle = h.lifecycle(name, {
      idleWindowMs: 40,
      leaseTtlMs: 30_000,
      stalledStartMs: 5_000,
      control,
      now: clock.now,
    });

    const job = async (id: string): Promise<void> => {
      // Arrivals spread over time, so the endpoint goes idle, stops and restarts between waves.
      await sleep(rand() * 900);
      for (let attempt = 0; attempt < 20; attempt++) {
        try {
          await acquireAndWait(lifecycle, id, { timeoutMs: 20_000 });
          // From here until its release the job uses the endpoint: nothing may delete it.
          holding.add(id);
          await h.runtime.send(
            new InvokeEndpointCommand({ EndpointName: name, Body: new TextEncoder().encode('{}') }),
          );
          if (rand() < 0.5) await lifecycle.renew(id);
          await sleep(rand() * 60);
          holding.delete(id);
          await lifecycle.release(id);
          outcomes.set(id, 'completed');
          return;
        } catch (err) {
          holding.delete(id);
          await lifecycle.release(id);
          const e = err as Error;
          if (e.name === 'EndpointFailedError') {
            outcomes.set(id, 'failed');
            return;
          }
          if (e.name === 'LeaseLostError') violations.push(`${id} lost its lease while using the endpoint`);
          if (!isRetryable(err)) throw err;
          await sleep(20 + rand() * 40);
        }
      }
      outcomes.set(id, 'gave up');
    };
    let done = false;
    const stopper = async (): Promise<void> => {
      while (!done) {
        await sleep(rand() * 40);
        try {
          await stopIfIdle(lifecycle);
        } catch (err) {
          if (!isRetryable(err)) throw err;
        }
      }
    };
    const jobs = Array.from({ length: 16 }, (_, i) => `s${seed}-j${i}`);
    const stoppers = [stopper(), stopper()];
    try {
      await Promise.all(jobs.map((id) => job(id)));
    } finally {
      // Whatever happened, nothing of this run may go on calling into the next test.
      done = true;
      await Promise.allSettled(stoppers);
      clock.stop();
      h.emulator.faults.clear();
    }

    expect(violations).toEqual([]);
    const item = await store().get(name);
    expect(createdFor, 'generations of each CreateEndpoint').toEqual([...new Set(createdFor)]);
    expect(creates(name).length).toBeLessThanOrEqual(item.generation);
    expect([...outcomes.values()].every((o) => o === 'completed' || o === 'failed')).toBe(true);
    expect(outcomes.size).toBe(jobs.length);
    expect(item.waiters).toEqual({});
    expect(Object.keys(item.leases)).toEqual([]);
  });
});
