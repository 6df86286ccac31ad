// A clock for tests where only simulated time must pass: it runs on the clock it wraps until a test
// holds it; from then on every sleep that begins ends only when the test advances the clock past its
// end, so what the test checks between two steps cannot depend on how fast the machine is.
import type { Clock, ClockMode, SleepOptions } from './clock.ts';

interface Sleeper {
  end: number;
  background: boolean;
  wake: () => void;
}

export class HandClock implements Clock {
  private held = false;
  private heldNow = 0;
  private readonly sleepers = new Set<Sleeper>();

  constructor(private readonly scaled: Clock) {}

  get mode(): ClockMode {
    return this.scaled.mode;
  }

  get shared(): SharedArrayBuffer {
    return this.scaled.shared;
  }

  get inFlight(): number {
    return this.scaled.inFlight;
  }

  now(): number {
    return this.scaled.now();
  }

  begin(): () => void {
    return this.scaled.begin();
  }

  toReal(simulatedMs: number): number {
    return this.scaled.toReal(simulatedMs);
  }

  track<T>(work: Promise<T>): Promise<T> {
    return this.scaled.track(work);
  }

  sleep(simulatedSeconds: number, signal?: AbortSignal, options?: SleepOptions): Promise<void> {
    if (!this.held) return this.scaled.sleep(simulatedSeconds, signal, options);
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason as Error);
      const sleeper: Sleeper = {
        end: this.heldNow + simulatedSeconds,
        background: options?.background === true,
        wake: resolve,
      };
      this.sleepers.add(sleeper);
      signal?.addEventListener(
        'abort',
        () => {
          this.sleepers.delete(sleeper);
          reject(signal.reason as Error);
        },
        { once: true },
      );
    });
  }

  /** From now on, sleeps that begin wait for advance(); those already begun keep the wrapped clock. */
  hold(): void {
    this.held = true;
  }

  /** Back to the wrapped clock for sleeps that begin from now on; held ones still wait for advance(). */
  release(): void {
    this.held = false;
  }

  /** Moves held time on by `seconds`, ending every held sleep that ends by then. */
  advance(seconds: number): void {
    this.heldNow += seconds;
    for (const sleeper of [...this.sleepers]) {
      if (sleeper.end > this.heldNow) continue;
      this.sleepers.delete(sleeper);
      sleeper.wake();
    }
  }

  /** Held sleeps neither ended nor cancelled, background ones (schedules, retention) left out. */
  get sleeping(): number {
    return [...this.sleepers].filter((s) => !s.background).length;
  }

  /** Held background sleeps (a schedule's tick, a retention period) neither ended nor cancelled. */
  get sleepingInBackground(): number {
    return [...this.sleepers].filter((s) => s.background).length;
  }
}

/**
 * A clock with a hold: while held, no sleep begins (each waits for the release, then sleeps its
 * full time on the wrapped clock), so a test sees a transient state (a deletion still running, an
 * update) for as long as it looks, however loaded the machine is.
 */
export function holdableClock(scaled: Clock): {
  clock: Clock;
  hold: () => () => void;
  release: () => void;
} {
  let held: Promise<void> = Promise.resolve();
  let release = (): void => undefined;
  return {
    clock: {
      get mode() {
        return scaled.mode;
      },
      get shared() {
        return scaled.shared;
      },
      get inFlight() {
        return scaled.inFlight;
      },
      now: () => scaled.now(),
      toReal: (ms) => scaled.toReal(ms),
      begin: () => scaled.begin(),
      track: (work) => scaled.track(work),
      sleep: async (seconds, signal, options) => {
        await held;
        await scaled.sleep(seconds, signal, options);
      },
    },
    hold: () => {
      release();
      held = new Promise((resolve) => (release = resolve));
      return release;
    },
    release: () => release(),
  };
}
