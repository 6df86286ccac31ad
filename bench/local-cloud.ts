// How long the local cloud takes to come up and go down, and how much memory it holds.
// Usage: npm run bench:local-cloud [-- --runs N]
import { parseArgs } from 'node:util';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startLocalCloud } from '../local/cloud.ts';
import { requireNode22 } from '../local/cli/preflight.ts';
import { rssMiB } from './memory.ts';
import { median } from './stats.ts';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '5' }, help: { type: 'boolean' } },
});
if (values.help) {
  console.log(
    'Usage: npm run bench:local-cloud [-- --runs N]\nStarts and stops the local cloud N times (default 5); prints up/down times and memory (RSS).',
  );
  process.exit(0);
}
requireNode22();
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) {
  console.error(`--runs must be a positive integer, got '${values.runs}'`);
  process.exit(2);
}

const ups: number[] = [];
const downs: number[] = [];
const rows: { node: number; java: number }[] = [];
for (let run = 1; run <= runs; run++) {
  let t = performance.now();
  const cloud = await startLocalCloud({});
  ups.push(performance.now() - t);
  // Some light work, so the JVM has loaded the classes a real run uses.
  const ddb = new DynamoDBClient(cloud.clientConfig('dynamodb'));
  const s3 = new S3Client(cloud.clientConfig('s3'));
  for (let i = 0; i < 100; i++) {
    await ddb.send(
      new PutItemCommand({
        TableName: cloud.tableName,
        Item: { pk: { S: `sf#bench#${i}` }, sk: { S: 'sf#x' } },
      }),
    );
    await s3.send(
      new PutObjectCommand({ Bucket: cloud.bucket, Key: `bench/${i}`, Body: Buffer.alloc(64 * 1024) }),
    );
  }
  rows.push({ node: rssMiB('self'), java: rssMiB(cloud.dynamoDb.pid) });
  ddb.destroy();
  s3.destroy();
  t = performance.now();
  await cloud.stop();
  downs.push(performance.now() - t);
  console.error(
    `run ${run}/${runs}: up ${(ups.at(-1)! / 1000).toFixed(2)} s, down ${(downs.at(-1)! / 1000).toFixed(2)} s`,
  );
}

const max = (xs: number[]): number => Math.max(...xs);
console.log(`local cloud, ${runs} runs (Node ${process.versions.node})`);
console.log(`  up     median ${(median(ups) / 1000).toFixed(2)} s, max ${(max(ups) / 1000).toFixed(2)} s`);
console.log(
  `  down   median ${(median(downs) / 1000).toFixed(2)} s, max ${(max(downs) / 1000).toFixed(2)} s`,
);
console.log(
  `  memory (RSS after 100 puts to each) DynamoDB Local JVM median ${median(rows.map((r) => r.java)).toFixed(0)} MiB, ` +
    `Node process (S3 + this script) median ${median(rows.map((r) => r.node)).toFixed(0)} MiB`,
);
