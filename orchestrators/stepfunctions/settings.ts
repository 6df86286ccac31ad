// The numbers the state machine runs on, derived from the task Lambda's Config and handed to each
// execution by its admit task: Wait states read their seconds from here (SecondsPath), the bounded
// loops their number of rounds, the Choice states the wait mode. So the ASL holds no number of its
// own and the durable function and the state machine obey the same settings, on the same backoff
// (shared/backoff.ts). In each loop, round `i` waits `waits[i]` seconds: a Wait state's SecondsPath in
// poll mode, a `.waitForTaskToken` task's TimeoutSecondsPath in event mode.
import { eventLoop, pollLoop, wholeSeconds, type WaitLoop } from '../../shared/backoff.ts';
import type { Config, WaitMode } from '../../shared/config.ts';

export interface StateMachineSettings {
  waitMode: WaitMode;
  idleWindowSeconds: number;
  /** Waiting for the mask (MASK_WAIT_SECONDS). */
  mask: WaitLoop;
  /** Waiting for InService (ENDPOINT_WAIT_SECONDS). */
  endpoint: WaitLoop;
  /** Waiting for a stopped endpoint's deletion (bounded by ENDPOINT_WAIT_SECONDS; always polled). */
  stop: WaitLoop;
}

type Settings = Pick<
  Config,
  | 'waitMode'
  | 'idleWindowSeconds'
  | 'maskWaitSeconds'
  | 'endpointWaitSeconds'
  | 'pollSeconds'
  | 'pollMaxSeconds'
  | 'eventFallbackSeconds'
>;

export function stateMachineSettings(config: Settings): StateMachineSettings {
  // Event mode: a wait ends when its event answers the token, or after EVENT_FALLBACK_SECONDS in one check.
  const loop = config.waitMode === 'event' ? eventLoop : pollLoop;
  return {
    waitMode: config.waitMode,
    idleWindowSeconds: wholeSeconds(config.idleWindowSeconds),
    mask: loop(config, config.maskWaitSeconds),
    endpoint: loop(config, config.endpointWaitSeconds),
    stop: pollLoop(config, config.endpointWaitSeconds),
  };
}
