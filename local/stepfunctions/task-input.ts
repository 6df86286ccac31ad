// What a Task or Wait state reads from its input: TimeoutSeconds/HeartbeatSeconds or their Path form,
// a JSONPath, and the `$$.Task.Token` placeholder swapped for the Task's own token.
import { JSONPath } from 'jsonpath-plus';
import { HIDDEN_SECONDS, type Json, type JsonObject } from './definition.ts';
import { statesRuntime } from './errors.ts';

/** What `$$.Task.Token` evaluates to inside the engine; each Task swaps in its own fresh token. */
export const TOKEN_PLACEHOLDER = '__local_sfn_task_token__';

/**
 * TimeoutSeconds/HeartbeatSeconds or their Path form. The path reads the state's input: the engine
 * gives a Task with Parameters only those, so the value comes in a hidden parameter
 * (engineDefinition); a Task without Parameters gets its input itself.
 */
export function seconds(
  def: JsonObject,
  field: 'TimeoutSeconds' | 'HeartbeatSeconds',
  input: Json,
): number | undefined {
  const fixed = def[field];
  if (typeof fixed === 'number') return fixed;
  const path = def[`${field}Path`];
  if (typeof path !== 'string') return undefined;
  const hidden = HIDDEN_SECONDS[`${field}Path`]!;
  const value = isPlainObject(input) && hidden in input ? input[hidden] : readPath(path, input);
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw statesRuntime(
      `The ${field}Path parameter does not reference a positive integer: ${JSON.stringify(value ?? null)}`,
    );
  }
  return value;
}

function isPlainObject(value: Json): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The Task's parameters without the hidden timeout and heartbeat values. */
export function withoutHiddenSeconds(parameters: Json): Json {
  if (!isPlainObject(parameters)) return parameters;
  const hidden = new Set(Object.values(HIDDEN_SECONDS));
  return Object.fromEntries(Object.entries(parameters).filter(([key]) => !hidden.has(key)));
}

export function readPath(path: string, input: Json): unknown {
  return JSONPath<unknown>({ path, json: input as object, wrap: false });
}

export function replacePlaceholder(value: Json, token: string): Json {
  if (value === TOKEN_PLACEHOLDER) return token;
  if (Array.isArray(value)) return value.map((item) => replacePlaceholder(item, token));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, replacePlaceholder(item, token)]),
    );
  }
  return value;
}
