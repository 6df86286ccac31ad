// A scripted stand-in for the shared Activities, for tests of the workflow's logic alone (the
// activities have their own tests against DynamoDB Local, S3 and the SageMaker emulator). Each
// scenario forces one path on purpose: when the mask shows up, how the endpoint comes up or fails,
// which errors each activity throws first. It logs every call so a test can assert that each
// activity ran exactly as often as the path needs, whatever the number of replays.
import type {
  Activities,
  Admission,
  Inference,
  JobContext,
  JobOutcome,
  Phases,
  Registration,
  StepsSeen,
  WaiterRef,
} from '../../shared/activities.ts';
import type { Readiness, StopOutcome } from '../../shared/endpoint-lifecycle/lifecycle.ts';
import { DomainError, type ErrorName, type Failure } from '../../shared/errors.ts';
import type { JobStatus } from '../../shared/job-model.ts';
import { fakeJob } from './fake-job.ts';
import { phasesOf } from '../../shared/phases.ts';

export interface Scenario {
  /** Rejects the upload at admission. */
  reject?: string;
  /** Admission found the job admitted by another execution (a duplicate delivery). */
  duplicate?: boolean;
  /** The look (checkMask or registerMaskWaiter, counted together, 1-based) that first finds the mask. */
  maskAtLook?: number;
  /** Event mode: the mask lands right after the n-th waiter registration, and its event wakes it. */
  maskEventAfterRegistration?: number;
  endpoint?: {
    /** What the job finds when it acquires. */
    state: 'InService' | 'Stopped';
    /** The n-th readiness check after a start finds InService (poll mode). */
    readyAtCheck?: number;
    /** The n-th check finds the start Failed. */
    failAtCheck?: number;
    /** The n-th check finds a start that cannot finish: this job takes it over. */
    takeOverAtCheck?: number;
    /** Event mode: SageMaker's InService event wakes the waiter right after the n-th registration. */
    readyEventAfterRegistration?: number;
    /** Event mode: SageMaker's Failed event fails the waiter right after the n-th registration. */
    failEventAfterRegistration?: number;
  };
  /** Errors (by name) thrown by the first calls of an activity, one per call; 'Error' is an unnamed one. */
  errors?: Partial<Record<ScriptedActivity, (ErrorName | 'Error')[]>>;
  /** The stop: what beginStop answers and on which finishStop look the deletion is done. */
  stop?: { outcome: 'stopping' | 'kept'; doneAtLook?: number };
}

type ScriptedActivity =
  | 'acquireEndpoint'
  | 'startEndpoint'
  | 'registerEndpointWaiter'
  | 'invoke'
  | 'reportFailure'
  | 'notify'
  | 'beginStop';

/** How an answer reaches a waiting execution: the test delivers it through the runner's callback API. */
export type Deliver = (
  waiter: WaiterRef & { index: number; operation: 'wait-for-mask' | 'wait-for-endpoint' },
  answer: { result: unknown } | { failure: Failure },
) => void;

export const JOB: JobContext = fakeJob('ldf');

const at = (n: number): string => new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString();

export class FakeActivities implements Activities {
  /** Every call, in order: the activity's name, with the generation where it takes one. */
  readonly calls: string[] = [];
  readonly outcomes: { outcome: JobOutcome; phases: Phases }[] = [];
  readonly reports: Failure[] = [];
  readonly notified: JobOutcome[] = [];
  readonly executionIds: string[] = [];
  deliver: Deliver = () => {
    throw new Error('this scenario answers no callback');
  };
  private maskLooks = 0;
  private maskLanded = false;
  private maskRegistrations = 0;
  private endpointRegistrations = 0;
  private checks = 0;
  private finishLooks = 0;
  private clock = 0;
  private state: 'Stopped' | 'Starting' | 'InService' | 'Failed';
  private generation = 1;
  private readonly errors: Record<string, (ErrorName | 'Error')[]>;

  constructor(private readonly scenario: Scenario = {}) {
    this.state = scenario.endpoint?.state ?? 'InService';
    this.errors = Object.fromEntries(
      Object.entries(scenario.errors ?? {}).map(([k, v]) => [k, [...(v ?? [])]]),
    );
  }

  count(activity: string): number {
    return this.calls.filter((c) => c === activity || c.startsWith(`${activity}(`)).length;
  }

  private tick(): string {
    return at(++this.clock);
  }

  private throwScripted(activity: ScriptedActivity): void {
    const next = this.errors[activity]?.shift();
    if (next === 'Error') throw new Error(`scripted unnamed error from ${activity}`);
    if (next) throw new DomainError(next, `scripted ${next} from ${activity}`);
  }

  admit(_event: unknown, executionId: string): Promise<Admission> {
    this.calls.push('admit');
    this.executionIds.push(executionId);
    if (this.scenario.reject !== undefined) {
      return Promise.resolve({
        admitted: false,
        job: JOB,
        failure: { error: 'InvalidInputError', message: this.scenario.reject },
        at: this.tick(),
      });
    }
    return Promise.resolve({ admitted: true, job: JOB, created: !this.scenario.duplicate, at: this.tick() });
  }

  private lookForMask(): boolean {
    this.maskLooks++;
    return this.maskLanded || this.maskLooks >= (this.scenario.maskAtLook ?? 1);
  }

  checkMask(): Promise<{ present: boolean; at: string }> {
    this.calls.push('checkMask');
    return Promise.resolve({ present: this.lookForMask(), at: this.tick() });
  }

  registerMaskWaiter(_job: JobContext, waiter: WaiterRef): Promise<{ present: boolean; at: string }> {
    this.calls.push('registerMaskWaiter');
    const index = this.maskRegistrations++;
    const to = { ...waiter, index, operation: 'wait-for-mask' as const };
    const present = this.lookForMask();
    // Present already: the registration answers its own waiter, as the activity does.
    if (present) this.deliver(to, { result: { present: true } });
    else if (this.scenario.maskEventAfterRegistration === index + 1) {
      // The mask lands now, and its Object Created event wakes the stored waiter.
      this.maskLanded = true;
      this.deliver(to, { result: { present: true } });
    }
    return Promise.resolve({ present, at: this.tick() });
  }

  acquireEndpoint(): Promise<{ role: 'starter' | 'joiner'; generation: number; at: string }> {
    this.calls.push('acquireEndpoint');
    this.throwScripted('acquireEndpoint');
    if (this.state === 'Stopped') {
      this.state = 'Starting';
      this.generation++;
      return Promise.resolve({ role: 'starter', generation: this.generation, at: this.tick() });
    }
    return Promise.resolve({ role: 'joiner', generation: this.generation, at: this.tick() });
  }

  startEndpoint(_job: JobContext, generation: number): Promise<{ outcome: 'created' }> {
    this.calls.push(`startEndpoint(${generation})`);
    this.throwScripted('startEndpoint');
    return Promise.resolve({ outcome: 'created' });
  }

  private check(generation: number): Readiness {
    this.checks++;
    const e = this.scenario.endpoint;
    if (this.state === 'Failed' || e?.failAtCheck === this.checks) {
      this.state = 'Failed';
      throw new DomainError('EndpointFailedError', 'endpoint failed to start: scripted FailureReason');
    }
    if (e?.takeOverAtCheck === this.checks) {
      this.generation++;
      return { status: 'start', generation: this.generation };
    }
    if (this.state === 'Starting' && e?.readyAtCheck !== undefined && this.checks >= e.readyAtCheck) {
      this.state = 'InService';
    }
    return this.state === 'InService'
      ? { status: 'ready', generation: this.generation }
      : { status: 'waiting', generation: Math.max(generation, this.generation), sageMakerStatus: 'Creating' };
  }

  checkEndpoint(_job: JobContext, generation: number): Promise<Readiness & { at: string }> {
    this.calls.push(`checkEndpoint(${generation})`);
    return Promise.resolve({ ...this.check(generation), at: this.tick() });
  }

  registerEndpointWaiter(_job: JobContext, generation: number, waiter: WaiterRef): Promise<Registration> {
    this.calls.push(`registerEndpointWaiter(${generation})`);
    this.throwScripted('registerEndpointWaiter');
    const index = this.endpointRegistrations++;
    const to = { ...waiter, index, operation: 'wait-for-endpoint' as const };
    let settled: Registration;
    try {
      settled = this.check(generation);
    } catch (err) {
      const e = err as Error;
      settled = { status: 'failed', error: e.name, message: e.message };
    }
    // As the lifecycle does: a settled check answers the waiter at once.
    if (settled.status === 'failed') {
      this.deliver(to, { failure: { error: settled.error, message: settled.message } });
      return Promise.resolve(settled);
    }
    if (settled.status !== 'waiting') {
      this.deliver(to, { result: settled });
      return Promise.resolve(settled);
    }
    const e = this.scenario.endpoint;
    if (e?.readyEventAfterRegistration === index + 1) {
      this.state = 'InService';
      this.deliver(to, { result: { status: 'ready', generation: this.generation } });
    } else if (e?.failEventAfterRegistration === index + 1) {
      this.state = 'Failed';
      this.deliver(to, {
        failure: {
          error: 'EndpointFailedError',
          message: 'endpoint failed to start: scripted FailureReason',
        },
      });
    }
    return Promise.resolve(settled);
  }

  renewLease(): Promise<void> {
    this.calls.push('renewLease');
    return Promise.resolve();
  }

  invoke(): Promise<Inference> {
    this.calls.push('invoke');
    const startedAt = this.tick();
    this.throwScripted('invoke');
    return Promise.resolve({
      result: { status: 'success', output_s3_key: JOB.outputKey, mesh_stats: {}, timings_ms: {} },
      startedAt,
      at: this.tick(),
    });
  }

  releaseLease(): Promise<void> {
    this.calls.push('releaseLease');
    return Promise.resolve();
  }

  reportFailure(job: JobContext, failure: Failure): Promise<{ errorKey: string | null }> {
    this.calls.push('reportFailure');
    this.throwScripted('reportFailure');
    this.reports.push(failure);
    return Promise.resolve({ errorKey: job.errorKey });
  }

  recordOutcome(_job: JobContext, outcome: JobOutcome, seen: StepsSeen): Promise<{ status: JobStatus }> {
    this.calls.push('recordOutcome');
    this.outcomes.push({ outcome, phases: phasesOf(seen) });
    return Promise.resolve({ status: outcome.status });
  }

  notify(_job: JobContext, outcome: JobOutcome): Promise<void> {
    this.calls.push('notify');
    this.throwScripted('notify');
    this.notified.push(outcome);
    return Promise.resolve();
  }

  beginStop(): Promise<StopOutcome> {
    this.calls.push('beginStop');
    this.throwScripted('beginStop');
    const stop = this.scenario.stop ?? { outcome: 'kept' };
    return Promise.resolve(
      stop.outcome === 'stopping'
        ? { outcome: 'stopping', generation: this.generation }
        : { outcome: 'kept', reason: 'used within the idle window' },
    );
  }

  finishStop(): Promise<{ done: boolean }> {
    this.calls.push('finishStop');
    this.finishLooks++;
    return Promise.resolve({ done: this.finishLooks >= (this.scenario.stop?.doneAtLook ?? 1) });
  }
}
