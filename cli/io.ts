// What every action gets besides its options: where to write, live progress, and the signal that
// Ctrl-C aborts.
import type { Progress } from './progress.ts';

export interface Writer {
  write(text: string): unknown;
}

export interface CliIo {
  /** The result (a table, or one JSON document with --json). */
  stdout: Writer;
  /** Messages and errors. */
  stderr: Writer;
  /** Live progress (on stderr). */
  progress: Progress;
  /** Aborted by the first Ctrl-C or SIGTERM: stop, write what was measured, return. */
  signal: AbortSignal;
}
