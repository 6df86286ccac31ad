// The states of an Amazon States Language definition, nested ones included: where each lives (the top
// level, a Map's iterations, one branch of a Parallel). One walk for the local Step Functions service
// and for the history check, which reads definitions deployed to AWS as well.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** Where a state lives: the top level, a Map's iterations, or one branch of a Parallel. */
export type StateOwner =
  { kind: 'root' } | { kind: 'map'; state: string } | { kind: 'parallel'; state: string; branch: number };

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Visits every state of a machine (or of a Map processor or Parallel branch), nested ones after their owner. */
export function forEachState(
  machine: JsonObject,
  owner: StateOwner,
  visit: (name: string, state: JsonObject, owner: StateOwner) => void,
): void {
  const states = machine.States;
  if (!isJsonObject(states)) return;
  for (const [name, state] of Object.entries(states)) {
    if (!isJsonObject(state)) continue;
    visit(name, state, owner);
    const processor = state.ItemProcessor ?? state.Iterator;
    if (state.Type === 'Map' && isJsonObject(processor))
      forEachState(processor, { kind: 'map', state: name }, visit);
    if (state.Type === 'Parallel' && Array.isArray(state.Branches)) {
      state.Branches.forEach((branch, i) => {
        if (isJsonObject(branch)) forEachState(branch, { kind: 'parallel', state: name, branch: i }, visit);
      });
    }
  }
}
