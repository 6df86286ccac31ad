// What `dvs` exits with, and the errors that carry each code: any action (or the target resolution it
// calls) may throw one, and the command line turns it into its code and one line on stderr.

export const EXIT = {
  /** The work was done. */
  ok: 0,
  /** The work failed: a job failed, an invariant broke, anything unexpected. */
  failed: 1,
  /** Bad arguments: an unknown option, a value out of range, a missing argument. */
  usage: 2,
  /** A file given is missing or invalid (an upload's image, a results file, an endpoints file). */
  badInput: 3,
  /** The target cannot be reached: no local cloud at the endpoints, no stack, a missing output. */
  unreachable: 4,
  /** Stopped by Ctrl-C (SIGINT) or SIGTERM; what was measured was still written. */
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const EXIT_CODES_HELP = `Exit codes:
  0    done
  1    the work failed (a job failed, an invariant broke)
  2    bad arguments
  3    a file given is missing or invalid
  4    the target cannot be reached (no local cloud at the endpoints, no stack, a missing output)
  130  interrupted (Ctrl-C or SIGTERM): what was measured is still written`;

/** An error that ends the command with a given exit code and only its message (no stack trace). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** A bad argument: names the option, the value given and what is allowed. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, EXIT.usage);
    this.name = 'UsageError';
  }
}

/** A file given that is missing or invalid, named with the fix. */
export class InputFileError extends CliError {
  constructor(message: string) {
    super(message, EXIT.badInput);
    this.name = 'InputFileError';
  }
}

/** The target does not answer or lacks what the comparison needs, named with the fix. */
export class TargetUnreachableError extends CliError {
  constructor(message: string) {
    super(message, EXIT.unreachable);
    this.name = 'TargetUnreachableError';
  }
}
