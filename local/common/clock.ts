// The one clock of the local cloud. Every timer that stands for AWS time (endpoint start, Wait
// states, Retry intervals, durable waits and retries, callback timeouts, heartbeats) sleeps on it,
// and every timestamp the services record reads it. Three modes:
// - `real`: simulated time is real time;
// - `scale:N`: N simulated seconds pass per real second, for everything (a person watching a run);
// - `skip`: simulated time runs at real speed while any work is in flight (an open request, a running
//   invocation, a state machine step, an event being routed) and, once the whole cloud has been idle
//   for a short settle time, jumps straight to the next due timer, as Temporal's time-skipping test
//   server does. Local processing then counts at its real cost, and a 5-minute endpoint start or an
//   hour-long idle window costs no wall time.
// Work in flight is counted with begin()/track() in every mode, so the modes differ only in time.

export type ClockMode =
  { kind: 'real' } | { kind: 'scale'; factor: number } | { kind: 'skip'; settleMs: number };

export interface Clock {
  readonly mode: ClockMode;
  /** Simulated time, in milliseconds since the epoch (what `Date.now()` reads in a sandbox). */
  now(): number;
  /**
   * Resolves once `simulatedSeconds` of simulated time have passed; rejects with the abort reason.
   * A `background` sleep (a recurring schedule) never makes a skip clock jump: it ends when time
   * reaches it, by real time or by a jump to some other sleeper, so an idle cloud with only a
   * schedule left does not race through simulated time.
   */
  sleep(simulatedSeconds: number, signal?: AbortSignal, options?: SleepOptions): Promise<void>;
  /** Marks one piece of work in flight; the returned function ends it (calls after the first are ignored). */
  begin(): () => void;
  /** Marks `work` in flight until it settles. */
  track<T>(work: Promise<T>): Promise<T>;
  /** The real time (epoch ms) at which the clock read `simulatedMs`: what a run really took. */
  toReal(simulatedMs: number): number;
  /** Pieces of work in flight now. */
  readonly inFlight: number;
  /**
   * The mapping from real to simulated time, for other threads (the function sandboxes): three
   * float64s, [anchor real ms, anchor simulated ms, simulated per real]; see simulatedNow.
   */
  readonly shared: SharedArrayBuffer;
}

/**
 * One piece of work in flight that can step aside while it only waits for other work the clock sees
 * on its own (a request waiting for its answer from a tracked local server, a modelled inference's
 * timer), and come back. Nested asides count: it is back once every one has come back.
 */
export class WorkMark {
  private endCurrent: (() => void) | undefined;
  private asides = 0;
  private ended = false;

  constructor(private readonly clock: Pick<Clock, 'begin'>) {
    this.endCurrent = clock.begin();
  }

  aside(): void {
    if (this.ended || this.asides++ > 0) return;
    this.endCurrent?.();
    this.endCurrent = undefined;
  }

  back(): void {
    if (this.ended || this.asides === 0 || --this.asides > 0) return;
    this.endCurrent = this.clock.begin();
  }

  /** Awaits `waiting` aside. */
  async awaitAside<T>(waiting: Promise<T>): Promise<T> {
    this.aside();
    try {
      return await waiting;
    } finally {
      this.back();
    }
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.endCurrent?.();
    this.endCurrent = undefined;
  }
}

export interface SleepOptions {
  background?: boolean;
}

/**
 * How long the cloud must stay idle before a skip clock jumps: short, but longer than a hop between
 * parts. Every hop of a job is tracked end to end (a request, an invocation, an event routed, a
 * wake-up until the event loop has turned), so this is a margin, not a guess at the slowest hop:
 * traced over a 1,000-upload hour, no untracked gap between two pieces of a job's work was seen.
 */
export const DEFAULT_SETTLE_MS = 5;

const MAX_TIMER_MS = 2 ** 31 - 1;

/** Simulated now from a clock's shared mapping: what a sandbox's `Date.now()` returns. */
export function simulatedNow(mapping: Float64Array, realNow: number): number {
  return mapping[1]! + (realNow - mapping[0]!) * mapping[2]!;
}

/** `real`, `skip` or `scale:N` (N simulated seconds per real second, N > 0). */
export function parseClockMode(text: string, settleMs = DEFAULT_SETTLE_MS): ClockMode {
  if (text === 'real') return { kind: 'real' };
  if (text === 'skip') return { kind: 'skip', settleMs };
  const scale = /^scale:(.+)$/.exec(text);
  const factor = scale ? Number(scale[1]) : NaN;
  if (Number.isFinite(factor) && factor > 0) return { kind: 'scale', factor };
  throw new RangeError(
    `clock must be 'skip', 'real' or 'scale:N' with N a positive number of simulated seconds per real second, got '${text}'`,
  );
}

/** The mode as `--clock` takes it. */
export function formatClockMode(mode: ClockMode): string {
  return mode.kind === 'scale' ? `scale:${mode.factor}` : mode.kind;
}

export function createClock(mode: ClockMode | string): Clock {
  const parsed = typeof mode === 'string' ? parseClockMode(mode) : mode;
  if (parsed.kind === 'skip') return new SkipClock(parsed.settleMs);
  return new LinearClock(parsed);
}

/** Counts work in flight; `onIdle` hears when the count drops to zero, `onBusy` when work begins. */
class InFlight {
  count = 0;
  /** Bumped on every begin and end: a settle that saw a different epoch saw activity. */
  epoch = 0;

  constructor(private readonly onChange: () => void = () => undefined) {}

  begin(): () => void {
    this.count++;
    this.epoch++;
    this.onChange();
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.count--;
      this.epoch++;
      this.onChange();
    };
  }

  track<T>(work: Promise<T>): Promise<T> {
    const end = this.begin();
    return work.finally(end);
  }
}

function aborted(signal: AbortSignal | undefined): Error | undefined {
  return signal?.aborted ? (signal.reason as Error) : undefined;
}

/** `real` and `scale:N`: simulated time is a fixed multiple of real time since the clock began. */
class LinearClock implements Clock {
  readonly shared = new SharedArrayBuffer(3 * 8);
  private readonly mapping = new Float64Array(this.shared);
  private readonly work = new InFlight();
  private readonly rate: number;

  constructor(readonly mode: ClockMode & { kind: 'real' | 'scale' }) {
    this.rate = mode.kind === 'scale' ? mode.factor : 1;
    const start = Date.now();
    this.mapping.set([start, start, this.rate]);
  }

  get inFlight(): number {
    return this.work.count;
  }

  now(): number {
    return simulatedNow(this.mapping, Date.now());
  }

  toReal(simulatedMs: number): number {
    return this.mapping[0]! + (simulatedMs - this.mapping[1]!) / this.rate;
  }

  sleep(simulatedSeconds: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const early = aborted(signal);
      if (early) return reject(early);
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(signal!.reason as Error);
      };
      // Timers past Node's 2^31 ms limit fire at once; a longer sleep re-arms until it is due.
      const due = this.now() + simulatedSeconds * 1000;
      let timer: NodeJS.Timeout;
      const arm = (): void => {
        const realMs = (due - this.now()) / this.rate;
        if (realMs <= 0) {
          signal?.removeEventListener('abort', onAbort);
          resolve();
          return;
        }
        timer = setTimeout(arm, Math.min(realMs, MAX_TIMER_MS));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      arm();
    });
  }

  begin(): () => void {
    return this.work.begin();
  }

  track<T>(work: Promise<T>): Promise<T> {
    return this.work.track(work);
  }
}

interface Sleeper {
  due: number;
  seq: number;
  background: boolean;
  wake: () => void;
}

/**
 * `skip`: simulated time is real time plus everything skipped so far. Sleepers wait in due order;
 * the earliest one's real timer fires it at 1x, and whenever the cloud has been idle for `settleMs`
 * the clock jumps to the earliest due time and wakes everything due by then, in order.
 */
class SkipClock implements Clock {
  readonly mode: ClockMode;
  readonly shared = new SharedArrayBuffer(3 * 8);
  private readonly mapping = new Float64Array(this.shared);
  private readonly work = new InFlight(() => this.onActivity());
  /** Sorted by due time, then by when the sleep began. */
  private readonly sleepers: Sleeper[] = [];
  private seq = 0;
  private dueTimer: NodeJS.Timeout | undefined;
  private settleTimer: NodeJS.Timeout | undefined;
  /** Simulated milliseconds skipped so far. */
  skippedMs = 0;
  jumps = 0;
  /** Each jump: the simulated time it landed on and everything skipped by then, for toReal. */
  private readonly landings: { atMs: number; skippedMs: number }[] = [];

  constructor(private readonly settleMs: number) {
    if (!(settleMs >= 0)) throw new RangeError(`settle time must be >= 0 ms, got ${settleMs}`);
    this.mode = { kind: 'skip', settleMs };
    const start = Date.now();
    this.mapping.set([start, start, 1]);
  }

  get inFlight(): number {
    return this.work.count;
  }

  now(): number {
    return simulatedNow(this.mapping, Date.now());
  }

  toReal(simulatedMs: number): number {
    // The last jump that landed at or before `simulatedMs` says how much had been skipped by then.
    let lo = 0;
    let hi = this.landings.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.landings[mid]!.atMs <= simulatedMs) lo = mid + 1;
      else hi = mid;
    }
    return simulatedMs - (lo === 0 ? 0 : this.landings[lo - 1]!.skippedMs);
  }

  sleep(simulatedSeconds: number, signal?: AbortSignal, options?: SleepOptions): Promise<void> {
    return new Promise((resolve, reject) => {
      const early = aborted(signal);
      if (early) return reject(early);
      const sleeper: Sleeper = {
        due: this.now() + Math.max(0, simulatedSeconds) * 1000,
        seq: this.seq++,
        background: options?.background === true,
        wake: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = (): void => {
        this.remove(sleeper);
        reject(signal!.reason as Error);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.insert(sleeper);
    });
  }

  begin(): () => void {
    return this.work.begin();
  }

  track<T>(work: Promise<T>): Promise<T> {
    return this.work.track(work);
  }

  private insert(sleeper: Sleeper): void {
    let lo = 0;
    let hi = this.sleepers.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.sleepers[mid]!.due <= sleeper.due) lo = mid + 1;
      else hi = mid;
    }
    this.sleepers.splice(lo, 0, sleeper);
    if (lo === 0) this.armDue();
    this.armSettle();
  }

  private remove(sleeper: Sleeper): void {
    const at = this.sleepers.indexOf(sleeper);
    if (at < 0) return;
    this.sleepers.splice(at, 1);
    if (at === 0) this.armDue();
  }

  /** The earliest sleeper's real timer, at 1x: time passes while work is in flight too. */
  private armDue(): void {
    clearTimeout(this.dueTimer);
    this.dueTimer = undefined;
    const first = this.sleepers[0];
    if (!first) return;
    const ms = Math.max(0, first.due - this.now());
    this.dueTimer = setTimeout(() => this.wakeDue(), Math.min(ms, MAX_TIMER_MS));
  }

  /** Wakes every sleeper due by now, earliest first. */
  private wakeDue(): void {
    const now = this.now();
    let woken = 0;
    while (this.sleepers.length > 0 && this.sleepers[0]!.due <= now) {
      this.sleepers.shift()!.wake();
      woken++;
    }
    this.armDue();
    if (woken === 0) return;
    // What was woken is in flight until the event loop has turned once (its I/O callbacks included),
    // so work it starts a hop later is not taken for an idle cloud. It may begin no tracked work at
    // all; the settle after that looks again.
    setImmediate(this.work.begin());
  }

  private onActivity(): void {
    if (this.work.count > 0) {
      clearTimeout(this.settleTimer);
      this.settleTimer = undefined;
    } else this.armSettle();
  }

  /** Once the cloud has stayed idle (no begin or end) for settleMs, jumps to the next due sleeper. */
  private armSettle(): void {
    if (this.work.count > 0 || !this.sleepers.some((s) => !s.background)) return;
    clearTimeout(this.settleTimer);
    const epoch = this.work.epoch;
    this.settleTimer = setTimeout(() => {
      this.settleTimer = undefined;
      // Any begin or end since arming re-armed the settle (or is in flight now): no jump.
      if (this.work.count > 0 || this.work.epoch !== epoch) return;
      this.jump();
    }, this.settleMs);
  }

  private jump(): void {
    // Only while some sleeper is not background; then to the earliest, so a schedule ticks on time.
    const first = this.sleepers[0];
    if (!first || !this.sleepers.some((s) => !s.background)) return;
    const ahead = first.due - this.now();
    if (ahead > 0) {
      this.skippedMs += ahead;
      this.jumps++;
      // Sandboxes read the mapping: move the anchor's simulated side on.
      this.mapping[1] = this.mapping[1]! + ahead;
      this.landings.push({ atMs: first.due, skippedMs: this.skippedMs });
    }
    this.wakeDue();
  }
}

/**
 * Runs `forget` once `days` of simulated time have passed (a retention period), unless `signal`
 * aborts first. A background sleep: a skip clock never jumps ahead for a retention alone.
 */
export function afterRetention(clock: Clock, days: number, signal: AbortSignal, forget: () => void): void {
  clock.sleep(days * 86_400, signal, { background: true }).then(forget, () => undefined);
}

/** What a skip clock skipped (zero for the others): for benchmarks' closing notes. */
export function skipped(clock: Clock): { skippedMs: number; jumps: number } {
  return clock instanceof SkipClock
    ? { skippedMs: clock.skippedMs, jumps: clock.jumps }
    : { skippedMs: 0, jumps: 0 };
}
