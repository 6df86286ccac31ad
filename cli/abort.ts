// Ctrl-C that stops cleanly: the first SIGINT or SIGTERM aborts the signal every action receives, so
// the action stops its work, writes what it measured and returns (the command exits 130); a second
// one exits at once, for a user who will not wait for the clean-up.
import { EXIT } from './exit.ts';

/** What the first interrupt aborts the signal with (`signal.reason`). */
export class InterruptedError extends Error {
  constructor(readonly signalName: NodeJS.Signals) {
    super(`interrupted by ${signalName}`);
    this.name = 'InterruptedError';
  }
}

export interface SignalSource {
  on(event: NodeJS.Signals, listener: () => void): unknown;
  off(event: NodeJS.Signals, listener: () => void): unknown;
}

export interface InterruptOptions {
  /** Where the signals come from; default `process`. */
  source?: SignalSource;
  /** Told what happens on each interrupt; default stderr. */
  notify?: (line: string) => void;
  /** The second interrupt's way out; default `process.exit`. */
  exit?: (code: number) => void;
  signals?: readonly NodeJS.Signals[];
}

export interface Interrupts {
  signal: AbortSignal;
  /** Stops listening (the command is over). */
  dispose(): void;
}

export function interruptOnSignals(options: InterruptOptions = {}): Interrupts {
  const source = options.source ?? process;
  const notify = options.notify ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const signals = options.signals ?? ['SIGINT', 'SIGTERM'];
  const controller = new AbortController();
  const listeners = signals.map((name) => {
    const listener = (): void => {
      if (!controller.signal.aborted) {
        notify(`\n${name}: stopping; what was measured is still written (again to quit at once)`);
        controller.abort(new InterruptedError(name));
      } else {
        notify(`${name} again: quitting now`);
        exit(EXIT.interrupted);
      }
    };
    source.on(name, listener);
    return [name, listener] as const;
  });
  return {
    signal: controller.signal,
    dispose: () => {
      for (const [name, listener] of listeners) source.off(name, listener);
    },
  };
}
