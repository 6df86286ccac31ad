// A warm endpoint on purpose: a holder lease taken through the orchestrator's own activities keeps the
// endpoint InService until released, so a job that arrives meanwhile only joins. The scenario contract
// and the job-costs benchmark (bench/job-costs.ts) both arrange their warm jobs with it.
import { randomUUID } from 'node:crypto';
import { retryingUntil } from './lifecycle-harness.ts';
import type { World } from './scenario-world.ts';

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Ends the holder (its ending recorded, its lease released); `renew` keeps its lease live meanwhile. */
export interface WarmHolder {
  (): Promise<void>;
  /** Renews the holder's lease, as a long job does: held past LEASE_TTL_SECONDS, a lease expires. */
  renew(): Promise<void>;
}

/**
 * Holds a lease so the endpoint serves (warm) until released; the job under test only joins. The
 * holder is a job like any other, so it ends like one: its release records it FAILED with the phases
 * it reached (it never infers), and the invariant checker finds nothing left unended.
 */
export async function warmHolder(world: World): Promise<WarmHolder> {
  const a = world.activities;
  const admission = await a.admit(holderEvent(world), `holder-${randomUUID()}`);
  const holder = { ...admission.job };
  // The holder plays a workflow's part: retry what is retryable, start when it is the starter.
  const deadline = Date.now() + 60_000;
  const retrying = retryingUntil(deadline, 50);
  const acquired = await retrying(() => a.acquireEndpoint(holder));
  let generation = acquired.generation;
  if (acquired.role === 'starter') await retrying(() => a.startEndpoint(holder, generation));
  for (;;) {
    const r = await retrying(() => a.checkEndpoint(holder, generation));
    if (r.status === 'ready') {
      const seen = { admission, acquire: acquired, ready: r };
      const failure = { error: 'WarmHolderReleased', message: "a test's holder lease, released" };
      const release = async (): Promise<void> => {
        await a.recordOutcome(holder, { status: 'FAILED', failure }, seen);
        await a.releaseLease(holder);
      };
      return Object.assign(release, { renew: () => a.renewLease(holder) });
    }
    generation = r.generation;
    if (r.status === 'start') await retrying(() => a.startEndpoint(holder, generation));
    if (Date.now() > deadline) throw new Error('the endpoint did not come up for the warm holder');
    await pause(50);
  }
}

/**
 * The idle stop a released holder owes: the job's own stop found the holder's lease (or the holder's
 * release came within its idle window) and kept the endpoint, so the holder, its last user, waits out
 * the window and stops it, as a workflow would. Returns once the endpoint is Stopped; a stop someone
 * else began is driven to its end too.
 */
export async function stopWhenIdle(world: World, timeoutMs = 60_000): Promise<void> {
  const a = world.activities;
  const deadline = Date.now() + timeoutMs;
  const retrying = retryingUntil(deadline, 50);
  for (;;) {
    const stop = await retrying(() => a.beginStop());
    if (stop.outcome === 'stopping') break;
    if (stop.reason === 'endpoint is Stopped') return;
    if (Date.now() > deadline) throw new Error(`the endpoint was not stopped: ${stop.reason}`);
    await pause(100);
  }
  while (!(await retrying(() => a.finishStop())).done) {
    if (Date.now() > deadline) throw new Error('the endpoint was still deleting');
    await pause(50);
  }
}

function holderEvent(world: World) {
  return {
    detail: {
      bucket: { name: world.cloud.bucket },
      object: { key: `users/warm-holder/input/h${randomUUID().slice(0, 8)}_image.png`, etag: '"h"' },
    },
  };
}
