// The endpoint's model server as the emulator models it: a GPU model serves a bounded number of
// invocations at once, each for a modelled time, and the rest wait their turn in arrival order, as
// requests queue in a model server's worker pool on AWS. One queue per endpoint; the modelled time
// runs on the local cloud's clock, alongside the container's own work (the longer of the two).
import type { Clock } from '../common/clock.ts';

export interface ModelledInference {
  /** Simulated seconds one inference holds its slot (0: only the container's own time). */
  seconds: number;
  /** Invocations one endpoint serves at once (Infinity: no limit); the rest queue, first come first served. */
  concurrency: number;
}

interface Lane {
  busy: number;
  waiting: (() => void)[];
}

export class InferenceQueue {
  private readonly lanes = new Map<string, Lane>();

  constructor(
    private readonly model: ModelledInference,
    private readonly clock: Pick<Clock, 'sleep'>,
  ) {
    const whole = Number.isInteger(model.concurrency) || model.concurrency === Infinity;
    if (!whole || model.concurrency < 1)
      throw new RangeError(
        `concurrent invocations must be a whole number of at least 1, got ${model.concurrency}`,
      );
    if (!Number.isFinite(model.seconds) || model.seconds < 0)
      throw new RangeError(`inference seconds must be 0 or more, got ${model.seconds}`);
  }

  /** Invocations of `endpoint` being served and waiting now. */
  depth(endpoint: string): { serving: number; waiting: number } {
    const lane = this.lanes.get(endpoint);
    return { serving: lane?.busy ?? 0, waiting: lane?.waiting.length ?? 0 };
  }

  /**
   * Runs `work` (the container's call) once a slot of `endpoint` is free, holding the slot for the
   * modelled time or the work's own, whichever is longer. Returns the work's result.
   */
  async serve<T>(
    endpoint: string,
    work: () => Promise<T>,
    /** How the request waits for its turn and for the modelled time past its work: aside on the clock. */
    awaitAside: <W>(waiting: Promise<W>) => Promise<W> = (waiting) => waiting,
  ): Promise<T> {
    const lane = this.lanes.get(endpoint) ?? { busy: 0, waiting: [] };
    this.lanes.set(endpoint, lane);
    if (lane.busy >= this.model.concurrency) await awaitAside(new Promise<void>((r) => lane.waiting.push(r)));
    else lane.busy++;
    try {
      const modelled = this.model.seconds > 0 ? this.clock.sleep(this.model.seconds) : undefined;
      const result = await work();
      if (modelled) await awaitAside(modelled);
      return result;
    } finally {
      // The slot passes straight to the next in line, so a later arrival can never overtake it.
      const next = lane.waiting.shift();
      if (next) next();
      else if (--lane.busy === 0) this.lanes.delete(endpoint);
    }
  }
}
