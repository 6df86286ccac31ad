// DynamoDB's bill as DynamoDB itself states it: every request asks for its consumed capacity
// (ReturnConsumedCapacity TOTAL) and the meter adds up the read and write request units the answers
// give. The handlers publish the sum once per invocation as two metrics, by Orchestrator and WaitMode,
// so the comparison reads each orchestrator's DynamoDB units from CloudWatch on AWS and locally alike
// (both share one table, so the table's own metrics cannot split them). A conditional write that
// fails consumes a write unit that DynamoDB reports in no answer: those are not counted.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

const READS = new Set([
  'GetItemCommand',
  'QueryCommand',
  'ScanCommand',
  'BatchGetItemCommand',
  'TransactGetItemsCommand',
]);
const WRITES = new Set([
  'PutItemCommand',
  'UpdateItemCommand',
  'DeleteItemCommand',
  'BatchWriteItemCommand',
  'TransactWriteItemsCommand',
]);

interface Consumed {
  CapacityUnits?: number;
  ReadCapacityUnits?: number;
  WriteCapacityUnits?: number;
}

export class CapacityMeter {
  private read = 0;
  private write = 0;

  /** Adds one answer's ConsumedCapacity (one object, or a list for batch and transaction calls). */
  add(command: string, consumed: Consumed | Consumed[] | undefined): void {
    for (const c of Array.isArray(consumed) ? consumed : consumed ? [consumed] : []) {
      const total = c.CapacityUnits ?? 0;
      this.read += c.ReadCapacityUnits ?? (READS.has(command) ? total : 0);
      this.write += c.WriteCapacityUnits ?? (WRITES.has(command) ? total : 0);
    }
  }

  /** The units since the last take, and starts again from zero. */
  take(): { readUnits: number; writeUnits: number } {
    const out = { readUnits: this.read, writeUnits: this.write };
    this.read = 0;
    this.write = 0;
    return out;
  }

  /** Makes every request of `client` ask for its consumed capacity, and meters the answers. */
  attach(client: DynamoDBClient): void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const command = context.commandName ?? '';
        const input = args.input as { ReturnConsumedCapacity?: string };
        if (READS.has(command) || WRITES.has(command)) input.ReturnConsumedCapacity ??= 'TOTAL';
        const result = await next(args);
        this.add(command, (result.output as { ConsumedCapacity?: Consumed | Consumed[] }).ConsumedCapacity);
        return result;
      },
      { step: 'initialize', name: 'consumedCapacityMeter' },
    );
  }
}
