// A state machine definition as the local Step Functions service takes it: validated like AWS does
// (asl-validator), refused by name where aws-local-stepfunctions would silently ignore a feature,
// indexed by state name, and rewritten into the copy the engine runs, so that every timer (Wait,
// Retry intervals, Task timeouts and heartbeats, the execution timeout) runs on the time scale.
import validateAsl from 'asl-validator';
import {
  forEachState,
  isJsonObject,
  type Json,
  type JsonObject,
  type StateOwner,
} from '../../metering/asl-states.ts';

export { forEachState, type Json, type JsonObject, type StateOwner };

export interface StateInfo {
  name: string;
  type: string;
  definition: JsonObject;
  owner: StateOwner;
}

export interface ParsedDefinition {
  /** The definition as submitted (DescribeStateMachine returns this exact string). */
  text: string;
  /** Every state of the machine, nested ones included (asl-validator makes names unique). */
  states: Map<string, StateInfo>;
  /** The execution timeout in simulated seconds, if the definition sets one. */
  timeoutSeconds?: number;
}

/** What aws-local-stepfunctions 3.0.0 would accept and then silently ignore or get wrong. */
const UNSUPPORTED_FIELDS: Record<string, string> = {
  Assign: 'variables (Assign) are ignored by the local engine',
  Arguments: 'Arguments is JSONata; the local engine ignores it',
  Output: 'Output is JSONata; the local engine ignores it',
  Items: 'Items is JSONata; the local engine ignores it',
  Condition: 'Condition is JSONata; the local engine ignores it and takes the Default branch',
  ItemReader: 'distributed Map (ItemReader) is ignored by the local engine, which iterates the input',
  ItemBatcher: 'distributed Map (ItemBatcher) is ignored by the local engine',
  ResultWriter: 'distributed Map (ResultWriter) is ignored by the local engine',
  ToleratedFailurePercentage: 'distributed Map tolerances are ignored by the local engine',
  ToleratedFailurePercentagePath: 'distributed Map tolerances are ignored by the local engine',
  ToleratedFailureCount: 'distributed Map tolerances are ignored by the local engine',
  ToleratedFailureCountPath: 'distributed Map tolerances are ignored by the local engine',
  Label: 'distributed Map labels are ignored by the local engine',
  Credentials: 'cross-account Task credentials are ignored by the local engine',
};

/** Paths that name variables (`$myVar.x`) rather than the input (`$.x`) or the context (`$$.x`). */
const VARIABLE_PATH = /^\$[A-Za-z_]/;

/** Validates a definition string like CreateStateMachine; throws a message for InvalidDefinition. */
export function parseDefinition(text: string): ParsedDefinition {
  let definition: unknown;
  try {
    definition = JSON.parse(text);
  } catch (err) {
    throw new DefinitionError(
      `INVALID_JSON_DESCRIPTION: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  if (!isObject(definition))
    throw new DefinitionError('SCHEMA_VALIDATION_FAILED: the definition must be a JSON object');
  refuseIgnoredFeatures(definition, '');
  // The validator writes QueryLanguage into the object it checks, so give it a copy.
  const result = validateAsl(JSON.parse(text), { checkArn: true, checkPaths: true });
  if (!result.isValid) throw new DefinitionError(result.errorsText('; ').trim());
  const states = new Map<string, StateInfo>();
  forEachState(definition, { kind: 'root' }, (name, state, owner) => {
    states.set(name, {
      name,
      type: typeof state.Type === 'string' ? state.Type : '',
      definition: state,
      owner,
    });
  });
  const timeout = definition.TimeoutSeconds;
  return { text, states, ...(typeof timeout === 'number' ? { timeoutSeconds: timeout } : {}) };
}

export class DefinitionError extends Error {}

/** A Task's resource that the local service refuses up front (no pattern it could honour). */
function refuseResource(resource: string, where: string): void {
  if (/\.sync(:\d+)?$/.test(resource)) {
    throw new DefinitionError(
      `UNSUPPORTED_FEATURE: the .sync integration pattern of '${resource}' at ${where} is not supported by the local Step Functions service (request-response and .waitForTaskToken are)`,
    );
  }
}

function refuseIgnoredFeatures(node: unknown, where: string): void {
  if (Array.isArray(node)) {
    node.forEach((item, i) => refuseIgnoredFeatures(item, `${where}/${i}`));
    return;
  }
  if (typeof node === 'string') {
    if (node.includes('{%')) {
      throw new DefinitionError(
        `UNSUPPORTED_FEATURE: JSONata expression at ${where || '/'} is not supported by the local Step Functions service (the local engine would leave it unevaluated); use JSONPath`,
      );
    }
    return;
  }
  if (!isObject(node)) return;
  for (const [key, value] of Object.entries(node)) {
    const at = `${where}/${key}`;
    if (key === 'QueryLanguage' && value !== 'JSONPath') {
      throw new DefinitionError(
        `UNSUPPORTED_FEATURE: QueryLanguage '${JSON.stringify(value)}' at ${at} is not supported by the local Step Functions service (the local engine would ignore it); use JSONPath`,
      );
    }
    const reason = UNSUPPORTED_FIELDS[key];
    // Only where a state or a rule would carry the field: payload templates may use any key.
    if (reason && !isInsidePayload(where)) {
      throw new DefinitionError(
        `UNSUPPORTED_FEATURE: '${key}' at ${at} is not supported by the local Step Functions service: ${reason}`,
      );
    }
    if (key === 'ProcessorConfig' && isObject(value) && value.Mode === 'DISTRIBUTED') {
      throw new DefinitionError(
        `UNSUPPORTED_FEATURE: distributed Map (ProcessorConfig.Mode DISTRIBUTED) at ${at} is not supported by the local Step Functions service`,
      );
    }
    if (key === 'Resource' && typeof value === 'string') refuseResource(value, at);
    if (
      (key.endsWith('.$') || key.endsWith('Path') || key === 'Variable') &&
      typeof value === 'string' &&
      VARIABLE_PATH.test(value)
    ) {
      throw new DefinitionError(
        `UNSUPPORTED_FEATURE: variable reference '${value}' at ${at} is not supported by the local Step Functions service (the local engine has no variables)`,
      );
    }
    refuseIgnoredFeatures(value, at);
  }
}

const PAYLOAD_FIELDS = ['/Parameters', '/ResultSelector', '/ItemSelector', '/Result'];
function isInsidePayload(where: string): boolean {
  return PAYLOAD_FIELDS.some((field) => where.includes(`${field}/`) || where.endsWith(field));
}

const isObject = isJsonObject;

/**
 * The engine never times a Task out by itself (its default is 60 s); the service does, on the
 * clock. 2,000,000 s keeps the engine's setTimeout under Node's 2^31 ms limit.
 */
const ENGINE_NO_TIMEOUT_SECONDS = 2_000_000;

/** The resource of the Task that stands in for a Wait state in the engine's copy. */
export const LOCAL_WAIT_RESOURCE = 'arn:aws:states:::local:wait';

/** Hidden parameters that carry a Task's path-given timeout and heartbeat to the service. */
export const HIDDEN_SECONDS: Record<string, string> = {
  TimeoutSecondsPath: '__local_TimeoutSecondsPath',
  HeartbeatSecondsPath: '__local_HeartbeatSecondsPath',
};

/** Where a Task retrier of the engine's copy keeps the definition's timing (the engine ignores them). */
export const HIDDEN_RETRY = {
  IntervalSeconds: '__local_IntervalSeconds',
  BackoffRate: '__local_BackoffRate',
  MaxDelaySeconds: '__local_MaxDelaySeconds',
  JitterStrategy: '__local_JitterStrategy',
} as const;

/**
 * The copy of the definition the engine runs. The engine sleeps on real timers and ignores
 * heartbeats, so every AWS timer moves onto the service's clock: a Task's retries start at once in
 * the engine (interval 0) and the service waits the retrier's interval before the retry's Task runs
 * (its timing kept in hidden fields, history.ts retryDelaySeconds); every Wait becomes a Task served
 * by the service's own timer; Task timeouts, heartbeats and the execution timeout are removed and
 * enforced by the service; and a retrier or catcher on States.Timeout also matches the heartbeat
 * timeout, as on AWS. A Map's or Parallel's own retriers stay on the engine's real timers, divided by
 * `realPerSimulated` (the scale of a `scale:N` clock; they are not on a skip clock).
 */
export function engineDefinition(text: string, realPerSimulated = 1): JsonObject {
  const copy = JSON.parse(text) as JsonObject;
  delete copy.TimeoutSeconds;
  forEachState(copy, { kind: 'root' }, (name, state) => {
    if (Array.isArray(state.Retry)) {
      for (const retrier of state.Retry) {
        if (!isObject(retrier)) continue;
        if (state.Type === 'Task') {
          for (const [field, hidden] of Object.entries(HIDDEN_RETRY)) {
            if (retrier[field] !== undefined) retrier[hidden] = retrier[field]!;
          }
          retrier.IntervalSeconds = 0;
          delete retrier.MaxDelaySeconds;
        } else {
          retrier.IntervalSeconds =
            (typeof retrier.IntervalSeconds === 'number' ? retrier.IntervalSeconds : 1) / realPerSimulated;
          if (typeof retrier.MaxDelaySeconds === 'number') retrier.MaxDelaySeconds /= realPerSimulated;
        }
      }
    }
    for (const handler of [...asArray(state.Retry), ...asArray(state.Catch)]) {
      if (
        isObject(handler) &&
        Array.isArray(handler.ErrorEquals) &&
        handler.ErrorEquals.includes('States.Timeout')
      ) {
        handler.ErrorEquals.push('States.HeartbeatTimeout');
      }
    }
    if (state.Type === 'Task') {
      // The engine hands a Task only its Parameters, but TimeoutSecondsPath and HeartbeatSecondsPath
      // read the state's input (as on AWS): carry their values in hidden parameters the service strips.
      for (const [field, hidden] of Object.entries(HIDDEN_SECONDS)) {
        if (typeof state[field] === 'string' && isObject(state.Parameters)) {
          state.Parameters[`${hidden}.$`] = state[field];
        }
      }
      for (const field of [
        'TimeoutSeconds',
        'TimeoutSecondsPath',
        'HeartbeatSeconds',
        'HeartbeatSecondsPath',
      ])
        delete state[field];
      state.TimeoutSeconds = ENGINE_NO_TIMEOUT_SECONDS;
    }
    if (state.Type === 'Wait') {
      for (const field of ['Seconds', 'SecondsPath', 'Timestamp', 'TimestampPath']) delete state[field];
      state.Type = 'Task';
      state.Resource = LOCAL_WAIT_RESOURCE;
      state.TimeoutSeconds = ENGINE_NO_TIMEOUT_SECONDS;
    }
    void name;
  });
  return copy;
}

function asArray(value: Json | undefined): Json[] {
  return Array.isArray(value) ? value : [];
}
