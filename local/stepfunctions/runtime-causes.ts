// The cause of a `States.Runtime` as Step Functions writes it: "An error occurred while executing the
// state '<name>' (entered at the event id #<id>). <detail>", the detail in AWS's words where they are
// known (the Wait state's SecondsPath and TimestampPath, a Choice on a path that is not there; from
// AWS's recorded histories and error reports, shared/research/sfn-wire.md), else the engine's own.

/** A path's value as AWS prints it after `==`: a string as itself, anything else as JSON. */
const shown = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value));

/** The SecondsPath detail for a value that is not a whole number of seconds >= 0, or undefined if it is. */
export function secondsPathProblem(path: string, value: unknown): string | undefined {
  if (value === undefined) return `The SecondsPath parameter does not reference an input value: ${path}`;
  if (typeof value !== 'number' || !Number.isInteger(value))
    return `The SecondsPath parameter cannot be parsed as a long value: ${path} == ${shown(value)}`;
  if (value < 0) return `The SecondsPath parameter references a negative value: ${path} == ${value}`;
  return undefined;
}

/**
 * An ISO-8601 extended offset date-time, the only form a Wait's timestamp takes: a date, a time, an
 * optional fraction and a zone (`Z` or `±hh:mm`). AWS refuses one without a zone.
 */
const OFFSET_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** The time a Wait's timestamp names (epoch ms), or undefined when it is not one AWS accepts. */
export function parseWaitTimestamp(value: unknown): number | undefined {
  if (typeof value !== 'string' || !OFFSET_DATE_TIME.test(value)) return undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : at;
}

export function timestampPathProblem(path: string, value: unknown): string {
  if (value === undefined) return `The TimestampPath parameter does not reference an input value: ${path}`;
  return `The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: ${path} == ${shown(value)}`;
}

/** The engine's runtime texts, in AWS's words where AWS's are known, for a state of `type`. */
export function awsRuntimeDetail(message: string, type: string | undefined): string {
  const missing = /^Path expression '(.+)' does not point to a value$/.exec(message);
  if (missing && type === 'Choice') {
    return `Invalid path '${missing[1]}': The choice state's condition path references an invalid value.`;
  }
  const notArray = /^Path expression '(.+)' evaluated to (.+), but expected an array$/.exec(message);
  if (notArray && type === 'Map') {
    return `The ItemsPath field does not reference a JSON array: ${notArray[1]} == ${notArray[2]}`;
  }
  return message;
}

/** The whole cause of a States.Runtime raised in `state` (entered at event `enteredId`). */
export function runtimeCause(detail: string, state: { name: string; enteredId: number } | undefined): string {
  if (!state || detail.startsWith('An error occurred while executing the state')) return detail;
  return `An error occurred while executing the state '${state.name}' (entered at the event id #${state.enteredId}). ${detail}`;
}
