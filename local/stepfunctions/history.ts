// An execution's history as Step Functions records it: its own event types, ids 1..N and
// previousEventIds by "thread" (the top level, one Map iteration, one Parallel branch). It is built
// from aws-local-stepfunctions' event log (states entered and exited, Map iterations, retries and
// catches) plus the Task events the service writes itself (scheduled, started, submitted, succeeded,
// failed, timed out), following the mapping in shared/research/sfn-wire.md section 6.
import { JSONPath } from 'jsonpath-plus';
import type { Json, StateInfo } from './definition.ts';

/** An event of aws-local-stepfunctions' log (the package does not export its type). */
export interface EngineEvent {
  type: string;
  index?: number;
  state?: { name: string; type: string; input: Json; output?: Json };
  parentState?: { name: string };
}

export interface HistoryEvent {
  timestamp: number;
  type: string;
  id: number;
  previousEventId: number;
  [details: string]: unknown;
}

/** The details member of each event type: `TaskStateEntered` -> `stateEnteredEventDetails`. */
function detailsKey(type: string): string {
  if (/StateEntered$/.test(type)) return 'stateEnteredEventDetails';
  if (/StateExited$/.test(type)) return 'stateExitedEventDetails';
  return `${type.charAt(0).toLowerCase()}${type.slice(1)}EventDetails`;
}

const json = (value: unknown): string => JSON.stringify(value ?? null);

export class HistoryBuilder {
  readonly events: HistoryEvent[] = [];
  /** The last event written in each thread (`root`, `Map#index`, `Parallel#branch`). */
  private readonly last = new Map<string, number>();
  /** The last event written anywhere inside a Map or Parallel state, and its Started event. */
  private readonly lastInside = new Map<string, number>();
  /** Threads of Task entries whose handler has not yet been called, per state name. */
  private readonly pendingTasks = new Map<string, string[]>();
  private readonly caught = new Set<string>();

  constructor(
    private readonly states: Map<string, StateInfo>,
    private readonly includeData: () => boolean = () => true,
  ) {}

  /** Writes an event; `prev` overrides the thread's last event, `advance: false` leaves it as is. */
  write(
    type: string,
    details: Record<string, unknown> | undefined,
    thread: string,
    options: { prev?: number; advance?: boolean } = {},
  ): number {
    const id = this.events.length + 1;
    const container = containerOf(thread);
    const previousEventId =
      options.prev ?? this.last.get(thread) ?? (container ? this.lastInside.get(container) : undefined) ?? 0;
    const event: HistoryEvent = { timestamp: Date.now() / 1000, type, id, previousEventId };
    if (details) event[detailsKey(type)] = details;
    this.events.push(event);
    if (options.advance ?? true) this.last.set(thread, id);
    // Every Map or Parallel around the thread has now seen this event inside it.
    for (let c = container; c; c = containerOf(this.threadOfState(c))) this.lastInside.set(c, id);
    return id;
  }

  /** The thread a Task handler call belongs to (handlers are called in the order states are entered). */
  takeTaskThread(stateName: string): string {
    return this.pendingTasks.get(stateName)?.shift() ?? this.threadOfState(stateName);
  }

  /** Translates one engine event into Step Functions history events. */
  onEngineEvent(event: EngineEvent): void {
    switch (event.type) {
      case 'StateEntered':
      case 'StateExited':
      case 'StateFailed':
      case 'StateRetried':
      case 'StateCaught':
        if (!event.state) return;
        return this.onStateEvent(event.type, event.state, this.threadOfState(event.state.name, event.index));
      case 'MapIterationStarted': {
        const map = event.parentState?.name ?? '';
        const thread = `${map}#${event.index}`;
        this.last.delete(thread);
        this.write('MapIterationStarted', { name: map, index: event.index }, thread, {
          prev: this.lastInside.get(map) ?? 0,
        });
        return;
      }
      case 'MapIterationSucceeded':
      case 'MapIterationFailed': {
        const map = event.parentState?.name ?? '';
        this.write(event.type, { name: map, index: event.index }, `${map}#${event.index}`, {
          advance: false,
        });
        return;
      }
      default:
        // ExecutionStarted/Succeeded/Failed/Aborted/Timeout are written by the service, which knows
        // the request's error and cause; Parallel branch events have no Step Functions counterpart.
        return;
    }
  }

  private onStateEvent(kind: string, state: NonNullable<EngineEvent['state']>, thread: string): void {
    const name = state.name;
    const type = this.states.get(name)?.type ?? state.type;
    const key = `${thread}/${name}`;
    switch (kind) {
      case 'StateEntered':
        this.write(`${type}StateEntered`, { name, ...this.data('input', state.input) }, thread);
        if (type === 'Task') this.queueTask(name, thread);
        if (type === 'Map')
          this.startContainer('MapStateStarted', name, thread, { length: this.mapLength(name, state.input) });
        if (type === 'Parallel') this.startContainer('ParallelStateStarted', name, thread);
        return;
      case 'StateRetried':
        if (type === 'Task') this.queueTask(name, thread);
        if (type === 'Map')
          this.startContainer('MapStateStarted', name, thread, { length: this.mapLength(name, state.input) });
        if (type === 'Parallel') this.startContainer('ParallelStateStarted', name, thread);
        return;
      case 'StateFailed':
        if (type === 'Map' || type === 'Parallel') {
          this.write(`${type}StateFailed`, undefined, thread, { prev: this.lastInside.get(name) ?? 0 });
        }
        return;
      case 'StateCaught':
        this.caught.add(key);
        return;
      case 'StateExited': {
        const caught = this.caught.delete(key);
        let prev: number | undefined;
        if ((type === 'Map' || type === 'Parallel') && !caught) {
          prev = this.lastInside.get(name) ?? 0;
          this.write(`${type}StateSucceeded`, undefined, thread, { prev, advance: false });
        }
        this.write(
          `${type}StateExited`,
          { name, ...this.data('output', state.output) },
          thread,
          prev === undefined ? {} : { prev },
        );
        return;
      }
    }
  }

  private startContainer(
    type: string,
    name: string,
    thread: string,
    details?: Record<string, unknown>,
  ): void {
    const prev = this.lastInside.get(name);
    for (const key of [...this.last.keys()]) if (key.startsWith(`${name}#`)) this.last.delete(key);
    const id = this.write(type, details, thread, prev === undefined ? {} : { prev });
    this.lastInside.set(name, id);
  }

  private queueTask(name: string, thread: string): void {
    const queue = this.pendingTasks.get(name) ?? [];
    queue.push(thread);
    this.pendingTasks.set(name, queue);
  }

  /** `input`/`output` and their details, or only the details when execution data is excluded. */
  data(field: 'input' | 'output', value: unknown): Record<string, unknown> {
    return {
      ...(this.includeData() ? { [field]: json(value) } : {}),
      [`${field}Details`]: { truncated: false },
    };
  }

  /** The thread of a state: the top level, an iteration of its Map, or a branch of its Parallel. */
  threadOfState(name: string, index?: number): string {
    const owner = this.states.get(name)?.owner;
    if (!owner || owner.kind === 'root') return 'root';
    if (owner.kind === 'map') return `${owner.state}#${index ?? 0}`;
    return `${owner.state}#b${owner.branch}`;
  }

  /** The number of items a Map state iterates: its input after InputPath, then ItemsPath. */
  private mapLength(name: string, input: Json): number {
    const state = this.states.get(name)?.definition;
    if (!state) return 0;
    try {
      let value: unknown = input;
      if (typeof state.InputPath === 'string')
        value = JSONPath({ path: state.InputPath, json: input as object, wrap: false });
      if (typeof state.ItemsPath === 'string')
        value = JSONPath({ path: state.ItemsPath, json: value as object, wrap: false });
      return Array.isArray(value) ? value.length : 0;
    } catch {
      return 0;
    }
  }
}

/** The Map or Parallel state that owns a thread (`Map#3` -> `Map`); undefined for the top level. */
function containerOf(thread: string): string | undefined {
  const hash = thread.lastIndexOf('#');
  return hash < 0 ? undefined : thread.slice(0, hash);
}
