// Wiring only: the state machine's task Lambda. Configuration, clients and activities are built once
// per cold start, on the first invocation, so a bad setting fails that invocation with a
// ConfigError naming the setting (the ASL sees the name) instead of an opaque init failure.
import { createActivities } from '../../shared/activities.ts';
import { loadConfig, orchestratorOf } from '../../shared/config.ts';
import { createDeps } from '../../shared/deps.ts';
import { emfMetrics } from '../../shared/job-metrics.ts';
import { setObservabilityContext } from '../../shared/observability.ts';
import { stateMachineSettings } from './settings.ts';
import { createTaskHandler } from './tasks.ts';

let handle: ((request: unknown) => Promise<unknown>) | undefined;

export async function handler(event: unknown): Promise<unknown> {
  if (!handle) {
    const config = loadConfig();
    // The metrics the activities publish carry the orchestrator and the wait mode.
    setObservabilityContext({ orchestrator: orchestratorOf(config), waitMode: config.waitMode });
    handle = createTaskHandler(
      createActivities(createDeps(config), orchestratorOf(config)),
      stateMachineSettings(config),
      emfMetrics,
    );
  }
  return handle(event);
}
