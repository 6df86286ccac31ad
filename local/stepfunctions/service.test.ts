// The local Step Functions service through the real @aws-sdk/client-sfn: the API, the ASL features
// the engine runs, Task tokens, timeouts, stops and the history Step Functions would record.
// Over 400 lines on purpose: the last test checks every history the others recorded against its ASL
// (checkSfnHistory), so they all run here against one service.
import { createServer, type Server } from 'node:http';
import { Socket } from 'node:net';
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  DescribeStateMachineCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
  type HistoryEvent,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { localClientConfig } from '../../shared/aws.ts';
import { checkSfnHistory } from '../../metering/sfn-history-check.ts';
import { countLambdaInvocations, countStateTransitions } from '../../metering/sfn-history.ts';
import { HandClock } from '../common/hand-clock.ts';
import { RETENTION_DAYS } from './service.ts';
import { createClock } from '../common/clock.ts';
import { closeServer, listenOnLoopback, readBody } from '../common/http-server.ts';
import { startLocalStepFunctions, type LocalStepFunctions } from './service.ts';

const ROLE = 'arn:aws:iam::000000000000:role/test';
let sfn: LocalStepFunctions & { endpoint: string };
let client: SFNClient;
let lambdaServer: Server;
const lambdaCalls: { name: string; payload: unknown }[] = [];

/** A tiny stand-in for the Lambda Invoke REST call: echo, fail with an errorType, or answer 500. */
async function startLambda(): Promise<string> {
  lambdaServer = createServer((req, res) => {
    void readBody(req).then((body) => {
      const name = decodeURIComponent(/functions\/([^/]+)\/invocations/.exec(req.url ?? '')?.[1] ?? '');
      const payload: unknown = JSON.parse(body.toString('utf8') || 'null');
      lambdaCalls.push({ name, payload });
      if (name === 'fails') {
        res.writeHead(200, { 'x-amz-function-error': 'Unhandled', 'content-type': 'application/json' });
        res.end(JSON.stringify({ errorType: 'CustomError', errorMessage: 'it broke' }));
      } else if (name === 'broken') {
        res.writeHead(500, { 'x-amzn-errortype': 'ServiceException', 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: 'service down' }));
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ echoed: payload }));
      }
    });
  });
  return listenOnLoopback(lambdaServer);
}

// The service's clock: 1000x, or, while a test holds it, only as far as that test advances it.
const clock = new HandClock(createClock('scale:1000'));

beforeAll(async () => {
  const lambda = await startLambda();
  sfn = await startLocalStepFunctions({ clock: clock, endpoints: { lambda } });
  client = new SFNClient(localClientConfig(sfn.endpoint));
});

afterAll(async () => {
  client?.destroy();
  await sfn?.stop();
  if (lambdaServer) await closeServer(lambdaServer);
});

let counter = 0;
async function machine(definition: object, name = `m${++counter}`): Promise<string> {
  const out = await client.send(
    new CreateStateMachineCommand({ name, definition: JSON.stringify(definition), roleArn: ROLE }),
  );
  return out.stateMachineArn!;
}

async function run(
  definition: object,
  input: unknown = {},
): Promise<{
  arn: string;
  status: string;
  output?: unknown;
  error?: string;
  cause?: string;
  events: HistoryEvent[];
}> {
  const stateMachineArn = await machine(definition);
  const { executionArn } = await client.send(
    new StartExecutionCommand({ stateMachineArn, input: JSON.stringify(input) }),
  );
  return finished(executionArn!);
}

/** A machine of one Task state, run to its end. */
function runOneTask(Resource: string, Parameters?: object, input: unknown = {}) {
  return run(
    {
      StartAt: 'T',
      States: { T: { Type: 'Task', Resource, ...(Parameters ? { Parameters } : {}), End: true } },
    },
    input,
  );
}

async function finished(arn: string) {
  await sfn.execution(arn)!.done;
  const d = await client.send(new DescribeExecutionCommand({ executionArn: arn }));
  const { events = [] } = await client.send(
    new GetExecutionHistoryCommand({ executionArn: arn, maxResults: 1000 }),
  );
  return {
    arn,
    status: d.status!,
    ...(d.output ? { output: JSON.parse(d.output) as unknown } : {}),
    ...(d.error ? { error: d.error } : {}),
    ...(d.cause ? { cause: d.cause } : {}),
    events,
  };
}

const types = (events: HistoryEvent[]): string[] => events.map((e) => e.type!);

describe('the state machine API', () => {
  it('creates, describes and lists state machines; the same definition again is idempotent', async () => {
    const definition = { StartAt: 'P', States: { P: { Type: 'Pass', End: true } } };
    const arn = await machine(definition, 'api-a');
    expect(arn).toBe('arn:aws:states:us-east-1:000000000000:stateMachine:api-a');
    expect(await machine(definition, 'api-a')).toBe(arn);
    const d = await client.send(new DescribeStateMachineCommand({ stateMachineArn: arn }));
    expect(d).toMatchObject({
      name: 'api-a',
      status: 'ACTIVE',
      definition: JSON.stringify(definition),
      type: 'STANDARD',
    });
    expect(d.creationDate).toBeInstanceOf(Date);
    await expect(
      client.send(
        new CreateStateMachineCommand({
          name: 'api-a',
          definition: JSON.stringify(definition, null, 2),
          roleArn: ROLE,
        }),
      ),
    ).rejects.toMatchObject({ name: 'StateMachineAlreadyExists' });
    const list = await client.send(new ListStateMachinesCommand({}));
    expect(list.stateMachines?.map((m) => m.name)).toContain('api-a');
    await expect(
      client.send(
        new DescribeStateMachineCommand({
          stateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:nope',
        }),
      ),
    ).rejects.toMatchObject({ name: 'StateMachineDoesNotExist' });
  });

  it('answers InvalidDefinition like AWS for a definition asl-validator rejects', async () => {
    const error = (await machine({ StartAt: 'A' }).catch((e: unknown) => e)) as Error;
    expect(error.name).toBe('InvalidDefinition');
    expect(error.message).toMatch(/^Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED/);
    await expect(
      machine({ StartAt: 'A', States: { A: { Type: 'Pass', Next: 'Nowhere' } } }),
    ).rejects.toMatchObject({ name: 'InvalidDefinition' });
  });

  it.each([
    ['QueryLanguage', { QueryLanguage: 'JSONata', StartAt: 'A', States: { A: { Type: 'Pass', End: true } } }],
    ['Assign', { StartAt: 'A', States: { A: { Type: 'Pass', Assign: { x: 1 }, End: true } } }],
    [
      'Arguments',
      {
        StartAt: 'A',
        States: {
          A: {
            Type: 'Task',
            Resource: 'arn:aws:states:::lambda:invoke',
            Arguments: { FunctionName: 'f' },
            End: true,
          },
        },
      },
    ],
    ['Output', { StartAt: 'A', States: { A: { Type: 'Pass', Output: { y: 1 }, End: true } } }],
    [
      'ItemReader',
      {
        StartAt: 'M',
        States: {
          M: {
            Type: 'Map',
            ItemReader: { Resource: 'arn:aws:states:::s3:getObject', Parameters: { Bucket: 'b', Key: 'k' } },
            ItemProcessor: {
              ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
              StartAt: 'I',
              States: { I: { Type: 'Pass', End: true } },
            },
            End: true,
          },
        },
      },
    ],
    [
      'variable',
      { StartAt: 'A', States: { A: { Type: 'Pass', Parameters: { 'v.$': '$myVar' }, End: true } } },
    ],
    [
      '.sync',
      {
        StartAt: 'A',
        States: {
          A: {
            Type: 'Task',
            Resource: 'arn:aws:states:::states:startExecution.sync:2',
            Parameters: { StateMachineArn: 'x' },
            End: true,
          },
        },
      },
    ],
  ])('refuses %s by name, since the local engine would silently ignore it', async (feature, definition) => {
    const error = await machine(definition).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'InvalidDefinition' });
    expect((error as Error).message).toContain('UNSUPPORTED_FEATURE');
    expect((error as Error).message).toContain(feature);
  });
});

describe('executions', () => {
  it('keeps a closed execution for 90 days on the clock, then forgets it and frees its name', async () => {
    const stateMachineArn = await machine({ StartAt: 'P', States: { P: { Type: 'Pass', End: true } } });
    clock.hold();
    try {
      const { executionArn } = await client.send(
        new StartExecutionCommand({ stateMachineArn, name: 'kept', input: '{}' }),
      );
      expect((await finished(executionArn!)).status).toBe('SUCCEEDED');
      for (let i = 0; clock.sleepingInBackground === 0 && i < 200; i++)
        await new Promise((r) => setTimeout(r, 5));
      expect(clock.sleepingInBackground, 'the retention timer, begun when the execution closed').toBe(1);
      // Meanwhile its history waits on disk, and GetExecutionHistory still reads it whole.
      expect(sfn.execution(executionArn!)?.history.onDisk).toBe(true);
      const events = await client.send(new GetExecutionHistoryCommand({ executionArn: executionArn! }));
      expect(events.events?.map((e) => e.type)).toEqual([
        'ExecutionStarted',
        'PassStateEntered',
        'PassStateExited',
        'ExecutionSucceeded',
      ]);
      clock.advance(RETENTION_DAYS * 86_400 - 1);
      const kept = await client.send(new DescribeExecutionCommand({ executionArn: executionArn! }));
      expect(kept.status).toBe('SUCCEEDED');
      clock.advance(1);
      await new Promise((r) => setImmediate(r));
      await expect(
        client.send(new DescribeExecutionCommand({ executionArn: executionArn! })),
      ).rejects.toMatchObject({ name: 'ExecutionDoesNotExist' });
      const listed = await client.send(new ListExecutionsCommand({ stateMachineArn }));
      expect(listed.executions).toEqual([]);
      // The name is free again.
      const again = await client.send(
        new StartExecutionCommand({ stateMachineArn, name: 'kept', input: '{"b":1}' }),
      );
      expect((await finished(again.executionArn!)).status).toBe('SUCCEEDED');
    } finally {
      clock.release();
    }
  });

  it('starts idempotently by name while running, and refuses a different input', async () => {
    const stateMachineArn = await machine({
      StartAt: 'W',
      States: { W: { Type: 'Wait', Seconds: 86_400, End: true } },
    });
    const first = await client.send(
      new StartExecutionCommand({ stateMachineArn, name: 'once', input: '{"a":1}' }),
    );
    const again = await client.send(
      new StartExecutionCommand({ stateMachineArn, name: 'once', input: '{"a":1}' }),
    );
    expect(again.executionArn).toBe(first.executionArn);
    await expect(
      client.send(new StartExecutionCommand({ stateMachineArn, name: 'once', input: '{"a":2}' })),
    ).rejects.toMatchObject({ name: 'ExecutionAlreadyExists' });
    await client.send(
      new StopExecutionCommand({ executionArn: first.executionArn!, error: 'Bored', cause: 'enough' }),
    );
    const stopped = await finished(first.executionArn!);
    expect(stopped).toMatchObject({ status: 'ABORTED', error: 'Bored', cause: 'enough' });
    expect(types(stopped.events)).toEqual(['ExecutionStarted', 'WaitStateEntered', 'ExecutionAborted']);
    expect(stopped.events[2]).toMatchObject({
      previousEventId: 0,
      executionAbortedEventDetails: { error: 'Bored', cause: 'enough' },
    });
    // Closed: the same name and input is now a conflict, as on AWS.
    await expect(
      client.send(new StartExecutionCommand({ stateMachineArn, name: 'once', input: '{"a":1}' })),
    ).rejects.toMatchObject({ name: 'ExecutionAlreadyExists' });
    const list = await client.send(new ListExecutionsCommand({ stateMachineArn }));
    expect(list.executions?.map((e) => [e.name, e.status])).toEqual([['once', 'ABORTED']]);
    await expect(
      client.send(new StartExecutionCommand({ stateMachineArn, input: 'not json' })),
    ).rejects.toMatchObject({ name: 'InvalidExecutionInput' });
  });

  it('runs Choice, Pass, Wait, Parallel and Map with paths and intrinsics; Wait runs on the time scale', async () => {
    const started = performance.now();
    const r = await run(
      {
        StartAt: 'Pick',
        States: {
          Pick: {
            Type: 'Choice',
            Choices: [{ Variable: '$.n', NumericGreaterThan: 1, Next: 'Pause' }],
            Default: 'Never',
          },
          Never: { Type: 'Fail', Error: 'Wrong' },
          Pause: { Type: 'Wait', Seconds: 60, Next: 'Both' },
          Both: {
            Type: 'Parallel',
            Branches: [
              {
                StartAt: 'Double',
                States: {
                  Double: { Type: 'Pass', Parameters: { 'v.$': 'States.MathAdd($.n, $.n)' }, End: true },
                },
              },
              {
                StartAt: 'Each',
                States: {
                  Each: {
                    Type: 'Map',
                    ItemsPath: '$.items',
                    MaxConcurrency: 1,
                    ItemProcessor: {
                      StartAt: 'Wrap',
                      States: { Wrap: { Type: 'Pass', Parameters: { 'i.$': '$' }, End: true } },
                    },
                    End: true,
                  },
                },
              },
            ],
            ResultPath: '$.out',
            End: true,
          },
        },
      },
      { n: 2, items: ['a', 'b'] },
    );
    expect(r.status).toBe('SUCCEEDED');
    expect(r.output).toEqual({ n: 2, items: ['a', 'b'], out: [{ v: 4 }, [{ i: 'a' }, { i: 'b' }]] });
    // 60 simulated seconds at 1000x: 60 ms, not a minute.
    expect(performance.now() - started).toBeLessThan(10_000);
    const t = types(r.events);
    for (const expected of [
      'ChoiceStateEntered',
      'WaitStateExited',
      'ParallelStateStarted',
      'ParallelStateSucceeded',
      'MapStateStarted',
      'MapIterationStarted',
      'MapIterationSucceeded',
      'MapStateSucceeded',
      'MapStateExited',
      'PassStateEntered',
      'ExecutionSucceeded',
    ]) {
      expect(t).toContain(expected);
    }
    expect(r.events.find((e) => e.type === 'MapStateStarted')?.mapStateStartedEventDetails).toEqual({
      length: 2,
    });
    expect(r.events.map((e) => e.id)).toEqual(r.events.map((_, i) => i + 1));
  });

  it('gives the ASL the Context Object of the execution and its state machine', async () => {
    const r = await run(
      {
        StartAt: 'Ctx',
        States: {
          Ctx: {
            Type: 'Pass',
            Parameters: {
              'id.$': '$$.Execution.Id',
              'name.$': '$$.Execution.Name',
              'input.$': '$$.Execution.Input',
              'machine.$': '$$.StateMachine.Name',
            },
            End: true,
          },
        },
      },
      { a: 1 },
    );
    const name = r.arn.split(':').at(-1);
    expect(r.output).toEqual({ id: r.arn, name, input: { a: 1 }, machine: r.arn.split(':').at(-2) });
  });

  it('writes the history of a known machine as AWS does and counts its billed transitions', async () => {
    const r = await run(
      {
        StartAt: 'Call',
        States: {
          Call: {
            Type: 'Task',
            Resource: 'arn:aws:states:::lambda:invoke',
            Parameters: { FunctionName: 'broken', 'Payload.$': '$' },
            Retry: [{ ErrorEquals: ['Lambda.ServiceException'], MaxAttempts: 1, IntervalSeconds: 2 }],
            Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.err', Next: 'Handle' }],
            Next: 'Handle',
          },
          Handle: { Type: 'Pass', End: true },
        },
      },
      { x: 1 },
    );
    expect(r.status).toBe('SUCCEEDED');
    expect(r.events.map((e) => [e.id, e.previousEventId, e.type])).toEqual([
      [1, 0, 'ExecutionStarted'],
      [2, 0, 'TaskStateEntered'],
      [3, 2, 'TaskScheduled'],
      [4, 3, 'TaskStarted'],
      [5, 4, 'TaskFailed'],
      [6, 5, 'TaskScheduled'],
      [7, 6, 'TaskStarted'],
      [8, 7, 'TaskFailed'],
      [9, 8, 'TaskStateExited'],
      [10, 9, 'PassStateEntered'],
      [11, 10, 'PassStateExited'],
      [12, 11, 'ExecutionSucceeded'],
    ]);
    expect(r.events[2]?.taskScheduledEventDetails).toMatchObject({
      resourceType: 'lambda',
      resource: 'invoke',
      region: 'us-east-1',
      parameters: JSON.stringify({ FunctionName: 'broken', Payload: { x: 1 } }),
    });
    expect(r.events[4]?.taskFailedEventDetails).toMatchObject({ error: 'Lambda.ServiceException' });
    expect(r.output).toMatchObject({ x: 1, err: { Error: 'Lambda.ServiceException' } });
    // Two states entered plus one retry: three billed transitions.
    expect(countStateTransitions(r.events)).toBe(3);
    // The first attempt and its retry each invoked the function.
    expect(countLambdaInvocations(r.events)).toBe(2);
  });

  it('writes a Map in the order and with the ids AWS records (MaxConcurrency 1)', async () => {
    const r = await run(
      {
        StartAt: 'M',
        States: {
          M: {
            Type: 'Map',
            MaxConcurrency: 1,
            ItemProcessor: { StartAt: 'I', States: { I: { Type: 'Pass', End: true } } },
            End: true,
          },
        },
      },
      [1, 2],
    );
    // As recorded against AWS (research note sfn-wire.md 4.4, test_map_state).
    expect(r.events.map((e) => `${e.id}<${e.previousEventId} ${e.type}`)).toEqual([
      '1<0 ExecutionStarted',
      '2<0 MapStateEntered',
      '3<2 MapStateStarted',
      '4<3 MapIterationStarted',
      '5<4 PassStateEntered',
      '6<5 PassStateExited',
      '7<6 MapIterationSucceeded',
      '8<6 MapIterationStarted',
      '9<8 PassStateEntered',
      '10<9 PassStateExited',
      '11<10 MapIterationSucceeded',
      '12<11 MapStateSucceeded',
      '13<11 MapStateExited',
      '14<13 ExecutionSucceeded',
    ]);
    expect(countStateTransitions(r.events)).toBe(3);
  });

  it('runs no Map iteration after one failed, though the engine would, and counts a Map retry', async () => {
    const before = lambdaCalls.length;
    const r = await run(
      {
        StartAt: 'M',
        States: {
          M: {
            Type: 'Map',
            MaxConcurrency: 1,
            ItemProcessor: {
              StartAt: 'Call',
              States: {
                Call: {
                  Type: 'Task',
                  Resource: 'arn:aws:states:::lambda:invoke',
                  Parameters: { FunctionName: 'fails', 'Payload.$': '$' },
                  End: true,
                },
              },
            },
            ItemsPath: '$.items',
            Retry: [{ ErrorEquals: ['CustomError'], MaxAttempts: 1, IntervalSeconds: 5 }],
            Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.err', Next: 'Done' }],
            Next: 'Done',
          },
          Done: { Type: 'Pass', End: true },
        },
      },
      { items: ['a', 'b', 'c'] },
    );
    expect([r.status, r.error, r.cause]).toEqual(['SUCCEEDED', undefined, undefined]);
    // Two attempts, each stopping at its first failed iteration: two calls, not six.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(lambdaCalls.length - before).toBe(2);
    const t = types(r.events);
    expect(t.filter((x) => x === 'MapStateStarted')).toHaveLength(2);
    expect(t.filter((x) => x === 'MapIterationStarted')).toHaveLength(2);
    expect(t.filter((x) => x === 'MapStateFailed')).toHaveLength(1);
    // Map, Call twice, Done: four states entered, plus the Map's retry.
    expect(countStateTransitions(r.events)).toBe(5);
  });

  it('spaces Retry attempts by IntervalSeconds and BackoffRate on the time scale', async () => {
    const started = performance.now();
    const r = await run({
      StartAt: 'Call',
      States: {
        Call: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke',
          Parameters: { FunctionName: 'broken', Payload: {} },
          Retry: [{ ErrorEquals: ['States.ALL'], MaxAttempts: 2, IntervalSeconds: 50, BackoffRate: 2 }],
          End: true,
        },
      },
    });
    expect(r).toMatchObject({ status: 'FAILED', error: 'Lambda.ServiceException' });
    const at = (type: string) => r.events.filter((e) => e.type === type).map((e) => e.timestamp!.getTime());
    const [, second, third] = at('TaskScheduled');
    const [first, firstRetry] = at('TaskFailed');
    // 50 and 100 simulated seconds at 1000x: at least 50 and 100 ms, and nowhere near 150 s.
    expect(second! - first!).toBeGreaterThanOrEqual(49);
    expect(third! - firstRetry!).toBeGreaterThanOrEqual(99);
    expect(performance.now() - started).toBeLessThan(30_000);
    expect(countStateTransitions(r.events)).toBe(3);
  });

  it("times the execution out after the machine's TimeoutSeconds on the time scale", async () => {
    const r = await run({
      TimeoutSeconds: 5,
      StartAt: 'W',
      States: { W: { Type: 'Wait', Seconds: 86_400, End: true } },
    });
    expect(r.status).toBe('TIMED_OUT');
    expect(types(r.events)).toEqual(['ExecutionStarted', 'WaitStateEntered', 'ExecutionTimedOut']);
  });

  it('pages the history, reverses it, and leaves execution data out on request', async () => {
    const r = await run(
      { StartAt: 'A', States: { A: { Type: 'Pass', Next: 'B' }, B: { Type: 'Pass', End: true } } },
      { secret: 1 },
    );
    const first = await client.send(
      new GetExecutionHistoryCommand({ executionArn: r.arn, maxResults: 4, reverseOrder: true }),
    );
    expect(first.events?.map((e) => e.id)).toEqual([6, 5, 4, 3]);
    const rest = await client.send(
      new GetExecutionHistoryCommand({
        executionArn: r.arn,
        maxResults: 4,
        reverseOrder: true,
        nextToken: first.nextToken,
      }),
    );
    expect(rest.events?.map((e) => e.id)).toEqual([2, 1]);
    expect(rest.nextToken).toBeUndefined();
    const bare = await client.send(
      new GetExecutionHistoryCommand({ executionArn: r.arn, includeExecutionData: false }),
    );
    expect(JSON.stringify(bare.events)).not.toContain('secret');
    expect(bare.events?.[0]?.executionStartedEventDetails?.inputDetails).toEqual({ truncated: false });
    await expect(
      client.send(new GetExecutionHistoryCommand({ executionArn: r.arn, nextToken: 'bogus' })),
    ).rejects.toMatchObject({ name: 'InvalidToken' });
  });

  it("names a Lambda function's error by its errorType, as AWS does", async () => {
    const r = await runOneTask('arn:aws:states:::lambda:invoke', { FunctionName: 'fails', Payload: {} });
    expect(r).toMatchObject({ status: 'FAILED', error: 'CustomError' });
    expect(JSON.parse(r.cause!)).toMatchObject({ errorMessage: 'it broke' });
    const ok = await runOneTask('arn:aws:lambda:us-east-1:000000000000:function:echo', undefined, { hi: 1 });
    expect(ok).toMatchObject({ status: 'SUCCEEDED', output: { echoed: { hi: 1 } } });
    expect(types(ok.events)).toEqual([
      'ExecutionStarted',
      'TaskStateEntered',
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
      'LambdaFunctionSucceeded',
      'TaskStateExited',
      'ExecutionSucceeded',
    ]);
  });

  it('fails a Task with no adapter loudly and opens no connection beyond loopback', async () => {
    const hosts: unknown[] = [];
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called with the socket as `this` below
    const original = Socket.prototype.connect as (this: Socket, ...a: unknown[]) => Socket;
    const connect = vi.spyOn(Socket.prototype, 'connect').mockImplementation(function (
      this: Socket,
      ...args: unknown[]
    ) {
      // Node passes either (options, cb) or its normalized [options, cb] array.
      const first = (Array.isArray(args[0]) ? (args[0] as unknown[])[0] : args[0]) as { host?: string };
      hosts.push(first.host);
      return original.apply(this, args);
    });
    const r = await run({
      StartAt: 'Q',
      States: {
        Q: {
          Type: 'Task',
          Resource: 'arn:aws:states:::sqs:sendMessage',
          Parameters: { QueueUrl: 'https://sqs.us-east-1.amazonaws.com/1/q', MessageBody: 'x' },
          Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Swallowed' }],
          End: true,
        },
        Swallowed: { Type: 'Succeed' },
      },
    });
    expect(r).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
    expect(r.cause).toContain("No local adapter for the Task resource 'arn:aws:states:::sqs:sendMessage'");
    // DynamoDB has no endpoint in this service: also refused, not sent to the SDK's default AWS endpoint.
    const d = await runOneTask('arn:aws:states:::aws-sdk:dynamodb:getItem', { TableName: 't', Key: {} });
    expect(d).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
    expect(d.cause).toContain('no dynamodb endpoint');
    // A fresh client must connect: the spy sees connections, and only to loopback.
    const fresh = new SFNClient(localClientConfig(sfn.endpoint));
    await fresh.send(new ListStateMachinesCommand({}));
    fresh.destroy();
    connect.mockRestore();
    expect(hosts.length).toBeGreaterThan(0);
    expect(new Set(hosts)).toEqual(new Set(['127.0.0.1']));
  });

  it('times a Task out after TimeoutSeconds on the time scale (States.Timeout, not caught by States.TaskFailed)', async () => {
    const r = await run({
      StartAt: 'Slow',
      States: {
        Slow: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
          Parameters: { FunctionName: 'echo', Payload: { 'token.$': '$$.Task.Token' } },
          TimeoutSeconds: 30,
          Catch: [
            { ErrorEquals: ['States.TaskFailed'], Next: 'Wrong' },
            { ErrorEquals: ['States.Timeout'], Next: 'TimedOut' },
          ],
          End: true,
        },
        Wrong: { Type: 'Fail', Error: 'Wrong' },
        TimedOut: { Type: 'Succeed' },
      },
    });
    expect(r.status).toBe('SUCCEEDED');
    expect(r.output).toMatchObject({ Error: 'States.Timeout' });
    expect(types(r.events)).toContain('TaskTimedOut');
    expect(
      r.events.find((e) => e.type === 'TaskScheduled')?.taskScheduledEventDetails?.timeoutInSeconds,
    ).toBe(30);
  });
  it("reads TimeoutSecondsPath from the state's input, not from its Parameters, as AWS does", async () => {
    const r = await run(
      {
        StartAt: 'Slow',
        States: {
          Slow: {
            Type: 'Task',
            Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
            // The timeout lives in the input only; the Parameters leave it out.
            Parameters: { FunctionName: 'echo', Payload: { 'token.$': '$$.Task.Token' } },
            TimeoutSecondsPath: '$.settings.wait',
            Catch: [{ ErrorEquals: ['States.Timeout'], Next: 'TimedOut' }],
            End: true,
          },
          TimedOut: { Type: 'Succeed' },
        },
      },
      { settings: { wait: 20 } },
    );
    expect(r.status).toBe('SUCCEEDED');
    expect(r.output).toMatchObject({ Error: 'States.Timeout' });
    const scheduled = r.events.find((e) => e.type === 'TaskScheduled')?.taskScheduledEventDetails;
    expect(scheduled?.timeoutInSeconds).toBe(20);
    // The carrier of the value never reaches the service called.
    expect(scheduled?.parameters).not.toContain('__local');
  });
});

describe('task tokens', () => {
  async function startWaiting(extra: object = { End: true }, more: object = {}) {
    const before = lambdaCalls.length;
    const stateMachineArn = await machine({
      StartAt: 'Ask',
      States: {
        Ask: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
          Parameters: { FunctionName: 'echo', Payload: { 'token.$': '$$.Task.Token', 'job.$': '$.job' } },
          ...extra,
        },
        ...more,
      },
    });
    const { executionArn } = await client.send(
      new StartExecutionCommand({ stateMachineArn, input: '{"job":"j1"}' }),
    );
    await expect.poll(() => lambdaCalls.length).toBe(before + 1);
    const payload = lambdaCalls.at(-1)?.payload as { token: string; job: string };
    expect(payload.job).toBe('j1');
    return { executionArn: executionArn!, token: payload.token };
  }

  it('completes a .waitForTaskToken Task with SendTaskSuccess', async () => {
    const { executionArn, token } = await startWaiting();
    expect(token).toMatch(/^local-sfn-token-/);
    await client.send(new SendTaskSuccessCommand({ taskToken: token, output: '{"done":true}' }));
    const r = await finished(executionArn);
    expect(r).toMatchObject({ status: 'SUCCEEDED', output: { done: true } });
    expect(types(r.events)).toEqual([
      'ExecutionStarted',
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskSubmitted',
      'TaskSucceeded',
      'TaskStateExited',
      'ExecutionSucceeded',
    ]);
    await expect(
      client.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' })),
    ).rejects.toMatchObject({ name: 'TaskTimedOut' });
    await expect(
      client.send(new SendTaskSuccessCommand({ taskToken: 'nonsense', output: '{}' })),
    ).rejects.toMatchObject({ name: 'InvalidToken' });
  });

  it('fails it with SendTaskFailure, under the given error name', async () => {
    const { executionArn, token } = await startWaiting();
    await client.send(
      new SendTaskFailureCommand({ taskToken: token, error: 'Mask.Missing', cause: 'no mask' }),
    );
    expect(await finished(executionArn)).toMatchObject({
      status: 'FAILED',
      error: 'Mask.Missing',
      cause: 'no mask',
    });
  });

  it('times it out when heartbeats stop (States.HeartbeatTimeout, matched by States.Timeout too)', async () => {
    clock.hold();
    try {
      const { executionArn, token } = await startWaiting(
        {
          HeartbeatSeconds: 1000,
          Catch: [{ ErrorEquals: ['States.Timeout'], ResultPath: '$.err', Next: 'Lost' }],
          Next: 'Lost',
        },
        { Lost: { Type: 'Pass', End: true } },
      );
      expect(clock.sleeping).toBe(1); // the heartbeat timer, armed before the Task's call
      // Heartbeats 600 s apart keep the Task alive for 1,800 s, well past one period: each one
      // replaces the timer, so none of the earlier ones ever ends.
      for (let beat = 1; beat <= 3; beat++) {
        clock.advance(600);
        await client.send(new SendTaskHeartbeatCommand({ taskToken: token }));
        expect(clock.sleeping).toBe(1);
        expect(sfn.execution(executionArn)?.status).toBe('RUNNING');
      }
      // Then silence: one second short of the period it still runs; at the period it times out.
      clock.advance(999);
      expect(clock.sleeping).toBe(1);
      expect(sfn.execution(executionArn)?.status).toBe('RUNNING');
      clock.advance(1);
      expect(clock.sleeping).toBe(0);
      const r = await finished(executionArn);
      expect(r.status).toBe('SUCCEEDED');
      expect(r.output).toMatchObject({ err: { Error: 'States.HeartbeatTimeout' } });
      expect(r.events.find((e) => e.type === 'TaskTimedOut')?.taskTimedOutEventDetails).toMatchObject({
        error: 'States.Timeout',
      });
    } finally {
      clock.release();
    }
  });
});

describe('every history this file recorded', () => {
  // Last in the file: every machine above (Choice, Wait, Parallel, Map, Retry, Catch, Task tokens,
  // timeouts, stops) ran here, and each of its executions must have taken only the paths its ASL allows.
  it('is consistent with its state machine definition (checkSfnHistory)', async () => {
    const { stateMachines = [] } = await client.send(new ListStateMachinesCommand({}));
    let checked = 0;
    const seen = new Set<string>();
    for (const m of stateMachines) {
      const { definition } = await client.send(
        new DescribeStateMachineCommand({ stateMachineArn: m.stateMachineArn }),
      );
      const { executions = [] } = await client.send(
        new ListExecutionsCommand({ stateMachineArn: m.stateMachineArn }),
      );
      for (const e of executions) {
        const { events = [] } = await client.send(
          new GetExecutionHistoryCommand({ executionArn: e.executionArn, maxResults: 1000 }),
        );
        const check = checkSfnHistory(definition!, events);
        expect(check.findings, `${m.name}: ${e.executionArn}`).toEqual([]);
        checked++;
        if (check.retries > 0) seen.add('retry');
        for (const event of events) seen.add(event.type!);
      }
    }
    expect(checked).toBeGreaterThan(10);
    // The paths the check had to follow: retries, catches, Map iterations, Parallel branches.
    for (const kind of [
      'retry',
      'TaskStateExited',
      'MapIterationStarted',
      'ParallelStateStarted',
      'ChoiceStateExited',
    ])
      expect(seen, kind).toContain(kind);
  });
});
