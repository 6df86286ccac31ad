// The timers of one durable execution, by key, on the time scale: at most one per key, all cancelled
// together when the execution ends or the service stops.
import type { TimeScale } from '../common/time-scale.ts';

export class ScaledTimers {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly time: TimeScale) {}

  /** Fires `fire` after `simulatedSeconds`, replacing the timer already armed under `key`. */
  arm(key: string, simulatedSeconds: number, fire: () => void): void {
    this.disarm(key);
    this.timers.set(
      key,
      setTimeout(() => {
        this.timers.delete(key);
        fire();
      }, this.time.toRealMs(simulatedSeconds)),
    );
  }

  disarm(key: string): void {
    clearTimeout(this.timers.get(key));
    this.timers.delete(key);
  }

  clear(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}
