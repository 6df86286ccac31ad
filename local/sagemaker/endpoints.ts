// The endpoint status machine AWS documents: Creating → InService | Failed; InService → Updating →
// InService (a failed update rolls back and keeps serving); InService | Failed → Deleting → gone.
// Transitions take their configured simulated durations on the shared time scale, and an endpoint is
// InService only once its container passes the health check (health-check.ts).
import type { SageMakerEndpointStateChangeEvent } from '../../shared/aws-events.ts';
import type { Clock } from '../common/clock.ts';
import type { ContainerLauncher, ContainerRequest, RunningContainer } from './containers.ts';
import { INSUFFICIENT_CAPACITY_REASON, resourceLimitExceeded, validation } from './errors.ts';
import type { Faults } from './faults.ts';
import { startHealthy } from './health-check.ts';
import type { ArnOf, EndpointConfig, Records } from './records.ts';
import {
  epoch,
  nextToken,
  parseDesiredVariants,
  parseListEndpoints,
  requireName,
  type EndpointStatus,
  type Input,
  type VariantSpec,
} from './requests.ts';
import type { SageMakerMetrics } from './sagemaker-metrics.ts';
import { stateChangeEvent, StateEventStream, type EndpointState } from './state-events.ts';

/** Simulated seconds each transition takes. */
export interface Timings {
  createSeconds: number;
  updateSeconds: number;
  deleteSeconds: number;
  /** How long SageMaker waits for /ping to answer 200 before failing the endpoint (default 4 minutes). */
  healthCheckTimeoutSeconds: number;
  /** The modelled time of one inference (default 0: the container's own time only). */
  inferenceSeconds: number;
  /** Invocations one endpoint serves at once; the rest queue in arrival order (default: no limit). */
  concurrentInvocations: number;
}

export const DEFAULT_TIMINGS: Timings = {
  createSeconds: 300,
  updateSeconds: 240,
  deleteSeconds: 60,
  healthCheckTimeoutSeconds: 240,
  inferenceSeconds: 0,
  concurrentInvocations: Infinity,
};

interface Variant {
  spec: VariantSpec;
  weight: number;
  count: number;
}

interface Endpoint extends EndpointState {
  variants: Variant[];
  container?: RunningContainer;
  /** How its container was started: a replacement instance starts the same one. */
  request?: ContainerRequest;
  /** Its container died and a replacement instance is coming up: it stays InService, serving nothing. */
  replacing?: boolean;
  /** Aborts the transition in progress (emulator stop). */
  abort: AbortController;
}

export interface EndpointsOptions {
  region: string;
  account: string;
  arn: ArnOf;
  records: Records;
  timeScale: Clock;
  timings: Timings;
  container: ContainerLauncher;
  faults: Faults;
  publish: (event: SageMakerEndpointStateChangeEvent) => void;
  log: (line: string) => void;
  /** The endpoint's metrics: its instance reports while its container runs. */
  metrics: SageMakerMetrics;
}

const IN_PROGRESS: EndpointStatus[] = ['Creating', 'Updating', 'SystemUpdating', 'RollingBack', 'Deleting'];

export class Endpoints {
  private readonly endpoints = new Map<string, Endpoint>();
  private readonly events: StateEventStream;
  private stopped = false;

  constructor(private readonly o: EndpointsOptions) {
    this.events = new StateEventStream(o.publish, o.faults);
  }

  private endpoint(name: string): Endpoint {
    const endpoint = this.endpoints.get(name);
    if (!endpoint) throw validation(`Could not find endpoint "${name}".`);
    return endpoint;
  }

  create(input: Input): unknown {
    const name = requireName(input, 'EndpointName');
    const configName = requireName(input, 'EndpointConfigName');
    if (this.endpoints.has(name)) {
      throw validation(`Cannot create already existing endpoint "${this.o.arn('endpoint', name)}".`);
    }
    const config = this.o.records.config(configName);
    if (this.o.faults.take('resourceLimit')) {
      throw resourceLimitExceeded(config.variants[0]?.InstanceType ?? 'ml.g5.xlarge');
    }
    const now = new Date(this.o.timeScale.now());
    const endpoint: Endpoint = {
      name,
      arn: this.o.arn('endpoint', name),
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
    const model = this.o.records.model(variant.ModelName);
    if (!model) return `Could not find model "${this.o.arn('model', variant.ModelName)}".`;
    const request: ContainerRequest = {
      endpointName: endpoint.name,
      variantName: variant.VariantName,
      modelName: model.name,
      image: model.image,
      environment: model.environment,
    };
    const started = await this.startContainer(request, signal);
    if ('reason' in started) return started.reason;
    const previous = endpoint.container;
    endpoint.container = started.container;
    endpoint.request = request;
    endpoint.configName = config.name;
    endpoint.variants = variantsOf(config);
    delete endpoint.failureReason;
    this.setStatus(endpoint, 'InService');
    this.serve(endpoint, started.container);
    if (previous && previous !== started.container) {
      this.o.metrics.instanceDown(previous);
      await previous.stop();
    }
    return undefined;
  }

  /** Starting the container is work in flight: the clock runs at 1x while the process comes up. */
  private startContainer(
    request: ContainerRequest,
    signal: AbortSignal,
  ): Promise<{ container: RunningContainer } | { reason: string }> {
    return this.o.timeScale.track(
      startHealthy(
        this.o.container,
        request,
        {
          timeScale: this.o.timeScale,
          healthCheckTimeoutSeconds: this.o.timings.healthCheckTimeoutSeconds,
          log: this.o.log,
        },
        signal,
      ),
    );
  }

  /** The container serves the endpoint's instance; if its process dies, SageMaker replaces the instance. */
  private serve(endpoint: Endpoint, container: RunningContainer): void {
    this.o.metrics.instanceUp(
      { endpointName: endpoint.name, variantName: endpoint.request!.variantName },
      container,
    );
    void container.whenExited?.then(() => {
      if (this.stopped || endpoint.container !== container || endpoint.status !== 'InService') return;
      this.run(endpoint, 'instance replacement', () => this.replace(endpoint, container));
    });
  }

  /**
   * A replacement instance for one whose container died: the endpoint stays InService (no state
   * change, as on AWS) and its invocations fail until the new container passes the health check.
   */
  private async replace(endpoint: Endpoint, dead: RunningContainer): Promise<void> {
    endpoint.replacing = true;
    this.o.log(`SageMaker: the container of ${endpoint.name} exited; replacing the instance`);
    this.o.metrics.instanceDown(dead);
    await dead.stop();
    const started = await this.startContainer(endpoint.request!, endpoint.abort.signal);
    if (endpoint.container !== dead || endpoint.status !== 'InService') {
      if ('container' in started) await started.container.stop();
      return;
    }
    if ('reason' in started) {
      // No healthy instance: the endpoint stays InService, serving nothing, as SageMaker keeps it.
      this.o.log(`SageMaker: the replacement instance of ${endpoint.name} failed: ${started.reason}`);
      return;
    }
    endpoint.container = started.container;
    endpoint.replacing = false;
    this.o.log(`SageMaker: ${endpoint.name} serves on a replacement instance`);
    this.serve(endpoint, started.container);
  }

  describe(input: Input): unknown {
    const endpoint = this.endpoint(requireName(input, 'EndpointName'));
    return {
      EndpointName: endpoint.name,
      EndpointArn: endpoint.arn,
      EndpointConfigName: endpoint.configName,
      ProductionVariants: endpoint.variants.map((v) => ({
        VariantName: v.spec.VariantName,
        DeployedImages: [{ SpecifiedImage: this.o.records.model(v.spec.ModelName)?.image }],
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

  update(input: Input): unknown {
    const endpoint = this.endpoint(requireName(input, 'EndpointName'));
    const config = this.o.records.config(requireName(input, 'EndpointConfigName'));
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

  updateWeightsAndCapacities(input: Input): unknown {
    const endpoint = this.endpoint(requireName(input, 'EndpointName'));
    const desired = parseDesiredVariants(input);
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

  delete(input: Input): unknown {
    const endpoint = this.endpoint(requireName(input, 'EndpointName'));
    if (IN_PROGRESS.includes(endpoint.status)) {
      throw validation(`Cannot delete in-progress endpoint "${endpoint.arn}".`);
    }
    this.setStatus(endpoint, 'Deleting');
    this.run(endpoint, 'delete', async () => {
      this.o.metrics.instanceDown(endpoint.container);
      await endpoint.container?.stop();
      delete endpoint.container;
      await this.o.timeScale.sleep(this.o.timings.deleteSeconds, endpoint.abort.signal);
      this.endpoints.delete(endpoint.name);
    });
    return {};
  }

  list(input: Input): unknown {
    const query = parseListEndpoints(input);
    const list = [...this.endpoints.values()]
      .filter((e) => query.nameContains === undefined || e.name.toLowerCase().includes(query.nameContains))
      .filter((e) => query.status === undefined || e.status === query.status)
      .sort((a, b) => {
        const order =
          query.sortBy === 'Name'
            ? a.name.localeCompare(b.name)
            : query.sortBy === 'Status'
              ? a.status.localeCompare(b.status)
              : a.creationTime.getTime() - b.creationTime.getTime();
        return query.descending ? -order : order;
      });
    const page = list.slice(query.start, query.start + query.max);
    return {
      Endpoints: page.map((e) => ({
        EndpointName: e.name,
        EndpointArn: e.arn,
        CreationTime: epoch(e.creationTime),
        LastModifiedTime: epoch(e.lastModifiedTime),
        EndpointStatus: e.status,
      })),
      ...nextToken(query.start, query.max, list.length),
    };
  }

  /**
   * Where an InService endpoint's invocations go, or why they cannot: not serving (a status), or
   * serving with no healthy instance (its container died and the replacement is coming up).
   */
  route(
    name: string,
  ):
    | { container: RunningContainer; variant: string }
    | { variant: string; noHealthyInstance: true }
    | { status: EndpointStatus | 'missing' } {
    const endpoint = this.endpoints.get(name);
    if (!endpoint) return { status: 'missing' };
    if (endpoint.status !== 'InService' || !endpoint.container) return { status: endpoint.status };
    const variant = endpoint.variants[0]!.spec.VariantName;
    if (endpoint.replacing || endpoint.container.exited?.()) return { variant, noHealthyInstance: true };
    return { container: endpoint.container, variant };
  }

  private fail(endpoint: Endpoint, reason: string): void {
    endpoint.failureReason = reason;
    this.setStatus(endpoint, 'Failed');
  }

  private setStatus(endpoint: Endpoint, status: EndpointStatus): void {
    if (this.stopped) return;
    endpoint.status = status;
    endpoint.lastModifiedTime = new Date(this.o.timeScale.now());
    this.o.log(
      `SageMaker: ${endpoint.name} ${status}${endpoint.failureReason && status === 'Failed' ? `: ${endpoint.failureReason}` : ''}`,
    );
    this.emit(endpoint);
  }

  private emit(endpoint: Endpoint): void {
    this.events.send(
      endpoint.status,
      stateChangeEvent(endpoint, {
        region: this.o.region,
        account: this.o.account,
        at: new Date(this.o.timeScale.now()),
      }),
    );
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
    this.o.metrics.stop();
    const containers: Promise<void>[] = [];
    for (const endpoint of this.endpoints.values()) {
      endpoint.abort.abort(new Error('emulator stopped'));
      if (endpoint.container) containers.push(endpoint.container.stop());
    }
    await Promise.allSettled(containers);
  }
}

function variantsOf(config: EndpointConfig): Variant[] {
  return config.variants.map((spec) => ({
    spec,
    weight: spec.InitialVariantWeight ?? 1,
    count: spec.InitialInstanceCount ?? 1,
  }));
}
