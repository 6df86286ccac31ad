// Fault injection for the SageMaker emulator: the failures the lifecycle must survive, on demand.
// Each fault is armed for a number of calls and used up as calls take it.

export type InvocationFailure =
  'ModelError' | 'ModelNotReadyException' | 'ServiceUnavailable' | 'InternalFailure';

export class Faults {
  private failStarts: (string | true)[] = [];
  private resourceLimits = 0;
  private throttles: { count: number; operations?: Set<string> }[] = [];
  private invocationFailures: InvocationFailure[] = [];
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

  clear(): this {
    this.failStarts = [];
    this.resourceLimits = 0;
    this.throttles = [];
    this.invocationFailures = [];
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
}
