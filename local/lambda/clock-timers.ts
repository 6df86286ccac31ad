// The timers of one durable execution, by key, on the clock (its `sleep`, so a test can hold it): at most one per key, all cancelled together when the execution ends or the service stops.
import type { Clock } from '../common/clock.ts';

export class ClockTimers {
  private readonly timers = new Map<string, AbortController>();

  constructor(private readonly time: Clock) {}

  /** Fires `fire` after `simulatedSeconds`, replacing the timer already armed under `key`. */
  arm(key: string, simulatedSeconds: number, fire: () => void): void {
    this.disarm(key);
    const timer = new AbortController();
    this.timers.set(key, timer);
    this.time.sleep(simulatedSeconds, timer.signal).then(
      () => {
        this.timers.delete(key);
        fire();
      },
      () => undefined, // disarmed
    );
  }

  disarm(key: string): void {
    this.timers.get(key)?.abort();
    this.timers.delete(key);
  }

  clear(): void {
    for (const timer of this.timers.values()) timer.abort();
    this.timers.clear();
  }
}
