// The metrics Lambda publishes in AWS/Lambda, as the local Lambda sees them happen: per invocation
// `Invocations`, `Errors` (0 or 1, so a clean run still has a series) and `Duration` (real ms the
// handler ran, its cold start and queueing left out), and per durable execution `DurableExecution*`:
// started when it starts; at its end its outcome, its wall clock and what it billed, counted from
// its history as metering/durable-history.ts counts it for a deployed function. Each goes out by
// `FunctionName` and, when invoked through a qualifier (the alias), by `FunctionName` + `Resource`.
import { countDurableHistory } from '../../metering/durable-history.ts';
import type { MetricsSink } from '../common/service-metrics.ts';
import type { DurableExecution } from './execution.ts';
import type { InvocationOutcome, RunningInvocation } from './sandbox.ts';

export const LAMBDA_NAMESPACE = 'AWS/Lambda';

const END_METRIC = {
  SUCCEEDED: 'DurableExecutionSucceeded',
  FAILED: 'DurableExecutionFailed',
  TIMED_OUT: 'DurableExecutionTimedOut',
  STOPPED: 'DurableExecutionStopped',
} as const;

export class LambdaMetrics {
  constructor(
    private readonly sink: MetricsSink | undefined,
    /** The local cloud's clock (epoch ms): what the metrics are stamped with. */
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Runs one invocation (`run` gets the onStart to pass to the sandbox) and publishes its metrics. An
   * invocation that threw, crashed, timed out, or (durable) returned no durable output is an error.
   */
  async invocation(
    functionName: string,
    qualifier: string | undefined,
    run: (onStart: (running: RunningInvocation) => void) => Promise<InvocationOutcome>,
    onStart?: (running: RunningInvocation) => void,
    isError: (outcome: InvocationOutcome) => boolean = (o) => !o.ok,
  ): Promise<InvocationOutcome> {
    let started: number | undefined;
    const outcome = await run((running) => {
      started = performance.now();
      onStart?.(running);
    });
    // An invocation whose sandbox never became ready did not run: Lambda counts it an error of no duration.
    const durationMs = started === undefined ? 0 : performance.now() - started;
    const at = this.now();
    this.publish(functionName, qualifier, 'Invocations', 1, 'Count', at);
    this.publish(functionName, qualifier, 'Errors', isError(outcome) ? 1 : 0, 'Count', at);
    this.publish(functionName, qualifier, 'Duration', durationMs, 'Milliseconds', at);
    return outcome;
  }

  executionStarted(execution: DurableExecution): void {
    const { functionName, qualifier } = execution.spec;
    this.publish(
      functionName,
      qualifier,
      'DurableExecutionStarted',
      1,
      'Count',
      execution.startTimestamp.getTime(),
    );
  }

  /** At the execution's end: its outcome, its wall clock, its operations and bytes written. */
  executionEnded(execution: DurableExecution): void {
    if (execution.status === 'RUNNING' || !this.sink) return;
    const { functionName, qualifier } = execution.spec;
    const at = execution.endTimestamp?.getTime() ?? this.now();
    const counts = countDurableHistory(execution.history());
    this.publish(functionName, qualifier, END_METRIC[execution.status], 1, 'Count', at);
    this.publish(
      functionName,
      qualifier,
      'DurableExecutionDuration',
      at - execution.startTimestamp.getTime(),
      'Milliseconds',
      at,
    );
    this.publish(functionName, qualifier, 'DurableExecutionOperations', counts.operations, 'Count', at);
    this.publish(
      functionName,
      qualifier,
      'DurableExecutionStorageWrittenBytes',
      counts.dataBytes,
      'Bytes',
      at,
    );
  }

  private publish(
    functionName: string,
    qualifier: string | undefined,
    name: string,
    value: number,
    unit: string,
    at: number,
  ): void {
    if (!this.sink) return;
    this.sink.publish(LAMBDA_NAMESPACE, name, { FunctionName: functionName }, value, unit, at);
    if (qualifier !== undefined)
      this.sink.publish(
        LAMBDA_NAMESPACE,
        name,
        { FunctionName: functionName, Resource: `${functionName}:${qualifier}` },
        value,
        unit,
        at,
      );
  }
}
