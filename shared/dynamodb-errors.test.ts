import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  ProvisionedThroughputExceededException,
  ThrottlingException,
} from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { namedDynamoDBError, nameDynamoDBErrors } from './dynamodb-errors.ts';
import { localClientConfig } from './aws.ts';
import { isRetryable } from './errors.ts';

const meta = { $metadata: { attempts: 4 } };

describe('DynamoDB errors under the shared names', () => {
  it('names throttling ThrottledError and service failures ServiceUnavailableError, both retryable', () => {
    for (const err of [
      new ProvisionedThroughputExceededException({ message: 'hot key', ...meta }),
      new ThrottlingException({ message: 'max on-demand', ...meta }),
    ]) {
      const named = namedDynamoDBError(err, 'UpdateItem');
      expect(named).toMatchObject({ name: 'ThrottledError', cause: err });
      expect((named as Error).message).toContain(`DynamoDB UpdateItem (4 attempts): ${err.name}`);
      expect(isRetryable(named)).toBe(true);
    }
    const down = Object.assign(new Error('boom'), {
      name: 'InternalServerError',
      $metadata: { httpStatusCode: 500 },
    });
    expect(namedDynamoDBError(down, 'GetItem')).toMatchObject({ name: 'ServiceUnavailableError' });
  });

  it('passes every other error through as itself (a failed condition above all)', () => {
    const failed = new ConditionalCheckFailedException({ message: 'no', $metadata: {} });
    expect(namedDynamoDBError(failed, 'UpdateItem')).toBe(failed);
    const refused = Object.assign(new Error('bad'), { name: 'ValidationException' });
    expect(namedDynamoDBError(refused, 'UpdateItem')).toBe(refused);
  });

  it("applies to a client's calls once the SDK's own retries are spent", async () => {
    let calls = 0;
    const server = createServer((_req, res) => {
      calls++;
      res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(
        JSON.stringify({
          __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
          message: 'hot key',
        }),
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    const client = new DynamoDBClient({ ...localClientConfig(`http://127.0.0.1:${port}`), maxAttempts: 2 });
    nameDynamoDBErrors(client);
    try {
      await expect(
        client.send(new GetItemCommand({ TableName: 'ttt', Key: { pk: { S: 'a' } } })),
      ).rejects.toMatchObject({ name: 'ThrottledError' });
      expect(calls, 'the SDK retried before the name changed').toBe(2);
    } finally {
      client.destroy();
      server.close();
    }
  });
});
