// The task Lambda's dispatcher and the settings it hands the state machine.
import { describe, expect, it } from 'vitest';
import { ThrottledError } from '../../shared/errors.ts';
import { stateMachineSettings, waitLoop } from './settings.ts';
import { createTaskHandler, failureFrom, phasesOf } from './tasks.ts';
import { FakeWorld } from '../testing/fake-world.ts';
import { flowConfig } from '../testing/run-flow.ts';

const settings = stateMachineSettings(flowConfig());

describe('the task handler', () => {
  it('dispatches { task, ...arguments } to the activity and answers with its result', async () => {
    const world = new FakeWorld({ endpoint: 'cold' });
    const handle = createTaskHandler(world.activities, settings);
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
    const handle = createTaskHandler(new FakeWorld().activities, settings);
    const answer = (await handle({ task: 'admit', event: {}, executionId: 'e1' })) as Record<string, unknown>;
    expect(Object.keys(answer).sort()).toEqual(['admission', 'job', 'settings']);
    expect(answer.settings).toEqual(settings);
    expect(answer.admission).toMatchObject({ admitted: true, created: true });
  });

  it('keeps the name of a thrown error, so the ASL matches it', async () => {
    const world = new FakeWorld();
    world.activities.invoke = () => Promise.reject(new ThrottledError('slow down'));
    const handle = createTaskHandler(world.activities, settings);
    const job = ((await handle({ task: 'admit', event: {}, executionId: 'e1' })) as { job: unknown }).job;
    await expect(handle({ task: 'invoke', job })).rejects.toMatchObject({
      name: 'ThrottledError',
      message: 'slow down',
    });
  });

  it.each([
    [null, /must be a JSON object/],
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
    const handle = createTaskHandler(new FakeWorld().activities, settings);
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

describe('phasesOf', () => {
  it('takes each phase from the step that saw it', () => {
    expect(
      phasesOf(
        { at: 't0' },
        {
          mask: { present: true, at: 't1' },
          acquire: { role: 'joiner', generation: 1, at: 't2' },
          ready: { status: 'ready', generation: 1, at: 't3' },
          inference: { result: {} as never, startedAt: 't4', at: 't5' },
        },
      ),
    ).toEqual({
      RECEIVED: 't0',
      MASK_READY: 't1',
      ENDPOINT_ACQUIRED: 't2',
      ENDPOINT_READY: 't3',
      INFERRING: 't4',
      INFERRED: 't5',
    });
  });

  it('uses the next step for a phase reached by a task token, and leaves out phases not reached', () => {
    expect(
      phasesOf(
        { at: 't0' },
        {
          mask: { present: true },
          acquire: { role: 'joiner', generation: 1, at: 't2' },
          ready: { status: 'ready', generation: 1 },
          inference: { result: {} as never, startedAt: 't4', at: 't5' },
        },
      ),
    ).toMatchObject({ MASK_READY: 't2', ENDPOINT_READY: 't4' });
    expect(phasesOf({ at: 't0' }, { mask: { present: false, at: 't1' } })).toEqual({ RECEIVED: 't0' });
  });
});

describe('settings', () => {
  it('poll loops double from POLL_SECONDS to POLL_MAX_SECONDS and add up to the bound exactly', () => {
    expect(waitLoop(5, 60, 300)).toEqual({
      waits: [5, 10, 20, 40, 60, 60, 60, 45],
      rounds: 8,
      boundSeconds: 300,
    });
    expect(waitLoop(0.5, 1.2, 3.1)).toEqual({ waits: [1, 2, 1], rounds: 3, boundSeconds: 4 });
  });

  it('event waits time out after POLL_MAX_SECONDS; the deletion loop is always polled', () => {
    const event = stateMachineSettings(flowConfig({ WAIT_MODE: 'event', ENDPOINT_WAIT_SECONDS: '200' }));
    expect(event.waitMode).toBe('event');
    expect(event.endpoint.waits).toEqual([60, 60, 60, 20]);
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
