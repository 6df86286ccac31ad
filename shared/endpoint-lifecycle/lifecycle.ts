// The endpoint lifecycle protocol (design: "Endpoint lifecycle protocol"): single start, leases with
// expiry, guarded stop, and SageMaker's answers folded in. Both orchestrators call these functions,
// each from its own steps; every method is safe to retry (a crashed step runs it again).
import { endpointStatusOf, type SageMakerEndpointStateChangeEvent } from '../aws-events.ts';
import { EndpointFailedError, EndpointStoppingError, ErrorNames } from '../errors.ts';
import type { EndpointItem, EndpointState, EndpointStore, WaiterKind } from './endpoint-store.ts';
import { liveLeases } from './endpoint-store.ts';
import type { EndpointControl } from './sagemaker-control.ts';
import type { WaiterSenders } from './waiter-senders.ts';

export interface LifecycleOptions {
  store: EndpointStore;
  control: EndpointControl;
  endpointName: string;
  endpointConfigName: string;
  /** How long a lease lives without renewal (real ms); longer than a job's longest legitimate hold. */
  leaseTtlMs: number;
  /** Idle time after the last release before the endpoint may stop (real ms). */
  idleWindowMs: number;
  /** A start whose endpoint SageMaker still does not know after this long is taken over (real ms). */
  stalledStartMs?: number;
  /** How long start and stop wait for SageMaker to finish deleting an endpoint (real ms). */
  deletionWaitMs?: number;
  /** Poll interval while waiting for a deletion (real ms). */
  pollMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  log?: (line: string) => void;
}

export interface Acquired {
  role: 'starter' | 'joiner';
  generation: number;
  state: EndpointState;
}

export type Readiness = { ready: true; generation: number } | { ready: false; status: string };

export interface StopResult {
  stopped: boolean;
  reason: string;
  /** When not idle yet: how long until the idle window ends (real ms). */
  retryInMs?: number;
}

export class EndpointLifecycle {
  private readonly store: EndpointStore;
  private readonly control: EndpointControl;
  private readonly name: string;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly log: (line: string) => void;

  constructor(private readonly o: LifecycleOptions) {
    this.store = o.store;
    this.control = o.control;
    this.name = o.endpointName;
    this.now = o.now ?? Date.now;
    this.sleep = o.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.log = o.log ?? (() => undefined);
  }

  /**
   * Takes a lease for the job and makes sure the endpoint is starting or serving: the one caller that
   * flips Stopped → Starting calls CreateEndpoint. Throws EndpointStoppingError (retryable) while a
   * stop is under way, CapacityError when SageMaker has no room (the start is then marked failed).
   */
  async acquire(jobId: string): Promise<Acquired> {
    const now = this.now();
    let result = await this.store.acquire(this.name, jobId, now, now + this.o.leaseTtlMs);
    if (result.role === 'stopping') {
      // Help the stop finish when SageMaker is already done, then try once more.
      if (await this.finishStopIfDeleted(result.item)) {
        const again = this.now();
        result = await this.store.acquire(this.name, jobId, again, again + this.o.leaseTtlMs);
      }
      if (result.role === 'stopping') {
        throw new EndpointStoppingError(
          `endpoint ${this.name} is stopping; acquire again once it has stopped`,
        );
      }
    }
    if (result.role === 'starter') await this.start(result.item);
    return { role: result.role, generation: result.item.generation, state: result.item.state };
  }

  /**
   * CreateEndpoint for the item's generation, folding in what SageMaker says about an endpoint of that
   * name. An endpoint created since this generation began is this generation's own (a retried start):
   * joined when it is coming up, its failure reported when it failed. An older one is a leftover of a
   * previous generation: waited out while it deletes, deleted when it failed.
   */
  private async start(item: EndpointItem): Promise<void> {
    const generation = item.generation;
    // SageMaker's clock and ours may differ a little; a leftover is always minutes older than a new start.
    const since = (item.startedAt ?? 0) - 5_000;
    const deadline = this.now() + (this.o.deletionWaitMs ?? 600_000);
    for (;;) {
      if (this.now() > deadline) {
        throw new EndpointStoppingError(
          `endpoint ${this.name} could not be created before the deletion wait ran out; start again later`,
        );
      }
      let created: 'created' | 'exists';
      try {
        created = await this.control.create(this.name, this.o.endpointConfigName);
      } catch (err) {
        if ((err as Error).name === ErrorNames.Capacity) {
          await this.failStart(generation, (err as Error).message);
        }
        throw err;
      }
      if (created === 'created') {
        this.log(`endpoint ${this.name}: CreateEndpoint for generation ${generation}`);
        return;
      }
      const state = await this.control.describe(this.name);
      switch (state.status) {
        case 'missing':
          continue; // deleted in between: create again
        case 'Deleting':
          // A previous generation is still going away: wait, then start.
          await this.sleep(this.o.pollMs ?? 1000);
          continue;
        case 'Failed':
          if (state.createdAt !== undefined && state.createdAt >= since) {
            // This generation's own start failed (seen by a retried start): report it, never recreate.
            const reason = state.failureReason ?? 'SageMaker reported Failed without a reason';
            await this.failStart(generation, reason);
            throw new EndpointFailedError(`endpoint ${this.name} failed to start: ${reason}`);
          }
          // A previous generation's failed endpoint: only DeleteEndpoint is allowed on it; clear it and start afresh.
          await this.control.delete(this.name);
          continue;
        default:
          // Creating, Updating, InService: it exists and is (or will be) serving; join it.
          this.log(`endpoint ${this.name}: already ${state.status}, generation ${generation} joins it`);
          return;
      }
    }
  }

  /**
   * Whether the job's endpoint is serving. Folds SageMaker's status into the item: InService is
   * recorded, Failed fails the start for every job of that generation (EndpointFailedError with the
   * FailureReason), a start whose starter died before CreateEndpoint is taken over.
   */
  async checkReady(
    jobId: string,
    generation: number,
    options: { takeOver?: boolean } = {},
  ): Promise<Readiness> {
    const item = await this.store.get(this.name);
    const failure = item.lastFailure;
    if (failure && failure.generation >= generation && item.leases[jobId] === undefined) {
      throw new EndpointFailedError(`endpoint ${this.name} failed to start: ${failure.reason}`);
    }
    switch (item.state) {
      case 'InService':
        return { ready: true, generation: item.generation };
      case 'Starting':
        return this.foldStarting(item, options.takeOver === false ? undefined : jobId);
      default:
        throw new EndpointStoppingError(
          `endpoint ${this.name} is ${item.state} but job ${jobId} was waiting for it; acquire again`,
        );
    }
  }

  /** `jobId` takes over a stalled start; without one, a stalled start is only reported. */
  private async foldStarting(item: EndpointItem, jobId: string | undefined): Promise<Readiness> {
    const sm = await this.control.describe(this.name);
    if (sm.status === 'InService') {
      await this.store.markInService(this.name, item.generation, this.now());
      return { ready: true, generation: item.generation };
    }
    if (sm.status === 'Failed') {
      const reason = sm.failureReason ?? 'SageMaker reported Failed without a reason';
      await this.failStart(item.generation, reason);
      throw new EndpointFailedError(`endpoint ${this.name} failed to start: ${reason}`);
    }
    if (
      jobId !== undefined &&
      sm.status === 'missing' &&
      this.now() - (item.startedAt ?? 0) > (this.o.stalledStartMs ?? 120_000)
    ) {
      // The starter died before CreateEndpoint: this job takes the start over as a new generation.
      const taken = await this.store.restartAs(this.name, 'Starting', item.generation, jobId, this.now());
      if (taken) {
        this.log(
          `endpoint ${this.name}: start of generation ${item.generation} stalled; ${jobId} starts ${taken.generation}`,
        );
        await this.start(taken);
      }
    }
    return { ready: false, status: sm.status };
  }

  /**
   * Returns the item to Stopped with the reason (no job joins the failed generation any more), then
   * deletes the failed endpoint, the only call SageMaker allows on it. Idempotent.
   */
  private async failStart(generation: number, reason: string): Promise<void> {
    this.log(`endpoint ${this.name}: generation ${generation} failed: ${reason}`);
    await this.store.markStartFailed(this.name, generation, reason, this.now());
    const sm = await this.control.describe(this.name);
    if (sm.status === 'Failed') await this.control.delete(this.name);
  }

  /**
   * The job is about to invoke: confirms the endpoint still exists. If the item says InService but
   * SageMaker has no such endpoint, the item is stale: it is repaired into a new start, and the job
   * waits again (not ready).
   */
  async verifyServing(jobId: string): Promise<Readiness> {
    const item = await this.store.get(this.name);
    if (item.state !== 'InService') return this.checkReady(jobId, item.generation);
    const sm = await this.control.describe(this.name);
    if (sm.status === 'InService') return { ready: true, generation: item.generation };
    if (sm.status === 'missing') {
      const repaired = await this.store.restartAs(this.name, 'InService', item.generation, jobId, this.now());
      if (repaired) {
        this.log(
          `endpoint ${this.name}: item said InService but the endpoint is gone; ${jobId} starts generation ${repaired.generation}`,
        );
        await this.start(repaired);
      }
    }
    return { ready: false, status: sm.status };
  }

  /** Extends the job's lease while it infers; false when it has none any more. */
  async renew(jobId: string): Promise<boolean> {
    const now = this.now();
    return this.store.renew(this.name, jobId, now, now + this.o.leaseTtlMs);
  }

  /** Drops the job's lease and starts the idle window; a no-op when the job holds none. */
  async release(jobId: string): Promise<void> {
    await this.store.release(this.name, jobId, this.now());
  }

  /**
   * The guarded stop: stops the endpoint only if it is InService, no lease is live and nothing was
   * acquired, renewed or released since the idle window began. Safe to call at any time, any number
   * of times, from any job: at most one caller wins the conditional write that begins the stop.
   */
  async stopIfIdle(): Promise<StopResult> {
    const item = await this.store.get(this.name);
    if (item.state === 'Stopping') {
      // A stop under way (its winner may have died, or been throttled, half-way): drive it to the end.
      const finished = await this.finishStopIfDeleted(item, true);
      return {
        stopped: finished,
        reason: finished ? 'finished a stop in progress' : 'a stop is in progress',
      };
    }
    if (item.state !== 'InService') return { stopped: false, reason: `endpoint is ${item.state}` };
    const now = this.now();
    const live = liveLeases(item, now);
    if (live.length > 0) return { stopped: false, reason: `${live.length} live lease(s)` };
    const idleSince = Math.max(item.lastReleaseAt ?? 0, item.inServiceAt ?? 0);
    const idleFor = now - idleSince;
    if (idleFor < this.o.idleWindowMs) {
      return { stopped: false, reason: 'idle window not over', retryInMs: this.o.idleWindowMs - idleFor };
    }
    const stopping = await this.store.beginStop(this.name, item, now);
    if (!stopping) return { stopped: false, reason: 'the endpoint was used or changed since it was read' };
    this.log(`endpoint ${this.name}: idle for ${idleFor} ms, stopping generation ${item.generation}`);
    const finished = await this.finishStopIfDeleted(stopping, true);
    return { stopped: true, reason: finished ? 'stopped' : 'stopping (deletion still under way)' };
  }

  /**
   * Stopping → Stopped once SageMaker has no endpoint. With `drive` (stoppers, not acquirers) it also
   * asks for the deletion and waits it out. It never deletes an endpoint created after the stop began:
   * that one belongs to a newer generation. (Should one appear between the describe and the delete,
   * it is Creating, and SageMaker refuses to delete an endpoint in a transition.)
   */
  private async finishStopIfDeleted(item: EndpointItem, drive = false): Promise<boolean> {
    const stoppingAt = item.stoppingAt ?? 0;
    const deadline = this.now() + (drive ? (this.o.deletionWaitMs ?? 600_000) : 0);
    for (;;) {
      const sm = await this.control.describe(this.name);
      if (sm.status === 'missing') return this.store.finishStop(this.name, item.generation, this.now());
      const ours = sm.createdAt === undefined || sm.createdAt <= stoppingAt;
      if (!ours) return false; // a newer generation already runs: this stop is long finished
      if (drive && sm.status !== 'Deleting') await this.control.delete(this.name);
      if (this.now() >= deadline) return false;
      await this.sleep(this.o.pollMs ?? 1000);
    }
  }

  // --- event wait mode ---------------------------------------------------------------------------

  /**
   * Registers the job's waiter (a task token or callback id), then checks the status once more: an
   * InService event that fired just before the registration would otherwise never wake it. When the
   * endpoint is already ready (or failed) the waiter is removed at once and the caller proceeds.
   */
  async registerWaiter(
    jobId: string,
    generation: number,
    kind: WaiterKind,
    token: string,
  ): Promise<Readiness> {
    await this.store.addWaiter(
      this.name,
      jobId,
      { kind, token, generation, registeredAt: this.now() },
      this.now(),
    );
    try {
      const readiness = await this.checkReady(jobId, generation);
      if (readiness.ready) await this.store.removeWaiter(this.name, jobId, token, this.now());
      return readiness;
    } catch (err) {
      await this.store.removeWaiter(this.name, jobId, token, this.now());
      throw err;
    }
  }

  async removeWaiter(jobId: string, token: string): Promise<void> {
    await this.store.removeWaiter(this.name, jobId, token, this.now());
  }

  /**
   * The waker: SageMaker's `Endpoint State Change` for this endpoint. The event is only a hint, so
   * duplicates and out-of-order deliveries are harmless: the status is confirmed with DescribeEndpoint,
   * then every waiter is completed (InService) or failed (Failed) and removed. A waiter whose
   * execution is gone is removed too; any other send error is thrown so the bus delivers again.
   * Each waiter is claimed (removed) before it is answered, so concurrent deliveries answer it once; a
   * waker that dies between claim and send loses that wake-up, and the job's wait times out into a
   * describe, as the design's fallback says.
   */
  async handleStateChange(event: SageMakerEndpointStateChangeEvent, senders: WaiterSenders): Promise<string> {
    if (event.detail.EndpointName !== this.name) return 'not this endpoint';
    const status = endpointStatusOf(event.detail);
    if (status !== 'InService' && status !== 'Failed') return `ignored ${event.detail.EndpointStatus}`;
    const item = await this.store.get(this.name);
    if (item.state === 'Starting') {
      try {
        await this.foldStarting(item, undefined);
      } catch (err) {
        if (!(err instanceof EndpointFailedError)) throw err;
      }
    }
    return this.settleWaiters(senders);
  }

  /**
   * Completes every waiter the item can answer: all of them when the endpoint is InService, those of
   * a failed generation with the failure. Waiters still waiting stay. Each is removed once answered.
   */
  async settleWaiters(senders: WaiterSenders): Promise<string> {
    const item = await this.store.get(this.name);
    const errors: unknown[] = [];
    let succeeded = 0;
    let failed = 0;
    for (const [jobId, waiter] of Object.entries(item.waiters)) {
      const failure =
        item.lastFailure && item.lastFailure.generation >= waiter.generation ? item.lastFailure : undefined;
      if (item.state !== 'InService' && !failure) continue;
      const sender = senders[waiter.kind];
      if (!sender) {
        errors.push(new Error(`no sender for waiter kind '${waiter.kind}'`));
        continue;
      }
      // Claim the waiter first: of concurrent wakers (duplicate events), only the one that removes it sends.
      if (!(await this.store.removeWaiter(this.name, jobId, waiter.token, this.now()))) continue;
      try {
        const sent =
          item.state === 'InService'
            ? await sender.succeed(waiter.token, {
                endpointName: this.name,
                status: 'InService',
                generation: item.generation,
              })
            : await sender.fail(
                waiter.token,
                ErrorNames.EndpointFailed,
                `endpoint ${this.name} failed to start: ${failure!.reason}`,
              );
        if (sent === 'sent') {
          if (item.state === 'InService') succeeded++;
          else failed++;
        }
      } catch (err) {
        // Put it back for the bus's next delivery of this event.
        await this.store.addWaiter(this.name, jobId, waiter, this.now());
        errors.push(err);
      }
    }
    if (errors.length > 0) {
      throw new AggregateError(
        errors,
        `could not answer ${errors.length} waiter(s) of endpoint ${this.name}`,
      );
    }
    return `woke ${succeeded}, failed ${failed} waiter(s)`;
  }
}
