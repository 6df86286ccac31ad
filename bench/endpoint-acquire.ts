// 100 (or N) jobs acquire a stopped endpoint at the same moment: exactly one must start it. Reports
// how long the burst takes and what it costs in DynamoDB requests, against DynamoDB Local and the
// SageMaker emulator. Usage: npm run bench:endpoint-acquire [-- --jobs 100 --rounds 5]
import { parseArgs } from 'node:util';
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { localClientConfig } from '../shared/aws.ts';
import { EndpointStore } from '../shared/endpoint-lifecycle/endpoint-store.ts';
import { startHarness } from '../test/support/lifecycle-harness.ts';
import { median } from './stats.ts';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '5' },
    help: { type: 'boolean' },
  },
});
if (values.help) {
  console.log(
    'Usage: npm run bench:endpoint-acquire [-- --jobs N --rounds R]\nN concurrent acquires of a stopped endpoint, R times: starts, time, DynamoDB requests.',
  );
  process.exit(0);
}
const jobs = Number(values.jobs);
const rounds = Number(values.rounds);
if (!Number.isInteger(jobs) || jobs < 1 || !Number.isInteger(rounds) || rounds < 1) {
  console.error('--jobs and --rounds must be positive integers');
  process.exit(2);
}

const h = await startHarness();
try {
  const rows: {
    ms: number;
    starters: number;
    creates: number;
    reads: number;
    writes: number;
    failures: number;
  }[] = [];
  for (let round = 1; round <= rounds; round++) {
    const name = `bench-${round}`;
    // Count the requests here, in the benchmark, with a middleware on a client of its own.
    const requests = { reads: 0, writes: 0, conditionalFailures: 0 };
    const doc = DynamoDBDocumentClient.from(new DynamoDBClient(localClientConfig(h.ddb.endpoint)));
    doc.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'GetCommand') requests.reads++;
        else requests.writes++;
        try {
          return await next(args);
        } catch (err) {
          if (err instanceof ConditionalCheckFailedException) requests.conditionalFailures++;
          throw err;
        }
      },
      { step: 'initialize', name: 'countRequests' },
    );
    const store = new EndpointStore(doc, h.tableName, 'sf');
    const lifecycle = h.lifecycle(name, { store });
    const started = performance.now();
    const acquired = await Promise.all(Array.from({ length: jobs }, (_, i) => lifecycle.acquire(`job-${i}`)));
    const ms = performance.now() - started;
    rows.push({
      ms,
      starters: acquired.filter((a) => a.role === 'starter').length,
      creates: h.emulator
        .calls()
        .filter((c) => c.operation === 'CreateEndpoint' && c.endpointName === name && c.outcome === 'ok')
        .length,
      reads: requests.reads,
      writes: requests.writes,
      failures: requests.conditionalFailures,
    });
  }
  console.log(
    `${jobs} concurrent acquires of a stopped endpoint, ${rounds} rounds (DynamoDB Local, SageMaker emulator, Node ${process.versions.node})`,
  );
  console.log('round   ms      starters  CreateEndpoint  DynamoDB writes (conditional failures)  reads');
  rows.forEach((r, i) =>
    console.log(
      `${String(i + 1).padEnd(7)} ${r.ms.toFixed(0).padEnd(7)} ${String(r.starters).padEnd(9)} ${String(r.creates).padEnd(15)} ${`${r.writes} (${r.failures})`.padEnd(39)} ${r.reads}`,
    ),
  );
  console.log(
    `median ${median(rows.map((r) => r.ms)).toFixed(0)} ms; ${median(rows.map((r) => r.writes))} UpdateItem requests for ${jobs} jobs ` +
      `(${(median(rows.map((r) => r.writes)) / jobs).toFixed(2)} per job); every round started exactly once: ${rows.every((r) => r.starters === 1 && r.creates === 1)}`,
  );
  if (!rows.every((r) => r.starters === 1 && r.creates === 1)) process.exitCode = 1;
} finally {
  await h.stop();
}
