// The local cloud with the app deployed, as a comparison Target: the same SDK clients a deployed
// stack's Target gives, pointed at the loopback services. Its timestamps are real time; on the
// scale clock each real millisecond stands for `scale` simulated ones.
import { FUNCTIONS, STATE_MACHINE } from '../../infra/app-definition.ts';
import type { LocalCloud } from '../../local/cloud.ts';
import { DEFAULT_ENDPOINT_NAME, type DeployedApp } from '../../local/deploy-app.ts';
import type { Target } from './target.ts';

export function localTarget(
  cloud: LocalCloud,
  app: DeployedApp,
  endpointBase: string = DEFAULT_ENDPOINT_NAME,
): Target {
  const stateMachineArn = app.stateMachines[STATE_MACHINE];
  if (!stateMachineArn) throw new Error(`the app deployed no state machine named ${STATE_MACHINE}`);
  return {
    kind: 'local',
    region: cloud.region,
    tableName: cloud.tableName,
    bucket: cloud.bucket,
    stateMachineArn,
    durableFunctionName: FUNCTIONS.durable,
    endpointNames: { sf: `${endpointBase}-sf`, ldf: `${endpointBase}-ldf` },
    clock: { kind: 'scale', factor: cloud.timeScale },
    now: () => Date.now(),
    simulatedSeconds: (ms) => (ms * cloud.timeScale) / 1000,
    sleep: (seconds, signal) => cloud.time.sleep(seconds, signal),
    clientConfig: (service) => cloud.clientConfig(service),
    close: () => Promise.resolve(),
  };
}
