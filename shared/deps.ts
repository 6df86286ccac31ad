// The composition root: builds, once per cold start, everything the activities need from Config. The
// durable handler, every Step Functions task Lambda and the waker call this one function, so they
// share clients, stores, names and durations. Clients take the SDK's defaults: on AWS the Lambda
// environment; locally the deployer sets the SDK's own AWS_ENDPOINT_URL_<SERVICE> variables, so the
// very same code reaches the local cloud. Simulated durations are converted to real ones here, once.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { endpointNameFor, type Config } from './config.ts';
import {
  durableCallbackSender,
  stepFunctionsSender,
  type WaiterSenders,
} from './endpoint-lifecycle/waiter-senders.ts';
import type { Orchestrator } from './keys.ts';
import { timeScale } from './time-scale.ts';

export interface Deps {
  doc: DynamoDBDocumentClient;
  tableName: string;
  sagemaker: SageMakerClient;
  runtime: SageMakerRuntimeClient;
  s3: S3Client;
  events: EventBridgeClient;
  eventBusName: string;
  senders: WaiterSenders;
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

export interface ClientOverrides {
  /** Extra settings for every client (tests pass endpoints and credentials here). */
  client?: {
    region?: string;
    endpoint?: string;
    credentials?: { accessKeyId: string; secretAccessKey: string };
  };
  now?: () => number;
  log?: (line: string) => void;
}

export function createDeps(config: Config, overrides: ClientOverrides = {}): Deps {
  const base = { region: config.region, ...overrides.client };
  const time = timeScale(config.timeScale);
  const toRealMs = (seconds: number): number => time.toRealMs(seconds);
  // SageMaker errors are mapped to named retryable errors and retried by the workflow, which owns
  // every wait: the SDK's own backoff would be a hidden, billed sleep inside the Lambda.
  const sagemaker = new SageMakerClient({ ...base, maxAttempts: 1 });
  const runtime = new SageMakerRuntimeClient({ ...base, maxAttempts: 1 });
  return {
    doc: DynamoDBDocumentClient.from(new DynamoDBClient(base), {
      marshallOptions: { removeUndefinedValues: true },
    }),
    tableName: config.tableName,
    sagemaker,
    runtime,
    s3: new S3Client({ ...base, forcePathStyle: config.s3ForcePathStyle }),
    events: new EventBridgeClient(base),
    eventBusName: config.eventBusName,
    senders: {
      'sfn-task-token': stepFunctionsSender(new SFNClient(base)),
      'durable-callback': durableCallbackSender(new LambdaClient(base)),
    },
    endpointNameFor: (orchestrator) => endpointNameFor(config, orchestrator),
    endpointConfigName: config.endpointConfigName,
    leaseTtlMs: toRealMs(config.leaseTtlSeconds),
    idleWindowMs: toRealMs(config.idleWindowSeconds),
    stalledStartMs: toRealMs(config.stalledStartSeconds),
    jobRetentionDays: config.jobRetentionDays,
    now: overrides.now ?? Date.now,
    ...(overrides.log ? { log: overrides.log } : {}),
  };
}
