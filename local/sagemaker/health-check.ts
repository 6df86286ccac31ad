// Starting an endpoint's container and waiting for it to pass SageMaker's health check (GET /ping
// answers 200). SageMaker's timeout (healthCheckTimeoutSeconds) is simulated time and stands for the
// model loading; starting the local process is not simulated: it costs real seconds, more when many
// endpoints start at once on a small machine. So the simulated window opens only once the container
// answers HTTP at all, and until then the process gets a real-time allowance. A process that exits,
// or never listens, fails the start at once with its last output lines in the FailureReason.
import type { Clock } from '../common/clock.ts';
import type { ContainerLauncher, ContainerRequest, RunningContainer } from './containers.ts';
import { HEALTH_CHECK_REASON } from './errors.ts';

/** Real time a container process may take to start listening (tsx compiles on start; many share the cores). */
export const PROCESS_START_ALLOWANCE_MS = 180_000;
const POLL_MS = 50;
/** AWS caps FailureReason at 1024 characters. */
const MAX_REASON = 1024;

export interface HealthCheckSettings {
  timeScale: Clock;
  healthCheckTimeoutSeconds: number;
  startAllowanceMs?: number;
  log: (line: string) => void;
}

/** Starts the container and waits until it is healthy: the container, or the FailureReason. */
export async function startHealthy(
  launch: ContainerLauncher,
  request: ContainerRequest,
  settings: HealthCheckSettings,
  signal: AbortSignal,
): Promise<{ container: RunningContainer } | { reason: string }> {
  let container: RunningContainer;
  try {
    container = await launch(request);
  } catch (err) {
    settings.log(`SageMaker: the container of ${request.endpointName} did not start: ${String(err)}`);
    return { reason: failureReason(request.variantName, String(err)) };
  }
  const outcome = await waitHealthy(container, settings, signal);
  if (outcome === 'healthy' && !signal.aborted) return { container };
  const output = container.output?.() ?? '';
  await container.stop();
  settings.log(`SageMaker: the container of ${request.endpointName} failed its health check (${outcome})`);
  return {
    reason: failureReason(request.variantName, outcome === 'exited' ? output || 'it exited' : output),
  };
}

type Outcome = 'healthy' | 'exited' | 'never listened' | 'unhealthy' | 'aborted';

async function waitHealthy(
  container: RunningContainer,
  settings: HealthCheckSettings,
  signal: AbortSignal,
): Promise<Outcome> {
  const startBy = Date.now() + (settings.startAllowanceMs ?? PROCESS_START_ALLOWANCE_MS);
  let healthyBy: number | undefined;
  for (;;) {
    if (signal.aborted) return 'aborted';
    if (container.exited?.()) return 'exited';
    const status = await ping(container.url);
    if (status === 200) return 'healthy';
    // The start allowance guards the machinery (real time); SageMaker's timeout is on the clock.
    const now = Date.now();
    const simulatedNow = settings.timeScale.now();
    if (status !== undefined && healthyBy === undefined) {
      healthyBy = simulatedNow + settings.healthCheckTimeoutSeconds * 1000;
    }
    if (healthyBy === undefined && now > startBy) return 'never listened';
    if (healthyBy !== undefined && simulatedNow > healthyBy) return 'unhealthy';
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** The HTTP status of GET /ping, or undefined while nothing answers. */
async function ping(url: string): Promise<number | undefined> {
  try {
    const res = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(2000) });
    await res.body?.cancel();
    return res.status;
  } catch {
    return undefined;
  }
}

/** SageMaker's health-check reason, followed by the container's last lines when there are any. */
export function failureReason(variant: string, output: string): string {
  const reason = HEALTH_CHECK_REASON(variant);
  const lines = output.trim().split('\n').slice(-5).join('\n').trim();
  if (!lines) return reason;
  const tail = ` Last container output: ${lines}`;
  return (reason + tail.slice(-(MAX_REASON - reason.length))).slice(0, MAX_REASON);
}
