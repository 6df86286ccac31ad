// The metrics SageMaker publishes for a real-time endpoint, by `EndpointName` and `VariantName`:
// per invocation in AWS/SageMaker `Invocations`, `Invocation4XXErrors`, `Invocation5XXErrors` (0 or 1,
// so a clean run still has a series), `ModelLatency` and `OverheadLatency` (microseconds, as AWS);
// and per instance in /aws/sagemaker/Endpoints, once a simulated minute while its container runs,
// `CPUUtilization` (the container process's CPU time over the minute, 100 per core; a container
// with no local process to read, `urlContainer`, reports its busy share instead) and
// `GPUUtilization`. A local container has no GPU: its GPU figure is the share of the minute it spent
// answering invocations, which is what a GPU serving one request at a time shows.
import { readFileSync } from 'node:fs';
import type { MetricsSink } from '../common/service-metrics.ts';
import type { Clock } from '../common/clock.ts';
import type { RunningContainer } from './containers.ts';

export const SAGEMAKER_NAMESPACE = 'AWS/SageMaker';
export const INSTANCE_NAMESPACE = '/aws/sagemaker/Endpoints';
/** An instance reports its utilization once a minute. */
const REPORT_SECONDS = 60;
/** Linux's USER_HZ: /proc reports CPU time in hundredths of a second. */
const TICKS_PER_SECOND = 100;

interface Instance {
  busyMs: number;
  stop: AbortController;
}

export interface EndpointVariant {
  endpointName: string;
  variantName: string;
}

export class SageMakerMetrics {
  private readonly instances = new Map<RunningContainer, Instance>();

  constructor(
    private readonly sink: MetricsSink | undefined,
    private readonly time: Clock,
  ) {}

  /** One InvokeEndpoint that reached a serving variant: `status` is what the model (or SageMaker) answered. */
  invocation(
    where: EndpointVariant,
    outcome: { status: number; totalMs: number; modelMs?: number; container?: RunningContainer },
  ): void {
    if (outcome.container && outcome.modelMs !== undefined) {
      const instance = this.instances.get(outcome.container);
      if (instance) instance.busyMs += outcome.modelMs;
    }
    if (!this.sink) return;
    const dims = { EndpointName: where.endpointName, VariantName: where.variantName };
    const at = this.time.now();
    const put = (name: string, value: number, unit: string): void =>
      this.sink!.publish(SAGEMAKER_NAMESPACE, name, dims, value, unit, at);
    put('Invocations', 1, 'Count');
    put('Invocation4XXErrors', outcome.status >= 400 && outcome.status < 500 ? 1 : 0, 'Count');
    put('Invocation5XXErrors', outcome.status >= 500 || outcome.status === 0 ? 1 : 0, 'Count');
    if (outcome.modelMs !== undefined) {
      put('ModelLatency', Math.round(outcome.modelMs * 1000), 'Microseconds');
      put(
        'OverheadLatency',
        Math.round(Math.max(0, outcome.totalMs - outcome.modelMs) * 1000),
        'Microseconds',
      );
    }
  }

  /** An endpoint's instance came up with `container`: it reports once a simulated minute until it goes. */
  instanceUp(where: EndpointVariant, container: RunningContainer): void {
    if (!this.sink || this.instances.has(container)) return;
    const instance: Instance = { busyMs: 0, stop: new AbortController() };
    this.instances.set(container, instance);
    void this.report(where, container, instance).catch(() => undefined);
  }

  instanceDown(container: RunningContainer | undefined): void {
    if (!container) return;
    this.instances.get(container)?.stop.abort(new Error('the instance went'));
    this.instances.delete(container);
  }

  /** Every instance stops reporting (the emulator stops). */
  stop(): void {
    for (const container of [...this.instances.keys()]) this.instanceDown(container);
  }

  private async report(
    where: EndpointVariant,
    container: RunningContainer,
    instance: Instance,
  ): Promise<void> {
    const dims = { EndpointName: where.endpointName, VariantName: where.variantName };
    let since = performance.now();
    let cpuBefore = cpuMs(container);
    for (;;) {
      await this.time.sleep(REPORT_SECONDS, instance.stop.signal);
      const now = performance.now();
      const realMs = Math.max(1, now - since);
      const busy = Math.min(100, (instance.busyMs / realMs) * 100);
      const cpuNow = cpuMs(container);
      const cpu =
        cpuNow !== undefined && cpuBefore !== undefined ? ((cpuNow - cpuBefore) / realMs) * 100 : busy;
      instance.busyMs = 0;
      since = now;
      cpuBefore = cpuNow;
      const at = this.time.now();
      this.sink!.publish(INSTANCE_NAMESPACE, 'CPUUtilization', dims, cpu, 'Percent', at);
      this.sink!.publish(INSTANCE_NAMESPACE, 'GPUUtilization', dims, busy, 'Percent', at);
    }
  }
}

/** CPU milliseconds the container's process has used, where the process and /proc are there to read. */
function cpuMs(container: RunningContainer): number | undefined {
  if (container.pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${container.pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces, hence the last ')'): utime and stime are 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}
