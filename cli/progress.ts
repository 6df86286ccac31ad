// Progress on long work, on stderr (stdout stays for the result and --json): on a terminal one live
// line redrawn in place (`bench burst  812/2000  41.3 s  ldf 405 sf 407`), elsewhere (a log, CI) plain
// lines at most every few seconds, so a long run neither floods a log nor looks hung.

/** What the scenario runner reports while it works. */
export interface Progress {
  /** A new stage (`bench burst: uploading`): printed at once; the elapsed time restarts. */
  phase(text: string): void;
  /** How far the stage is: `done` of `total`, with an optional detail (`ldf 405 sf 407`). */
  tick(done: number, total: number, detail?: string): void;
  /** A line to keep (a warning, a result): printed at once, above the live line. */
  line(text: string): void;
  /** The work is over: the last state is printed and the live line left behind. */
  end(): void;
}

export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  /** Default: whether the stream is a terminal. */
  live?: boolean;
  /** Milliseconds, monotonic; default performance.now. */
  now?: () => number;
  /** Plain mode: the least time between two tick lines (default 5000 ms). */
  plainIntervalMs?: number;
  /** Live mode: the least time between two redraws (default 100 ms). */
  liveIntervalMs?: number;
}

const CLEAR_LINE = '\r\x1b[2K';

export function createProgress(stream: ProgressStream, options: ProgressOptions = {}): Progress {
  const live = options.live ?? stream.isTTY === true;
  const now = options.now ?? (() => performance.now());
  const interval = live ? (options.liveIntervalMs ?? 100) : (options.plainIntervalMs ?? 5000);
  let stage = '';
  let stageStart = now();
  let last: { done: number; total: number; detail?: string } | undefined;
  // When the last tick was shown, and whether the newest one is still unshown.
  let shownAt = Number.NEGATIVE_INFINITY;
  let pending = false;
  let liveLineShown = false;

  const status = (): string => {
    const elapsed = `${((now() - stageStart) / 1000).toFixed(1)} s`;
    const count = last ? `${last.done}/${last.total}` : '';
    return [stage, count, elapsed, last?.detail ?? ''].filter((part) => part !== '').join('  ');
  };
  const fit = (text: string): string => {
    const width = stream.columns ?? 0;
    return width > 1 && text.length >= width ? `${text.slice(0, width - 2)}…` : text;
  };
  const show = (): void => {
    if (live) {
      stream.write(`${CLEAR_LINE}${fit(status())}`);
      liveLineShown = true;
    } else stream.write(`${status()}\n`);
    shownAt = now();
    pending = false;
  };
  const clearLive = (): void => {
    if (liveLineShown) stream.write(CLEAR_LINE);
    liveLineShown = false;
  };

  return {
    phase(text) {
      // The stage before keeps its last state on its own line.
      if (live && liveLineShown) {
        show();
        stream.write('\n');
        liveLineShown = false;
      } else if (!live && pending) show();
      stage = text;
      stageStart = now();
      last = undefined;
      if (live) show();
      else {
        stream.write(`${text}\n`);
        shownAt = now();
      }
    },
    tick(done, total, detail) {
      last = detail === undefined ? { done, total } : { done, total, detail };
      pending = true;
      if (now() - shownAt >= interval || done >= total) show();
    },
    line(text) {
      if (live) {
        clearLive();
        stream.write(`${text}\n`);
        if (stage !== '') show();
      } else stream.write(`${text}\n`);
    },
    end() {
      if (live && liveLineShown) {
        show();
        stream.write('\n');
        liveLineShown = false;
      } else if (!live && pending) show();
    },
  };
}

/** Progress that shows nothing (tests, or a caller that wants silence). */
export const silentProgress: Progress = {
  phase: () => undefined,
  tick: () => undefined,
  line: () => undefined,
  end: () => undefined,
};
