// The local cloud with the app deployed, as a comparison Target: the same SDK clients a deployed
// stack's Target gives, pointed at the loopback services. Its timestamps read the local cloud's clock
// (local/common/clock.ts), so a millisecond between two of them is a simulated millisecond on any
// clock, and a scenario's sleeps are timers on that clock (a skip clock may jump to them).
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
    dashboardName: app.dashboard.name,
    endpointNames: { sf: `${endpointBase}-sf`, ldf: `${endpointBase}-ldf` },
    clock: cloud.time.mode.kind === 'skip' ? { kind: 'skip' } : cloud.time.mode,
    now: () => cloud.time.now(),
    simulatedSeconds: (ms) => ms / 1000,
    sleep: (seconds, signal) => cloud.time.sleep(seconds, signal),
    busy: (work) => cloud.time.track(work()),
    clientConfig: (service) => cloud.clientConfig(service),
    close: () => Promise.resolve(),
  };
}
