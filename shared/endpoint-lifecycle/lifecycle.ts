// The endpoint lifecycle protocol (design: "Endpoint lifecycle protocol"): single start, leases with
// expiry, guarded stop, and SageMaker's answers folded in. Every method is one step-sized attempt that
// returns (or throws a named error) at once: nothing here sleeps or polls. Where the protocol must wait
// (an endpoint starting, a previous generation deleting, a deletion finishing) a method says "not yet"
// and the orchestrator's own wait (durable `wait` / `waitForCondition`, the ASL's `Wait`, a retry on a
// named retryable error) does the waiting, so each orchestrator is billed for what it really does.
// Every method is safe to run twice: a crashed step runs it again.
// Over 400 lines on purpose: one class holds the protocol's transitions and SageMaker's answers to
// them; the item's own writes are in endpoint-store.ts, the SageMaker calls in sagemaker-control.ts.
import { endpointStatusOf, type SageMakerEndpointStateChangeEvent } from '../aws-events.ts';
import {
  EndpointFailedError,
  EndpointStoppingError,
  ErrorNames,
  LeaseLostError,
  describeError,
} from '../errors.ts';
import type { EndpointItem, EndpointState, EndpointStore, Waiter } from './endpoint-store.ts';
import { liveLeases } from './endpoint-store.ts';
import type { EndpointControl, SageMakerState } from './sagemaker-control.ts';
import { answerWaiter, type WaiterSenders } from './waiter-senders.ts';

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
  now?: () => number;
  log?: (line: string) => void;
}

export interface Acquired {
  /** `starter`: this job must call startEndpoint for `generation`; `joiner`: it only waits. */
  role: 'starter' | 'joiner';
  generation: number;
  state: EndpointState;
}

/**
 * Where the job stands with its endpoint:
 * - `ready`: InService; invoke it.
 * - `waiting`: still coming up; look again later (`sageMakerStatus` says what SageMaker reports).
 * - `start`: this job took over a start that cannot finish (a starter that died before CreateEndpoint,
 *   an item that says InService for an endpoint SageMaker no longer has): call startEndpoint for
 *   `generation`, then keep waiting.
 */
export type Readiness =
  | { status: 'ready'; generation: number }
  | { status: 'waiting'; generation: number; sageMakerStatus: string }
  | { status: 'start'; generation: number };

/** What `registerWaiter` found right after registering (the waiter is answered when settled). */
export type Registration = Readiness | { status: 'failed'; error: string; message: string };

export type StartOutcome =
  /** CreateEndpoint was called for this generation. */
  | 'created'
  /** An endpoint of that name is already coming up or serving: this generation uses it. */
  | 'joined'
  /** The generation no longer needs starting (it is serving, failed, or was superseded). */
  | 'not-needed';

export type StopOutcome =
  /** This call began the stop (or found one under way) and asked SageMaker to delete the endpoint. */
  | { outcome: 'stopping'; generation: number }
  /** Not stopped; `reason` says why. The caller's job is done: whoever uses it last stops it. */
  | { outcome: 'kept'; reason: string };

export class EndpointLifecycle {
  readonly name: string;
  private readonly store: EndpointStore;
  private readonly control: EndpointControl;
  private readonly now: () => number;
  private readonly log: (line: string) => void;

  constructor(private readonly o: LifecycleOptions) {
    this.store = o.store;
    this.control = o.control;
    this.name = o.endpointName;
    this.now = o.now ?? Date.now;
    this.log = o.log ?? (() => undefined);
  }

  /**
   * Takes a lease for the job: the one caller that flips Stopped → Starting is the starter of the new
   * generation. A retried acquire of the starter is the starter again. While a stop is under way it
   * helps a finished deletion to Stopped and tries once more, else throws EndpointStoppingError
   * (retryable: acquire again shortly).
   */
  async acquire(jobId: string): Promise<Acquired> {
    let result = await this.store.acquire(this.name, jobId, this.now(), this.now() + this.o.leaseTtlMs);
    if (result.role === 'stopping' && (await this.finishStopIfDeleted(result.item))) {
      result = await this.store.acquire(this.name, jobId, this.now(), this.now() + this.o.leaseTtlMs);
    }
    if (result.role === 'stopping') {
      throw new EndpointStoppingError(`endpoint ${this.name} is stopping; acquire again once it has stopped`);
    }
    return { role: result.role, generation: result.item.generation, state: result.item.state };
  }

  /**
   * CreateEndpoint for the starter's generation, folding in what SageMaker says about an endpoint of
   * that name. An endpoint created since this generation began is this generation's own (a retried
   * start): joined when it is coming up, its failure reported when it failed. An older one is a
   * leftover of a previous generation: while it deletes, or after its failed remains are deleted here,
   * EndpointStoppingError asks the caller to start again shortly. CapacityError and ThrottledError are
   * retryable; a starter that gives up leaves the start to be taken over by a waiting job.
   */
  async startEndpoint(generation: number): Promise<StartOutcome> {
    const item = await this.store.get(this.name);
    if (item.state !== 'Starting' || item.generation !== generation) return 'not-needed';
    const created = await this.control.create(this.name, this.o.endpointConfigName);
    if (created === 'created') {
      this.log(`endpoint ${this.name}: CreateEndpoint for generation ${generation}`);
      return 'created';
    }
    // SageMaker's clock and ours may differ a little; a leftover is always minutes older than a new start.
    const since = (item.startedAt ?? 0) - 5_000;
    const state = await this.control.describe(this.name);
    switch (state.status) {
      case 'missing':
        throw new EndpointStoppingError(`endpoint ${this.name} was deleted while starting; start again`);
      case 'Deleting':
        throw new EndpointStoppingError(
          `endpoint ${this.name}: the previous generation is still deleting; start again once it is gone`,
        );
      case 'Failed':
        if (state.createdAt !== undefined && state.createdAt >= since) {
          // This generation's own start failed (seen by a retried start): report it, never recreate.
          const reason = state.failureReason ?? 'SageMaker reported Failed without a reason';
          await this.failStart(generation, reason);
          throw new EndpointFailedError(`endpoint ${this.name} failed to start: ${reason}`);
        }
        // A previous generation's failed endpoint: only DeleteEndpoint is allowed on it.
        await this.control.delete(this.name);
        throw new EndpointStoppingError(
          `endpoint ${this.name}: deleting a failed endpoint of an earlier generation; start again once it is gone`,
        );
      default:
        // Creating, Updating, InService: it exists and is (or will be) serving; this generation uses it.
        this.log(`endpoint ${this.name}: already ${state.status}, generation ${generation} joins it`);
        return 'joined';
    }
  }

  /**
   * Folds SageMaker's status into the item and says where the job stands. `observed` is a
   * DescribeEndpoint the caller already made (a Step Functions native integration); without it this
   * describes the endpoint itself. InService is recorded; Failed returns the item to Stopped with the
   * FailureReason and fails every job of that generation (EndpointFailedError); a start that cannot
   * finish is taken over (`start`). A job whose lease is gone gets LeaseLostError.
   */
  async checkEndpoint(jobId: string, generation: number, observed?: SageMakerState): Promise<Readiness> {
    const item = await this.store.get(this.name);
    const failure = item.lastFailure;
    if (failure && failure.generation >= generation && item.leases[jobId] === undefined) {
      throw new EndpointFailedError(`endpoint ${this.name} failed to start: ${failure.reason}`);
    }
    if (item.state === 'Stopped' || item.state === 'Stopping' || item.leases[jobId] === undefined) {
      throw new LeaseLostError(
        `job ${jobId} no longer holds a lease on endpoint ${this.name} (it is ${item.state}); the job cannot use it`,
      );
    }
    const sm = observed ?? (await this.control.describe(this.name));
    if (item.state === 'InService') {
      if (sm.status !== 'missing') return { status: 'ready', generation: item.generation };
      // The item says InService but SageMaker has no endpoint (deleted outside the protocol): restart.
      return this.takeOver(item, 'InService', jobId);
    }
    // Starting
    if (sm.status === 'InService') {
      await this.store.markInService(this.name, item.generation, this.now());
      return { status: 'ready', generation: item.generation };
    }
    if (sm.status === 'Failed') {
      const reason = sm.failureReason ?? 'SageMaker reported Failed without a reason';
      await this.failStart(item.generation, reason);
      throw new EndpointFailedError(`endpoint ${this.name} failed to start: ${reason}`);
    }
    if (sm.status === 'missing' && this.now() - (item.startedAt ?? 0) > (this.o.stalledStartMs ?? 120_000)) {
      // The starter died (or gave up) before CreateEndpoint: this job takes the start over.
      return this.takeOver(item, 'Starting', jobId);
    }
    return { status: 'waiting', generation: item.generation, sageMakerStatus: sm.status };
  }

  private async takeOver(
    item: EndpointItem,
    from: 'InService' | 'Starting',
    jobId: string,
  ): Promise<Readiness> {
    const taken = await this.store.restartAs(this.name, from, item.generation, jobId, this.now());
    if (!taken) {
      // Another job won the take-over (or the item moved on): wait on whatever it is now.
      return { status: 'waiting', generation: item.generation, sageMakerStatus: 'missing' };
    }
    this.log(
      `endpoint ${this.name}: generation ${item.generation} cannot serve; ${jobId} starts ${taken.generation}`,
    );
    return { status: 'start', generation: taken.generation };
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

  /** Extends the job's lease while it infers; LeaseLostError when it has none any more. */
  async renew(jobId: string): Promise<void> {
    const now = this.now();
    if (!(await this.store.renew(this.name, jobId, now, now + this.o.leaseTtlMs))) {
      throw new LeaseLostError(`job ${jobId} no longer holds a lease on endpoint ${this.name}`);
    }
  }

  /** Drops the job's lease and starts the idle window; a no-op when the job holds none. */
  async release(jobId: string): Promise<void> {
    await this.store.release(this.name, jobId, this.now());
  }

  /**
   * The job's execution ended outside its workflow (stopped, timed out): its lease and its waiter go,
   * each only if still there (so whoever sees the ending first releases it, once), and the idle window
   * starts from now. The stop itself is left to the guarded stop of whoever comes next.
   */
  async abandon(jobId: string): Promise<void> {
    await this.store.release(this.name, jobId, this.now());
    const waiter = (await this.store.get(this.name)).waiters[jobId];
    if (waiter) await this.store.removeWaiter(this.name, jobId, waiter.token, this.now());
  }

  /**
   * The guarded stop, phase one: moves InService → Stopping only if no lease is live, the idle window
   * has passed and nothing was acquired, renewed or released since the item was read (its `version`),
   * then asks SageMaker to delete the endpoint. Safe from any job, any number of times: at most one
   * caller wins, and a stop found under way (its winner may have died) is driven on. `graceMs` asks
   * for that much more idle time first: a backstop (the reconciler) leaves the stop to the last job's
   * own idle stop, which runs at the window's end, and acts only where none is coming.
   */
  async beginStop(options: { graceMs?: number } = {}): Promise<StopOutcome> {
    const item = await this.store.get(this.name);
    if (item.state === 'Stopping') {
      await this.deleteIfOurs(item);
      return { outcome: 'stopping', generation: item.generation };
    }
    if (item.state !== 'InService') return { outcome: 'kept', reason: `endpoint is ${item.state}` };
    const now = this.now();
    const live = liveLeases(item, now);
    if (live.length > 0) return { outcome: 'kept', reason: `${live.length} live lease(s)` };
    const idleFor = now - Math.max(item.lastReleaseAt ?? 0, item.inServiceAt ?? 0);
    if (idleFor < this.o.idleWindowMs + (options.graceMs ?? 0))
      return { outcome: 'kept', reason: 'used within the idle window' };
    const stopping = await this.store.beginStop(this.name, item, now);
    if (!stopping) return { outcome: 'kept', reason: 'used or changed since it was read' };
    this.log(`endpoint ${this.name}: idle for ${idleFor} ms, stopping generation ${item.generation}`);
    await this.deleteIfOurs(stopping);
    return { outcome: 'stopping', generation: stopping.generation };
  }

  /**
   * Phase two: Stopping → Stopped once SageMaker has no endpoint. `done: false` means the deletion is
   * still under way (look again later); it asks for the deletion again if SageMaker lost the request.
   */
  async finishStop(): Promise<{ done: boolean }> {
    const item = await this.store.get(this.name);
    if (item.state !== 'Stopping') return { done: true };
    if (await this.finishStopIfDeleted(item)) return { done: true };
    await this.deleteIfOurs(item);
    return { done: false };
  }

  /**
   * Stopping → Stopped when SageMaker has no endpoint, or has only a newer one (that stop is long
   * finished). Never deletes anything.
   */
  private async finishStopIfDeleted(item: EndpointItem): Promise<boolean> {
    const sm = await this.control.describe(this.name);
    if (sm.status === 'missing') return this.store.finishStop(this.name, item.generation, this.now());
    return !this.isOurs(sm, item);
  }

  /**
   * DeleteEndpoint unless it is already deleting or belongs to a newer generation (created after the
   * stop began). Should a new one appear between the describe and the delete it is Creating, and
   * SageMaker refuses to delete an endpoint in a transition.
   */
  private async deleteIfOurs(item: EndpointItem): Promise<void> {
    const sm = await this.control.describe(this.name);
    if (sm.status === 'missing' || sm.status === 'Deleting' || !this.isOurs(sm, item)) return;
    await this.control.delete(this.name);
  }

  private isOurs(sm: SageMakerState, item: EndpointItem): boolean {
    return sm.status === 'missing' || sm.createdAt === undefined || sm.createdAt <= (item.stoppingAt ?? 0);
  }

  // --- event wait mode ---------------------------------------------------------------------------

  /**
   * Registers the job's waiter (a task token or callback id), then checks the status once more: an
   * InService event that fired just before the registration would otherwise never wake it. When that
   * check settles the wait (ready, failed, lease lost, or a take-over this job must start) the waiter
   * is answered at once through `senders`, exactly as the waker would, so the orchestrator's wait
   * always ends by its token.
   */
  async registerWaiter(
    jobId: string,
    generation: number,
    waiter: Pick<Waiter, 'kind' | 'token'>,
    senders: WaiterSenders,
  ): Promise<Registration> {
    const registered: Waiter = { ...waiter, generation, registeredAt: this.now() };
    await this.store.addWaiter(this.name, jobId, registered, this.now());
    let settled: Registration;
    try {
      settled = await this.checkEndpoint(jobId, generation);
    } catch (err) {
      const e = err as Error;
      if (e.name !== ErrorNames.EndpointFailed && e.name !== ErrorNames.LeaseLost) throw err;
      settled = { status: 'failed', error: e.name, message: e.message };
    }
    if (settled.status === 'waiting') return settled;
    // Claimed before it is answered, so a waker answering at the same moment does not answer it twice.
    // A failed send is not put back: the registration fails and is retried, registering it again.
    const answer = settled;
    await answerWaiter(
      senders,
      { ...waiter, claim: () => this.store.removeWaiter(this.name, jobId, waiter.token, this.now()) },
      (sender) =>
        answer.status === 'failed'
          ? sender.fail(waiter.token, answer.error, answer.message)
          : sender.succeed(waiter.token, answer),
    );
    return settled;
  }

  /**
   * The waker: SageMaker's `Endpoint State Change` for this endpoint. The event is only a hint, so
   * duplicates and out-of-order deliveries are harmless: the status is confirmed with DescribeEndpoint,
   * then every waiter is completed (InService) or failed (Failed) and removed. A waiter whose
   * execution is gone is removed too; any other send error is thrown so the bus delivers again.
   * Each waiter is claimed (removed) before it is answered, so concurrent deliveries answer it once; a
   * waker that dies between claim and send loses that wake-up, and the job's wait times out into a
   * check, as the design's fallback says.
   */
  async handleStateChange(event: SageMakerEndpointStateChangeEvent, senders: WaiterSenders): Promise<string> {
    if (event.detail.EndpointName !== this.name) return 'not this endpoint';
    const status = endpointStatusOf(event.detail);
    if (status !== 'InService' && status !== 'Failed') return `ignored ${event.detail.EndpointStatus}`;
    await this.foldStart();
    return this.settleWaiters(senders);
  }

  /**
   * A start folds in what SageMaker says, with no job needed: InService is recorded (so the guarded
   * stop applies to it), Failed returns the item to Stopped with the reason. The waker does it on
   * each state change; the reconciler for a start whose jobs are gone and whose event was lost, which
   * would otherwise leave a serving GPU that nothing governs. A no-op unless the item is Starting.
   */
  async foldStart(): Promise<void> {
    const item = await this.store.get(this.name);
    if (item.state !== 'Starting') return;
    const sm = await this.control.describe(this.name);
    if (sm.status === 'InService') await this.store.markInService(this.name, item.generation, this.now());
    if (sm.status === 'Failed') {
      await this.failStart(item.generation, sm.failureReason ?? 'SageMaker reported Failed without a reason');
    }
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
      try {
        // Of concurrent wakers (duplicate events), only the one whose claim wins sends; a failed send
        // puts the waiter back for the bus's next delivery of this event.
        const sent = await answerWaiter(
          senders,
          {
            kind: waiter.kind,
            token: waiter.token,
            claim: () => this.store.removeWaiter(this.name, jobId, waiter.token, this.now()),
            putBack: () => this.store.addWaiter(this.name, jobId, waiter, this.now()),
          },
          (sender) =>
            item.state === 'InService'
              ? sender.succeed(waiter.token, { status: 'ready', generation: item.generation })
              : sender.fail(
                  waiter.token,
                  ErrorNames.EndpointFailed,
                  `endpoint ${this.name} failed to start: ${failure!.reason}`,
                ),
        );
        if (sent === 'sent') {
          if (item.state === 'InService') succeeded++;
          else failed++;
        }
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length > 0) {
      throw new AggregateError(
        errors,
        `could not answer ${errors.length} waiter(s) of endpoint ${this.name}: ${errors.map(describeError).join('; ')}`,
      );
    }
    return `woke ${succeeded}, failed ${failed} waiter(s)`;
  }
}
