// Input of the wrong type or format at run time: a path that resolves to a value a state cannot use
// fails the execution with `States.Runtime` and the cause AWS writes ("An error occurred while
// executing the state '<name>' (entered at the event id #<n>). <detail>"), right after the state's
// Entered event, with no Exited; no Retry or Catch takes it. And nested Maps keep AWS's event order.
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  SFNClient,
  StartExecutionCommand,
  type HistoryEvent,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localClientConfig } from '../../shared/aws.ts';
import { checkSfnHistory } from '../../metering/sfn-history-check.ts';
import { createClock } from '../common/clock.ts';
import { startLocalStepFunctions, type LocalStepFunctions } from './service.ts';

const ROLE = 'arn:aws:iam::000000000000:role/test';
let sfn: LocalStepFunctions & { endpoint: string };
let client: SFNClient;

beforeAll(async () => {
  sfn = await startLocalStepFunctions({ clock: createClock('skip'), endpoints: {} });
  client = new SFNClient(localClientConfig(sfn.endpoint));
});

afterAll(async () => {
  client?.destroy();
  await sfn?.stop();
});

let counter = 0;
async function run(definition: object, input: unknown) {
  const { stateMachineArn } = await client.send(
    new CreateStateMachineCommand({
      name: `rt${++counter}`,
      definition: JSON.stringify(definition),
      roleArn: ROLE,
    }),
  );
  const { executionArn } = await client.send(
    new StartExecutionCommand({ stateMachineArn, input: JSON.stringify(input) }),
  );
  await sfn.execution(executionArn!)!.done;
  const d = await client.send(new DescribeExecutionCommand({ executionArn }));
  const { events = [] } = await client.send(
    new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }),
  );
  expect(checkSfnHistory(JSON.stringify(definition), events).findings).toEqual([]);
  return { status: d.status, error: d.error, cause: d.cause, events };
}

const brief = (events: HistoryEvent[]) => events.map((e) => `${e.id}<${e.previousEventId} ${e.type}`);

/** One state `S` of `state`, after a Pass `P` (so `S` is entered at event #4), ending the machine. */
const afterPass = (state: object) => ({
  StartAt: 'P',
  States: { P: { Type: 'Pass', Next: 'S' }, S: { ...state, End: true } },
});

const cause = (detail: string) =>
  `An error occurred while executing the state 'S' (entered at the event id #4). ${detail}`;

describe('a path resolving to a value of the wrong type or format', () => {
  it.each([
    [
      'a Wait whose SecondsPath is a string',
      { Type: 'Wait', SecondsPath: '$.wait' },
      { wait: 'ten' },
      'The SecondsPath parameter cannot be parsed as a long value: $.wait == ten',
    ],
    [
      'a Wait whose SecondsPath is negative',
      { Type: 'Wait', SecondsPath: '$.wait' },
      { wait: -1 },
      'The SecondsPath parameter references a negative value: $.wait == -1',
    ],
    [
      'a Wait whose SecondsPath is missing',
      { Type: 'Wait', SecondsPath: '$.wait' },
      {},
      'The SecondsPath parameter does not reference an input value: $.wait',
    ],
    [
      'a Wait whose TimestampPath is not a timestamp',
      { Type: 'Wait', TimestampPath: '$.at' },
      { at: 'tomorrow' },
      'The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: $.at == tomorrow',
    ],
    [
      'a Wait whose TimestampPath has no zone (AWS takes only an offset date-time)',
      { Type: 'Wait', TimestampPath: '$.at' },
      { at: '2026-01-01T00:00:00.000' },
      'The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: $.at == 2026-01-01T00:00:00.000',
    ],
    [
      'a Wait whose SecondsPath is a fraction',
      { Type: 'Wait', SecondsPath: '$.wait' },
      { wait: 1.5 },
      'The SecondsPath parameter cannot be parsed as a long value: $.wait == 1.5',
    ],
    [
      'a Choice on a missing variable',
      { Type: 'Choice', Choices: [{ Variable: '$.n', NumericEquals: 1, Next: 'Done' }], Default: 'Done' },
      {},
      "Invalid path '$.n': The choice state's condition path references an invalid value.",
    ],
    [
      'a Map whose ItemsPath is not an array',
      {
        Type: 'Map',
        ItemsPath: '$.items',
        ItemProcessor: { StartAt: 'I', States: { I: { Type: 'Pass', End: true } } },
      },
      { items: 'abc' },
      'The ItemsPath field does not reference a JSON array: $.items == "abc"',
    ],
  ])(
    '%s fails the execution with States.Runtime and the cause AWS writes',
    async (_, state, input, detail) => {
      const def = afterPass(state);
      if ((state as { Type: string }).Type === 'Choice') {
        (def.States as Record<string, object>).S = state;
        (def.States as Record<string, object>).Done = { Type: 'Succeed' };
      }
      const r = await run(def, input);
      expect({ status: r.status, error: r.error, cause: r.cause }).toEqual({
        status: 'FAILED',
        error: 'States.Runtime',
        cause: cause(detail),
      });
      const type = (state as { Type: string }).Type;
      expect(brief(r.events)).toEqual([
        '1<0 ExecutionStarted',
        '2<0 PassStateEntered',
        '3<2 PassStateExited',
        `4<3 ${type}StateEntered`,
        '5<4 ExecutionFailed',
      ]);
    },
  );
});

describe('a Wait timestamp AWS accepts', () => {
  it.each(['2020-01-01T00:00:00Z', '2020-01-01T00:00:00.000000Z', '2020-01-01T00:00:00+02:00'])(
    '%s (in the past: no wait) succeeds',
    async (at) => {
      const r = await run(afterPass({ Type: 'Wait', TimestampPath: '$.at' }), { at });
      expect(r.status).toBe('SUCCEEDED');
    },
  );
});

describe('nested Map states', () => {
  it('keep the event order and previousEventIds AWS records (MaxConcurrency 1 at both levels)', async () => {
    const r = await run(
      {
        StartAt: 'Outer',
        States: {
          Outer: {
            Type: 'Map',
            MaxConcurrency: 1,
            ItemProcessor: {
              StartAt: 'Inner',
              States: {
                Inner: {
                  Type: 'Map',
                  MaxConcurrency: 1,
                  ItemProcessor: { StartAt: 'Leaf', States: { Leaf: { Type: 'Pass', End: true } } },
                  End: true,
                },
              },
            },
            End: true,
          },
        },
      },
      [[1, 2], [3]],
    );
    expect(r.status).toBe('SUCCEEDED');
    const named = (e: HistoryEvent) => {
      const d = e.mapIterationStartedEventDetails ?? e.mapIterationSucceededEventDetails;
      const entered = e.stateEnteredEventDetails?.name;
      return `${e.id}<${e.previousEventId} ${e.type}${d ? ` ${d.name}[${d.index}]` : ''}${entered ? ` ${entered}` : ''}`;
    };
    expect(r.events.map(named)).toEqual([
      '1<0 ExecutionStarted',
      '2<0 MapStateEntered Outer',
      '3<2 MapStateStarted',
      '4<3 MapIterationStarted Outer[0]',
      '5<4 MapStateEntered Inner',
      '6<5 MapStateStarted',
      '7<6 MapIterationStarted Inner[0]',
      '8<7 PassStateEntered Leaf',
      '9<8 PassStateExited',
      '10<9 MapIterationSucceeded Inner[0]',
      '11<9 MapIterationStarted Inner[1]',
      '12<11 PassStateEntered Leaf',
      '13<12 PassStateExited',
      '14<13 MapIterationSucceeded Inner[1]',
      '15<14 MapStateSucceeded',
      '16<14 MapStateExited',
      '17<16 MapIterationSucceeded Outer[0]',
      '18<16 MapIterationStarted Outer[1]',
      '19<18 MapStateEntered Inner',
      '20<19 MapStateStarted',
      '21<20 MapIterationStarted Inner[0]',
      '22<21 PassStateEntered Leaf',
      '23<22 PassStateExited',
      '24<23 MapIterationSucceeded Inner[0]',
      '25<24 MapStateSucceeded',
      '26<24 MapStateExited',
      '27<26 MapIterationSucceeded Outer[1]',
      '28<27 MapStateSucceeded',
      '29<27 MapStateExited',
      '30<29 ExecutionSucceeded',
    ]);
  });
});
