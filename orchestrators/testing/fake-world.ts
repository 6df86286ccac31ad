// A FAKE of the activities and of what the state machine's native integrations and task tokens see,
// for tests about the flow alone: which states run, in which order, how often, and with what. The
// world keeps a simulated clock that only Wait states and task-token waits move, so a cold start of
// `createSeconds` takes as many poll rounds (or event waits) as it would on AWS. The real
// activities are tested against DynamoDB Local and the SageMaker emulator elsewhere; here only their
// contract (names, arguments, answers, error names) matters.
import type { Activities, JobContext, JobOutcome, Phases, WaiterRef } from '../../shared/activities.ts';
import type { SageMakerState } from '../../shared/endpoint-lifecycle/sagemaker-control.ts';
import type { Readiness } from '../../shared/endpoint-lifecycle/lifecycle.ts';
import { fakeJob } from './fake-job.ts';
import { EndpointFailedError, InferenceError, ThrottledError, type Failure } from '../../shared/errors.ts';
import { phasesOf } from '../../shared/phases.ts';
import { sageMakerStateOf } from '../stepfunctions/tasks.ts';

export interface WorldOptions {
  /** `rejected`: admit records the job REJECTED; `duplicate`: another execution admitted it. */
  upload?: 'valid' | 'rejected' | 'duplicate';
  /** Simulated second the mask lands (0: with the image); null: never. */
  maskArrivesAt?: number | null;
  /**
   * `warm`: InService, this job joins; `cold`: Stopped, this job starts it; `takeover`: Starting, but
   * its starter died before CreateEndpoint, so this job takes the start over (generation 2).
   */
  endpoint?: 'warm' | 'cold' | 'takeover';
  /** Seconds from CreateEndpoint to InService (or Failed). */
  createSeconds?: number;
  /** Set: the start fails with this FailureReason. */
  startFailure?: string;
  /** Seconds before a missing endpoint's start may be taken over (the lifecycle's stalledStart). */
  stalledStartSeconds?: number;
  /** One entry per invocation attempt; the last repeats. */
  invoke?: ('ok' | 'throttled' | 'failed')[];
  /** Whether the idle stop finds the endpoint idle. */
  idle?: boolean;
  deleteSeconds?: number;
  /** Event mode: this many wake-ups are lost (the wait times out into a check). */
  lostWakeUps?: number;
}

export interface Recorded {
  status: string;
  failure?: Failure;
  phases: Phases;
}

type Pending = { kind: 'mask' } | { kind: 'endpoint'; generation: number };

const BASE = Date.parse('2026-01-01T00:00:00.000Z');

export class FakeWorld {
  /** Simulated seconds since the upload. */
  now = 0;
  readonly calls: string[] = [];
  readonly invocations: { task: string; args: unknown[] }[] = [];
  recorded?: Recorded;
  readonly notified: JobOutcome[] = [];
  readonly reports: Failure[] = [];
  /** Tokens answered, by token: the output, or the error it was failed with. */
  private readonly answers = new Map<string, { output: unknown } | { error: string; cause: string }>();
  private readonly pending = new Map<string, Pending>();
  private startedAt: number | undefined;
  private generation = 1;
  private takenOver = false;
  private invokeAttempts = 0;
  private stopStartedAt: number | undefined;
  private lostWakeUps: number;
  readonly o: Required<Omit<WorldOptions, 'startFailure'>> & { startFailure?: string };

  constructor(options: WorldOptions = {}) {
    this.o = {
      upload: 'valid',
      maskArrivesAt: 0,
      endpoint: 'warm',
      createSeconds: 300,
      stalledStartSeconds: 120,
      invoke: ['ok'],
      idle: true,
      deleteSeconds: 60,
      lostWakeUps: 0,
      ...options,
    };
    this.lostWakeUps = this.o.lostWakeUps;
    if (this.o.endpoint === 'warm') this.startedAt = -1e6;
  }

  at(): string {
    return new Date(BASE + this.now * 1000).toISOString();
  }

  advance(seconds: number): void {
    this.now += seconds;
  }

  // --- what SageMaker says (the native DescribeEndpoint sees this too) ---------------------------

  /** DescribeEndpoint's answer as the SDK gives it, or a thrown "could not find" ValidationException. */
  describeEndpoint(name: string): Record<string, unknown> {
    if (this.startedAt === undefined) {
      const err = new Error(`Could not find endpoint "${name}".`);
      err.name = 'ValidationException';
      throw err;
    }
    const settled = this.now >= this.startedAt + this.o.createSeconds;
    const status = !settled ? 'Creating' : this.o.startFailure ? 'Failed' : 'InService';
    return {
      EndpointName: name,
      EndpointArn: `arn:aws:sagemaker:us-east-1:000000000000:endpoint/${name}`,
      EndpointConfigName: 'reconstruct-3d-config',
      EndpointStatus: status,
      ...(status === 'Failed' ? { FailureReason: this.o.startFailure } : {}),
      CreationTime: new Date(BASE + this.startedAt * 1000).toISOString(),
      LastModifiedTime: this.at(),
    };
  }

  private readiness(generation: number, observed?: SageMakerState): Readiness {
    let sm: SageMakerState;
    if (observed !== undefined) sm = observed;
    else {
      try {
        sm = sageMakerStateOf(this.describeEndpoint('fake'));
      } catch (err) {
        sm = sageMakerStateOf({ Error: 'SageMaker.ValidationException', Cause: (err as Error).message });
      }
    }
    if (sm.status === 'InService') return { status: 'ready', generation: this.generation };
    if (sm.status === 'Failed')
      throw new EndpointFailedError(`endpoint failed to start: ${sm.failureReason ?? '?'}`);
    if (sm.status === 'missing' && this.o.endpoint === 'takeover' && !this.takenOver) {
      if (this.now < this.o.stalledStartSeconds)
        return { status: 'waiting', generation, sageMakerStatus: 'missing' };
      this.takenOver = true;
      this.generation = 2;
      return { status: 'start', generation: 2 };
    }
    return { status: 'waiting', generation: this.generation, sageMakerStatus: sm.status };
  }

  // --- task tokens ----------------------------------------------------------------------------

  private answer(token: string, result: { output: unknown } | { error: string; cause: string }): void {
    this.pending.delete(token);
    this.answers.set(token, result);
  }

  /**
   * What a `.waitForTaskToken` task gets: the answer already sent, else the wake-up that comes within
   * `timeoutSeconds` (the clock moves to it), else States.Timeout after moving the clock past it.
   */
  awaitToken(token: string, timeoutSeconds: number): unknown {
    const wait = this.pending.get(token);
    if (!this.answers.has(token) && wait) {
      const wakeAt =
        wait.kind === 'mask'
          ? this.o.maskArrivesAt
          : this.startedAt === undefined
            ? null
            : this.startedAt + this.o.createSeconds;
      if (wakeAt !== null && wakeAt <= this.now + timeoutSeconds && this.lostWakeUps === 0) {
        this.now = Math.max(this.now, wakeAt);
        if (wait.kind === 'mask') this.answer(token, { output: { present: true } });
        else if (this.o.startFailure)
          this.answer(token, {
            error: 'EndpointFailedError',
            cause: `endpoint failed to start: ${this.o.startFailure}`,
          });
        else this.answer(token, { output: { status: 'ready', generation: this.generation } });
      } else if (wakeAt !== null && wakeAt <= this.now + timeoutSeconds) {
        this.lostWakeUps--;
      }
    }
    const answered = this.answers.get(token);
    if (!answered) {
      this.pending.delete(token);
      this.now += timeoutSeconds;
      throw Object.assign(new Error(''), { name: 'States.Timeout' });
    }
    if ('error' in answered) throw Object.assign(new Error(answered.cause), { name: answered.error });
    return answered.output;
  }

  // --- the activities -------------------------------------------------------------------------

  readonly activities: Activities = {
    admit: (_event, executionId) => {
      this.log('admit', [executionId]);
      const job = this.job();
      if (this.o.upload === 'rejected') {
        return Promise.resolve({
          admitted: false,
          job: { ...job, errorKey: null },
          failure: { error: 'InvalidInputError', message: "key 'x.png' is not an input key" },
          at: this.at(),
        });
      }
      return Promise.resolve({ admitted: true, job, created: this.o.upload !== 'duplicate', at: this.at() });
    },
    checkMask: () => {
      this.log('checkMask', []);
      return Promise.resolve({ present: this.maskPresent(), at: this.at() });
    },
    registerMaskWaiter: (_job, waiter) => {
      this.log('registerMaskWaiter', [waiter.kind]);
      this.pending.set(waiter.token, { kind: 'mask' });
      const present = this.maskPresent();
      if (present) this.answer(waiter.token, { output: { present: true } });
      return Promise.resolve({ present, at: this.at() });
    },
    acquireEndpoint: () => {
      this.log('acquireEndpoint', []);
      const role = this.o.endpoint === 'cold' ? 'starter' : 'joiner';
      return Promise.resolve({ role, generation: 1, at: this.at() });
    },
    startEndpoint: (_job, generation) => {
      this.log('startEndpoint', [generation]);
      if (generation !== this.generation) return Promise.resolve({ outcome: 'not-needed' as const });
      this.startedAt ??= this.now;
      return Promise.resolve({ outcome: 'created' as const });
    },
    checkEndpoint: (_job, generation, observed) => {
      this.log('checkEndpoint', [generation, observed === undefined ? 'describes' : 'observed']);
      return Promise.resolve({ ...this.readiness(generation, observed), at: this.at() });
    },
    registerEndpointWaiter: (_job, generation, waiter: WaiterRef) => {
      this.log('registerEndpointWaiter', [generation]);
      this.pending.set(waiter.token, { kind: 'endpoint', generation });
      try {
        const settled = this.readiness(generation);
        if (settled.status !== 'waiting') this.answer(waiter.token, { output: settled });
        return Promise.resolve(settled);
      } catch (err) {
        const e = err as Error;
        this.answer(waiter.token, { error: e.name, cause: e.message });
        return Promise.resolve({ status: 'failed' as const, error: e.name, message: e.message });
      }
    },
    renewLease: () => {
      this.log('renewLease', []);
      return Promise.resolve();
    },
    invoke: (job: JobContext) => {
      this.log('invoke', []);
      const script = this.o.invoke;
      const step = script[Math.min(this.invokeAttempts++, script.length - 1)];
      if (step === 'throttled')
        return Promise.reject(new ThrottledError('SageMaker throttled InvokeEndpoint'));
      if (step === 'failed')
        return Promise.reject(new InferenceError('the model server failed: out of memory'));
      const startedAt = this.at();
      return Promise.resolve({
        result: { status: 'success', output_s3_key: job.outputKey, mesh_stats: {}, timings_ms: {} },
        startedAt,
        at: this.at(),
      });
    },
    releaseLease: () => {
      this.log('releaseLease', []);
      return Promise.resolve();
    },
    reportFailure: (job, failure) => {
      this.log('reportFailure', [failure.error]);
      this.reports.push(failure);
      return Promise.resolve({ errorKey: job.errorKey });
    },
    recordOutcome: (_job, outcome, seen) => {
      this.log('recordOutcome', [outcome.status]);
      this.recorded = {
        status: outcome.status,
        phases: phasesOf(seen),
        ...(outcome.status === 'COMPLETED' ? {} : { failure: outcome.failure }),
      };
      return Promise.resolve({ status: outcome.status });
    },
    notify: (_job, outcome) => {
      this.log('notify', [outcome.status]);
      this.notified.push(outcome);
      return Promise.resolve();
    },
    beginStop: () => {
      this.log('beginStop', []);
      if (!this.o.idle) return Promise.resolve({ outcome: 'kept' as const, reason: '1 live lease(s)' });
      this.stopStartedAt = this.now;
      return Promise.resolve({ outcome: 'stopping' as const, generation: this.generation });
    },
    finishStop: () => {
      this.log('finishStop', []);
      return Promise.resolve({ done: this.now >= (this.stopStartedAt ?? 0) + this.o.deleteSeconds });
    },
  };

  /** The activities called, in order. */
  called(task: string): number {
    return this.calls.filter((c) => c === task).length;
  }

  private log(task: string, args: unknown[]): void {
    this.calls.push(task);
    this.invocations.push({ task, args });
  }

  private maskPresent(): boolean {
    return this.o.maskArrivesAt !== null && this.now >= this.o.maskArrivesAt;
  }

  private job(): JobContext {
    return fakeJob('sf');
  }
}
