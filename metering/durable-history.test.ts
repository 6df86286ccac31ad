// The billing rules on histories shaped as the service records them. Real executions of every SDK
// operation are counted in local/lambda/lambda.test.ts; this covers what a test function cannot force
// on purpose: a waitForCallback whose submitter is retried.
import type { Event as HistoryEvent } from '@aws-sdk/client-lambda';
import { describe, expect, it } from 'vitest';
import { countDurableHistory } from './durable-history.ts';

const CONTEXT = 'c4ca4238a0b92382';
const inContext = { ParentId: CONTEXT };
const at = new Date('2026-12-02T18:36:48Z');
const invocationCompleted: HistoryEvent = {
  EventType: 'InvocationCompleted',
  InvocationCompletedDetails: { StartTimestamp: at, EndTimestamp: at, RequestId: 'r' },
};

/** A waitForCallback as the local Lambda recorded it, its submitter failing `failures` times first. */
function waitForCallback(failures: number): HistoryEvent[] {
  const submitter = { Id: '98c6f2c2287f4c73', SubType: 'Step', ...inContext };
  const retries = Array.from({ length: failures }, (_, i): HistoryEvent[] => [
    { EventType: 'StepStarted', ...submitter, StepStartedDetails: {} },
    {
      EventType: 'StepFailed',
      ...submitter,
      StepFailedDetails: {
        Error: { Payload: { ErrorType: 'Error', ErrorMessage: 'registration failed' } },
        RetryDetails: { CurrentAttempt: i + 1, NextAttemptDelaySeconds: 5 },
      },
    },
    invocationCompleted,
  ]).flat();
  return [
    {
      EventType: 'ExecutionStarted',
      Id: 'exec',
      ExecutionStartedDetails: { Input: { Payload: '{}' }, ExecutionTimeout: 86400 },
    },
    { EventType: 'ContextStarted', Id: CONTEXT, SubType: 'WaitForCallback', Name: 'approval' },
    {
      EventType: 'CallbackStarted',
      Id: 'ea66c06c1e1c05fa',
      SubType: 'Callback',
      ...inContext,
      CallbackStartedDetails: { CallbackId: 'Y2I=' },
    },
    ...retries,
    { EventType: 'StepStarted', ...submitter, StepStartedDetails: {} },
    {
      EventType: 'StepSucceeded',
      ...submitter,
      StepSucceededDetails: { Result: {}, RetryDetails: { CurrentAttempt: failures + 1 } },
    },
    {
      EventType: 'CallbackSucceeded',
      Id: 'ea66c06c1e1c05fa',
      SubType: 'Callback',
      ...inContext,
      CallbackSucceededDetails: { Result: { Payload: '"ok"' } },
    },
    {
      EventType: 'ContextSucceeded',
      Id: CONTEXT,
      SubType: 'WaitForCallback',
      ContextSucceededDetails: { Result: { Payload: '"\\"ok\\""' } },
    },
    invocationCompleted,
    { EventType: 'ExecutionSucceeded', Id: 'exec', ExecutionSucceededDetails: { Result: { Payload: '{}' } } },
  ];
}

describe('countDurableHistory: billed operations', () => {
  it('bills a waitForCallback 3 plus one per submitter retry', () => {
    expect(countDurableHistory(waitForCallback(0))).toMatchObject({
      operations: 3,
      billedOperations: 3,
      billedByRule: { WaitForCallback: 3 },
    });
    const retried = countDurableHistory(waitForCallback(2));
    expect(retried).toMatchObject({
      operations: 3,
      billedOperations: 5,
      billedByRule: { WaitForCallback: 5 },
    });
    // Each retry writes its error; the callback's payload is written by the callback and its context.
    const error = JSON.stringify({ ErrorType: 'Error', ErrorMessage: 'registration failed' });
    expect(retried.writtenBytes).toBe(2 * Buffer.byteLength(error) + '"ok"'.length + '"\\"ok\\""'.length);
    expect(retried.dataBytes).toBe(retried.writtenBytes + '{}'.length);
  });

  it('bills a callback or step outside a waitForCallback under its own rule', () => {
    const events = waitForCallback(1).map((e) => (e.ParentId ? { ...e, ParentId: undefined } : e));
    expect(countDurableHistory(events).billedByRule).toEqual({ WaitForCallback: 1, Callback: 1, Step: 2 });
  });
});
