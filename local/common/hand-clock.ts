// A clock for tests where only simulated time must pass: it runs on the time scale until a test holds
// it; from then on every sleep that begins ends only when the test advances the clock past its end, so
// what the test checks between two steps cannot depend on how fast the machine is.
import type { TimeScale } from './time-scale.ts';

interface Sleeper {
  end: number;
  wake: () => void;
}

export class HandClock implements TimeScale {
  private held = false;
  private now = 0;
  private readonly sleepers = new Set<Sleeper>();

  constructor(private readonly scaled: TimeScale) {}

  get scale(): number {
    return this.scaled.scale;
  }

  toRealMs(simulatedSeconds: number): number {
    return this.scaled.toRealMs(simulatedSeconds);
  }

  toSimulatedSeconds(realMs: number): number {
    return this.scaled.toSimulatedSeconds(realMs);
  }

  sleep(simulatedSeconds: number, signal?: AbortSignal): Promise<void> {
    if (!this.held) return this.scaled.sleep(simulatedSeconds, signal);
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason as Error);
      const sleeper: Sleeper = { end: this.now + simulatedSeconds, wake: resolve };
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

  /** From now on, sleeps that begin wait for advance(); those already begun keep the time scale. */
  hold(): void {
    this.held = true;
  }

  /** Back to the time scale for sleeps that begin from now on; held ones still wait for advance(). */
  release(): void {
    this.held = false;
  }

  /** Moves held time on by `seconds`, ending every held sleep that ends by then. */
  advance(seconds: number): void {
    this.now += seconds;
    for (const sleeper of [...this.sleepers]) {
      if (sleeper.end > this.now) continue;
      this.sleepers.delete(sleeper);
      sleeper.wake();
    }
  }

  /** Held sleeps neither ended nor cancelled. */
  get sleeping(): number {
    return this.sleepers.size;
  }
}

/**
 * A time scale with a hold: while held, no sleep begins (each waits for the release, then sleeps its
 * full time on the scale), so a test sees a transient state (a deletion still running, an update) for
 * as long as it looks, however loaded the machine is.
 */
export function holdableClock(scaled: TimeScale): {
  timeScale: TimeScale;
  hold: () => () => void;
  release: () => void;
} {
  let held: Promise<void> = Promise.resolve();
  let release = (): void => undefined;
  return {
    timeScale: {
      scale: scaled.scale,
      toRealMs: (seconds) => scaled.toRealMs(seconds),
      toSimulatedSeconds: (ms) => scaled.toSimulatedSeconds(ms),
      sleep: async (seconds, signal) => {
        await held;
        await scaled.sleep(seconds, signal);
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
