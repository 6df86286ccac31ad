// The composition root: builds, once per cold start, everything the activities need from Config. The
// durable handler, every Step Functions task Lambda and the waker call this one function, so they
// share clients, stores, names and durations (lifecycleFor() and jobStoreOf() build the stores on
// them). Clients take the SDK's defaults: on AWS the Lambda environment; locally the deployer sets
// the SDK's own AWS_ENDPOINT_URL_<SERVICE> variables, so the very same code reaches the local cloud.
// Simulated durations are converted to real ones here, once.
import { CapacityMeter } from './consumed-capacity.ts';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { nameDynamoDBErrors } from './dynamodb-errors.ts';
import { endpointNameFor, type Config } from './config.ts';
import { EndpointStore } from './endpoint-lifecycle/endpoint-store.ts';
import { EndpointLifecycle } from './endpoint-lifecycle/lifecycle.ts';
import { sageMakerControl } from './endpoint-lifecycle/sagemaker-control.ts';
import {
  durableCallbackSender,
  stepFunctionsSender,
  type WaiterSenders,
} from './endpoint-lifecycle/waiter-senders.ts';
import { awsExecutionStatus, type ExecutionStatusReader } from './execution-status.ts';
import { JobStore } from './job-store.ts';
import type { Orchestrator } from './keys.ts';
import { s3ObjectStore, type ObjectStore } from './object-store.ts';

export interface Deps {
  doc: DynamoDBDocumentClient;
  /** The read and write units DynamoDB said the requests consumed; the handlers publish them. */
  capacity: CapacityMeter;
  tableName: string;
  sagemaker: SageMakerClient;
  runtime: SageMakerRuntimeClient;
  /** The uploads' and artifacts' store (S3). */
  objects: ObjectStore;
  events: EventBridgeClient;
  eventBusName: string;
  senders: WaiterSenders;
  /** Where an execution stands (DescribeExecution, GetDurableExecution), for the reconciler. */
  executions: ExecutionStatusReader;
  endpointNameFor(orchestrator: Orchestrator): string;
  endpointConfigName: string;
  /** Real milliseconds (the simulated settings divided by the time scale). */
  leaseTtlMs: number;
  idleWindowMs: number;
  stalledStartMs: number;
  jobRetentionDays: number;
  now: () => number;
  log?: (line: string) => void;
}

export type ServiceName =
  'dynamodb' | 's3' | 'sagemaker' | 'sagemakerRuntime' | 'eventbridge' | 'lambda' | 'sfn';

/** For callers outside a deployed function (tests, benchmarks): explicit endpoints and credentials. */
export interface ClientOverrides {
  endpoints?: Partial<Record<ServiceName, string>>;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  now?: () => number;
  log?: (line: string) => void;
}

export function createDeps(config: Config, overrides: ClientOverrides = {}): Deps {
  const settings = (service: ServiceName) => ({
    region: config.region,
    // A copy each: the SDK marks the credentials object it is given.
    ...(overrides.credentials ? { credentials: { ...overrides.credentials } } : {}),
    ...(overrides.endpoints?.[service] ? { endpoint: overrides.endpoints[service] } : {}),
  });
  // SageMaker errors are mapped to named retryable errors and retried by the workflow, which owns
  // every wait: the SDK's own backoff would be a hidden, billed sleep inside the Lambda.
  const sagemaker = new SageMakerClient({ ...settings('sagemaker'), maxAttempts: 1 });
  const runtime = new SageMakerRuntimeClient({ ...settings('sagemakerRuntime'), maxAttempts: 1 });
  const dynamodb = new DynamoDBClient(settings('dynamodb'));
  const sfn = new SFNClient(settings('sfn'));
  const lambda = new LambdaClient(settings('lambda'));
  const capacity = new CapacityMeter();
  capacity.attach(dynamodb);
  // Throttling the SDK could not retry past becomes ThrottledError, which both orchestrators retry.
  nameDynamoDBErrors(dynamodb);
  return {
    doc: DynamoDBDocumentClient.from(dynamodb, { marshallOptions: { removeUndefinedValues: true } }),
    capacity,
    tableName: config.tableName,
    sagemaker,
    runtime,
    objects: s3ObjectStore(new S3Client({ ...settings('s3'), forcePathStyle: config.s3ForcePathStyle })),
    events: new EventBridgeClient(settings('eventbridge')),
    eventBusName: config.eventBusName,
    senders: {
      'sfn-task-token': stepFunctionsSender(sfn),
      'durable-callback': durableCallbackSender(lambda),
    },
    executions: awsExecutionStatus({ sfn, lambda }),
    endpointNameFor: (orchestrator) => endpointNameFor(config, orchestrator),
    endpointConfigName: config.endpointConfigName,
    // Durations and `now` are on one clock: AWS's, or the local cloud's (a function's Date reads it).
    leaseTtlMs: config.leaseTtlSeconds * 1000,
    idleWindowMs: config.idleWindowSeconds * 1000,
    stalledStartMs: config.stalledStartSeconds * 1000,
    jobRetentionDays: config.jobRetentionDays,
    now: overrides.now ?? Date.now,
    ...(overrides.log ? { log: overrides.log } : {}),
  };
}

/** The one lifecycle of an orchestrator's endpoint. */
export function lifecycleFor(deps: Deps, orchestrator: Orchestrator): EndpointLifecycle {
  return new EndpointLifecycle({
    store: new EndpointStore(deps.doc, deps.tableName, orchestrator),
    control: sageMakerControl(deps.sagemaker),
    endpointName: deps.endpointNameFor(orchestrator),
    endpointConfigName: deps.endpointConfigName,
    leaseTtlMs: deps.leaseTtlMs,
    idleWindowMs: deps.idleWindowMs,
    stalledStartMs: deps.stalledStartMs,
    now: deps.now,
    log: deps.log,
  });
}

/** The job store, on the table and the clock of `deps`. */
export function jobStoreOf(deps: Deps): JobStore {
  return new JobStore(deps.doc, deps.tableName, {
    retentionDays: deps.jobRetentionDays,
    now: () => new Date(deps.now()),
  });
}
