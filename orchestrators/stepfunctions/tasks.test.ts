// The task Lambda's dispatcher and the settings it hands the state machine.
import { describe, expect, it } from 'vitest';
import { ThrottledError } from '../../shared/errors.ts';
import type { MetricsSink } from '../../shared/job-metrics.ts';
import { stateMachineSettings } from './settings.ts';
import { createTaskHandler, failureFrom, sageMakerStateOf } from './tasks.ts';
import { FakeWorld } from '../testing/fake-world.ts';
import { flowConfig } from '../testing/run-flow.ts';

const settings = stateMachineSettings(flowConfig());
const metrics: MetricsSink = { record: () => undefined, flush: () => undefined };

describe('the task handler', () => {
  it('dispatches { task, ...arguments } to the activity and answers with its result', async () => {
    const world = new FakeWorld({ endpoint: 'cold' });
    const handle = createTaskHandler(world.activities, settings, metrics);
    const job = ((await handle({ task: 'admit', event: {}, executionId: 'e1' })) as { job: unknown }).job;
    await expect(handle({ task: 'acquireEndpoint', job })).resolves.toMatchObject({
      role: 'starter',
      generation: 1,
    });
    await expect(handle({ task: 'startEndpoint', job, generation: 1 })).resolves.toEqual({
      outcome: 'created',
    });
    // An activity that answers nothing answers {} (Lambda would otherwise send null).
    await expect(handle({ task: 'releaseLease', job })).resolves.toEqual({});
    expect(world.calls).toEqual(['admit', 'acquireEndpoint', 'startEndpoint', 'releaseLease']);
  });

  it('admit hands the execution its settings, from the configuration', async () => {
    const handle = createTaskHandler(new FakeWorld().activities, settings, metrics);
    const answer = (await handle({ task: 'admit', event: {}, executionId: 'e1' })) as Record<string, unknown>;
    expect(Object.keys(answer).sort()).toEqual(['admission', 'job', 'settings']);
    expect(answer.settings).toEqual(settings);
    expect(answer.admission).toMatchObject({ admitted: true, created: true });
  });

  it('keeps the name of a thrown error, so the ASL matches it', async () => {
    const world = new FakeWorld();
    world.activities.invoke = () => Promise.reject(new ThrottledError('slow down'));
    const handle = createTaskHandler(world.activities, settings, metrics);
    const job = ((await handle({ task: 'admit', event: {}, executionId: 'e1' })) as { job: unknown }).job;
    await expect(handle({ task: 'invoke', job })).rejects.toMatchObject({
      name: 'ThrottledError',
      message: 'slow down',
    });
  });

  it('a retried invoke (retryCount > 0) renews the lease first, as the durable invoke step does', async () => {
    const world = new FakeWorld();
    const handle = createTaskHandler(world.activities, settings, metrics);
    const job = ((await handle({ task: 'admit', event: {}, executionId: 'e1' })) as { job: unknown }).job;
    await handle({ task: 'invoke', job });
    await handle({ task: 'invoke', job, retryCount: 0 });
    await handle({ task: 'invoke', job, retryCount: 2 });
    expect(world.calls).toEqual(['admit', 'invoke', 'invoke', 'renewLease', 'invoke']);
  });

  it.each([
    [null, /must be a JSON object/],
    [{ task: 'invoke', job: fakeJob(), retryCount: -1 }, /'retryCount' must be a whole number/],
    [[1], /must be a JSON object/],
    [{ task: 'sleep' }, /unknown task "sleep"; expected one of admit, checkMask/],
    [{ task: 'toString' }, /unknown task "toString"/],
    [{ task: 'checkMask' }, /'job' lacks orchestrator, jobId/],
    [{ task: 'admit', event: {} }, /'executionId' must be a non-empty string/],
    [{ task: 'startEndpoint', job: fakeJob(), generation: 'one' }, /'generation' must be a whole number/],
    [{ task: 'registerMaskWaiter', job: fakeJob(), waiter: { kind: 'sms', token: 't' } }, /'waiter' must be/],
    [{ task: 'notify', job: fakeJob(), outcome: { status: 'DONE' } }, /'outcome.status' must be COMPLETED/],
    [{ task: 'reportFailure', job: fakeJob(), failure: 'oops' }, /'failure' must be/],
  ])('refuses %j with a named InvalidInputError', async (request, message) => {
    const handle = createTaskHandler(new FakeWorld().activities, settings, metrics);
    await expect(handle(request)).rejects.toMatchObject({ name: 'InvalidInputError', message });
  });
});

describe('failureFrom', () => {
  it("reads a Lambda task's caught error: the cause is the function's error payload", () => {
    const cause = JSON.stringify({ errorType: 'InferenceError', errorMessage: 'bad mesh', trace: [] });
    expect(failureFrom({ Error: 'InferenceError', Cause: cause })).toEqual({
      error: 'InferenceError',
      message: 'bad mesh',
    });
  });

  it('takes any other cause as the message, and a missing error as States.TaskFailed', () => {
    expect(failureFrom({ Error: 'MaskTimeoutError', Cause: 'no mask' })).toEqual({
      error: 'MaskTimeoutError',
      message: 'no mask',
    });
    expect(failureFrom({ Error: 'States.Timeout' })).toEqual({ error: 'States.Timeout', message: '' });
    expect(failureFrom({ Error: null, Cause: null })).toEqual({ error: 'States.TaskFailed', message: '' });
    expect(failureFrom({ error: 'InvalidInputError', message: 'bad key' })).toEqual({
      error: 'InvalidInputError',
      message: 'bad key',
    });
  });
});

describe('sageMakerStateOf', () => {
  it("folds the native describeEndpoint's answer and its caught errors into the lifecycle's SageMakerState", () => {
    expect(
      sageMakerStateOf({
        EndpointStatus: 'Failed',
        FailureReason: 'no capacity',
        CreationTime: '2026-01-01T00:00:00.000Z',
      }),
    ).toEqual({
      status: 'Failed',
      failureReason: 'no capacity',
      createdAt: Date.parse('2026-01-01T00:00:00.000Z'),
    });
    expect(sageMakerStateOf({ EndpointStatus: 'InService', CreationTime: 1_767_225_600 })).toEqual({
      status: 'InService',
      createdAt: 1_767_225_600_000,
    });
    expect(
      sageMakerStateOf({ Error: 'SageMaker.ValidationException', Cause: 'Could not find endpoint "e".' }),
    ).toEqual({ status: 'missing' });
    expect(sageMakerStateOf({ missing: true })).toEqual({ status: 'missing' });
  });

  it('refuses what is not a DescribeEndpoint answer, and rethrows any other caught error', () => {
    expect(() => sageMakerStateOf({ Endpoint: 'x' })).toThrow(/not a DescribeEndpoint answer/);
    expect(() => sageMakerStateOf({ Error: 'SageMaker.ThrottlingException', Cause: 'slow down' })).toThrow(
      /DescribeEndpoint failed: SageMaker.ThrottlingException: slow down/,
    );
  });
});

describe('settings', () => {
  it('event waits time out after EVENT_FALLBACK_SECONDS; the deletion loop is always polled', () => {
    const event = stateMachineSettings(
      flowConfig({ WAIT_MODE: 'event', ENDPOINT_WAIT_SECONDS: '200', EVENT_FALLBACK_SECONDS: '60' }),
    );
    expect(event.waitMode).toBe('event');
    expect(event.endpoint.waits).toEqual([60, 60, 60, 20]);
    expect(stateMachineSettings(flowConfig({ WAIT_MODE: 'event' })).endpoint.waits).toEqual([600, 600, 600]);
    expect(event.stop.waits).toEqual([5, 10, 20, 40, 60, 60, 5]);
    expect(event.idleWindowSeconds).toBe(600);
  });
});

function fakeJob() {
  return {
    orchestrator: 'sf',
    jobId: 'j',
    userId: 'u',
    name: 'n',
    bucket: 'b',
    imageKey: 'i',
    endpointName: 'e',
  };
}
