// One time scale for every service-side timer of the local cloud (endpoint start, Wait states,
// durable waits and retries): `scale` simulated AWS seconds pass per real second, so a 5-minute
// endpoint start at scale 60 takes 5 s. Counts never scale; only durations do. These timers stand in
// for AWS's own, so they live in local/; shared/ never waits, it only converts with TIME_SCALE.

export interface TimeScale {
  /** Simulated seconds per real second (1 = real time). */
  readonly scale: number;
  /** Real milliseconds that `simulatedSeconds` take at this scale. */
  toRealMs(simulatedSeconds: number): number;
  /** Simulated seconds that `realMs` stand for at this scale. */
  toSimulatedSeconds(realMs: number): number;
  /** Resolves after `simulatedSeconds` of simulated time. */
  sleep(simulatedSeconds: number, signal?: AbortSignal): Promise<void>;
}

export function timeScale(scale: number): TimeScale {
  if (!Number.isFinite(scale) || scale <= 0) {
    throw new RangeError(
      `time scale must be a positive number of simulated seconds per real second, got ${scale}`,
    );
  }
  const toRealMs = (s: number): number => (s * 1000) / scale;
  return {
    scale,
    toRealMs,
    toSimulatedSeconds: (ms) => (ms * scale) / 1000,
    sleep: (s, signal) =>
      new Promise((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason as Error);
        const timer = setTimeout(resolve, toRealMs(s));
        signal?.addEventListener(
          'abort',
          () => {
            clearTimeout(timer);
            reject(signal.reason as Error);
          },
          { once: true },
        );
      }),
  };
}

/** Real time: one simulated second per real second. */
export const REAL_TIME = timeScale(1);
