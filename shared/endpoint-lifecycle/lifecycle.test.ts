// The lifecycle protocol against DynamoDB Local and the SageMaker emulator, through the real SDKs.
import { DeleteEndpointCommand, DescribeEndpointCommand } from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand } from '@aws-sdk/client-sagemaker-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SageMakerEndpointStateChangeEvent } from '../aws-events.ts';
import { seededRandom } from '../random.ts';
import { EndpointStore } from './endpoint-store.ts';
import type { EndpointLifecycle } from './lifecycle.ts';
import { sageMakerControl, type EndpointControl } from './sagemaker-control.ts';
import { startHarness, waitUntilReady, type Harness } from '../../test/support/lifecycle-harness.ts';
import type { SendOutcome, WaiterSender } from './waiter-senders.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

let endpoints = 0;
const freshName = (): string => `gpu-${++endpoints}`;

const creates = (name: string) =>
  h.emulator
    .calls()
    .filter((c) => c.operation === 'CreateEndpoint' && c.endpointName === name && c.outcome === 'ok');
const deletes = (name: string) =>
  h.emulator
    .calls()
    .filter((c) => c.operation === 'DeleteEndpoint' && c.endpointName === name && c.outcome === 'ok');
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

async function serveOnce(lifecycle: EndpointLifecycle, jobId: string): Promise<number> {
  const acquired = await lifecycle.acquire(jobId);
  return waitUntilReady(lifecycle, jobId, acquired.generation);
}

describe('acquire', () => {
  it('starts a stopped endpoint exactly once for 100 concurrent jobs, all of which then see it serve', async () => {
    const name = freshName();
    const lifecycle = h.lifecycle(name);
    const jobs = Array.from({ length: 100 }, (_, i) => `job-${i}`);
    const acquired = await Promise.all(jobs.map((job) => lifecycle.acquire(job)));
    expect(acquired.filter((a) => a.role === 'starter')).toHaveLength(1);
    expect(new Set(acquired.map((a) => a.generation))).toEqual(new Set([1]));
    expect(creates(name)).toHaveLength(1);
    await Promise.all(jobs.map((job) => waitUntilReady(lifecycle, job, 1)));
    const item = await store().get(name);
    expect(item).toMatchObject({ state: 'InService', generation: 1 });
    expect(Object.keys(item.leases)).toHaveLength(100);
  });

  it('is idempotent per job: a retried acquire of the starter starts nothing new', async () => {
    const name = freshName();
    const lifecycle = h.lifecycle(name);
    const first = await lifecycle.acquire('job-a');
    const again = await lifecycle.acquire('job-a');
    expect(first).toMatchObject({ role: 'starter', generation: 1 });
    expect(again).toMatchObject({ role: 'starter', generation: 1 });
    expect(creates(name)).toHaveLength(1); // the second CreateEndpoint met "already existing" and joined
    await waitUntilReady(lifecycle, 'job-a', 1);
    expect(await lifecycle.acquire('job-a')).toMatchObject({ role: 'joiner', state: 'InService' });
  });

  it('keeps the orchestrators apart: sf# and ldf# items are separate endpoints of the protocol', async () => {
    const name = freshName();
    await h.lifecycle(`${name}-sf`, { orchestrator: 'sf' }).acquire('j');
    await h.lifecycle(`${name}-ldf`, { orchestrator: 'ldf' }).acquire('j');
    expect(creates(`${name}-sf`)).toHaveLength(1);
    expect(creates(`${name}-ldf`)).toHaveLength(1);
    expect((await new EndpointStore(h.doc, h.tableName, 'ldf').get(`${name}-sf`)).state).toBe('Stopped');
  });
});

describe('the guarded stop', () => {
  it('waits out the idle window after the last release, then deletes the endpoint', async () => {
    const name = freshName();
    const lifecycle = h.lifecycle(name, { idleWindowMs: 300 });
    await serveOnce(lifecycle, 'j1');
    expect(await lifecycle.stopIfIdle()).toMatchObject({ stopped: false, reason: '1 live lease(s)' });
    await lifecycle.release('j1');
    const early = await lifecycle.stopIfIdle();
    expect(early).toMatchObject({ stopped: false, reason: 'idle window not over' });
    expect(early.retryInMs).toBeGreaterThan(0);
    expect(early.retryInMs).toBeLessThanOrEqual(300);
    await new Promise((r) => setTimeout(r, early.retryInMs));
    expect(await lifecycle.stopIfIdle()).toMatchObject({ stopped: true, reason: 'stopped' });
    expect(deletes(name)).toHaveLength(1);
    expect(await sageMakerStatus(name)).toBe('missing');
    expect((await store().get(name)).state).toBe('Stopped');
    // Stopping again is harmless.
    expect(await lifecycle.stopIfIdle()).toMatchObject({ stopped: false, reason: 'endpoint is Stopped' });
  });

  it('refuses to stop when anything happened after the idle check read the item', async () => {
    const name = freshName();
    const lifecycle = h.lifecycle(name, { idleWindowMs: 0 });
    await serveOnce(lifecycle, 'j1');
    await lifecycle.release('j1');
    const seen = await store().get(name);
    // A job acquires between the stopper's read and its conditional write.
    await lifecycle.acquire('j2');
    expect(await store().beginStop(name, seen, Date.now())).toBeUndefined();
    expect(await lifecycle.stopIfIdle()).toMatchObject({ stopped: false, reason: '1 live lease(s)' });
    expect(deletes(name)).toHaveLength(0);
  });

  it('ignores an expired lease: a job that died without releasing cannot keep the GPU running', async () => {
    const name = freshName();
    const lifecycle = h.lifecycle(name, { idleWindowMs: 50, leaseTtlMs: 1000 });
    await serveOnce(lifecycle, 'crashed-job');
    expect(await lifecycle.stopIfIdle()).toMatchObject({ stopped: false, reason: '1 live lease(s)' });
    await new Promise((r) => setTimeout(r, 1100));
    expect(await lifecycle.stopIfIdle()).toMatchObject({ stopped: true });
    // The crashed job's lease went with the stop; renewing it now says so.
    expect(await lifecycle.renew('crashed-job')).toBe(false);
  });

  it('gives a job that arrives while the endpoint stops a fresh start', async () => {
    const slow = await startHarness({ deleteSeconds: 200 }); // deletion takes 0.2 s
    try {
      const name = 'gpu-restart';
      const lifecycle = slow.lifecycle(name, { idleWindowMs: 0 });
      await serveOnce(lifecycle, 'j1');
      await lifecycle.release('j1');
      const stopping = lifecycle.stopIfIdle();
      await expect
        .poll(async () => (await new EndpointStore(slow.doc, slow.tableName, 'sf').get(name)).state)
        .toBe('Stopping');
      await expect(lifecycle.acquire('late-job')).rejects.toMatchObject({ name: 'EndpointStoppingError' });
      expect(await stopping).toMatchObject({ stopped: true, reason: 'stopped' });
      const fresh = await lifecycle.acquire('late-job');
      expect(fresh).toMatchObject({ role: 'starter', generation: 2 });
      expect(await waitUntilReady(lifecycle, 'late-job', 2)).toBe(2);
      const okCreates = slow.emulator
        .calls()
        .filter((c) => c.operation === 'CreateEndpoint' && c.outcome === 'ok');
      expect(okCreates).toHaveLength(2);
    } finally {
      await slow.stop();
    }
  });
});

describe('SageMaker answers folded in', () => {
  it('a failed start reaches every waiting job with its FailureReason, and the next job starts afresh', async () => {
    const name = freshName();
    const lifecycle = h.lifecycle(name);
    h.emulator.faults.failNextStart('The instance could not be launched: injected');
    const jobs = ['a', 'b', 'c', 'd', 'e'];
    const acquired = await Promise.all(jobs.map((j) => lifecycle.acquire(j)));
    const results = await Promise.allSettled(
      jobs.map((j, i) => waitUntilReady(lifecycle, j, acquired[i]!.generation)),
    );
    for (const r of results) {
      expect(r).toMatchObject({
        status: 'rejected',
        reason: { name: 'EndpointFailedError', message: expect.stringContaining('injected') as unknown },
      });
    }
    const item = await store().get(name);
    expect(item).toMatchObject({ state: 'Stopped', leases: {}, lastFailure: { generation: 1 } });
    await expect.poll(() => sageMakerStatus(name)).toBe('missing');
    expect(await serveOnce(lifecycle, 'next')).toBe(2);
  });

  it('capacity refusals fail the start so it can be tried again; throttling is retried by the caller', async () => {
    const name = freshName();
    const lifecycle = h.lifecycle(name);
    h.emulator.faults.rejectCapacity();
    await expect(lifecycle.acquire('j1')).rejects.toMatchObject({ name: 'CapacityError', retryable: true });
    expect(await store().get(name)).toMatchObject({ state: 'Stopped', lastFailure: { generation: 1 } });
    h.emulator.faults.throttle(1, ['CreateEndpoint']);
    await expect(lifecycle.acquire('j1')).rejects.toMatchObject({ name: 'ThrottledError', retryable: true });
    // The retry of the same job is the starter of the same generation again.
    expect(await lifecycle.acquire('j1')).toMatchObject({ role: 'starter', generation: 2 });
    expect(await waitUntilReady(lifecycle, 'j1', 2)).toBe(2);
    expect(creates(name)).toHaveLength(1);
  });

  it('repairs an item that says InService when the endpoint was deleted behind its back', async () => {
    const name = freshName();
    const lifecycle = h.lifecycle(name);
    await serveOnce(lifecycle, 'j1');
    await h.sagemaker.send(new DeleteEndpointCommand({ EndpointName: name }));
    await expect.poll(() => sageMakerStatus(name)).toBe('missing');
    expect(await lifecycle.verifyServing('j2')).toMatchObject({ ready: false, status: 'missing' });
    expect(await store().get(name)).toMatchObject({ state: 'Starting', generation: 2, startedBy: 'j2' });
    expect(await waitUntilReady(lifecycle, 'j1', 2)).toBe(2);
    expect(creates(name)).toHaveLength(2);
  });

  it('takes over a start whose starter died before it called CreateEndpoint', async () => {
    const name = freshName();
    const lifecycle = h.lifecycle(name, { stalledStartMs: 100 });
    // The starter wins the conditional write and then crashes.
    await store().acquire(name, 'dead-starter', Date.now(), Date.now() + 60_000);
    const joiner = await lifecycle.acquire('j2');
    expect(joiner).toMatchObject({ role: 'joiner', generation: 1 });
    expect(await lifecycle.checkReady('j2', 1)).toMatchObject({ ready: false, status: 'missing' });
    await new Promise((r) => setTimeout(r, 120));
    expect(await waitUntilReady(lifecycle, 'j2', 1)).toBe(2);
    expect(creates(name)).toHaveLength(1);
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
    const registered = await Promise.all(
      jobs.map((j, i) =>
        lifecycle.registerWaiter(
          j,
          acquired[i]!.generation,
          i % 2 ? 'sfn-task-token' : 'durable-callback',
          `token-${j}`,
        ),
      ),
    );
    expect(registered.every((r) => !r.ready)).toBe(true);
    const sfn = recordingSender();
    const durable = recordingSender();
    const senders = { 'sfn-task-token': sfn.sender, 'durable-callback': durable.sender };

    await expect.poll(() => h.events.filter((e) => e.detail.EndpointName === name).length).toBe(2);
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

  it('closes the registration race: a waiter registered after InService proceeds at once', async () => {
    const name = freshName();
    const lifecycle = h.lifecycle(name);
    const { generation } = await lifecycle.acquire('early');
    await waitUntilReady(lifecycle, 'early', generation);
    const late = await lifecycle.acquire('late');
    expect(
      await lifecycle.registerWaiter('late', late.generation, 'sfn-task-token', 'token-late'),
    ).toMatchObject({ ready: true });
    expect((await store().get(name)).waiters).toEqual({});
  });

  it('fails every waiter of a failed start, drops waiters whose execution is gone, and retries on send errors', async () => {
    const name = freshName();
    const lifecycle = h.lifecycle(name);
    h.emulator.faults.failNextStart('injected start failure');
    const jobs = ['f1', 'f2', 'f3'];
    for (const j of jobs) {
      const { generation } = await lifecycle.acquire(j);
      // Registered straight on the item, as if before the failure (registerWaiter would report a
      // failure that already happened at once, which a slow machine can make happen here).
      await store().addWaiter(
        name,
        j,
        { kind: 'sfn-task-token', token: `token-${j}`, generation, registeredAt: Date.now() },
        Date.now(),
      );
    }
    await expect
      .poll(() =>
        h.events.some((e) => e.detail.EndpointName === name && e.detail.EndpointStatus === 'FAILED'),
      )
      .toBe(true);
    const failedEvent = h.events.find(
      (e) => e.detail.EndpointName === name && e.detail.EndpointStatus === 'FAILED',
    )!;
    const flaky = new Set(['token-f3']);
    const { sender, sent } = recordingSender(new Set(['token-f2']), flaky);
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
  // Each seed replays exactly: job arrival, hold times, renewals, stopper timing and injected faults.
  it.each([1, 2, 3, 4, 5, 6])('seed %i keeps every invariant', async (seed) => {
    const rand = seededRandom(seed);
    const name = `gpu-random-${seed}`;
    const holding = new Set<string>();
    const violations: string[] = [];
    const starters = new Map<number, Set<string>>();
    const outcomes = new Map<string, string>();
    // Faults armed at random moments: a failed start, throttled control-plane calls.
    const faultTimers = [
      setTimeout(() => h.emulator.faults.failNextStart(`seed ${seed} start failure`), rand() * 600),
      setTimeout(() => h.emulator.faults.throttle(2, ['CreateEndpoint', 'DescribeEndpoint']), rand() * 600),
    ];

    // Every DeleteEndpoint is checked against the jobs holding the endpoint at that moment.
    const real = sageMakerControl(h.sagemaker);
    const createdFor: number[] = [];
    const control: EndpointControl = {
      ...real,
      // Every successful CreateEndpoint is recorded with the generation the item had when it was made.
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
    });

    const job = async (id: string): Promise<void> => {
      // Arrivals spread over time, so the endpoint goes idle, stops and restarts between waves.
      await sleep(rand() * 900);
      for (let attempt = 0; attempt < 20; attempt++) {
        try {
          const acquired = await lifecycle.acquire(id);
          if (acquired.role === 'starter') {
            const set = starters.get(acquired.generation) ?? new Set();
            set.add(id);
            starters.set(acquired.generation, set);
          }
          await waitUntilReady(lifecycle, id, acquired.generation);
          // From here until its release the job uses the endpoint: nothing may delete it.
          holding.add(id);
          await h.runtime.send(
            new InvokeEndpointCommand({ EndpointName: name, Body: new TextEncoder().encode('{}') }),
          );
          if (rand() < 0.5 && !(await lifecycle.renew(id)))
            violations.push(`${id} lost its lease while using the endpoint`);
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
          if (!['EndpointStoppingError', 'ThrottledError', 'CapacityError'].includes(e.name)) throw err;
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
          await lifecycle.stopIfIdle();
        } catch (err) {
          if ((err as Error).name !== 'ThrottledError') throw err;
        }
      }
    };
    const jobs = Array.from({ length: 16 }, (_, i) => `s${seed}-j${i}`);
    const stoppers = [stopper(), stopper()];
    await Promise.all(jobs.map((id) => job(id)));
    done = true;
    await Promise.all(stoppers);
    faultTimers.forEach(clearTimeout);
    h.emulator.faults.clear();

    expect(violations).toEqual([]);
    for (const [generation, set] of starters)
      expect(set.size, `starters of generation ${generation}`).toBe(1);
    const item = await store().get(name);
    expect(createdFor, 'generations of each CreateEndpoint').toEqual([...new Set(createdFor)]);
    expect(creates(name).length).toBeLessThanOrEqual(item.generation);
    expect([...outcomes.values()].every((o) => o === 'completed' || o === 'failed')).toBe(true);
    expect(outcomes.size).toBe(jobs.length);
    expect(item.waiters).toEqual({});
    expect(Object.keys(item.leases)).toEqual([]);
    coverage.push({
      seed,
      generations: item.generation,
      deletes: deletes(name).length,
      failed: [...outcomes.values()].filter((o) => o === 'failed').length,
    });
  });

  // The seeds are chosen to cover the protocol's paths, not only the happy one; keep it that way.
  const coverage: { seed: number; generations: number; deletes: number; failed: number }[] = [];
  afterAll(() => {
    // eslint-disable-next-line no-console -- shows what the seeds covered
    console.log(`randomized runs: ${JSON.stringify(coverage)}`);
    expect(coverage.some((c) => c.failed > 0)).toBe(true);
    expect(coverage.some((c) => c.deletes > 0 && c.generations > 1)).toBe(true);
  });
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
