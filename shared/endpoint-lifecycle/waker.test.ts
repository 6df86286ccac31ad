// The waker as the local bus's target: SageMaker's own state-change events, routed by the deployed
// rule, complete the waiters of both kinds; the senders fold "execution gone" answers of the real
// Step Functions and Lambda clients.
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalEventBus } from '../../local/eventbridge/event-bus.ts';
import type { SageMakerEndpointStateChangeEvent } from '../aws-events.ts';
import { endpointStateRule } from '../event-rules.ts';
import { startHarness, type Harness } from '../../test/support/lifecycle-harness.ts';
import { EndpointStore } from './endpoint-store.ts';
import { createWaker } from './waker.ts';
import {
  durableCallbackSender,
  stepFunctionsSender,
  type SendOutcome,
  type WaiterSender,
} from './waiter-senders.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

function recorder(): { sender: WaiterSender; sent: string[] } {
  const sent: string[] = [];
  const answer = (entry: string): Promise<SendOutcome> => {
    sent.push(entry);
    return Promise.resolve('sent');
  };
  return {
    sent,
    sender: {
      succeed: (token) => answer(`ok ${token}`),
      fail: (token, error) => answer(`${error} ${token}`),
    },
  };
}

describe('the waker on the local bus', () => {
  it('wakes Step Functions and durable waiters when the endpoint reaches InService', async () => {
    const name = 'gpu-waker';
    const lifecycle = h.lifecycle(name);
    const sfn = recorder();
    const durable = recorder();
    const bus = new LocalEventBus({ region: 'us-east-1', retryDelayMs: 10 });
    bus.putRule(endpointStateRule('gpu-'));
    bus.addTarget(
      'endpoint-state-changed',
      'waker',
      createWaker({
        lifecyclesFor: (endpoint) => (endpoint === name ? [lifecycle] : []),
        senders: { 'sfn-task-token': sfn.sender, 'durable-callback': durable.sender },
      }) as (event: unknown) => Promise<unknown>,
    );
    // Route what the emulator emits from now on through the bus.
    const seen = h.events.length;
    const forward = setInterval(() => {
      for (const e of h.events.splice(seen)) bus.publish(e);
    }, 5);
    try {
      const senders = { 'sfn-task-token': sfn.sender, 'durable-callback': durable.sender };
      const a = await lifecycle.acquire('sf-job');
      const b = await lifecycle.acquire('ldf-job');
      expect(
        await lifecycle.registerWaiter(
          'sf-job',
          a.generation,
          { kind: 'sfn-task-token', token: 'task-token-1' },
          senders,
        ),
      ).toMatchObject({ status: 'waiting' });
      expect(
        await lifecycle.registerWaiter(
          'ldf-job',
          b.generation,
          { kind: 'durable-callback', token: 'callback-1' },
          senders,
        ),
      ).toMatchObject({ status: 'waiting' });
      expect(await lifecycle.startEndpoint(a.generation)).toBe('created');
      await expect
        .poll(() => [...sfn.sent, ...durable.sent], { timeout: 10_000 })
        .toEqual(['ok task-token-1', 'ok callback-1']);
      await bus.idle();
      expect(bus.deadLetters()).toEqual([]);
      expect((await new EndpointStore(h.doc, h.tableName, 'sf').get(name)).waiters).toEqual({});
    } finally {
      clearInterval(forward);
    }
  });

  it('ignores endpoints that are not ours', async () => {
    const waker = createWaker({ lifecyclesFor: () => [], senders: {} });
    const event = {
      detail: { EndpointName: 'someone-else', EndpointStatus: 'IN_SERVICE' },
    } as SageMakerEndpointStateChangeEvent;
    expect(await waker(event)).toEqual([]);
  });
});

describe('waiter senders', () => {
  const failing = (name: string) => ({
    send: () => Promise.reject(Object.assign(new Error(name), { name })),
  });

  it.each(['TaskDoesNotExist', 'InvalidToken', 'TaskTimedOut'])(
    'Step Functions %s means the waiter is gone',
    async (name) => {
      const sender = stepFunctionsSender(failing(name) as unknown as SFNClient);
      expect(await sender.succeed('t', {})).toBe('gone');
      expect(await sender.fail('t', 'EndpointFailedError', 'x')).toBe('gone');
    },
  );

  it.each(['CallbackTimeoutException', 'ResourceNotFoundException'])(
    'Lambda %s means the callback is gone',
    async (name) => {
      const sender = durableCallbackSender(failing(name) as unknown as LambdaClient);
      expect(await sender.succeed('c', {})).toBe('gone');
    },
  );

  it('other errors propagate, so the event is delivered again', async () => {
    await expect(
      stepFunctionsSender(failing('ThrottlingException') as unknown as SFNClient).succeed('t', {}),
    ).rejects.toThrow('ThrottlingException');
  });

  it('send what the services expect', async () => {
    const calls: unknown[] = [];
    const client = {
      send: (command: { input: unknown }) => (calls.push(command.input), Promise.resolve({})),
    };
    await stepFunctionsSender(client as unknown as SFNClient).succeed('tok', { status: 'InService' });
    await durableCallbackSender(client as unknown as LambdaClient).fail(
      'cb',
      'EndpointFailedError',
      'no capacity',
    );
    expect(calls).toEqual([
      { taskToken: 'tok', output: '{"status":"InService"}' },
      { CallbackId: 'cb', Error: { ErrorType: 'EndpointFailedError', ErrorMessage: 'no capacity' } },
    ]);
  });
});
