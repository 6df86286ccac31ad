// Timelines from histories as the services recorded them (console/fixtures/, written by
// record-fixture.cli.ts from a local run in each wait mode), and from hand-made event runs for the
// paths a successful run does not take: retries, failures, a run still going, a stopped one.
import { readFileSync } from 'node:fs';
import type { Event as DurableEvent } from '@aws-sdk/client-lambda';
import type { HistoryEvent as SfnEvent } from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import { durableTimeline, sfnTimeline, type ExecutionTimeline } from './timeline.ts';

interface Fixture {
  upload: { waitMode: string };
  sf: { history: SfnEvent[] };
  ldf: { history: DurableEvent[] };
}

/** A recorded fixture with its timestamps as the SDK gives them (Date objects). */
function fixture(mode: 'poll' | 'event'): Fixture {
  const text = readFileSync(new URL(`./fixtures/one-upload-${mode}.json`, import.meta.url), 'utf8');
  return JSON.parse(text, (key, value: unknown) =>
    /timestamp$/i.test(key) && typeof value === 'string' ? new Date(value) : value,
  ) as Fixture;
}

const laneOf = (t: ExecutionTimeline, name: string) => {
  const lane = t.lanes.find((l) => l.name === name);
  if (!lane) throw new Error(`no lane ${name} in ${t.lanes.map((l) => l.name).join(', ')}`);
  return lane;
};
const at = (d: Date | undefined): number => d!.getTime();

/** Every span ends after it starts, and a lane's spans follow one another. */
function expectOrdered(t: ExecutionTimeline): void {
  for (const lane of t.lanes) {
    let last = -Infinity;
    for (const span of lane.spans) {
      expect(span.endMs, lane.name).toBeGreaterThanOrEqual(span.startMs);
      expect(span.startMs, lane.name).toBeGreaterThanOrEqual(last);
      last = span.endMs!;
    }
  }
}

describe.each(['poll', 'event'] as const)('a recorded %s run', (mode) => {
  const f = fixture(mode);

  it('Step Functions: a lane per state in first-entered order, a span per visit, the execution ended', () => {
    const t = sfnTimeline(f.sf.history);
    const entered = f.sf.history.filter((e) => e.type?.endsWith('StateEntered'));
    expect(t.status).toBe('SUCCEEDED');
    expect(t.startMs).toBe(at(f.sf.history[0]!.timestamp));
    expect(t.endMs).toBe(at(f.sf.history.at(-1)!.timestamp));
    expect(t.lanes.map((l) => l.name)).toEqual([
      ...new Set(entered.map((e) => e.stateEnteredEventDetails!.name)),
    ]);
    expect(t.lanes.flatMap((l) => l.spans)).toHaveLength(entered.length);
    expect(t.lanes.flatMap((l) => l.spans).every((s) => s.outcome === 'succeeded')).toBe(true);
    expect(laneOf(t, 'Admit').kind).toBe('Task');
    expect(laneOf(t, 'IsAdmitted').kind).toBe('Choice');
    expect(laneOf(t, 'IdleWait').kind).toBe('Wait');
    // The idle wait is the state's own time, entered to exited (60 s simulated are 1 s real at 60x).
    const idle = laneOf(t, 'IdleWait').spans[0]!;
    const idleEntered = entered.find((e) => e.stateEnteredEventDetails?.name === 'IdleWait')!;
    expect(idle.startMs).toBe(at(idleEntered.timestamp));
    expect(laneOf(t, 'Invoke').spans.map((s) => s.attempts)).toEqual([1]);
    expectOrdered(t);
  });

  it('durable: a lane per operation name, a span per operation, looks as attempts, and the invocations', () => {
    const t = durableTimeline(f.ldf.history);
    const events = f.ldf.history;
    expect(t.status).toBe('SUCCEEDED');
    expect(t.startMs).toBe(at(events[0]!.EventTimestamp));
    expect(t.endMs).toBe(at(events.at(-1)!.EventTimestamp));
    expect(laneOf(t, 'admit')).toMatchObject({
      kind: 'Step',
      spans: [{ attempts: 1, outcome: 'succeeded' }],
    });
    const idleStart = events.find((e) => e.EventType === 'WaitStarted')!;
    const idleEnd = events.find((e) => e.EventType === 'WaitSucceeded')!;
    expect(laneOf(t, 'idle-window')).toMatchObject({
      kind: 'Wait',
      spans: [{ startMs: at(idleStart.EventTimestamp), endMs: at(idleEnd.EventTimestamp) }],
    });
    // The guarded stop polls: one span, as many attempts as its looks, ending with the last.
    const stopLooks = events.filter((e) => e.EventType === 'StepStarted' && e.Name === 'finish-stop');
    expect(laneOf(t, 'finish-stop').kind).toBe('WaitForCondition');
    expect(laneOf(t, 'finish-stop').spans).toEqual([
      {
        startMs: at(stopLooks[0]!.EventTimestamp),
        endMs: at(events.filter((e) => e.Name === 'finish-stop').at(-1)!.EventTimestamp),
        outcome: 'succeeded',
        attempts: stopLooks.length,
      },
    ]);
    const invocations = events.filter((e) => e.EventType === 'InvocationCompleted');
    expect(laneOf(t, 'Lambda invocations').spans.map((s) => [s.startMs, s.endMs])).toEqual(
      invocations.map((e) => [
        at(e.InvocationCompletedDetails!.StartTimestamp),
        at(e.InvocationCompletedDetails!.EndTimestamp),
      ]),
    );
    // The invocations lane comes last, after the flow's own operations.
    expect(t.lanes.at(-1)!.kind).toBe('Invocation');
    expectOrdered(t);
  });

  it(`waits for the mask and the endpoint as the ${mode} mode does`, () => {
    const durable = durableTimeline(f.ldf.history);
    const sfn = sfnTimeline(f.sf.history);
    if (mode === 'poll') {
      expect(laneOf(durable, 'wait-for-mask').kind).toBe('WaitForCondition');
      expect(laneOf(durable, 'wait-for-endpoint').spans[0]!.attempts).toBe(
        f.ldf.history.filter((e) => e.EventType === 'StepStarted' && e.Name === 'wait-for-endpoint').length,
      );
      expect(laneOf(sfn, 'MaskPollWait').kind).toBe('Wait');
      expect(laneOf(sfn, 'DescribeEndpoint').spans.length).toBeGreaterThan(1);
    } else {
      // waitForCallback: its context, and its unnamed children named after it.
      expect(laneOf(durable, 'wait-for-endpoint').kind).toBe('WaitForCallback');
      expect(laneOf(durable, 'wait-for-endpoint (callback)').kind).toBe('Callback');
      expect(laneOf(durable, 'wait-for-endpoint (submitter)').kind).toBe('Step');
      const context = laneOf(durable, 'wait-for-endpoint').spans[0]!;
      const callback = laneOf(durable, 'wait-for-endpoint (callback)').spans[0]!;
      expect(callback.startMs).toBeGreaterThanOrEqual(context.startMs);
      expect(callback.endMs).toBeLessThanOrEqual(context.endMs!);
      // The state machine's task-token waits are Task states that last until the token is answered.
      expect(laneOf(sfn, 'WaitForEndpoint')).toMatchObject({
        kind: 'Task',
        spans: [{ outcome: 'succeeded' }],
      });
    }
  });

  it('a history read while the execution runs: the last span is open, the execution has no end', () => {
    const cut = (n: number) => f.ldf.history.slice(0, n);
    const waitStarted = f.ldf.history.findIndex((e) => e.EventType === 'WaitStarted');
    const running = durableTimeline(cut(waitStarted + 1));
    expect(running.status).toBe('RUNNING');
    expect(running.endMs).toBeUndefined();
    expect(laneOf(running, 'idle-window').spans).toEqual([
      { startMs: at(f.ldf.history[waitStarted]!.EventTimestamp), outcome: 'running', attempts: 1 },
    ]);
    const idleEntered = f.sf.history.findIndex((e) => e.stateEnteredEventDetails?.name === 'IdleWait');
    const sfRunning = sfnTimeline(f.sf.history.slice(0, idleEntered + 1));
    expect(sfRunning.status).toBe('RUNNING');
    expect(laneOf(sfRunning, 'IdleWait').spans).toEqual([
      { startMs: at(f.sf.history[idleEntered]!.timestamp), outcome: 'running', attempts: 0 },
    ]);
  });
});

const t0 = new Date('2026-12-01T10:00:00Z').getTime();
const ts = (s: number): Date => new Date(t0 + s * 1000);

describe('paths a successful run does not take', () => {
  it('Step Functions: a retried Task that then succeeds is one visit of two attempts; a caught failure is failed', () => {
    const events: SfnEvent[] = [
      { type: 'ExecutionStarted', timestamp: ts(0), id: 1 },
      { type: 'TaskStateEntered', timestamp: ts(0), id: 2, stateEnteredEventDetails: { name: 'Invoke' } },
      { type: 'TaskScheduled', timestamp: ts(0), id: 3 },
      {
        type: 'TaskFailed',
        timestamp: ts(1),
        id: 4,
        taskFailedEventDetails: { error: 'ThrottledError', resourceType: 'lambda', resource: 'invoke' },
      },
      { type: 'TaskScheduled', timestamp: ts(3), id: 5 },
      { type: 'TaskSucceeded', timestamp: ts(4), id: 6 },
      { type: 'TaskStateExited', timestamp: ts(4), id: 7, stateExitedEventDetails: { name: 'Invoke' } },
      {
        type: 'TaskStateEntered',
        timestamp: ts(4),
        id: 8,
        stateEnteredEventDetails: { name: 'RecordCompleted' },
      },
      { type: 'TaskScheduled', timestamp: ts(4), id: 9 },
      {
        type: 'TaskFailed',
        timestamp: ts(5),
        id: 10,
        taskFailedEventDetails: { error: 'JobTransitionError', resourceType: 'lambda', resource: 'invoke' },
      },
      {
        type: 'TaskStateExited',
        timestamp: ts(5),
        id: 11,
        stateExitedEventDetails: { name: 'RecordCompleted' },
      },
      { type: 'FailStateEntered', timestamp: ts(5), id: 12, stateEnteredEventDetails: { name: 'Failed' } },
      { type: 'ExecutionFailed', timestamp: ts(5), id: 13 },
    ];
    const t = sfnTimeline(events);
    expect(t).toMatchObject({ status: 'FAILED', startMs: t0, endMs: t0 + 5000 });
    expect(laneOf(t, 'Invoke').spans).toEqual([
      { startMs: t0, endMs: t0 + 4000, outcome: 'succeeded', attempts: 2 },
    ]);
    expect(laneOf(t, 'RecordCompleted').spans).toEqual([
      { startMs: t0 + 4000, endMs: t0 + 5000, outcome: 'failed', attempts: 1, error: 'JobTransitionError' },
    ]);
    // The Fail state, entered as the execution failed, ends with it.
    expect(laneOf(t, 'Failed')).toMatchObject({
      kind: 'Fail',
      spans: [{ endMs: t0 + 5000, outcome: 'failed' }],
    });
  });

  it('durable: a step retried after a failure, then one failing for good; a stopped execution closes what ran', () => {
    const step = (type: string, s: number, id: string, name: string, details: Record<string, unknown> = {}) =>
      ({
        EventType: type,
        SubType: 'Step',
        Id: id,
        Name: name,
        EventTimestamp: ts(s),
        [`${type}Details`]: details,
      }) as DurableEvent;
    const events: DurableEvent[] = [
      { EventType: 'ExecutionStarted', Id: 'x', EventTimestamp: ts(0) },
      step('StepStarted', 0, 'a', 'invoke-endpoint'),
      step('StepFailed', 1, 'a', 'invoke-endpoint', {
        Error: { Payload: { ErrorType: 'ThrottledError' } },
        RetryDetails: { CurrentAttempt: 1, NextAttemptDelaySeconds: 2 },
      }),
      step('StepStarted', 3, 'a', 'invoke-endpoint'),
      step('StepSucceeded', 4, 'a', 'invoke-endpoint', { RetryDetails: { CurrentAttempt: 2 } }),
      step('StepStarted', 4, 'b', 'record-outcome'),
      step('StepFailed', 5, 'b', 'record-outcome', {
        Error: { Payload: { ErrorType: 'JobTransitionError' } },
        RetryDetails: { CurrentAttempt: 1 },
      }),
      { EventType: 'WaitStarted', SubType: 'Wait', Id: 'c', Name: 'idle-window', EventTimestamp: ts(5) },
      { EventType: 'ExecutionStopped', Id: 'x', EventTimestamp: ts(9) },
    ];
    const t = durableTimeline(events);
    expect(t).toMatchObject({ status: 'STOPPED', startMs: t0, endMs: t0 + 9000 });
    expect(laneOf(t, 'invoke-endpoint').spans).toEqual([
      { startMs: t0, endMs: t0 + 4000, outcome: 'succeeded', attempts: 2 },
    ]);
    expect(laneOf(t, 'record-outcome').spans).toEqual([
      { startMs: t0 + 4000, endMs: t0 + 5000, outcome: 'failed', attempts: 1, error: 'JobTransitionError' },
    ]);
    // The wait never finished: it ends where the execution was stopped.
    expect(laneOf(t, 'idle-window').spans).toEqual([
      { startMs: t0 + 5000, endMs: t0 + 9000, outcome: 'failed', attempts: 1 },
    ]);
  });
});
