// Sessions on the local cloud: one fresh cloud per configuration (a second or two to start), so
// every configuration begins with stopped endpoints and an empty table, and leaves no memory behind.
// The modelled SageMaker times go to the emulator; the configuration's settings to the app it deploys.
import { appDefinition, FUNCTIONS } from '../../infra/app-definition.ts';
import { startLocalCloud } from '../../local/cloud.ts';
import { deployApp, localAppSettings } from '../../local/deploy-app.ts';
import { LogMeter } from '../collect/log-meter.ts';
import { localTarget } from '../collect/local-target.ts';
import type { OrchestratorId } from '../report/results.ts';
import type { Session, SessionFactory } from './run.ts';
import { specFor, type ScenarioSpec } from './scenarios.ts';

const OWNER: Record<string, OrchestratorId> = { [FUNCTIONS.durable]: 'ldf', [FUNCTIONS.sfnTasks]: 'sf' };

export function localSessions(
  scenario: ScenarioSpec,
  log: (line: string) => void = () => undefined,
  /** The local cloud's clock (`skip`, `real`, `scale:N`); default the cloud's own. */
  clock?: string,
): SessionFactory {
  return async (config) => {
    const spec = specFor(scenario, config);
    const meter = new LogMeter((fn) => OWNER[fn]);
    // The emulator's modelled inference time and its invocations served at once.
    const modelled = {
      inferenceSeconds: spec.inferenceSeconds,
      concurrentInvocations: spec.endpointConcurrency,
    };
    const cloud = await startLocalCloud({
      functionOutput: meter.write,
      log,
      ...(clock === undefined ? {} : { clock }),
      sagemakerTimings: {
        createSeconds: spec.endpointStartSeconds,
        deleteSeconds: spec.endpointDeleteSeconds,
        ...modelled,
      },
    });
    try {
      const definition = appDefinition(
        localAppSettings(cloud, {
          waitMode: config.waitMode,
          idleWindowSeconds: config.idleWindowSeconds,
          eventFallbackSeconds: config.eventFallbackSeconds,
          pollSeconds: spec.pollSeconds,
          pollMaxSeconds: spec.pollMaxSeconds,
        }),
      );
      const app = await deployApp(cloud, definition);
      const memory = (name: string): number =>
        definition.functions.find((f) => f.name === name)?.memoryMb ?? 0;
      const session: Session = {
        target: localTarget(cloud, app),
        logs: (o) => meter.of(o),
        memoryMb: { ldf: memory(FUNCTIONS.durable), sf: memory(FUNCTIONS.sfnTasks) },
        retentionDays: definition.functions.find((f) => f.durable)?.durable?.retentionPeriodDays ?? 0,
        instanceType: definition.endpoint.instanceType ?? 'ml.g5.xlarge',
        close: async () => {
          app.undeploy();
          await cloud.stop();
        },
      };
      return session;
    } catch (err) {
      await cloud.stop();
      throw err;
    }
  };
}
