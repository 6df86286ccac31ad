// Target resolution. A local cloud's description (what `npm run up -- --json` prints) → a Target whose
// names match what the local services really create; a deployed stack → a Target from DescribeStacks,
// tested with the real CloudFormation client against a loopback server answering with the XML shape
// CloudFormation's query protocol returns (the AWS path cannot run here).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateStateMachineCommand, SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUNCTIONS, STATE_MACHINE } from '../infra/app-definition.ts';
import { STACK_OUTPUTS } from '../infra/outputs.ts';
import { closeServer, listenOnLoopback, readBody } from '../local/common/http-server.ts';
import { createClock, skipped } from '../local/common/clock.ts';
import { startClockServer } from '../local/common/clock-server.ts';
import { startLocalStepFunctions } from '../local/stepfunctions/service.ts';
import { LOCAL_CREDENTIALS, localClientConfig } from '../shared/aws.ts';
import { InputFileError, TargetUnreachableError, UsageError } from './exit.ts';
import { awsTarget, readEndpoints, resolveTarget, targetFromDescription } from './targets.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'dvs-targets-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What `npm run up -- --json` prints, ports made up. */
const description = {
  region: 'us-east-1',
  tableName: 'durable-vs-sfn',
  bucket: 'uploads',
  dynamodb: 'http://127.0.0.1:41001',
  s3: 'http://127.0.0.1:41002',
  eventbridge: 'http://127.0.0.1:41003',
  eventBusName: 'default',
  sagemaker: 'http://127.0.0.1:41004',
  sagemakerRuntime: 'http://127.0.0.1:41004',
  lambda: 'http://127.0.0.1:41005',
  stepfunctions: 'http://127.0.0.1:41006',
  cloudwatch: 'http://127.0.0.1:41007',
  clock: 'scale:60',
  timeScale: 60,
  functions: [],
  app: { waitMode: 'poll', stateMachineArn: 'arn:…', durableOrchestrator: 'arn:…', dashboard: 'd' },
};

describe('a running local cloud (--endpoints)', () => {
  it("reads the description from a file or stdin into a Target on the cloud's scaled clock", async () => {
    const file = path.join(dir, 'cloud.json');
    writeFileSync(file, `${JSON.stringify(description)}\n`);
    const target = await resolveTarget({ kind: 'local', endpoints: file });
    expect(target).toMatchObject({
      kind: 'local',
      region: 'us-east-1',
      tableName: 'durable-vs-sfn',
      bucket: 'uploads',
      durableFunctionName: FUNCTIONS.durable,
      dashboardName: 'durable-vs-stepfunctions',
      stateMachineArn: `arn:aws:states:us-east-1:000000000000:stateMachine:${STATE_MACHINE}`,
      endpointNames: { sf: 'reconstruct-3d-sf', ldf: 'reconstruct-3d-ldf' },
      clock: { kind: 'scale', factor: 60 },
    });
    expect(target.clientConfig('stepfunctions')).toEqual(
      localClientConfig('http://127.0.0.1:41006', 'us-east-1'),
    );
    expect(target.clientConfig('sagemakerRuntime').endpoint).toBe('http://127.0.0.1:41004');
    expect(target.simulatedSeconds(1500)).toBe(1.5); // its timestamps are simulated already
    const before = Date.now();
    expect(target.now()).toBeGreaterThanOrEqual(before);
    const fromStdin = await resolveTarget(
      { kind: 'local', endpoints: '-' },
      { readStdin: () => JSON.stringify(description) },
    );
    expect(fromStdin.tableName).toBe('durable-vs-sfn');
  });

  it('sleeps simulated seconds as real ones divided by the scale, and stops at once on abort', async () => {
    const target = targetFromDescription({ ...description, timeScale: 100_000 });
    await expect(target.sleep(1)).resolves.toBeUndefined(); // 0.01 ms of real time
    const aborted = new AbortController();
    aborted.abort(new Error('stop'));
    await expect(target.sleep(3600, aborted.signal)).rejects.toThrow();
    const later = new AbortController();
    const sleeping = target.sleep(1_000_000_000, later.signal);
    later.abort();
    await expect(sleeping).rejects.toThrow();
  });

  it('names the state machine as the local Step Functions service does', async () => {
    const sfn = await startLocalStepFunctions({
      region: 'us-east-1',
      clock: createClock('scale:60'),
      endpoints: {},
    });
    const client = new SFNClient(localClientConfig(sfn.endpoint));
    try {
      const created = await client.send(
        new CreateStateMachineCommand({
          name: STATE_MACHINE,
          definition: JSON.stringify({ StartAt: 'P', States: { P: { Type: 'Pass', End: true } } }),
          roleArn: 'arn:aws:iam::000000000000:role/test',
        }),
      );
      expect(targetFromDescription(description).stateMachineArn).toBe(created.stateMachineArn);
    } finally {
      client.destroy();
      await sfn.stop();
    }
  });

  it.each([
    ['missing', undefined, 'cannot be read'],
    ['not JSON', 'Ready in 3.1 s.', 'is not JSON'],
    ['an array', '[]', 'it is not a JSON object'],
    [
      'no table',
      JSON.stringify({ ...description, tableName: undefined }),
      '"tableName" must be a non-empty string',
    ],
    [
      'a remote endpoint',
      JSON.stringify({ ...description, s3: 'https://s3.amazonaws.com' }),
      '"s3" must be a loopback URL',
    ],
    [
      'no time scale',
      JSON.stringify({ ...description, timeScale: 0 }),
      '"timeScale" must be a positive number, got 0',
    ],
  ])(
    'refuses a description file that is %s, naming the file and the fix (exit 3)',
    (_what, text, problem) => {
      const file = path.join(dir, `bad-${_what.replace(/ /g, '-')}.json`);
      if (text !== undefined) writeFileSync(file, text);
      const read = () => readEndpoints(file);
      expect(read).toThrow(InputFileError);
      expect(read).toThrow(problem);
      expect(read).toThrow(`the endpoints file '${file}'`);
      expect(read).toThrow('npm run up -- --json > cloud.json');
    },
  );

  it('needs --endpoints, or a way to start a local cloud, for --target local', async () => {
    await expect(resolveTarget({ kind: 'local' })).rejects.toThrow(UsageError);
    await expect(resolveTarget({ kind: 'local' })).rejects.toThrow('npm run up');
    const started = targetFromDescription(description);
    await expect(
      resolveTarget({ kind: 'local' }, { startLocal: () => Promise.resolve(started) }),
    ).resolves.toBe(started);
  });
});

/** The stack's outputs as DescribeStacks returns them (names in the shape CloudFormation generates). */
const OUTPUT_VALUES: Record<string, string> = {
  [STACK_OUTPUTS.bucket]: 'durablevsstepfunctions-uploadsb1e2c3d4-abcdefghijkl',
  [STACK_OUTPUTS.tableName]: 'DurableVsStepFunctions-JobsTableA1B2C3D4-ABCDEFGHIJKL',
  [STACK_OUTPUTS.stateMachineArn]:
    'arn:aws:states:eu-west-1:000000000000:stateMachine:sfnorchestratorA1B2C3D4-AbCdEfGhIjKl',
  [STACK_OUTPUTS.durableAliasArn]:
    'arn:aws:lambda:eu-west-1:000000000000:function:DurableVsStepFunctions-durableorchestratorA1B2-AbCdEfGhIjKl:live',
  [STACK_OUTPUTS.durableFunctionName]: 'DurableVsStepFunctions-durableorchestratorA1B2-AbCdEfGhIjKl',
  [STACK_OUTPUTS.endpointNameSf]: 'reconstruct-3d-sf',
  [STACK_OUTPUTS.endpointNameLdf]: 'reconstruct-3d-ldf',
  [STACK_OUTPUTS.dashboardName]: 'durable-vs-stepfunctions',
};

function describeStacksXml(outputs: Record<string, string>, status = 'UPDATE_COMPLETE'): string {
  const members = Object.entries(outputs)
    .map(
      ([key, value]) =>
        `        <member>\n          <OutputKey>${key}</OutputKey>\n          <OutputValue>${value}</OutputValue>\n        </member>`,
    )
    .join('\n');
  return `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">
  <DescribeStacksResult>
    <Stacks>
      <member>
        <StackName>DurableVsStepFunctions</StackName>
        <StackId>arn:aws:cloudformation:eu-west-1:000000000000:stack/DurableVsStepFunctions/aaf549a0-a413-11df-adb3-5081b3858e83</StackId>
        <CreationTime>2026-11-30T10:00:00.000Z</CreationTime>
        <LastUpdatedTime>2026-12-01T09:30:00.000Z</LastUpdatedTime>
        <StackStatus>${status}</StackStatus>
        <DisableRollback>false</DisableRollback>
        <NotificationARNs/>
        <Capabilities>
          <member>CAPABILITY_IAM</member>
        </Capabilities>
        <Outputs>
${members}
        </Outputs>
        <Tags/>
        <EnableTerminationProtection>false</EnableTerminationProtection>
        <DriftInformation>
          <StackDriftStatus>NOT_CHECKED</StackDriftStatus>
        </DriftInformation>
      </member>
    </Stacks>
  </DescribeStacksResult>
  <ResponseMetadata>
    <RequestId>b9b4b068-3a41-11e5-94eb-example</RequestId>
  </ResponseMetadata>
</DescribeStacksResponse>
`;
}

const NO_STACK_XML = `<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">
  <Error>
    <Type>Sender</Type>
    <Code>ValidationError</Code>
    <Message>Stack with id Nope does not exist</Message>
  </Error>
  <RequestId>c1d2e3f4-0000-4000-8000-example</RequestId>
</ErrorResponse>
`;

describe("a running local cloud's skip clock, from outside its process (its clock endpoint)", () => {
  it('sleeps on the cloud clock (an idle hour is jumped over), reads its time, and holds it while working', async () => {
    const clock = createClock('skip');
    const server = await startClockServer(clock);
    try {
      const skip = { ...description, clock: 'skip', timeScale: 1, clockEndpoint: server.endpoint };
      const file = path.join(dir, 'skip.json');
      writeFileSync(file, JSON.stringify(skip));
      const target = await resolveTarget({ kind: 'local', endpoints: file });
      expect(target.clock).toEqual({ kind: 'skip' });
      const before = target.now();
      await target.sleep(3600);
      // The hour passed on the cloud's clock, jumped over, and this side's time follows it.
      expect(skipped(clock).skippedMs).toBeGreaterThanOrEqual(3_590_000);
      expect(target.now() - before).toBeGreaterThanOrEqual(3_600_000);
      expect(Math.abs(target.now() - clock.now())).toBeLessThan(1000);
      // While the client works, the cloud sees work in flight and cannot jump.
      const seen = await target.busy(() => Promise.resolve(clock.inFlight));
      expect(seen).toBe(1);
      await expect.poll(() => clock.inFlight).toBe(0);
      const stop = new AbortController();
      const sleeping = target.sleep(1_000_000, stop.signal);
      stop.abort();
      await expect(sleeping).rejects.toThrow();
    } finally {
      await server.stop();
    }
  });
});

describe('a deployed stack (--target aws)', () => {
  const requests: { method: string; url: string; body: URLSearchParams; authorization: string }[] = [];
  let reply: { status: number; body: string } = { status: 200, body: describeStacksXml(OUTPUT_VALUES) };
  const server = createServer((req, res) => {
    void readBody(req).then((body) => {
      requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        body: new URLSearchParams(body.toString()),
        authorization: String(req.headers.authorization ?? ''),
      });
      res.writeHead(reply.status, { 'content-type': 'text/xml' }).end(reply.body);
    });
  });
  let endpoint: string;
  beforeAll(async () => {
    endpoint = await listenOnLoopback(server);
  });
  afterAll(() => closeServer(server));
  const client = () => ({ endpoint, credentials: { ...LOCAL_CREDENTIALS }, maxAttempts: 1 });

  it('sends DescribeStacks for the stack and builds the Target from its outputs, on the real clock', async () => {
    reply = { status: 200, body: describeStacksXml(OUTPUT_VALUES) };
    requests.length = 0;
    const target = await awsTarget({ stack: 'DurableVsStepFunctions', region: 'eu-west-1' }, client());
    expect(requests).toHaveLength(1);
    const [request] = requests;
    expect(request!.method).toBe('POST');
    expect(Object.fromEntries(request!.body)).toEqual({
      Action: 'DescribeStacks',
      Version: '2010-05-15',
      StackName: 'DurableVsStepFunctions',
    });
    // Signed for CloudFormation in the stack's region.
    expect(request!.authorization).toMatch(
      /Credential=local\/\d{8}\/eu-west-1\/cloudformation\/aws4_request/,
    );
    expect(target).toMatchObject({
      kind: 'aws',
      region: 'eu-west-1',
      tableName: OUTPUT_VALUES[STACK_OUTPUTS.tableName],
      bucket: OUTPUT_VALUES[STACK_OUTPUTS.bucket],
      stateMachineArn: OUTPUT_VALUES[STACK_OUTPUTS.stateMachineArn],
      durableFunctionName: OUTPUT_VALUES[STACK_OUTPUTS.durableFunctionName],
      dashboardName: OUTPUT_VALUES[STACK_OUTPUTS.dashboardName],
      endpointNames: { sf: 'reconstruct-3d-sf', ldf: 'reconstruct-3d-ldf' },
      clock: { kind: 'real' },
    });
    expect(target.simulatedSeconds(1500)).toBe(1.5);
    // AWS's own endpoints and the caller's credentials: only the region is set.
    expect(target.clientConfig('dynamodb')).toEqual({ region: 'eu-west-1' });
  });

  it('names each missing output and the fix (exit 4)', async () => {
    const {
      [STACK_OUTPUTS.durableFunctionName]: _,
      [STACK_OUTPUTS.endpointNameLdf]: __,
      ...older
    } = OUTPUT_VALUES;
    reply = { status: 200, body: describeStacksXml(older) };
    const attempt = awsTarget({ stack: 'DurableVsStepFunctions', region: 'eu-west-1' }, client());
    await expect(attempt).rejects.toThrow(TargetUnreachableError);
    await expect(attempt).rejects.toThrow(
      "stack 'DurableVsStepFunctions' in eu-west-1 has no output DurableFunctionName, EndpointNameLdf",
    );
    await expect(attempt).rejects.toThrow('npx cdk deploy');
  });

  it('names a stack that does not exist, or is not deployed, with the fix (exit 4)', async () => {
    reply = { status: 400, body: NO_STACK_XML };
    const missing = awsTarget({ stack: 'Nope', region: 'eu-west-1' }, client());
    await expect(missing).rejects.toThrow(TargetUnreachableError);
    await expect(missing).rejects.toThrow(
      "stack 'Nope' does not exist in eu-west-1: deploy it with `npx cdk deploy`",
    );
    reply = { status: 200, body: describeStacksXml(OUTPUT_VALUES, 'ROLLBACK_COMPLETE') };
    await expect(
      awsTarget({ stack: 'DurableVsStepFunctions', region: 'eu-west-1' }, client()),
    ).rejects.toThrow('is ROLLBACK_COMPLETE, not deployed');
  });

  it('names an endpoint that does not answer (exit 4)', async () => {
    const gone = awsTarget(
      { stack: 'S', region: 'eu-west-1' },
      { ...client(), endpoint: 'http://127.0.0.1:9' },
    );
    await expect(gone).rejects.toThrow(TargetUnreachableError);
    await expect(gone).rejects.toThrow("could not read stack 'S' in eu-west-1");
  });
});
