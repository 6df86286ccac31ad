// Runs the workflow under the durable SDK's LocalDurableTestRunner with a scripted FakeActivities,
// delivering the fake's callback answers through the runner's public callback API, and sums up what
// the execution did: operation names in order, billed operations, metrics. Test support only.
import { withDurableExecution, type DurableLogger } from '@aws/durable-execution-sdk-js';
import {
  LocalDurableTestRunner,
  WaitingOperationStatus,
  type TestResult,
} from '@aws/durable-execution-sdk-js-testing';
import { expect } from 'vitest';
import { countDurableHistory } from '../../metering/durable-history.ts';
import type { MetricName } from '../../shared/observability.ts';
import { FakeActivities, type Deliver, type Scenario } from './fake-activities.ts';
import { createWorkflow, type JobResult, type WorkflowSettings } from '../durable/workflow.ts';

export const POLL: WorkflowSettings = {
  waitMode: 'poll',
  maskWaitSeconds: 60,
  endpointWaitSeconds: 600,
  pollSeconds: 5,
  pollMaxSeconds: 20,
  eventFallbackSeconds: 20,
  idleWindowSeconds: 600,
};
// The callback timeout (eventFallbackSeconds) runs on a real timer in the runner: long enough never to
// fire in a test whose wake-up comes, so no count depends on the machine's speed.
export const EVENT: WorkflowSettings = { ...POLL, waitMode: 'event', eventFallbackSeconds: 30 };
// For the tests where nothing wakes the job: one-second timeouts, the fallback check after each.
export const EVENT_NO_WAKE: WorkflowSettings = { ...EVENT, eventFallbackSeconds: 1, maskWaitSeconds: 2 };

export const UPLOAD = {
  'detail-type': 'Object Created',
  detail: { bucket: { name: 'uploads' }, object: { key: 'users/user-1/input/chair_image.png' } },
};

export interface Run {
  fake: FakeActivities;
  result: TestResult<JobResult>;
  /** The result of an execution that succeeded. */
  output?: JobResult;
  /** The error of an execution that failed (a FAILED job fails its execution with the job's error). */
  error?: { errorType?: string; errorMessage?: string };
  /** Operation names in order, children of a waitForCallback as `name/CALLBACK` and `name/STEP`. */
  ops: string[];
  /** Durable operations as AWS bills them, counted from the history (metering/durable-history.ts). */
  billed: number;
  metrics: [MetricName, number][];
  /** What the workflow logged through ctx.logger (replay-aware: a replay logs nothing again). */
  logs: string[];
}

/** Delivers a waiter's answer through the runner's callback API, checking it is that callback's id. */
function deliverThrough(runner: LocalDurableTestRunner<JobResult>, pending: Promise<void>[]): Deliver {
  return (waiter, answer) => {
    pending.push(
      (async () => {
        const op = runner.getOperationByNameAndIndex(waiter.operation, waiter.index);
        await op.waitForData(WaitingOperationStatus.SUBMITTED);
        expect(waiter.kind).toBe('durable-callback');
        expect(op.getCallbackDetails()?.callbackId).toBe(waiter.token);
        if ('result' in answer) await op.sendCallbackSuccess(JSON.stringify(answer.result));
        else
          await op.sendCallbackFailure({
            ErrorType: answer.failure.error,
            ErrorMessage: answer.failure.message,
          });
      })(),
    );
  };
}

export async function run(scenario: Scenario, settings: WorkflowSettings = POLL): Promise<Run> {
  const fake = new FakeActivities(scenario);
  const metrics: [MetricName, number][] = [];
  const logs: string[] = [];
  const workflow = createWorkflow({
    activities: fake,
    settings,
    metrics: { record: (name, value) => metrics.push([name, value]), flush: () => undefined },
    logger: recordingLogger(logs),
  });
  const runner = new LocalDurableTestRunner<JobResult>({
    handlerFunction: withDurableExecution(workflow),
  });
  const pending: Promise<void>[] = [];
  fake.deliver = deliverThrough(runner, pending);
  const result = await runner.run({ payload: UPLOAD });
  await Promise.all(pending);
  const all = result.getOperations();
  const names = new Map(all.map((o) => [o.getId(), o.getName()]));
  const ops = all.map((o) => {
    const parent = o.getParentId();
    return parent === undefined ? (o.getName() ?? '?') : `${names.get(parent) ?? '?'}/${o.getType()}`;
  });
  const billed = countDurableHistory(result.getHistoryEvents()).billedOperations;
  const status = result.getStatus();
  expect(['SUCCEEDED', 'FAILED']).toContain(status);
  return {
    fake,
    result,
    ...(status === 'SUCCEEDED' ? { output: result.getResult() } : { error: result.getError() }),
    ops,
    billed,
    metrics,
    logs,
  };
}

/** A DurableLogger that keeps each line's level and message. */
export function recordingLogger(lines: string[]): DurableLogger {
  const keep =
    (level: string) =>
    (...params: unknown[]) => {
      lines.push(`${level} ${params.map((p) => (typeof p === 'string' ? p : JSON.stringify(p))).join(' ')}`);
    };
  return { info: keep('INFO'), warn: keep('WARN'), error: keep('ERROR'), debug: keep('DEBUG') };
}

export const metricCount = (r: Run, name: MetricName) => r.metrics.filter(([n]) => n === name).length;
export function attemptsOf(r: Run, name: string, index = 0): number | undefined {
  const ops = r.result.getOperations().filter((o) => o.getName() === name);
  return ops[index]?.getStepDetails()?.attempt;
}
