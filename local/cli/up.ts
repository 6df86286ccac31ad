// `npm run up`: bring the local cloud up and keep it up until interrupted.
import { parseArgs } from 'node:util';
import { startLocalCloud, WATCH_CLOCK, type LocalCloud } from '../cloud.ts';
import { parseClockMode, type ClockMode } from '../common/clock.ts';
import { parseFunctionFlag } from '../lambda/function-flag.ts';
import type { DeployedRef, DeploySpec } from '../lambda/deploy.ts';
import { ancestors, watchAncestors } from '../common/process-lifetime.ts';
import { appDefinition, FUNCTIONS, STATE_MACHINE } from '../../infra/app-definition.ts';
import { isWaitMode, WAIT_MODES } from '../../shared/config.ts';
import { deployApp, localAppSettings, type DeployedApp } from '../deploy-app.ts';
import { requireNode22 } from './preflight.ts';

const HELP = `Usage: npm run up [-- --json] [--clock skip|real|scale:N] [--wait-mode poll|event] [--no-app]
                  [--container-url URL] [--function NAME=path/to/module.ts[:export]]... [--help]

Starts the local cloud on free ports of 127.0.0.1 and keeps it running until you press Ctrl-C:
  DynamoDB Local (the single table), S3 (the uploads bucket; its uploads go to the event bus),
  EventBridge (the local bus; PutEvents), SageMaker (control plane
  and runtime, endpoint state changes onto the bus), Lambda (Invoke and the durable execution APIs)
  Step Functions (the SFN API; its Tasks call the local services above, never AWS) and CloudWatch
  (metrics and dashboards; the functions' EMF lines become its metrics).
Then it deploys the app from its one definition (infra/app-definition.ts), as the CDK stack does on
AWS: the durable orchestrator behind alias 'live', the state machine and its task Lambda, the waker,
and the rules on the bus with their targets. An image and its mask uploaded with any S3 client start BOTH orchestrators; each runs
the job on its own endpoint (reconstruct-3d-ldf, reconstruct-3d-sf) and writes its own result under
users/{user}/output/ldf/ and .../output/sf/.
It accepts any AWS access key and secret. Point a client at the printed endpoints, e.g.
  aws --endpoint-url <s3> s3 cp ./chair_mask.png s3://uploads/users/u1/input/chair_mask.png
  aws --endpoint-url <s3> s3 cp ./chair_image.png s3://uploads/users/u1/input/chair_image.png
  aws --endpoint-url <lambda> lambda list-durable-executions-by-function --function-name durable-orchestrator
  aws --endpoint-url <lambda> lambda get-durable-execution-history --durable-execution-arn ARN
  aws --endpoint-url <stepfunctions> stepfunctions list-executions --state-machine-arn ARN
  aws --endpoint-url <stepfunctions> stepfunctions get-execution-history --execution-arn ARN
  aws --endpoint-url <sagemaker> sagemaker list-endpoints

Options:
  --json                once everything is ready, print one JSON object on stdout ({"dynamodb", "s3",
                        "eventbridge", "sagemaker", "sagemakerRuntime", "lambda", "stepfunctions",
                        "region", "tableName", "bucket", "eventBusName", "clock", "timeScale", "clockEndpoint",
                        "functions",
                        "app": {"waitMode", "functions", "stateMachineArn", "durableOrchestrator", "dashboard"}});
                        progress goes to stderr
  --clock CLOCK         the clock of every AWS timer and timestamp (default ${WATCH_CLOCK}):
                        scale:N   N simulated seconds per real second (scale:60: a 5-minute endpoint
                                  start takes 5 s), a steady pace to watch
                        skip      real speed while anything works, and when the whole cloud is idle a
                                  jump to the next due timer (a 5-minute start costs no wall time;
                                  what npm start and the benchmarks use)
                        real      AWS's own pace
  --wait-mode MODE      how the orchestrators wait for the mask and the endpoint: poll (default:
                        look again with capped backoff) or event (woken by the mask's upload and by
                        SageMaker's state-change event)
  --no-app              start the services only: no app functions, state machine or rules on the bus
                        (--function still deploys yours)
  --container-url URL   a model server that is already running (GET /ping, POST /invocations) for every
                        SageMaker endpoint; by default each endpoint starts its own process of the
                        project's inference server (container/), reading and writing the local S3
  --function NAME=path/to/module.ts[:export]
                        serve your own handler (export default: handler) as Lambda function NAME, with
                        version 1 and alias 'live'; durable when the export is wrapped by
                        withDurableExecution (invoke it as NAME:live). Repeat for more functions. Each
                        runs in its own worker thread, with the local endpoints in its environment
  --help                show this text

Needs: Node 22 (installed by \`npm ci\`) and Java 17+ for DynamoDB Local.`;

// Who started us, taken before anything is printed: whoever reads the JSON may kill npm at once, and an
// ancestor already gone when the watch begins would be missing from the list and never be missed.
const lineage = ancestors();

async function main(): Promise<void> {
  requireNode22();
  const { values } = parseArgs({
    options: {
      json: { type: 'boolean' },
      help: { type: 'boolean' },
      clock: { type: 'string' },
      'container-url': { type: 'string' },
      function: { type: 'string', multiple: true },
      'wait-mode': { type: 'string', default: 'poll' },
      'no-app': { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const json = values.json ?? false;
  let clock: ClockMode;
  try {
    clock = parseClockMode(values.clock ?? WATCH_CLOCK);
  } catch (err) {
    console.error(`--${(err as Error).message}`);
    process.exit(2);
  }
  const containerUrl = values['container-url'];
  if (containerUrl !== undefined && !/^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?\/?$/.test(containerUrl)) {
    console.error(
      `--container-url must be a loopback URL such as http://127.0.0.1:8080, got '${containerUrl}'`,
    );
    process.exit(2);
  }
  const waitMode = values['wait-mode'];
  if (!isWaitMode(waitMode)) {
    console.error(`--wait-mode must be one of ${WAIT_MODES.join(', ')}, got '${waitMode}'`);
    process.exit(2);
  }
  let functions: DeploySpec[];
  try {
    functions = (values.function ?? []).map(parseFunctionFlag);
  } catch (err) {
    console.error((err as Error).message);
    process.exit(2);
  }
  // With --json, stdout carries exactly one JSON object; progress goes to stderr.
  const say = (line: string): void => void (json ? console.error(line) : console.log(line));

  const started = performance.now();
  say('Starting the local cloud...');
  let cloud: LocalCloud;
  try {
    cloud = await startLocalCloud({
      log: (line) => say(`  ${line}`),
      // The functions' logs are progress too: with --json they must not mix into stdout's one object.
      ...(json ? { functionOutput: (_fn: string, text: string) => void process.stderr.write(text) } : {}),
      clock,
      ...(containerUrl === undefined ? {} : { container: containerUrl }),
    });
  } catch (err) {
    console.error(`Could not start the local cloud: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
  const deployed: DeployedRef[] = [];
  try {
    for (const spec of functions) deployed.push(await cloud.lambdaService.deploy(spec));
  } catch (err) {
    console.error(`Could not deploy a --function: ${err instanceof Error ? err.message : String(err)}`);
    await cloud.stop().catch(() => undefined);
    process.exit(2);
  }
  let app: DeployedApp | undefined;
  if (!values['no-app']) {
    try {
      say(`Deploying the app (wait mode ${waitMode})...`);
      app = await deployApp(cloud, appDefinition(localAppSettings(cloud, { waitMode })), {
        log: (line) => say(`  ${line}`),
      });
    } catch (err) {
      console.error(`Could not deploy the app: ${err instanceof Error ? err.message : String(err)}`);
      await cloud.stop().catch(() => undefined);
      process.exit(1);
    }
  }
  const appDescription = app && {
    waitMode,
    functions: app.functions,
    stateMachineArn: app.stateMachines[STATE_MACHINE],
    durableOrchestrator: app.functions[FUNCTIONS.durable],
    dashboard: app.dashboard.name,
  };
  if (json) console.log(JSON.stringify({ ...cloud.describe(), functions: deployed, app: appDescription }));
  else
    say(
      `Ready in ${((performance.now() - started) / 1000).toFixed(1)} s. Region ${cloud.region}. Clock ${cloud.clock}. Ctrl-C to stop.`,
    );

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    say(`\n${signal}: stopping the local cloud...`);
    cloud
      .stop()
      .then(() => {
        say('Stopped.');
        process.exit(0);
      })
      .catch((err: unknown) => {
        console.error('Stop failed:', err);
        process.exit(1);
      });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  // `kill -9` of npm (or of tsx's launcher) sends no signal here: the cloud notices its ancestor is gone.
  watchAncestors((who) => stop(`process ${who.pid} that started the local cloud ended`), lineage);
  // Keep the process alive until a signal arrives.
  setInterval(() => undefined, 1 << 30);
}

await main();
