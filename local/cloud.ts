// The local cloud: every AWS stand-in the project needs, on free loopback ports, started together
// and stopped together. `npm run up` and the tests both start it through startLocalCloud().
import { startClockServer } from './common/clock-server.ts';
import { DEFAULT_LOCAL_REGION, localClientConfig, type ClientConfig } from '../shared/aws.ts';
import type { ServiceName } from '../shared/deps.ts';
import { createTable, startLocalDynamoDB, type LocalDynamoDB } from './dynamodb/dynamodb-local.ts';
import { startDynamoDBFaultProxy, type DynamoDBFaults } from './dynamodb/fault-proxy.ts';
import { createClock, formatClockMode, type Clock, type ClockMode } from './common/clock.ts';
import { LocalEventBus } from './eventbridge/event-bus.ts';
import { startLocalS3, type LocalS3 } from './s3/service.ts';
import { toEventBridgeEvent } from './s3/events.ts';
import { inferenceServerContainer, type ContainerLauncher } from './sagemaker/containers.ts';
import type { Timings } from './sagemaker/control-plane.ts';
import { startSageMakerEmulator, type SageMakerEmulator } from './sagemaker/emulator.ts';
import { LocalLambda } from './lambda/service.ts';
import { LOCAL_ACCOUNT_ID } from './common/account.ts';
import { startLocalCloudWatch, type LocalCloudWatch } from './cloudwatch/server.ts';
import { emfIntake } from './cloudwatch/log-intake.ts';
import { startLocalStepFunctions, type LocalStepFunctions } from './stepfunctions/service.ts';

export interface LocalCloudOptions {
  region?: string;
  tableName?: string;
  bucket?: string;
  /**
   * The clock of every AWS timer and timestamp: `skip`, `real` or `scale:N` (common/clock.ts);
   * default DEFAULT_CLOCK.
   */
  clock?: string | ClockMode;
  /** Simulated SageMaker durations (create, update, delete, health-check timeout). */
  sagemakerTimings?: Partial<Timings>;
  /**
   * How SageMaker endpoints run their model container: a launcher or the URL of a running server.
   * Default: the project's inference server, one process per endpoint.
   */
  container?: ContainerLauncher | string;
  /** Progress lines for a person watching (`npm run up` prints them); silent by default. */
  log?: (line: string) => void;
  /**
   * Where the Lambda functions' console output (their logs and EMF metrics) goes, by function;
   * default this process's stdout and stderr, as a function's log stream.
   */
  functionOutput?: (functionName: string, text: string) => void;
}

/** What `npm run up -- --json` prints: where every part listens. */
export interface LocalCloudDescription {
  region: string;
  tableName: string;
  bucket: string;
  /** DynamoDB, as every client reaches it: the fault proxy in front of DynamoDB Local. */
  dynamodb: string;
  /** DynamoDB Local's own endpoint (the JVM), bypassing the fault proxy. */
  dynamodbLocal?: string;
  s3: string;
  /** The EventBridge API (PutEvents) of the local bus. */
  eventbridge: string;
  eventBusName: string;
  /** SageMaker control plane and runtime (the same local server). */
  sagemaker: string;
  sagemakerRuntime: string;
  /** The Lambda API (Invoke and the durable execution APIs) of the local Lambda. */
  lambda: string;
  /** The Step Functions API of the local Step Functions service. */
  stepfunctions: string;
  /** The CloudWatch API (metrics, dashboards) of the local CloudWatch. */
  cloudwatch: string;
  /** The clock the services run on, as `--clock` takes it: `skip`, `real` or `scale:N`. */
  clock: string;
  /** Simulated seconds per real second: N on `scale:N`, 1 otherwise (skip runs at 1x while busy). */
  timeScale: number;
  /**
   * The clock for clients outside the process (local/common/clock-server.ts): `GET /` reads it,
   * `/sleep?seconds=S` waits on it, `/busy` marks the client's work in flight while open.
   */
  clockEndpoint?: string;
}

export interface LocalCloud extends LocalCloudDescription {
  s3Server: LocalS3;
  dynamoDb: LocalDynamoDB;
  /** DynamoDB's throttling on demand: arm throttles for the next requests (dynamodb/fault-proxy.ts). */
  dynamoDbFaults: DynamoDBFaults;
  /** The local EventBridge bus: S3 object events arrive on it; rules route them to targets. */
  bus: LocalEventBus;
  sagemakerEmulator: SageMakerEmulator;
  /** The local Lambda: deploy functions into it, invoke them, watch their durable executions. */
  lambdaService: LocalLambda;
  /** The local Step Functions service; its Tasks call the other local services. */
  stepFunctions: LocalStepFunctions;
  /** The local CloudWatch: the functions' EMF lines become its metrics. */
  cloudWatch: LocalCloudWatch;
  /** The one clock of every service: sleep on it, read it, mark work in flight on it. */
  time: Clock;
  /** Settings for an AWS SDK v3 client of the named local service. */
  clientConfig(
    service:
      | 'dynamodb'
      | 's3'
      | 'eventbridge'
      | 'sagemaker'
      | 'sagemakerRuntime'
      | 'lambda'
      | 'stepfunctions'
      | 'cloudwatch',
  ): ClientConfig;
  /** Every service's endpoint by the composition root's names (shared/deps.ts `createDeps` endpoints). */
  serviceEndpoints(): Record<ServiceName, string>;
  describe(): LocalCloudDescription;
  stop(): Promise<void>;
}

export const DEFAULT_TABLE_NAME = 'durable-vs-sfn';
export const DEFAULT_BUCKET = 'uploads';
/**
 * The default clock, what `npm start`, `dvs bench` and every benchmark run on: real speed while
 * anything works, a jump to the next timer when the cloud is idle, so latencies are the real cost of
 * the local work plus the modelled AWS times. `npm run up` picks WATCH_CLOCK instead.
 */
export const DEFAULT_CLOCK = 'skip';
/** The clock `npm run up` starts by default: a steady pace a person with the AWS CLI can follow. */
export const WATCH_CLOCK = 'scale:60';

export async function startLocalCloud(options: LocalCloudOptions = {}): Promise<LocalCloud> {
  const region = options.region ?? DEFAULT_LOCAL_REGION;
  const tableName = options.tableName ?? DEFAULT_TABLE_NAME;
  const bucket = options.bucket ?? DEFAULT_BUCKET;
  const log = options.log ?? (() => undefined);
  const clock = createClock(options.clock ?? DEFAULT_CLOCK);
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async (): Promise<void> => {
    const results = await Promise.allSettled(
      stops
        .splice(0)
        .reverse()
        .map((stop) => stop()),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  };

  try {
    // Start the parts side by side: the JVM's start-up dominates, S3 is ready in milliseconds.
    const [dynamoDb, s3Server] = await Promise.all([
      startLocalDynamoDB().then((d) => {
        stops.push(() => d.stop());
        log(`DynamoDB Local  ${d.endpoint}`);
        return d;
      }),
      startLocalS3({ buckets: [bucket], clock }).then((s) => {
        stops.push(() => s.stop());
        log(`S3              ${s.endpoint}  (bucket ${bucket})`);
        return s;
      }),
    ]);
    await createTable(dynamoDb.endpoint, tableName, region);
    log(`table           ${tableName}`);
    // Every client reaches DynamoDB through the fault proxy, so a test can throttle any of them.
    const dynamoProxy = await startDynamoDBFaultProxy({
      upstream: dynamoDb.endpoint,
      region,
      tableName,
      log,
    });
    stops.push(() => dynamoProxy.stop());
    log(`DynamoDB        ${dynamoProxy.endpoint}  (fault proxy)`);

    // S3 sends its object events to the bus, as a bucket with EventBridge notifications enabled does.
    // The bus starts with no rules: the app's deployer puts them (deploy-app.ts putAppRules).
    const bus = new LocalEventBus({ region, log, clock });
    stops.push(() => bus.stop());
    const stopForwarding = s3Server.onObjectEvent((event) => {
      const converted = toEventBridgeEvent(event, { region, now: () => clock.now() });
      if (converted) bus.publish(converted);
    });
    stops.push(() => Promise.resolve(stopForwarding()));
    const eventbridge = await bus.listen();
    log(`EventBridge     ${eventbridge}  (bus ${bus.name})`);

    // CloudWatch first: every service below publishes its AWS metrics into it, as on AWS.
    const cloudWatch = await startLocalCloudWatch({
      region,
      account: LOCAL_ACCOUNT_ID,
      log,
      clock,
      now: () => clock.now(),
    });
    stops.push(() => cloudWatch.stop());
    log(`CloudWatch      ${cloudWatch.endpoint}`);

    // SageMaker sends its endpoint state changes to the default bus, as on AWS.
    const sagemakerEmulator = await startSageMakerEmulator({
      region,
      timeScale: clock,
      ...(options.sagemakerTimings ? { timings: options.sagemakerTimings } : {}),
      container: options.container ?? inferenceServerContainer(s3Server.endpoint, region),
      publish: (event) => bus.publish(event),
      log,
      metrics: cloudWatch.service,
    });
    stops.push(() => sagemakerEmulator.stop());
    log(`SageMaker       ${sagemakerEmulator.endpoint}  (clock ${formatClockMode(clock.mode)})`);

    // Functions get the other services' endpoints, so SDK clients with default settings reach them.
    // Step Functions is added once it listens: its Tasks invoke the functions, and the functions
    // answer its task tokens.
    const functionEnvironment: Record<string, string> = {
      AWS_ENDPOINT_URL_DYNAMODB: dynamoProxy.endpoint,
      AWS_ENDPOINT_URL_S3: s3Server.endpoint,
      AWS_ENDPOINT_URL_EVENTBRIDGE: eventbridge,
      AWS_ENDPOINT_URL_SAGEMAKER: sagemakerEmulator.endpoint,
      AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: sagemakerEmulator.runtimeEndpoint,
      AWS_ENDPOINT_URL_CLOUDWATCH: cloudWatch.endpoint,
    };
    const lambdaService = new LocalLambda({
      region,
      clock,
      environment: functionEnvironment,
      log,
      functionOutput: emfIntake(cloudWatch, options.functionOutput),
      metrics: cloudWatch.service,
    });
    const lambda = await lambdaService.listen();
    stops.push(() => lambdaService.stop());
    log(`Lambda          ${lambda}`);

    // Step Functions' Tasks call the services above, and only those (never real AWS).
    const stepFunctions = await startLocalStepFunctions({
      region,
      clock,
      endpoints: {
        dynamodb: dynamoProxy.endpoint,
        s3: s3Server.endpoint,
        eventbridge,
        sagemaker: sagemakerEmulator.endpoint,
        sagemakerRuntime: sagemakerEmulator.runtimeEndpoint,
        lambda,
      },
      log,
      metrics: cloudWatch.service,
      // Step Functions sends its executions' status changes to the default bus, as on AWS.
      publish: (event) => bus.publish(event),
    });
    stops.push(() => stepFunctions.stop());
    functionEnvironment.AWS_ENDPOINT_URL_SFN = stepFunctions.endpoint;
    log(`Step Functions  ${stepFunctions.endpoint}`);

    const clockServer = await startClockServer(clock);
    stops.push(() => clockServer.stop());
    log(`Clock           ${clockServer.endpoint}  (${formatClockMode(clock.mode)})`);

    const description: LocalCloudDescription = {
      region,
      tableName,
      bucket,
      dynamodb: dynamoProxy.endpoint,
      dynamodbLocal: dynamoDb.endpoint,
      s3: s3Server.endpoint,
      eventbridge,
      eventBusName: bus.name,
      sagemaker: sagemakerEmulator.endpoint,
      sagemakerRuntime: sagemakerEmulator.runtimeEndpoint,
      lambda,
      stepfunctions: stepFunctions.endpoint,
      cloudwatch: cloudWatch.endpoint,
      clock: formatClockMode(clock.mode),
      timeScale: clock.mode.kind === 'scale' ? clock.mode.factor : 1,
      clockEndpoint: clockServer.endpoint,
    };
    return {
      ...description,
      s3Server,
      dynamoDb,
      dynamoDbFaults: dynamoProxy.faults,
      bus,
      sagemakerEmulator,
      lambdaService,
      stepFunctions,
      cloudWatch,
      time: clock,
      clientConfig: (service) => localClientConfig(description[service], region),
      describe: () => ({ ...description }),
      serviceEndpoints: () => ({
        dynamodb: description.dynamodb,
        s3: description.s3,
        sagemaker: description.sagemaker,
        sagemakerRuntime: description.sagemakerRuntime,
        eventbridge: description.eventbridge,
        lambda: description.lambda,
        sfn: description.stepfunctions,
      }),
      stop: stopAll,
    };
  } catch (err) {
    await stopAll().catch(() => undefined);
    throw err;
  }
}
