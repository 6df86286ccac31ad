// The SageMaker control plane's state: models, endpoint configs and endpoints, with the endpoint
// status machine AWS documents (Creating → InService | Failed; InService → Updating → InService;
// → Deleting → gone). Durations come from configuration on the shared time scale; an endpoint is
// InService only once its container answers GET /ping with 200, as SageMaker's health check requires.
import type { SageMakerEndpointStateChangeEvent } from '../../shared/aws-events.ts';
import { eventStatusOf } from '../../shared/aws-events.ts';
import type { TimeScale } from '../time-scale.ts';
import { LOCAL_ACCOUNT_ID } from '../s3-events.ts';
import type { ContainerLauncher, RunningContainer } from './containers.ts';
import {
  HEALTH_CHECK_REASON,
  INSUFFICIENT_CAPACITY_REASON,
  resourceLimitExceeded,
  SageMakerApiError,
  validation,
} from './errors.ts';
import type { Faults } from './faults.ts';

export type EndpointStatus =
  | 'Creating'
  | 'Updating'
  | 'SystemUpdating'
  | 'RollingBack'
  | 'InService'
  | 'OutOfService'
  | 'Deleting'
  | 'Failed'
  | 'UpdateRollbackFailed';

/** Simulated seconds each transition takes. */
export interface Timings {
  createSeconds: number;
  updateSeconds: number;
  deleteSeconds: number;
  /** How long SageMaker waits for /ping to answer 200 before failing the endpoint (default 4 minutes). */
  healthCheckTimeoutSeconds: number;
}

export const DEFAULT_TIMINGS: Timings = {
  createSeconds: 300,
  updateSeconds: 240,
  deleteSeconds: 60,
  healthCheckTimeoutSeconds: 240,
};

interface Model {
  name: string;
  arn: string;
  image: string;
  modelDataUrl?: string;
  environment: Record<string, string>;
  creationTime: Date;
}

interface VariantSpec {
  VariantName: string;
  ModelName: string;
  InstanceType?: string;
  InitialInstanceCount?: number;
  InitialVariantWeight?: number;
}

interface EndpointConfig {
  name: string;
  arn: string;
  variants: VariantSpec[];
  creationTime: Date;
}

interface Variant {
  spec: VariantSpec;
  weight: number;
  count: number;
}

interface Endpoint {
  name: string;
  arn: string;
  configName: string;
  status: EndpointStatus;
  failureReason?: string;
  creationTime: Date;
  lastModifiedTime: Date;
  variants: Variant[];
  container?: RunningContainer;
  /** Aborts the transition in progress (emulator stop). */
  abort: AbortController;
}

export interface ControlPlaneOptions {
  region: string;
  accountId?: string;
  timeScale: TimeScale;
  timings: Timings;
  container: ContainerLauncher;
  faults: Faults;
  publish: (event: SageMakerEndpointStateChangeEvent) => void;
  log: (line: string) => void;
}

type Input = Record<string, unknown>;

const NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;

export class ControlPlane {
  private readonly models = new Map<string, Model>();
  private readonly configs = new Map<string, EndpointConfig>();
  private readonly endpoints = new Map<string, Endpoint>();
  private readonly account: string;
  private stopped = false;

  constructor(private readonly o: ControlPlaneOptions) {
    this.account = o.accountId ?? LOCAL_ACCOUNT_ID;
  }

  private arn(kind: string, name: string): string {
    // SageMaker ARNs spell resource names in lower case.
    return `arn:aws:sagemaker:${this.o.region}:${this.account}:${kind}/${name.toLowerCase()}`;
  }

  /** Runs one API operation; throws SageMakerApiError as AWS would answer. */
  call(operation: string, input: Input): unknown {
    switch (operation) {
      case 'CreateModel':
        return this.createModel(input);
      case 'DescribeModel':
        return this.describeModel(input);
      case 'DeleteModel':
        return this.deleteModel(input);
      case 'CreateEndpointConfig':
        return this.createEndpointConfig(input);
      case 'DescribeEndpointConfig':
        return this.describeEndpointConfig(input);
      case 'DeleteEndpointConfig':
        return this.deleteEndpointConfig(input);
      case 'CreateEndpoint':
        return this.createEndpoint(input);
      case 'DescribeEndpoint':
        return this.describeEndpoint(input);
      case 'UpdateEndpoint':
        return this.updateEndpoint(input);
      case 'UpdateEndpointWeightsAndCapacities':
        return this.updateWeightsAndCapacities(input);
      case 'DeleteEndpoint':
        return this.deleteEndpoint(input);
      case 'ListEndpoints':
        return this.listEndpoints(input);
      default:
        throw new SageMakerApiError(
          'UnknownOperationException',
          `The local SageMaker emulator does not implement ${operation}`,
        );
    }
  }

  // --- models and configs ------------------------------------------------------------------------

  private createModel(input: Input): unknown {
    const name = requireName(input, 'ModelName');
    if (this.models.has(name)) {
      throw validation(`Cannot create already existing model "${this.arn('model', name)}".`);
    }
    const container = (input.PrimaryContainer ?? (input.Containers as Input[] | undefined)?.[0]) as
      Input | undefined;
    if (!container || typeof container.Image !== 'string') {
      throw validation(
        "1 validation error detected: Value null at 'primaryContainer.image' failed to satisfy constraint: Member must not be null",
      );
    }
    const model: Model = {
      name,
      arn: this.arn('model', name),
      image: container.Image,
      ...(typeof container.ModelDataUrl === 'string' ? { modelDataUrl: container.ModelDataUrl } : {}),
      environment: { ...((container.Environment as Record<string, string> | undefined) ?? {}) },
      creationTime: new Date(),
    };
    this.models.set(name, model);
    return { ModelArn: model.arn };
  }

  private describeModel(input: Input): unknown {
    const name = requireName(input, 'ModelName');
    const model = this.models.get(name);
    if (!model) throw validation(`Could not find model "${this.arn('model', name)}".`);
    return {
      ModelName: model.name,
      ModelArn: model.arn,
      PrimaryContainer: {
        Image: model.image,
        ModelDataUrl: model.modelDataUrl,
        Environment: model.environment,
      },
      CreationTime: epoch(model.creationTime),
    };
  }

  private deleteModel(input: Input): unknown {
    const name = requireName(input, 'ModelName');
    if (!this.models.delete(name)) throw validation(`Could not find model "${this.arn('model', name)}".`);
    return {};
  }

  private createEndpointConfig(input: Input): unknown {
    const name = requireName(input, 'EndpointConfigName');
    if (this.configs.has(name)) {
      throw validation(
        `Cannot create already existing endpoint configuration "${this.arn('endpoint-config', name)}".`,
      );
    }
    const variants = input.ProductionVariants as VariantSpec[] | undefined;
    if (!Array.isArray(variants) || variants.length === 0) {
      throw validation(
        "1 validation error detected: Value null at 'productionVariants' failed to satisfy constraint: Member must not be null",
      );
    }
    for (const v of variants) {
      if (!this.models.has(v.ModelName))
        throw validation(`Could not find model "${this.arn('model', v.ModelName)}".`);
    }
    const config: EndpointConfig = {
      name,
      arn: this.arn('endpoint-config', name),
      variants: variants.map((v) => ({ ...v })),
      creationTime: new Date(),
    };
    this.configs.set(name, config);
    return { EndpointConfigArn: config.arn };
  }

  private describeEndpointConfig(input: Input): unknown {
    const name = requireName(input, 'EndpointConfigName');
    const config = this.configs.get(name);
    if (!config) throw validation(`Could not find endpoint configuration "${name}".`);
    return {
      EndpointConfigName: config.name,
      EndpointConfigArn: config.arn,
      ProductionVariants: config.variants,
      CreationTime: epoch(config.creationTime),
    };
  }

  private deleteEndpointConfig(input: Input): unknown {
    const name = requireName(input, 'EndpointConfigName');
    if (!this.configs.delete(name)) throw validation(`Could not find endpoint configuration "${name}".`);
    return {};
  }

  private config(name: string): EndpointConfig {
    const config = this.configs.get(name);
    if (!config)
      throw validation(`Could not find endpoint configuration "${this.arn('endpoint-config', name)}".`);
    return config;
  }

  // --- endpoints ---------------------------------------------------------------------------------

  private endpoint(name: string): Endpoint {
    const endpoint = this.endpoints.get(name);
    if (!endpoint) throw validation(`Could not find endpoint "${name}".`);
    return endpoint;
  }

  private createEndpoint(input: Input): unknown {
    const name = requireName(input, 'EndpointName');
    const configName = requireName(input, 'EndpointConfigName');
    if (this.endpoints.has(name)) {
      throw validation(`Cannot create already existing endpoint "${this.arn('endpoint', name)}".`);
    }
    const config = this.config(configName);
    if (this.o.faults.take('resourceLimit')) {
      throw resourceLimitExceeded(config.variants[0]?.InstanceType ?? 'ml.g5.xlarge');
    }
    const now = new Date();
    const endpoint: Endpoint = {
      name,
      arn: this.arn('endpoint', name),
      configName,
      status: 'Creating',
      creationTime: now,
      lastModifiedTime: now,
      variants: variantsOf(config),
      abort: new AbortController(),
    };
    this.endpoints.set(name, endpoint);
    this.emit(endpoint);
    this.run(endpoint, 'create', async () => {
      const reason = await this.bringUp(endpoint, config, this.o.timings.createSeconds);
      if (reason !== undefined) this.fail(endpoint, reason);
    });
    return { EndpointArn: endpoint.arn };
  }

  /**
   * Provisions (waits), starts the container and health-checks it. On success the endpoint serves the
   * new config, InService; otherwise resolves with the FailureReason and leaves the endpoint as it was.
   */
  private async bringUp(
    endpoint: Endpoint,
    config: EndpointConfig,
    seconds: number,
  ): Promise<string | undefined> {
    // An armed start fault belongs to the call that started this transition, not to whichever ends first.
    const injected = this.o.faults.take('failStart');
    const signal = endpoint.abort.signal;
    await this.o.timeScale.sleep(seconds, signal);
    if (injected) return injected === true ? INSUFFICIENT_CAPACITY_REASON : injected;
    const variant = config.variants[0]!;
    const model = this.models.get(variant.ModelName);
    if (!model) return `Could not find model "${this.arn('model', variant.ModelName)}".`;
    let container: RunningContainer;
    try {
      container = await this.o.container({
        endpointName: endpoint.name,
        variantName: variant.VariantName,
        modelName: model.name,
        image: model.image,
        environment: model.environment,
      });
    } catch (err) {
      this.o.log(`SageMaker: the container of ${endpoint.name} did not start: ${String(err)}`);
      return HEALTH_CHECK_REASON(variant.VariantName);
    }
    const healthy = await this.healthCheck(container.url, signal);
    if (!healthy || signal.aborted) {
      await container.stop();
      return HEALTH_CHECK_REASON(variant.VariantName);
    }
    const previous = endpoint.container;
    endpoint.container = container;
    endpoint.configName = config.name;
    endpoint.variants = variantsOf(config);
    delete endpoint.failureReason;
    this.setStatus(endpoint, 'InService');
    if (previous && previous !== container) await previous.stop();
    return undefined;
  }

  /** Polls GET /ping until it answers 200, for at most the health-check timeout (simulated). */
  private async healthCheck(url: string, signal: AbortSignal): Promise<boolean> {
    const deadline = Date.now() + this.o.timeScale.toRealMs(this.o.timings.healthCheckTimeoutSeconds);
    while (!signal.aborted && Date.now() < deadline) {
      try {
        const res = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(2000) });
        await res.body?.cancel();
        if (res.status === 200) return true;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return false;
  }

  private describeEndpoint(input: Input): unknown {
    const endpoint = this.endpoint(requireName(input, 'EndpointName'));
    return {
      EndpointName: endpoint.name,
      EndpointArn: endpoint.arn,
      EndpointConfigName: endpoint.configName,
      ProductionVariants: endpoint.variants.map((v) => ({
        VariantName: v.spec.VariantName,
        DeployedImages: [{ SpecifiedImage: this.models.get(v.spec.ModelName)?.image }],
        CurrentWeight: v.weight,
        DesiredWeight: v.weight,
        CurrentInstanceCount: endpoint.status === 'InService' ? v.count : 0,
        DesiredInstanceCount: v.count,
      })),
      EndpointStatus: endpoint.status,
      ...(endpoint.failureReason ? { FailureReason: endpoint.failureReason } : {}),
      CreationTime: epoch(endpoint.creationTime),
      LastModifiedTime: epoch(endpoint.lastModifiedTime),
    };
  }

  private updateEndpoint(input: Input): unknown {
    const endpoint = this.endpoint(requireName(input, 'EndpointName'));
    const config = this.config(requireName(input, 'EndpointConfigName'));
    this.requireInService(endpoint, 'update');
    this.setStatus(endpoint, 'Updating');
    this.run(endpoint, 'update', async () => {
      const reason = await this.bringUp(endpoint, config, this.o.timings.updateSeconds);
      if (reason === undefined) return;
      // A failed update rolls back: the endpoint keeps serving its old config, with the reason recorded.
      endpoint.failureReason = reason;
      this.setStatus(endpoint, 'InService');
    });
    return { EndpointArn: endpoint.arn };
  }

  private updateWeightsAndCapacities(input: Input): unknown {
    const endpoint = this.endpoint(requireName(input, 'EndpointName'));
    const desired = input.DesiredWeightsAndCapacities as
      { VariantName: string; DesiredWeight?: number; DesiredInstanceCount?: number }[] | undefined;
    if (!Array.isArray(desired) || desired.length === 0) {
      throw validation(
        "1 validation error detected: Value null at 'desiredWeightsAndCapacities' failed to satisfy constraint: Member must not be null",
      );
    }
    for (const d of desired) {
      if (!endpoint.variants.some((v) => v.spec.VariantName === d.VariantName)) {
        throw validation(
          `The variant name(s) "${d.VariantName}" is/are not present in the endpoint "${endpoint.name}".`,
        );
      }
    }
    this.requireInService(endpoint, 'update');
    this.setStatus(endpoint, 'Updating');
    this.run(endpoint, 'update', async () => {
      await this.o.timeScale.sleep(this.o.timings.updateSeconds, endpoint.abort.signal);
      for (const d of desired) {
        const variant = endpoint.variants.find((v) => v.spec.VariantName === d.VariantName)!;
        if (d.DesiredWeight !== undefined) variant.weight = d.DesiredWeight;
        if (d.DesiredInstanceCount !== undefined) variant.count = d.DesiredInstanceCount;
      }
      this.setStatus(endpoint, 'InService');
    });
    return { EndpointArn: endpoint.arn };
  }

  private requireInService(endpoint: Endpoint, action: string): void {
    if (endpoint.status === 'InService') return;
    if (endpoint.status === 'Failed') throw validation(`Cannot ${action} failed endpoint "${endpoint.arn}".`);
    throw validation(`Cannot ${action} in-progress endpoint "${endpoint.arn}".`);
  }

  private deleteEndpoint(input: Input): unknown {
    const endpoint = this.endpoint(requireName(input, 'EndpointName'));
    if (['Creating', 'Updating', 'SystemUpdating', 'RollingBack', 'Deleting'].includes(endpoint.status)) {
      throw validation(`Cannot delete in-progress endpoint "${endpoint.arn}".`);
    }
    this.setStatus(endpoint, 'Deleting');
    this.run(endpoint, 'delete', async () => {
      await endpoint.container?.stop();
      delete endpoint.container;
      await this.o.timeScale.sleep(this.o.timings.deleteSeconds, endpoint.abort.signal);
      this.endpoints.delete(endpoint.name);
    });
    return {};
  }

  private listEndpoints(input: Input): unknown {
    const sortBy = (input.SortBy as string | undefined) ?? 'CreationTime';
    const descending = (input.SortOrder as string | undefined) !== 'Ascending';
    const max = Math.min(Number(input.MaxResults ?? 10), 100);
    const token = input.NextToken;
    const start = typeof token === 'string' ? Number(Buffer.from(token, 'base64url').toString()) : 0;
    if (!Number.isInteger(start) || start < 0) throw validation('Invalid pagination token');
    const nameContains =
      typeof input.NameContains === 'string' ? input.NameContains.toLowerCase() : undefined;
    const list = [...this.endpoints.values()]
      .filter((e) => nameContains === undefined || e.name.toLowerCase().includes(nameContains))
      .filter((e) => input.StatusEquals === undefined || e.status === input.StatusEquals)
      .sort((a, b) => {
        const order =
          sortBy === 'Name'
            ? a.name.localeCompare(b.name)
            : sortBy === 'Status'
              ? a.status.localeCompare(b.status)
              : a.creationTime.getTime() - b.creationTime.getTime();
        return descending ? -order : order;
      });
    const page = list.slice(start, start + max);
    return {
      Endpoints: page.map((e) => ({
        EndpointName: e.name,
        EndpointArn: e.arn,
        CreationTime: epoch(e.creationTime),
        LastModifiedTime: epoch(e.lastModifiedTime),
        EndpointStatus: e.status,
      })),
      ...(start + max < list.length
        ? { NextToken: Buffer.from(String(start + max)).toString('base64url') }
        : {}),
    };
  }

  // --- shared ------------------------------------------------------------------------------------

  /** Where an InService endpoint's invocations go, or why they cannot. */
  route(
    name: string,
  ): { container: RunningContainer; variant: string } | { status: EndpointStatus | 'missing' } {
    const endpoint = this.endpoints.get(name);
    if (!endpoint) return { status: 'missing' };
    if (endpoint.status !== 'InService' || !endpoint.container) return { status: endpoint.status };
    return { container: endpoint.container, variant: endpoint.variants[0]!.spec.VariantName };
  }

  get accountId(): string {
    return this.account;
  }

  private fail(endpoint: Endpoint, reason: string): void {
    endpoint.failureReason = reason;
    this.setStatus(endpoint, 'Failed');
  }

  private setStatus(endpoint: Endpoint, status: EndpointStatus): void {
    if (this.stopped) return;
    endpoint.status = status;
    endpoint.lastModifiedTime = new Date();
    this.o.log(
      `SageMaker: ${endpoint.name} ${status}${endpoint.failureReason && status === 'Failed' ? `: ${endpoint.failureReason}` : ''}`,
    );
    this.emit(endpoint);
  }

  /** Sends `SageMaker Endpoint State Change` as SageMaker does (statuses in upper snake case). */
  private emit(endpoint: Endpoint): void {
    this.o.publish({
      version: '0',
      id: crypto.randomUUID(),
      'detail-type': 'SageMaker Endpoint State Change',
      source: 'aws.sagemaker',
      account: this.account,
      time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: this.o.region,
      resources: [endpoint.arn],
      detail: {
        EndpointName: endpoint.name,
        EndpointArn: endpoint.arn,
        EndpointConfigName: endpoint.configName,
        EndpointStatus: eventStatusOf(endpoint.status),
        ...(endpoint.failureReason && endpoint.status === 'Failed'
          ? { FailureReason: endpoint.failureReason }
          : {}),
        CreationTime: endpoint.creationTime.getTime(),
        LastModifiedTime: endpoint.lastModifiedTime.getTime(),
        Tags: {},
      },
    });
  }

  /** Runs a background transition; an unexpected error fails the endpoint rather than vanishing. */
  private run(endpoint: Endpoint, what: string, work: () => Promise<void>): void {
    work().catch((err: unknown) => {
      if (endpoint.abort.signal.aborted) return;
      this.o.log(`SageMaker: ${what} of ${endpoint.name} failed: ${String(err)}`);
      this.fail(endpoint, `Internal error during ${what}: ${String(err)}`);
    });
  }

  /** Stops every container and abandons transitions in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    const containers: Promise<void>[] = [];
    for (const endpoint of this.endpoints.values()) {
      endpoint.abort.abort(new Error('emulator stopped'));
      if (endpoint.container) containers.push(endpoint.container.stop());
    }
    await Promise.allSettled(containers);
  }
}

function requireName(input: Input, member: string): string {
  const value = input[member];
  if (typeof value !== 'string' || value === '') {
    throw validation(
      `1 validation error detected: Value null at '${lowerFirst(member)}' failed to satisfy constraint: Member must not be null`,
    );
  }
  if (!NAME.test(value)) {
    throw validation(
      `1 validation error detected: Value '${value}' at '${lowerFirst(member)}' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`,
    );
  }
  return value;
}

const lowerFirst = (s: string): string => s.charAt(0).toLowerCase() + s.slice(1);

/** JSON 1.1 timestamps are epoch seconds. */
const epoch = (d: Date): number => d.getTime() / 1000;

function variantsOf(config: EndpointConfig): Variant[] {
  return config.variants.map((spec) => ({
    spec,
    weight: spec.InitialVariantWeight ?? 1,
    count: spec.InitialInstanceCount ?? 1,
  }));
}
