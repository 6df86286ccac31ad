// The durable executions the service keeps: started by a qualified invoke (a DurableExecutionName seen
// before with the same input is the same execution), found by ARN, listed by function, and forgotten
// once an ended execution's RetentionPeriodInDays has passed on the clock, as Lambda does. An ended
// execution's operations and history wait on disk meanwhile (local/common/spill-store.ts).
import { randomUUID } from 'node:crypto';
import { afterRetention } from '../common/clock.ts';
import { reviveTimestamps, SpillStore } from '../common/spill-store.ts';
import { alreadyStarted, invalidParameter, notFound } from './errors.ts';
import { DurableExecution, type ExecutionHost } from './execution.ts';
import type { ResolvedFunction } from './functions.ts';
import type { LambdaMetrics } from './lambda-metrics.ts';

const EXECUTION_NAME = /^[a-zA-Z0-9-_]{1,64}$/;

export class DurableExecutions {
  private readonly byArn = new Map<string, DurableExecution>();
  /** By `function\nexecution name`. */
  private readonly byName = new Map<string, DurableExecution>();
  /** Ends the retention timers when the service stops. */
  private readonly disposing = new AbortController();
  /** Ended executions' operations and histories, on disk until their retention ends. */
  private readonly spilled = new SpillStore('durable-executions', reviveTimestamps);

  constructor(
    private readonly host: ExecutionHost,
    private readonly metrics: LambdaMetrics,
  ) {}

  /** The execution `name` of the resolved function: a new one, started, or the one with that name. */
  start(resolved: ResolvedFunction, input: string, name: string | undefined): DurableExecution {
    const { fn } = resolved;
    if (resolved.qualifier === undefined) {
      throw invalidParameter(
        'Durable execution is not supported on an unqualified function name. Invoke a published version or an alias.',
      );
    }
    if (name !== undefined && !EXECUTION_NAME.test(name)) {
      throw invalidParameter(
        `DurableExecutionName '${name}' must be 1 to 64 letters, digits, hyphens or underscores.`,
      );
    }
    const executionName = name ?? randomUUID();
    const key = `${fn.name}\n${executionName}`;
    const existing = this.byName.get(key);
    if (existing) {
      if (existing.spec.input !== input) throw alreadyStarted(executionName);
      return existing;
    }
    const id = randomUUID();
    const functionArn = `${fn.arn}:${resolved.version}`;
    const execution = new DurableExecution(
      {
        id,
        arn: `${functionArn}/durable-execution/${executionName}/${id}`,
        name: executionName,
        functionName: fn.name,
        functionArn,
        version: resolved.version,
        qualifier: resolved.qualifier,
        input,
        executionTimeoutSeconds: fn.durable!.executionTimeoutSeconds,
        retentionPeriodDays: fn.durable!.retentionPeriodDays,
      },
      this.host,
    );
    this.byArn.set(execution.arn, execution);
    this.byName.set(key, execution);
    execution.start();
    this.metrics.executionStarted(execution);
    void execution.done.then(() => {
      this.metrics.executionEnded(execution);
      if (!this.disposing.signal.aborted) execution.spill(this.spilled);
      this.retain(execution, key);
    });
    return execution;
  }

  get(arn: string): DurableExecution {
    const execution = this.byArn.get(arn);
    if (!execution) throw notFound(`Durable execution not found: ${arn}`);
    return execution;
  }

  /** Every execution, oldest first. */
  list(): DurableExecution[] {
    return [...this.byArn.values()];
  }

  /** The executions of a function; of its version when qualified. */
  of(resolved: ResolvedFunction): DurableExecution[] {
    return this.list().filter(
      (e) =>
        e.spec.functionName === resolved.fn.name &&
        (resolved.qualifier === undefined || e.spec.version === resolved.version),
    );
  }

  /** Keeps an ended execution for its retention period, then forgets it (its ARN not found, its name free). */
  private retain(execution: DurableExecution, key: string): void {
    afterRetention(this.host.time, execution.spec.retentionPeriodDays, this.disposing.signal, () => {
      this.byArn.delete(execution.arn);
      if (this.byName.get(key) === execution) this.byName.delete(key);
      execution.forget();
    });
  }

  /** Cancels every execution's timers (the service is stopping). */
  dispose(): void {
    this.disposing.abort(new Error('the local Lambda stopped'));
    for (const execution of this.byArn.values()) execution.dispose();
    this.spilled.dispose();
  }
}
