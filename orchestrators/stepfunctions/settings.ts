// The numbers the state machine runs on, derived from the task Lambda's Config and handed to each
// execution by its admit task: Wait states read their seconds from here (SecondsPath), the bounded
// loops their number of rounds, the Choice states the wait mode. So the ASL holds no number of its
// own and the durable function and the state machine obey the same settings.
import type { Config, WaitMode } from '../../shared/config.ts';

/**
 * One bounded wait loop: round `i` waits `waits[i]` seconds (a Wait state's SecondsPath in poll mode,
 * a `.waitForTaskToken` task's TimeoutSecondsPath in event mode); after `rounds` rounds it gives up.
 */
export interface WaitLoop {
  waits: number[];
  rounds: number;
  /** The bound the waits add up to, in seconds (for the timeout's message). */
  boundSeconds: number;
}

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
>;

export function stateMachineSettings(config: Settings): StateMachineSettings {
  const poll = (bound: number) => waitLoop(config.pollSeconds, config.pollMaxSeconds, bound);
  // Event mode: a wait ends when its event answers the token, or after POLL_MAX_SECONDS in one check
  // (a wake-up lost between the waker's claim and its send, a start to take over).
  const event = (bound: number) => waitLoop(config.pollMaxSeconds, config.pollMaxSeconds, bound);
  const loop = config.waitMode === 'event' ? event : poll;
  return {
    waitMode: config.waitMode,
    idleWindowSeconds: seconds(config.idleWindowSeconds),
    mask: loop(config.maskWaitSeconds),
    endpoint: loop(config.endpointWaitSeconds),
    stop: poll(config.endpointWaitSeconds),
  };
}

/**
 * Intervals from `first`, doubling up to `max`, adding up to `bound` exactly (the last one cut
 * short). Whole seconds: Step Functions' Wait and TimeoutSeconds take integers.
 */
export function waitLoop(first: number, max: number, bound: number): WaitLoop {
  const total = seconds(bound);
  const longest = Math.max(seconds(first), seconds(max));
  const waits: number[] = [];
  let waited = 0;
  for (let next = seconds(first); waited < total; next = Math.min(next * 2, longest)) {
    const wait = Math.min(next, total - waited);
    waits.push(wait);
    waited += wait;
  }
  return { waits, rounds: waits.length, boundSeconds: total };
}

/** A duration as whole seconds, at least 1 (rounded up: a wait is never shorter than configured). */
function seconds(value: number): number {
  return Math.max(1, Math.ceil(value));
}
