// The metrics Step Functions publishes in AWS/States, as the local service sees each execution:
// `ExecutionsStarted` when it starts; at its end its outcome (`ExecutionsSucceeded`, `...Failed`,
// `...TimedOut`, `...Aborted`) and `ExecutionTime` (ms, wall clock) by `StateMachineArn`, and its
// billed state transitions as `ConsumedCapacity` with `ServiceMetric=StateTransition` (per account,
// as AWS publishes it), counted from its history as metering/sfn-history.ts counts a deployed one.
import { countStateTransitions } from '../../metering/sfn-history.ts';
import type { MetricsSink } from '../common/service-metrics.ts';
import type { Execution, ExecutionStatus } from './execution.ts';

export const STATES_NAMESPACE = 'AWS/States';

const END_METRIC: Record<Exclude<ExecutionStatus, 'RUNNING'>, string> = {
  SUCCEEDED: 'ExecutionsSucceeded',
  FAILED: 'ExecutionsFailed',
  TIMED_OUT: 'ExecutionsTimedOut',
  ABORTED: 'ExecutionsAborted',
};

/** Publishes an execution's start now and its end once it closes. */
export function watchExecution(execution: Execution, sink: MetricsSink | undefined): void {
  if (!sink) return;
  const machine = { StateMachineArn: execution.settings.stateMachineArn };
  sink.publish(STATES_NAMESPACE, 'ExecutionsStarted', machine, 1, 'Count', execution.startDate.getTime());
  void execution.done.then(() => {
    if (execution.status === 'RUNNING') return;
    const at = (execution.stopDate ?? new Date()).getTime();
    sink.publish(STATES_NAMESPACE, END_METRIC[execution.status], machine, 1, 'Count', at);
    sink.publish(
      STATES_NAMESPACE,
      'ExecutionTime',
      machine,
      at - execution.startDate.getTime(),
      'Milliseconds',
      at,
    );
    const transitions = countStateTransitions(execution.history.events);
    sink.publish(
      STATES_NAMESPACE,
      'ConsumedCapacity',
      { ServiceMetric: 'StateTransition' },
      transitions,
      'Count',
      at,
    );
  });
}
