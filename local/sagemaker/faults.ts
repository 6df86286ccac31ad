// Fault injection for the SageMaker emulator: the failures the lifecycle must survive, on demand.
// Each fault is armed for a number of calls (or events) and used up as they take it.
import type { EndpointStatus } from './requests.ts';

export type InvocationFailure =
  'ModelError' | 'ModelNotReadyException' | 'ServiceUnavailable' | 'InternalFailure';

/**
 * What happens to the container while it serves one invocation: `error`, its path to S3 is cut, so
 * it answers 500; `hang`, its process is frozen until the invocation timeout cuts the call off;
 * `die`, its process is killed mid-call, and SageMaker replaces the instance.
 */
export type ContainerFault = 'error' | 'hang' | 'die';

/**
 * What happens to one `Endpoint State Change` event: `lose`, never delivered; `duplicate`, delivered
 * twice; `hold`, delivered late, right after the endpoint's next event (an earlier status after a later one).
 */
export type StateEventFault = 'lose' | 'duplicate' | 'hold';

export class Faults {
  private failStarts: (string | true)[] = [];
  private resourceLimits = 0;
  private throttles: { count: number; operations?: Set<string> }[] = [];
  private invocationFailures: InvocationFailure[] = [];
  private containerFaults: ContainerFault[] = [];
  private eventFaults: { status: EndpointStatus; fault: StateEventFault }[] = [];
  /** Real milliseconds added to every invocation. */
  invocationDelayMs = 0;

  /** The next `count` endpoint starts (create or update) end Failed with `reason` (default: no GPU capacity). */
  failNextStart(reason?: string, count = 1): this {
    for (let i = 0; i < count; i++) this.failStarts.push(reason ?? true);
    return this;
  }

  /** The next `count` CreateEndpoint calls are refused with ResourceLimitExceeded. */
  rejectCapacity(count = 1): this {
    this.resourceLimits += count;
    return this;
  }

  /** The next `count` calls (of `operations`, or of any operation, InvokeEndpoint included) get ThrottlingException. */
  throttle(count: number, operations?: string[]): this {
    this.throttles.push({ count, ...(operations ? { operations: new Set(operations) } : {}) });
    return this;
  }

  /** Every invocation takes `ms` longer. */
  slowInvocations(ms: number): this {
    this.invocationDelayMs = ms;
    return this;
  }

  /** The next `count` invocations fail as `kind`, before reaching the container. */
  failInvocations(count: number, kind: InvocationFailure = 'ServiceUnavailable'): this {
    for (let i = 0; i < count; i++) this.invocationFailures.push(kind);
    return this;
  }

  /**
   * The next `count` invocations that reach a container meet `fault` there (ContainerFault). Needs a
   * container process (`error` also its storage link): the inference server the local cloud runs.
   */
  failInContainer(count: number, fault: ContainerFault): this {
    for (let i = 0; i < count; i++) this.containerFaults.push(fault);
    return this;
  }

  /** The next `count` state-change events reporting `status` (of any endpoint) meet `fault`. */
  stateEvents(status: EndpointStatus, fault: StateEventFault, count = 1): this {
    for (let i = 0; i < count; i++) this.eventFaults.push({ status, fault });
    return this;
  }

  /** Faults armed and not yet taken, by kind: a scenario checks that its faults were all met. */
  armed(): { containerFaults: number; eventFaults: number; invocationFailures: number } {
    return {
      containerFaults: this.containerFaults.length,
      eventFaults: this.eventFaults.length,
      invocationFailures: this.invocationFailures.length,
    };
  }

  clear(): this {
    this.failStarts = [];
    this.resourceLimits = 0;
    this.throttles = [];
    this.invocationFailures = [];
    this.containerFaults = [];
    this.eventFaults = [];
    this.invocationDelayMs = 0;
    return this;
  }

  take(kind: 'failStart'): string | true | undefined;
  take(kind: 'resourceLimit'): boolean;
  take(kind: 'failStart' | 'resourceLimit'): string | boolean | undefined {
    if (kind === 'failStart') return this.failStarts.shift();
    if (this.resourceLimits === 0) return false;
    this.resourceLimits--;
    return true;
  }

  takeThrottle(operation: string): boolean {
    const armed = this.throttles.find((t) => t.count > 0 && (!t.operations || t.operations.has(operation)));
    if (!armed) return false;
    armed.count--;
    return true;
  }

  takeInvocationFailure(): InvocationFailure | undefined {
    return this.invocationFailures.shift();
  }

  takeContainerFault(): ContainerFault | undefined {
    return this.containerFaults.shift();
  }

  takeStateEventFault(status: EndpointStatus): StateEventFault | undefined {
    const at = this.eventFaults.findIndex((f) => f.status === status);
    return at < 0 ? undefined : this.eventFaults.splice(at, 1)[0]!.fault;
  }
}
