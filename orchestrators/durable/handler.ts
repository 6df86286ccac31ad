// The durable function's Lambda handler: wiring only. Config is parsed once at cold start (a bad
// setting fails the start with its name), the composition root builds the clients, and the workflow
// runs under withDurableExecution with the SDK's default transport (AWS_ENDPOINT_URL_LAMBDA locally).
import { withDurableExecution } from '@aws/durable-execution-sdk-js';
import { createActivities } from '../../shared/activities.ts';
import { loadConfig, orchestratorOf } from '../../shared/config.ts';
import { createDeps } from '../../shared/deps.ts';
import { emfMetrics } from '../../shared/job-metrics.ts';
import { logger, setObservabilityContext } from '../../shared/observability.ts';
import { createWorkflow } from './workflow.ts';

const config = loadConfig();
const orchestrator = orchestratorOf(config);
setObservabilityContext({ orchestrator, waitMode: config.waitMode });
const deps = createDeps(config, { log: (line) => logger.info(line) });

export const handler = withDurableExecution(
  createWorkflow({
    activities: createActivities(deps, orchestrator),
    settings: config,
    metrics: emfMetrics,
    logger,
  }),
);
