// The local Step Functions service inside the local cloud: Tasks call DynamoDB Local, the SageMaker
// emulator and the event bus through the real SDK clients, with Step Functions' error names, and an
// EventBridge rule starts a state machine with the event as its input.
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalCloud, type LocalCloud } from '../cloud.ts';
import { stateMachineTarget, type StateMachineTarget } from './bus-target.ts';

let cloud: LocalCloud;
let sfn: SFNClient;
let target: StateMachineTarget | undefined;

beforeAll(async () => {
  cloud = await startLocalCloud({ bucket: 'sfn-test', tableName: 'sfn-test', clock: 'scale:1000' });
  sfn = new SFNClient(cloud.clientConfig('stepfunctions'));
});

afterAll(async () => {
  target?.destroy();
  sfn?.destroy();
  await cloud?.stop();
});

async function create(name: string, definition: object): Promise<string> {
  const { stateMachineArn } = await sfn.send(
    new CreateStateMachineCommand({
      name,
      definition: JSON.stringify(definition),
      roleArn: 'arn:aws:iam::000000000000:role/r',
    }),
  );
  return stateMachineArn!;
}

async function outcome(executionArn: string) {
  await cloud.stepFunctions.execution(executionArn)!.done;
  return sfn.send(new DescribeExecutionCommand({ executionArn }));
}

describe('Tasks into the local cloud', () => {
  it('calls DynamoDB Local, the SageMaker emulator and the bus, naming errors as Step Functions does', async () => {
    const table = cloud.tableName;
    const key = { pk: { S: 'sfn-test#job1' }, sk: { S: 'job' } };
    const recorder = await create('recorder', {
      StartAt: 'Record',
      States: {
        Record: {
          Type: 'Task',
          Resource: 'arn:aws:states:::aws-sdk:dynamodb:putItem',
          Parameters: {
            TableName: table,
            Item: { pk: { S: 'sfn-test#notified' }, sk: { S: 'event' }, job: { 'S.$': '$.detail.job' } },
          },
          ResultPath: null,
          Next: 'Find',
        },
        Find: {
          Type: 'Task',
          Resource: 'arn:aws:states:::aws-sdk:dynamodb:query',
          Parameters: {
            TableName: table,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': { S: 'sfn-test#notified' } },
          },
          ResultSelector: { 'count.$': '$.Count' },
          End: true,
        },
      },
    });
    target = stateMachineTarget(recorder, cloud.clientConfig('stepfunctions'));
    cloud.bus.putRule({ name: 'sfn-test-done', eventPattern: { source: ['test.sfn'] } });
    cloud.bus.addTarget('sfn-test-done', 'recorder', target.handler);

    const main = await create('cloud-tasks', {
      StartAt: 'Put',
      States: {
        Put: {
          Type: 'Task',
          Resource: 'arn:aws:states:::aws-sdk:dynamodb:putItem',
          Parameters: { TableName: table, Item: { ...key, status: { S: 'RECEIVED' } } },
          ResultPath: '$.put',
          Next: 'Get',
        },
        Get: {
          Type: 'Task',
          Resource: 'arn:aws:states:::dynamodb:getItem',
          Parameters: { TableName: table, Key: key },
          ResultSelector: { 'status.$': '$.Item.status.S' },
          ResultPath: '$.got',
          Next: 'Guard',
        },
        Guard: {
          Type: 'Task',
          Resource: 'arn:aws:states:::dynamodb:updateItem',
          Parameters: {
            TableName: table,
            Key: key,
            UpdateExpression: 'SET #s = :next',
            ConditionExpression: '#s = :expected',
            ExpressionAttributeNames: { '#s': 'status' },
            ExpressionAttributeValues: { ':next': { S: 'STOPPED' }, ':expected': { S: 'DONE' } },
          },
          Catch: [
            {
              ErrorEquals: ['DynamoDB.ConditionalCheckFailedException'],
              ResultPath: '$.guard',
              Next: 'Describe',
            },
          ],
          Next: 'Describe',
        },
        Describe: {
          Type: 'Task',
          Resource: 'arn:aws:states:::aws-sdk:sagemaker:describeEndpoint',
          Parameters: { EndpointName: 'no-such-endpoint' },
          Catch: [{ ErrorEquals: ['SageMaker.ValidationException'], ResultPath: '$.describe', Next: 'List' }],
          Next: 'List',
        },
        List: {
          Type: 'Task',
          Resource: 'arn:aws:states:::aws-sdk:sagemaker:listEndpoints',
          Parameters: {},
          ResultSelector: { 'n.$': 'States.ArrayLength($.Endpoints)' },
          ResultPath: '$.endpoints',
          Next: 'Notify',
        },
        Notify: {
          Type: 'Task',
          Resource: 'arn:aws:states:::events:putEvents',
          Parameters: {
            Entries: [{ Source: 'test.sfn', DetailType: 'Job Done', Detail: { 'job.$': '$.job' } }],
          },
          ResultSelector: { 'failed.$': '$.FailedEntryCount' },
          ResultPath: '$.notify',
          End: true,
        },
      },
    });
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: main, input: '{"job":"job1"}' }),
    );
    const done = await outcome(executionArn!);
    expect([done.status, done.error, done.cause]).toEqual(['SUCCEEDED', undefined, undefined]);
    const output = JSON.parse(done.output!) as Record<string, { Error?: string; Cause?: string }> & {
      put: unknown;
    };
    expect(output.put).toEqual({});
    expect(output.got).toEqual({ status: 'RECEIVED' });
    expect(output.guard?.Error).toBe('DynamoDB.ConditionalCheckFailedException');
    expect(output.describe?.Error).toBe('SageMaker.ValidationException');
    expect(output.describe?.Cause).toContain('Could not find endpoint');
    expect(output.endpoints).toEqual({ n: 0 });
    expect(output.notify).toEqual({ failed: 0 });
    // The guard held: the item is unchanged in DynamoDB Local.
    const ddb = new DynamoDBClient(cloud.clientConfig('dynamodb'));
    const item = await ddb.send(new GetItemCommand({ TableName: table, Key: key }));
    ddb.destroy();
    expect(item.Item?.status?.S).toBe('RECEIVED');
    const { events = [] } = await sfn.send(new GetExecutionHistoryCommand({ executionArn }));
    const scheduled = events
      .filter((e) => e.type === 'TaskScheduled')
      .map((e) => e.taskScheduledEventDetails);
    expect(scheduled.map((d) => `${d?.resourceType}:${d?.resource}`)).toEqual([
      'aws-sdk:dynamodb:putItem',
      'dynamodb:getItem',
      'dynamodb:updateItem',
      'aws-sdk:sagemaker:describeEndpoint',
      'aws-sdk:sagemaker:listEndpoints',
      'events:putEvents',
    ]);

    // The event reached the rule, whose target started the recorder with the whole event as input.
    await expect.poll(() => target?.started.size, { timeout: 10_000 }).toBe(1);
    const recorded = [...target.started.values()][0]!;
    const result = await outcome(recorded);
    expect([result.status, result.error, result.cause]).toEqual(['SUCCEEDED', undefined, undefined]);
    expect(JSON.parse(result.input!)).toMatchObject({
      source: 'test.sfn',
      'detail-type': 'Job Done',
      detail: { job: 'job1' },
    });
    expect(JSON.parse(result.output!)).toEqual({ count: 1 });
  });

  it('waits on events:putEvents.waitForTaskToken until a bus target sends the token back', async () => {
    cloud.bus.putRule({ name: 'sfn-test-ask', eventPattern: { source: ['test.ask'] } });
    const answered: string[] = [];
    cloud.bus.addTarget('sfn-test-ask', 'answer', async (event) => {
      const { token } = event.detail as { token: string };
      await sfn.send(
        new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify({ answer: 42 }) }),
      );
      answered.push(event.id);
    });
    const arn = await create('ask', {
      StartAt: 'Ask',
      States: {
        Ask: {
          Type: 'Task',
          Resource: 'arn:aws:states:::events:putEvents.waitForTaskToken',
          Parameters: {
            Entries: [{ Source: 'test.ask', DetailType: 'Question', Detail: { 'token.$': '$$.Task.Token' } }],
          },
          HeartbeatSeconds: 3600,
          End: true,
        },
      },
    });
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: arn }));
    const done = await outcome(executionArn!);
    expect([done.status, done.output]).toEqual(['SUCCEEDED', '{"answer":42}']);
    expect(answered).toHaveLength(1);
    const { events = [] } = await sfn.send(new GetExecutionHistoryCommand({ executionArn }));
    const submitted = events.find((e) => e.type === 'TaskSubmitted')?.taskSubmittedEventDetails;
    expect(submitted).toMatchObject({ resourceType: 'events', resource: 'putEvents.waitForTaskToken' });
    expect(JSON.parse(submitted!.output!)).toMatchObject({ FailedEntryCount: 0 });
  });
});
