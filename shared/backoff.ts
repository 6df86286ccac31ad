// The waiting schedule both orchestrators run on: capped exponential backoff (the first interval
// doubled per round up to the longest) inside an overall bound, in whole simulated seconds. The
// durable workflow reads its poll delays, retry delays and callback timeouts from here, and the
// state machine's settings (orchestrators/stepfunctions/settings.ts) its Wait seconds and task-token
// timeouts, so the two wait alike. Pure functions of the settings and the round number: a replay or a
// retried check always reaches the same decision, and no clock is read.
import type { Config } from './config.ts';

export type PollSettings = Pick<Config, 'pollSeconds' | 'pollMaxSeconds'>;
export type EventSettings = Pick<Config, 'eventFallbackSeconds'>;

/**
 * A duration as whole seconds, at least 1, rounded up (a wait is never shorter than configured):
 * durable durations, a Wait state's seconds and `TimeoutSeconds` all take positive integers.
 */
export function wholeSeconds(seconds: number): number {
  return Math.max(1, Math.ceil(seconds));
}

/**
 * One bounded wait loop: round `i` waits `waits[i]` seconds; after the last round it gives up.
 * The waits add up to the bound exactly.
 */
export interface WaitLoop {
  waits: number[];
  rounds: number;
  /** The bound the waits add up to, in whole seconds (for the timeout's message). */
  boundSeconds: number;
}

/** Intervals from `first`, doubling up to `max`, adding up to `bound` (the last one cut short). */
export function waitLoop(first: number, max: number, bound: number): WaitLoop {
  const total = wholeSeconds(bound);
  const longest = Math.max(wholeSeconds(first), wholeSeconds(max));
  const waits: number[] = [];
  let waited = 0;
  for (let next = wholeSeconds(first); waited < total; next = Math.min(next * 2, longest)) {
    const wait = Math.min(next, total - waited);
    waits.push(wait);
    waited += wait;
  }
  return { waits, rounds: waits.length, boundSeconds: total };
}

/** What round `n` (1-based) of a poll loop waits before its bound cuts it short: the backoff alone. */
export function pollDelaySeconds(s: PollSettings, n: number): number {
  const first = wholeSeconds(s.pollSeconds);
  return Math.min(first * 2 ** (n - 1), Math.max(first, wholeSeconds(s.pollMaxSeconds)));
}

/** A poll loop (and a retry schedule): from POLL_SECONDS, doubling up to POLL_MAX_SECONDS. */
export function pollLoop(s: PollSettings, bound: number): WaitLoop {
  return waitLoop(s.pollSeconds, s.pollMaxSeconds, bound);
}

/**
 * An event wait: each round waits for its wake-up at most EVENT_FALLBACK_SECONDS, then looks once (a
 * wake-up lost between the waker's claim and its send, a start to take over).
 */
export function eventLoop(s: EventSettings, bound: number): WaitLoop {
  return waitLoop(s.eventFallbackSeconds, s.eventFallbackSeconds, bound);
}

/** The delay after look `n` (1-based) of a poll loop within `bound`, or undefined when it is spent. */
export function delayAfterLook(s: PollSettings, bound: number, n: number): number | undefined {
  return pollLoop(s, bound).waits[n - 1];
}

/** Seconds waited before look `n` of a poll loop (the sum of the delays after looks 1 … n-1). */
export function waitedBeforeLook(s: PollSettings, bound: number, n: number): number {
  return pollLoop(s, bound)
    .waits.slice(0, Math.max(0, n - 1))
    .reduce((sum, wait) => sum + wait, 0);
}
