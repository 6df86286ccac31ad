// Checks a Step Functions execution history (GetExecutionHistory) against the state machine's ASL:
// every state entered exists with the type the event names, and every step from one state to the
// next is one the definition allows (Next, a Choice rule or its Default, a Catch, the StartAt of the
// machine, a Map's iterations or a Parallel's branches, the end of a scope only at an End or Succeed
// state, a retry only where a Retry is). It follows the previousEventId links, which chain events of
// the same thread (top level, Map iteration, Parallel branch), so it reads AWS histories and the
// local service's alike. Pure: the caller fetches the history and the definition.
import { forEachState, isJsonObject, type JsonObject, type StateOwner } from './asl-states.ts';

/** The fields of a history event the check reads (HistoryEvent of @aws-sdk/client-sfn fits). */
export interface CheckedEvent {
  type?: string | undefined;
  id?: number | undefined;
  previousEventId?: number | undefined;
  stateEnteredEventDetails?: { name?: string | undefined } | undefined;
  stateExitedEventDetails?: { name?: string | undefined } | undefined;
  mapIterationStartedEventDetails?: { name?: string | undefined } | undefined;
  mapIterationSucceededEventDetails?: { name?: string | undefined } | undefined;
  mapIterationFailedEventDetails?: { name?: string | undefined } | undefined;
  mapIterationAbortedEventDetails?: { name?: string | undefined } | undefined;
}

export interface HistoryCheck {
  /** What the history does that the definition does not allow; empty when consistent. */
  findings: string[];
  statesEntered: number;
  /** State-to-state steps checked (each state entered after another state's exit). */
  transitions: number;
  retries: number;
}

interface StateNode {
  type: string;
  definition: JsonObject;
  owner: StateOwner;
}

/** An attempt start that is a retry when it does not directly follow its state's entry. */
const ATTEMPT_STARTS = new Set([
  'TaskScheduled',
  'LambdaFunctionScheduled',
  'ActivityScheduled',
  'MapStateStarted',
  'ParallelStateStarted',
]);

const ITERATION_EVENT = /^MapIteration(Started|Succeeded|Failed|Aborted)$/;

export function checkSfnHistory(
  definition: string | JsonObject,
  events: readonly CheckedEvent[],
): HistoryCheck {
  const machine = typeof definition === 'string' ? (JSON.parse(definition) as JsonObject) : definition;
  const states = new Map<string, StateNode>();
  forEachState(machine, { kind: 'root' }, (name, state, owner) =>
    states.set(name, { type: typeof state.Type === 'string' ? state.Type : '', definition: state, owner }),
  );
  const findings: string[] = [];
  const result: HistoryCheck = { findings, statesEntered: 0, transitions: 0, retries: 0 };
  const byId = new Map<number, CheckedEvent>();
  /** The state each event belongs to (its own events, or the innermost state around it). */
  const stateOf = new Map<number, string>();
  /** Retries per state since its last entry, keyed by the entry's event id. */
  const retries = new Map<number, number>();
  /** The entry (event id) each event's attempt belongs to, and the latest entry of each state. */
  const entryOf = new Map<number, number>();
  const lastEntry = new Map<string, number>();

  const ancestors = (name: string): string[] => {
    const chain: string[] = [];
    for (let owner = states.get(name)?.owner; owner && owner.kind !== 'root';) {
      chain.push(owner.state);
      owner = states.get(owner.state)?.owner;
    }
    return chain;
  };
  const nameOf = (e: CheckedEvent): string =>
    e.stateEnteredEventDetails?.name ??
    e.stateExitedEventDetails?.name ??
    e.mapIterationStartedEventDetails?.name ??
    e.mapIterationSucceededEventDetails?.name ??
    e.mapIterationFailedEventDetails?.name ??
    e.mapIterationAbortedEventDetails?.name ??
    '';

  events.forEach((e, at) => {
    const id = e.id ?? at + 1;
    const type = e.type ?? '';
    const where = `event ${id} (${type})`;
    if (id !== at + 1) findings.push(`${where}: ids must run 1..N in order`);
    const prevId = e.previousEventId ?? 0;
    if (prevId >= id) findings.push(`${where}: previousEventId ${prevId} is not an earlier event`);
    byId.set(id, e);
    const prev = byId.get(prevId);
    const prevState = stateOf.get(prevId);

    if (type.endsWith('StateEntered')) {
      const name = nameOf(e);
      const state = states.get(name);
      result.statesEntered++;
      if (!state) return void findings.push(`${where}: state '${name}' is not in the definition`);
      if (type !== `${state.type}StateEntered`) findings.push(`${where}: '${name}' is a ${state.type} state`);
      stateOf.set(id, name);
      entryOf.set(id, id);
      lastEntry.set(name, id);
      const problem = enteredAfter(name, state, prev, prevState);
      if (problem) findings.push(`${where}: '${name}' ${problem}`);
      else if (prev?.type?.endsWith('StateExited')) result.transitions++;
      return;
    }
    if (type.endsWith('StateExited')) {
      const name = nameOf(e);
      const state = states.get(name);
      if (!state) return void findings.push(`${where}: state '${name}' is not in the definition`);
      if (type !== `${state.type}StateExited`) findings.push(`${where}: '${name}' is a ${state.type} state`);
      if (prevState !== name && !(prevState && ancestors(prevState).includes(name))) {
        findings.push(`${where}: '${name}' exits where '${prevState ?? 'no state'}' was running`);
      }
      stateOf.set(id, name);
      return;
    }
    if (ITERATION_EVENT.test(type)) {
      const map = nameOf(e);
      if (states.get(map)?.type !== 'Map') return void findings.push(`${where}: '${map}' is not a Map state`);
      stateOf.set(id, map);
      if (type === 'MapIterationSucceeded') {
        const last = prev?.type?.endsWith('StateExited') ? states.get(nameOf(prev)) : undefined;
        if (!last || !(last.owner.kind === 'map' && last.owner.state === map) || !endsScope(last)) {
          findings.push(`${where}: an iteration of '${map}' ends after ${describe(prev)}, not an End state`);
        }
      }
      return;
    }
    if (type === 'ExecutionSucceeded') {
      const last = prev?.type?.endsWith('StateExited') ? states.get(nameOf(prev)) : undefined;
      if (!last || last.owner.kind !== 'root' || !endsScope(last)) {
        findings.push(`${where}: the execution succeeds after ${describe(prev)}, not a top-level End state`);
      }
      return;
    }
    if (type.startsWith('Execution') || !prevState) return;
    // A Task, Map or Parallel event without a name: it belongs to the state of the event it follows,
    // or (Map/Parallel after an inner event) to the Map or Parallel around that state.
    const kind = type.startsWith('Map') ? 'Map' : type.startsWith('Parallel') ? 'Parallel' : undefined;
    const isRetry = ATTEMPT_STARTS.has(type) && !prev?.type?.endsWith('StateEntered');
    let owner = prevState;
    if (kind) {
      const candidates = [prevState, ...ancestors(prevState)].filter((s) => states.get(s)?.type === kind);
      owner = (isRetry ? candidates.find((s) => hasRetry(states.get(s)!)) : undefined) ?? candidates[0] ?? '';
      if (!owner) return void findings.push(`${where}: not inside a ${kind} state`);
    }
    stateOf.set(id, owner);
    // A Map's or Parallel's retry chains through inner events: its attempt is its latest entry's.
    const entryId = kind ? lastEntry.get(owner) : entryOf.get(prevId);
    if (entryId !== undefined) entryOf.set(id, entryId);
    if (!isRetry) return;
    result.retries++;
    const state = states.get(owner)!;
    if (!hasRetry(state)) return void findings.push(`${where}: '${owner}' is retried but has no Retry`);
    const count = (retries.get(entryId ?? 0) ?? 0) + 1;
    retries.set(entryId ?? 0, count);
    if (count > maxRetries(state)) {
      findings.push(`${where}: '${owner}' retried ${count} times, more than its Retry allows`);
    }
  });
  return result;

  /** Why `name` may not be entered after `prev`; undefined when the definition allows it. */
  function enteredAfter(
    name: string,
    state: StateNode,
    prev: CheckedEvent | undefined,
    prevState: string | undefined,
  ): string | undefined {
    const prevType = prev?.type ?? '';
    if (!prev || prevType === 'ExecutionStarted') {
      return state.owner.kind === 'root' && machine.StartAt === name
        ? undefined
        : `is entered first, but the machine starts at '${typeof machine.StartAt === 'string' ? machine.StartAt : '?'}'`;
    }
    if (prevType === 'MapIterationStarted') {
      const map = nameOf(prev);
      const processor = states.get(map)?.definition;
      const start = processor && (processor.ItemProcessor ?? processor.Iterator);
      return isJsonObject(start) && start.StartAt === name && state.owner.kind === 'map'
        ? undefined
        : `starts an iteration of '${map}', whose processor starts elsewhere`;
    }
    if (prevType === 'ParallelStateStarted') {
      const parallel = prevState ? states.get(prevState) : undefined;
      const branches = Array.isArray(parallel?.definition.Branches) ? parallel.definition.Branches : [];
      return state.owner.kind === 'parallel' &&
        state.owner.state === prevState &&
        branches.some((b) => isJsonObject(b) && b.StartAt === name)
        ? undefined
        : `starts a branch of '${prevState ?? '?'}', but no branch starts there`;
    }
    if (prevType.endsWith('StateExited')) {
      const from = nameOf(prev);
      // A state that exits right after a failure was caught: it may go only where a Catch goes.
      const caught = FAILURE.test(byId.get(prev.previousEventId ?? 0)?.type ?? '');
      const allowed = nextStates(states.get(from), caught);
      return allowed.includes(name)
        ? undefined
        : `follows '${from}'${caught ? ' caught' : ''}, which goes only to ${allowed.join(', ') || 'the end of its scope'}`;
    }
    return `is entered after ${describe(prev)}, not after a state's exit`;
  }

  function describe(e: CheckedEvent | undefined): string {
    if (!e) return 'nothing';
    const name = nameOf(e);
    return `${e.type ?? '?'}${name ? ` '${name}'` : ''}`;
  }
}

/** The states the definition lets `state` go to: Next, Choice rules and Default; after a failure, Catch. */
function nextStates(state: StateNode | undefined, caught: boolean): string[] {
  if (!state) return [];
  const d = state.definition;
  const next: string[] = [];
  const add = (value: unknown) => {
    if (typeof value === 'string' && !next.includes(value)) next.push(value);
  };
  if (caught) {
    for (const c of Array.isArray(d.Catch) ? d.Catch : []) if (isJsonObject(c)) add(c.Next);
    return next;
  }
  add(d.Next);
  add(d.Default);
  for (const rule of Array.isArray(d.Choices) ? d.Choices : []) if (isJsonObject(rule)) add(rule.Next);
  return next;
}

/** The events of a failed attempt: a state that exits right after one of them was caught. */
const FAILURE = /(Failed|TimedOut)$/;

const endsScope = (state: StateNode): boolean => state.definition.End === true || state.type === 'Succeed';

const hasRetry = (state: StateNode): boolean =>
  Array.isArray(state.definition.Retry) && state.definition.Retry.length > 0;

/** Retries the state's retriers allow in all (MaxAttempts defaults to 3). */
function maxRetries(state: StateNode): number {
  const retriers = Array.isArray(state.definition.Retry) ? state.definition.Retry : [];
  return retriers.reduce<number>(
    (sum, r) => sum + (isJsonObject(r) && typeof r.MaxAttempts === 'number' ? r.MaxAttempts : 3),
    0,
  );
}
