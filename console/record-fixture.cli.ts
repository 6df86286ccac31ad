// Records what the console reads for one upload, as the services answer it, into
// console/fixtures/one-upload-<mode>.json for the timeline tests: a local cloud in that wait mode, one
// dual-trigger upload (the mask 30 simulated seconds after the image, so both wait for it), both
// executions followed to their ends, then the job items and each service's listing and history. Text
// payloads over 200 characters are cut to their length (the timelines read none of them). Run it again
// when a history's shape changes:
//   npx tsx console/record-fixture.cli.ts poll && npx tsx console/record-fixture.cli.ts event
import { writeFileSync } from 'node:fs';
import { GetExecutionHistoryCommand, ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import {
  GetDurableExecutionHistoryCommand,
  LambdaClient,
  ListDurableExecutionsByFunctionCommand,
} from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { generateSample, samplePngs } from '../container/src/samples.ts';
import { appDefinition } from '../infra/app-definition.ts';
import { startLocalCloud } from '../local/cloud.ts';
import { deployApp, localAppSettings } from '../local/deploy-app.ts';
import { localTarget } from '../bench/collect/local-target.ts';
import { readJobs } from '../bench/collect/read.ts';
import { uploadPair } from '../bench/scenario/drive.ts';

const mode = process.argv[2];
if (mode !== 'poll' && mode !== 'event')
  throw new Error('usage: npx tsx console/record-fixture.cli.ts poll|event');
const out = new URL(`./fixtures/one-upload-${mode}.json`, import.meta.url);

/** Long text (event payloads, job results' inputs) as its length: the shapes stay, the bulk goes. */
const trimmed = (_key: string, value: unknown): unknown =>
  typeof value === 'string' && value.length > 200 ? `<${value.length} characters>` : value;

const cloud = await startLocalCloud({ functionOutput: () => undefined });
try {
  const app = await deployApp(cloud, appDefinition(localAppSettings(cloud, { waitMode: mode })));
  const target = localTarget(cloud, app);
  const s3 = new S3Client(target.clientConfig('s3'));
  const upload = await uploadPair(target, s3, 'u1', 'chair', samplePngs(generateSample('disc', 64)), 30);
  s3.destroy();
  const sfn = new SFNClient(target.clientConfig('stepfunctions'));
  const lambda = new LambdaClient(target.clientConfig('lambda'));
  const listings = async () => ({
    sf:
      (await sfn.send(new ListExecutionsCommand({ stateMachineArn: target.stateMachineArn }))).executions ??
      [],
    ldf:
      (
        await lambda.send(
          new ListDurableExecutionsByFunctionCommand({ FunctionName: target.durableFunctionName }),
        )
      ).DurableExecutions ?? [],
  });
  for (;;) {
    const l = await listings();
    const statuses = [...l.sf.map((e) => e.status), ...l.ldf.map((e) => e.Status)];
    if (statuses.length === 2 && statuses.every((s) => s !== 'RUNNING')) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const l = await listings();
  const fixture = {
    upload: {
      user: 'u1',
      name: 'chair',
      waitMode: mode,
      uploadedAt: upload.uploadedAt,
      timeScale: cloud.timeScale,
    },
    jobs: { sf: await readJobs(target, 'sf', 'u1'), ldf: await readJobs(target, 'ldf', 'u1') },
    sf: {
      executions: l.sf,
      history: (
        await sfn.send(
          new GetExecutionHistoryCommand({ executionArn: l.sf[0]!.executionArn, maxResults: 1000 }),
        )
      ).events,
    },
    ldf: {
      executions: l.ldf,
      history: (
        await lambda.send(
          new GetDurableExecutionHistoryCommand({
            DurableExecutionArn: l.ldf[0]!.DurableExecutionArn,
            MaxItems: 1000,
          }),
        )
      ).Events,
    },
  };
  writeFileSync(out, `${JSON.stringify(fixture, trimmed, 1)}\n`);
  console.log(`wrote ${out.pathname}`);
  sfn.destroy();
  lambda.destroy();
  app.undeploy();
} finally {
  await cloud.stop();
}
