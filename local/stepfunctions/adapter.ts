// The one Task adapter: it turns a Task's resource and effective parameters into the real AWS SDK v3
// call against the local cloud, and names failures exactly as Step Functions does. A client is only
// ever built with an explicit loopback endpoint from the adapter's configuration; a resource with no
// configured service or no such SDK command fails the Task loudly instead (the engine, left to
// itself, would send it to real AWS Lambda).
import { randomUUID } from 'node:crypto';
import { LOCAL_CREDENTIALS } from '../../shared/aws.ts';
import { AsyncLocalStorage } from 'node:async_hooks';
import { Agent } from 'node:http';
import { CALLER_HEADER } from '../common/http-server.ts';
import type { Json, JsonObject } from './definition.ts';
import { statesRuntime, TaskError } from './errors.ts';
import type { TaskResource } from './resource.ts';

/** The local cloud's endpoints the adapter may call, by the project's service names. */
export interface AdapterEndpoints {
  dynamodb?: string;
  s3?: string;
  eventbridge?: string;
  sagemaker?: string;
  sagemakerRuntime?: string;
  lambda?: string;
  stepfunctions?: string;
}

interface SdkService {
  /** The package and client class of the AWS SDK v3. */
  load: () => Promise<Record<string, unknown>>;
  client: string;
  endpoint: keyof AdapterEndpoints;
  /** Error prefix for `aws-sdk:` integrations and for optimized ones (Step Functions' own casing). */
  sdkPrefix: string;
  optimizedPrefix: string;
}

const SERVICES: Record<string, SdkService> = {
  dynamodb: {
    load: () => import('@aws-sdk/client-dynamodb'),
    client: 'DynamoDBClient',
    endpoint: 'dynamodb',
    sdkPrefix: 'DynamoDb',
    optimizedPrefix: 'DynamoDB',
  },
  sagemaker: {
    load: () => import('@aws-sdk/client-sagemaker'),
    client: 'SageMakerClient',
    endpoint: 'sagemaker',
    sdkPrefix: 'SageMaker',
    optimizedPrefix: 'SageMaker',
  },
  sagemakerruntime: {
    load: () => import('@aws-sdk/client-sagemaker-runtime'),
    client: 'SageMakerRuntimeClient',
    endpoint: 'sagemakerRuntime',
    sdkPrefix: 'SageMakerRuntime',
    optimizedPrefix: 'SageMakerRuntime',
  },
  s3: {
    load: () => import('@aws-sdk/client-s3'),
    client: 'S3Client',
    endpoint: 's3',
    sdkPrefix: 'S3',
    optimizedPrefix: 'S3',
  },
  eventbridge: {
    load: () => import('@aws-sdk/client-eventbridge'),
    client: 'EventBridgeClient',
    endpoint: 'eventbridge',
    sdkPrefix: 'EventBridge',
    optimizedPrefix: 'EventBridge',
  },
  lambda: {
    load: () => import('@aws-sdk/client-lambda'),
    client: 'LambdaClient',
    endpoint: 'lambda',
    sdkPrefix: 'Lambda',
    optimizedPrefix: 'Lambda',
  },
  sfn: {
    load: () => import('@aws-sdk/client-sfn'),
    client: 'SFNClient',
    endpoint: 'stepfunctions',
    sdkPrefix: 'Sfn',
    optimizedPrefix: 'StepFunctions',
  },
};

/** Optimized integrations (`arn:aws:states:::<service>:<action>`) the adapter serves, by service. */
const OPTIMIZED: Record<string, { service: string; actions: string[] }> = {
  lambda: { service: 'lambda', actions: ['invoke'] },
  dynamodb: { service: 'dynamodb', actions: ['getItem', 'putItem', 'updateItem', 'deleteItem'] },
  events: { service: 'eventbridge', actions: ['putEvents'] },
  sagemaker: {
    service: 'sagemaker',
    actions: ['createEndpoint', 'createEndpointConfig', 'createModel', 'updateEndpoint'],
  },
};

/** The services an `aws-sdk:<service>:<action>` Task may name. */
export const SDK_SERVICES = Object.keys(SERVICES);

interface SdkClient {
  send(command: unknown, options?: { abortSignal?: AbortSignal }): Promise<Record<string, unknown>>;
  destroy(): void;
  middlewareStack: {
    add(
      middleware: (
        next: (args: { request: unknown }) => Promise<unknown>,
      ) => (args: { request: unknown }) => Promise<unknown>,
      options: { step: 'build'; name: string },
    ): void;
  };
}

/** The caller id of the Task whose call runs now: its requests carry it (local/common/http-server.ts). */
const taskCaller = new AsyncLocalStorage<string>();

/** Runs a Task's call with its requests carrying `callerId`, so a tracked server sets the Task aside. */
export function asCaller<T>(callerId: string, call: () => Promise<T>): Promise<T> {
  return taskCaller.run(callerId, call);
}

export interface TaskAdapterOptions {
  region: string;
  endpoints: AdapterEndpoints;
}

export class TaskAdapter {
  private readonly clients = new Map<
    string,
    Promise<{ client: SdkClient; module: Record<string, unknown> }>
  >();

  /**
   * Step Functions has no cap on Tasks in flight; the SDK's default of 50 sockets would queue the rest
   * here, where they count as work in flight and keep a skip clock from jumping. One agent for every
   * client, destroyed with the adapter.
   */
  private readonly agent = new Agent({ keepAlive: true, maxSockets: Infinity });

  constructor(private readonly options: TaskAdapterOptions) {
    this.options = { ...options, endpoints: { ...options.endpoints } };
    for (const [name, url] of Object.entries(options.endpoints) as [string, string | undefined][]) {
      if (url !== undefined) assertLoopback(name, url);
    }
  }

  /**
   * Runs a Task's call. Returns what TaskSucceeded records (before ResultSelector); throws a
   * TaskError named as Step Functions names it.
   */
  async call(resource: TaskResource, parameters: Json, signal?: AbortSignal): Promise<Json> {
    if (resource.kind === 'lambda-function') {
      return this.invokeLambda(resource.arn, parameters, signal, false);
    }
    if (resource.sdk) {
      const service = SERVICES[resource.service];
      if (!service)
        throw noAdapter(resource.arn, `aws-sdk services served locally: ${SDK_SERVICES.join(', ')}`);
      return this.send(
        resource.arn,
        resource.service,
        resource.action,
        service.sdkPrefix,
        parameters,
        signal,
      );
    }
    const optimized = OPTIMIZED[resource.service];
    if (!optimized?.actions.includes(resource.action)) {
      throw noAdapter(
        resource.arn,
        `optimized integrations served locally: ${Object.entries(OPTIMIZED)
          .flatMap(([s, o]) => o.actions.map((a) => `${s}:${a}`))
          .join(', ')}`,
      );
    }
    if (resource.service === 'lambda') return this.invokeLambda(resource.arn, parameters, signal, true);
    const prefix = SERVICES[optimized.service]?.optimizedPrefix ?? optimized.service;
    if (resource.service === 'events') return this.putEvents(resource, parameters, signal);
    const output = await this.send(
      resource.arn,
      optimized.service,
      resource.action,
      prefix,
      parameters,
      signal,
    );
    return resource.service === 'dynamodb' ? withSdkMetadata(output) : output;
  }

  /** Adds a service endpoint once it is known (the Step Functions service's own, the local Lambda). */
  setEndpoint(name: keyof AdapterEndpoints, url: string): void {
    assertLoopback(name, url);
    this.options.endpoints[name] = url;
    this.clients.clear();
  }

  /** Stops every client the adapter made. */
  destroy(): void {
    for (const entry of this.clients.values())
      void entry.then(({ client }) => client.destroy()).catch(() => undefined);
    this.clients.clear();
    this.agent.destroy();
  }

  private async invokeLambda(
    arn: string,
    parameters: Json,
    signal: AbortSignal | undefined,
    optimized: boolean,
  ): Promise<Json> {
    let input: JsonObject;
    if (optimized) {
      if (!isObject(parameters) || typeof parameters.FunctionName !== 'string') {
        throw new TaskError('States.Runtime', `The field 'FunctionName' is required for '${arn}'`, false);
      }
      input = { ...parameters, Payload: JSON.stringify(parameters.Payload ?? {}) };
    } else {
      input = { FunctionName: arn, Payload: JSON.stringify(parameters) };
    }
    const raw = await this.send(arn, 'lambda', 'invoke', 'Lambda', input, signal, true);
    const payloadText = typeof raw.Payload === 'string' ? raw.Payload : '';
    let payload: Json = payloadText;
    try {
      payload = payloadText === '' ? null : (JSON.parse(payloadText) as Json);
    } catch {
      // A function may return any bytes; Step Functions passes them on as a string.
    }
    if (typeof raw.FunctionError === 'string') {
      // As on AWS: the function's errorType is the error name, its raw payload the cause.
      const errorType =
        isObject(payload) && typeof payload.errorType === 'string' ? payload.errorType : 'Lambda.Unknown';
      throw new TaskError(errorType, payloadText);
    }
    if (!optimized) return payload;
    return withSdkMetadata({
      ExecutedVersion: raw.ExecutedVersion ?? '$LATEST',
      Payload: payload,
      StatusCode: raw.StatusCode ?? 200,
      $metadata: raw.$metadata ?? null,
    });
  }

  private async putEvents(resource: TaskResource, parameters: Json, signal?: AbortSignal): Promise<Json> {
    // The optimized integration takes Detail as JSON; the API takes a string.
    const entries = isObject(parameters) && Array.isArray(parameters.Entries) ? parameters.Entries : [];
    const input = {
      ...(isObject(parameters) ? parameters : {}),
      Entries: entries.map((entry) =>
        isObject(entry) && entry.Detail !== undefined && typeof entry.Detail !== 'string'
          ? { ...entry, Detail: JSON.stringify(entry.Detail) }
          : entry,
      ),
    };
    const output = await this.send(resource.arn, 'eventbridge', 'putEvents', 'EventBridge', input, signal);
    if (typeof output.FailedEntryCount === 'number' && output.FailedEntryCount > 0) {
      throw new TaskError('EventBridge.FailedEntry', JSON.stringify(output));
    }
    return output;
  }

  private async send(
    arn: string,
    serviceName: string,
    action: string,
    prefix: string,
    parameters: Json,
    signal: AbortSignal | undefined,
    keepMetadata = false,
  ): Promise<JsonObject> {
    const service = SERVICES[serviceName];
    const endpoint = service && this.options.endpoints[service.endpoint];
    if (!service || !endpoint) {
      throw noAdapter(arn, `the local cloud has no ${serviceName} endpoint configured for the Task adapter`);
    }
    const { client, module } = await this.client(serviceName, service, endpoint);
    const Command = module[`${action.charAt(0).toUpperCase()}${action.slice(1)}Command`] as
      (new (input: unknown) => unknown) | undefined;
    if (typeof Command !== 'function') {
      throw noAdapter(arn, `${serviceName} has no API action '${action}' in the AWS SDK`);
    }
    let output: Record<string, unknown>;
    try {
      output = await client.send(
        new Command(sdkInput(serviceName, action, parameters)),
        signal ? { abortSignal: signal } : {},
      );
    } catch (err) {
      throw sdkError(err, prefix);
    }
    const json = (await toJson(output)) as JsonObject;
    if (!keepMetadata) delete json.$metadata;
    return json;
  }

  private client(
    name: string,
    service: SdkService,
    endpoint: string,
  ): Promise<{ client: SdkClient; module: Record<string, unknown> }> {
    let entry = this.clients.get(name);
    if (!entry) {
      entry = service.load().then((module) => {
        const Client = module[service.client] as new (config: unknown) => SdkClient;
        const client = new Client({
          region: this.options.region,
          endpoint,
          credentials: { ...LOCAL_CREDENTIALS },
          forcePathStyle: true,
          maxAttempts: 1,
          requestHandler: { httpAgent: this.agent },
        });
        client.middlewareStack.add(
          (next) => (args) => {
            const id = taskCaller.getStore();
            const request = args.request as { headers?: Record<string, string> };
            if (id !== undefined && request.headers) request.headers[CALLER_HEADER] = id;
            return next(args);
          },
          { step: 'build', name: 'localCallerHeader' },
        );
        return { client, module };
      });
      this.clients.set(name, entry);
    }
    return entry;
  }
}

function assertLoopback(name: string, url: string): void {
  if (!/^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?\/?$/.test(url)) {
    throw new Error(`the Task adapter only calls loopback endpoints; ${name} is '${url}'`);
  }
}

function noAdapter(arn: string, detail: string): TaskError {
  return statesRuntime(
    `No local adapter for the Task resource '${arn}': the local Step Functions service never calls real AWS (${detail})`,
  );
}

/** Inputs the SDK wants as bytes, given as JSON in the ASL. */
function sdkInput(service: string, action: string, parameters: Json): Json {
  if (
    service === 'sagemakerruntime' &&
    action === 'invokeEndpoint' &&
    isObject(parameters) &&
    parameters.Body !== undefined &&
    typeof parameters.Body !== 'string'
  ) {
    return { ...parameters, Body: JSON.stringify(parameters.Body) };
  }
  return parameters;
}

/** An SDK failure named as Step Functions names it: `<Service>.<Code>` with `Exception` appended. */
function sdkError(err: unknown, prefix: string): TaskError {
  const e = err as {
    name?: string;
    message?: string;
    $metadata?: { httpStatusCode?: number; requestId?: string };
    $response?: unknown;
  };
  const status = e.$metadata?.httpStatusCode;
  if (status === undefined) {
    // No answer from the service (connection refused, aborted): the SDK's client-side failure.
    return new TaskError(
      `${prefix}.SdkClientException`,
      `Unable to execute HTTP request: ${e.message ?? String(err)}`,
    );
  }
  const code = e.name && e.name !== 'Error' ? e.name : 'Unknown';
  const name = code.endsWith('Exception') ? code : `${code}Exception`;
  return new TaskError(
    `${prefix}.${name}`,
    `${e.message ?? ''} (Service: ${prefix}, Status Code: ${status}, Request ID: ${e.$metadata?.requestId ?? 'local'})`,
  );
}

/** What optimized DynamoDB and Lambda integrations add to the service's answer. */
function withSdkMetadata(output: JsonObject): JsonObject {
  const meta = isObject(output.$metadata) ? output.$metadata : {};
  const { $metadata, ...rest } = output;
  void $metadata;
  return {
    ...rest,
    SdkHttpMetadata: { HttpStatusCode: typeof meta.httpStatusCode === 'number' ? meta.httpStatusCode : 200 },
    SdkResponseMetadata: { RequestId: typeof meta.requestId === 'string' ? meta.requestId : randomUUID() },
  };
}

/** SDK output as JSON: bytes and streams become text, dates ISO strings. */
async function toJson(value: unknown): Promise<Json> {
  if (value === undefined || value === null) return null;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return Promise.all(value.map(toJson));
  if (typeof value === 'object') {
    const stream = value as { transformToString?: () => Promise<string> };
    if (typeof stream.transformToString === 'function') return stream.transformToString();
    const out: JsonObject = {};
    for (const [key, item] of Object.entries(value)) {
      if (item !== undefined) out[key] = await toJson(item);
    }
    return out;
  }
  if (typeof value === 'bigint') return Number(value);
  return value as Json;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
