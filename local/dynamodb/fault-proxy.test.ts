// The fault proxy in front of a real DynamoDB Local, driven by the real SDK client: unarmed it is
// transparent; armed, the next matching requests get AWS's throttling answers, which the SDK parses
// into its own exception classes and retries, and only those requests.
import {
  DynamoDBClient,
  ProvisionedThroughputExceededException,
  ThrottlingException,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localClientConfig } from '../../shared/aws.ts';
import { createTable, startLocalDynamoDB, type LocalDynamoDB } from './dynamodb-local.ts';
import { partitionKeysOf, startDynamoDBFaultProxy, type DynamoDBFaultProxy } from './fault-proxy.ts';

const TABLE = 'fault-proxy-test';
let dynamo: LocalDynamoDB;
let proxy: DynamoDBFaultProxy;
let doc: DynamoDBDocumentClient;
/** One attempt per call, so each throttle is seen as the SDK parsed it. */
let once: DynamoDBDocumentClient;

beforeAll(async () => {
  dynamo = await startLocalDynamoDB();
  await createTable(dynamo.endpoint, TABLE);
  proxy = await startDynamoDBFaultProxy({ upstream: dynamo.endpoint, region: 'us-east-1', tableName: TABLE });
  doc = DynamoDBDocumentClient.from(new DynamoDBClient(localClientConfig(proxy.endpoint)));
  once = DynamoDBDocumentClient.from(
    new DynamoDBClient({ ...localClientConfig(proxy.endpoint), maxAttempts: 1 }),
  );
}, 90_000);

afterAll(async () => {
  doc?.destroy();
  once?.destroy();
  await proxy?.stop();
  await dynamo?.stop();
});

const key = (pk: string) => ({ pk, sk: 'item' });
const put = (client: DynamoDBDocumentClient, pk: string, n = 1) =>
  client.send(new PutCommand({ TableName: TABLE, Item: { ...key(pk), n } }));
const bump = (client: DynamoDBDocumentClient, pk: string) =>
  client.send(
    new UpdateCommand({
      TableName: TABLE,
      Key: key(pk),
      UpdateExpression: 'SET n = n + :one',
      ExpressionAttributeValues: { ':one': 1 },
      ReturnValues: 'ALL_NEW',
    }),
  );

describe('the DynamoDB fault proxy', () => {
  it('is transparent when nothing is armed: writes, reads and conditional failures pass through', async () => {
    await put(doc, 'a#1', 41);
    expect((await bump(doc, 'a#1')).Attributes).toMatchObject({ n: 42 });
    expect((await doc.send(new GetCommand({ TableName: TABLE, Key: key('a#1') }))).Item).toMatchObject({
      n: 42,
    });
    await expect(
      doc.send(
        new PutCommand({
          TableName: TABLE,
          Item: key('a#1'),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    ).rejects.toMatchObject({ name: 'ConditionalCheckFailedException' });
    expect(proxy.faults.served()).toEqual([]);
  });

  it("answers AWS's ProvisionedThroughputExceededException, parsed by the SDK with its reasons", async () => {
    await put(doc, 'b#1');
    proxy.faults.throttle(1, { operations: ['UpdateItem'] });
    const err = await bump(once, 'b#1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProvisionedThroughputExceededException);
    expect(err).toMatchObject({
      $metadata: { httpStatusCode: 400 },
      message: expect.stringContaining('hot key') as unknown,
      ThrottlingReasons: [
        {
          reason: 'TableWriteKeyRangeThroughputExceeded',
          resource: `arn:aws:dynamodb:us-east-1:000000000000:table/${TABLE}`,
        },
      ],
    });
    // The write did not happen; the next one is not throttled.
    expect((await bump(once, 'b#1')).Attributes).toMatchObject({ n: 2 });
  });

  it("answers AWS's ThrottlingException, parsed by the SDK with its reasons", async () => {
    await put(doc, 'c#1');
    proxy.faults.throttle(1, { error: 'ThrottlingException', operations: ['UpdateItem'] });
    const err = await bump(once, 'c#1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ThrottlingException);
    expect(err).toMatchObject({
      $metadata: { httpStatusCode: 400 },
      throttlingReasons: [{ reason: 'TableWriteMaxOnDemandThroughputExceeded' }],
    });
  });

  it('throttles only the chosen operations and keys, and the SDK retries until its attempts run out', async () => {
    await put(doc, 'd#hot');
    await put(doc, 'd#cold');
    const before = proxy.faults.served().length;
    proxy.faults.throttle(20, { operations: ['UpdateItem'], keyPrefix: 'd#hot' });
    // Other keys, other operations: untouched.
    expect((await bump(doc, 'd#cold')).Attributes).toMatchObject({ n: 2 });
    expect((await doc.send(new GetCommand({ TableName: TABLE, Key: key('d#hot') }))).Item).toBeDefined();
    // The SDK retries the throttled call until its attempts run out, then gives up with the error.
    await expect(bump(doc, 'd#hot')).rejects.toBeInstanceOf(ProvisionedThroughputExceededException);
    const served = proxy.faults.served().slice(before);
    const max = served[0]?.maxAttempts ?? 0;
    expect(max, "the SDK's own attempts").toBeGreaterThan(1);
    expect(served.map((s) => [s.operation, s.keys, s.attempt, s.maxAttempts])).toEqual(
      Array.from({ length: max }, (_, i) => ['UpdateItem', ['d#hot'], i + 1, max]),
    );
    expect(new Set(served.map((s) => s.invocationId)).size, 'one call, retried').toBe(1);
    // One throttle left: the next call's first attempt takes it, and its retry gets through.
    proxy.faults.clear().throttle(1, { operations: ['UpdateItem'], keyPrefix: 'd#hot' });
    expect((await bump(doc, 'd#hot')).Attributes).toMatchObject({ n: 2 });
    expect(proxy.faults.served().at(-1)).toMatchObject({ attempt: 1 });
    expect(proxy.faults.pending()).toBe(0);
  });
});

describe('partitionKeysOf', () => {
  const body = (v: unknown) => Buffer.from(JSON.stringify(v));
  it('reads the partition keys a request names, in every write shape, and nothing from a bad body', () => {
    expect(partitionKeysOf(body({ Key: { pk: { S: 'a' }, sk: { S: 'x' } } }))).toEqual(['a']);
    expect(partitionKeysOf(body({ Item: { pk: { S: 'b' } } }))).toEqual(['b']);
    expect(
      partitionKeysOf(
        body({
          TransactItems: [
            { Update: { Key: { pk: { S: 'c' } } } },
            { Put: { Item: { pk: { S: 'd' } } } },
            { ConditionCheck: { Key: { pk: { S: 'e' } } } },
          ],
        }),
      ),
    ).toEqual(['c', 'd', 'e']);
    expect(
      partitionKeysOf(
        body({
          RequestItems: {
            t: [{ PutRequest: { Item: { pk: { S: 'f' } } } }, { DeleteRequest: { Key: { pk: { S: 'g' } } } }],
          },
        }),
      ),
    ).toEqual(['f', 'g']);
    expect(partitionKeysOf(Buffer.from('{not json'))).toEqual([]);
    expect(partitionKeysOf(body(null))).toEqual([]);
  });
});
