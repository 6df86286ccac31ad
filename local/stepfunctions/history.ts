// An execution's history as Step Functions records it: its own event types, ids 1..N and
// previousEventIds by "thread" (the top level, one Map iteration, one Parallel branch). It is built
// from aws-local-stepfunctions' event log (states entered and exited, Map iterations, retries and
// catches) plus the Task events the service writes itself (scheduled, started, submitted, succeeded,
// failed, timed out), following the mapping in shared/research/sfn-wire.md section 6.
import { JSONPath } from 'jsonpath-plus';
import { HIDDEN_RETRY, type Json, type StateInfo } from './definition.ts';
import { Spillable, type SpillStore } from '../common/spill-store.ts';

/** An event of aws-local-stepfunctions' log (the package does not export its type). */
export interface EngineEvent {
  type: string;
  index?: number;
  state?: { name: string; type: string; input: Json; output?: Json };
  parentState?: { name: string };
  /** StateRetried: the retrier (the engine's copy) and the retry's number, 1 for the first. */
  retry?: { retrier: Json; attempt: number };
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
  /** The events: on disk once the execution closed (see spill). */
  private readonly stored = new Spillable<HistoryEvent[]>([]);
  /** The last event written in each thread (`root`, `Map#index`, `Parallel#branch`). */
  private readonly last = new Map<string, number>();
  /** The last event written anywhere inside a Map or Parallel state, and its Started event. */
  private readonly lastInside = new Map<string, number>();
  /** Threads of Task entries whose handler has not yet been called, per state name. */
  private readonly pendingTasks = new Map<string, string[]>();
  private readonly caught = new Set<string>();
  /** The Started event of each Map or Parallel attempt: a branch's first event chains to it. */
  private readonly started = new Map<string, number>();
  /** The current attempt of each Map state: which iterations AWS would show, and in what order. */
  private readonly maps = new Map<string, MapAttempt>();
  private readonly iterationEnd = new Map<string, number>();
  /** Map and Parallel failures not yet written: a retry may still follow. */
  private readonly failing = new Map<string, { type: string; thread: string; prev: number }>();
  /** Each Map's iterations the engine has started and not ended, in the engine's own order. */
  private readonly engineOpen = new Map<string, number[]>();
  /** The id of each state's latest Entered event, by state name (names are unique in a machine). */
  private readonly enteredAt = new Map<string, number>();
  /** The state the engine last reported failing, and the id of the Entered event of that entry. */
  private lastFailure: { name: string; enteredId: number } | undefined;
  /** Task retries the engine started at once: the interval each must wait first, by `thread/state`. */
  private readonly retryDelays = new Map<string, number>();

  constructor(
    private readonly states: Map<string, StateInfo>,
    private readonly includeData: () => boolean = () => true,
    /** The local cloud's clock (epoch ms): every event's timestamp reads it. */
    private readonly now: () => number = Date.now,
  ) {}

  /** The events so far; once spilled, a fresh copy read from disk. */
  get events(): HistoryEvent[] {
    return this.stored.current;
  }

  /**
   * Moves a closed execution's events to `store`, read back on demand (GetExecutionHistory): memory
   * keeps nothing of them. An event written later brings them back into memory first.
   */
  spill(store: SpillStore): void {
    this.stored.spill(store);
  }

  /** Whether the events are on disk (the execution closed), not in memory. */
  get onDisk(): boolean {
    return this.stored.onDisk;
  }

  /** Lets the spilled copy go (the execution is forgotten). */
  forget(): void {
    this.stored.forget();
  }

  /** Writes an event; `prev` overrides the thread's last event, `advance: false` leaves it as is. */
  write(
    type: string,
    details: Record<string, unknown> | undefined,
    thread: string,
    options: { prev?: number; advance?: boolean } = {},
  ): number {
    const events = this.stored.live();
    const id = events.length + 1;
    const container = containerOf(thread);
    const previousEventId =
      options.prev ?? this.last.get(thread) ?? (container ? this.started.get(container) : undefined) ?? 0;
    const event: HistoryEvent = { timestamp: this.now() / 1000, type, id, previousEventId };
    if (details) event[detailsKey(type)] = details;
    events.push(event);
    // Events that do not advance their thread (an iteration's or a Map's Succeeded, ...) never become
    // the previous event of what follows, in their thread or in the Maps and Parallels around it.
    if (options.advance ?? true) {
      this.last.set(thread, id);
      for (let c = container; c; c = containerOf(this.threadOfState(c))) this.lastInside.set(c, id);
    }
    return id;
  }

  /** The thread a Task handler call belongs to (handlers are called in the order states are entered). */
  takeTaskThread(stateName: string): string {
    return this.pendingTasks.get(stateName)?.shift() ?? this.threadOfState(stateName);
  }

  /** Simulated seconds a Task's retry waits before it starts (0 for a first attempt). */
  takeRetryDelay(thread: string, stateName: string): number {
    const key = `${thread}/${stateName}`;
    const seconds = this.retryDelays.get(key) ?? 0;
    this.retryDelays.delete(key);
    return seconds;
  }

  /**
   * Translates one engine event into Step Functions history events. The engine reports nested
   * events through promise chains, so iterations can arrive out of the order AWS writes them: an
   * iteration beyond MaxConcurrency waits until one ends, and iterations the engine still starts
   * after one failed (AWS starts no more) are dropped, their Tasks refused.
   */
  onEngineEvent(event: EngineEvent): void {
    this.place(this.withIterationIndex(event));
  }

  /**
   * The engine stamps every state event of a Map iteration with the iteration's index at each level
   * it passes up, so a state inside a Map nested in another Map carries the outer index. Its own
   * Map's iteration is the one the engine started last and has not ended (iterations of an inner
   * Map run one after another; with concurrent inner iterations the attribution is a guess).
   */
  private withIterationIndex(event: EngineEvent): EngineEvent {
    if (event.type.startsWith('MapIteration')) {
      const map = event.parentState?.name ?? '';
      const open = this.engineOpen.get(map) ?? [];
      if (event.type === 'MapIterationStarted') open.push(event.index ?? 0);
      else if (open.includes(event.index ?? 0)) open.splice(open.indexOf(event.index ?? 0), 1);
      this.engineOpen.set(map, open);
      return event;
    }
    const owner = event.state && this.states.get(event.state.name)?.owner;
    if (owner?.kind !== 'map' || !this.insideMap(owner.state)) return event;
    const index = this.engineOpen.get(owner.state)?.at(-1);
    return index === undefined ? event : { ...event, index };
  }

  /** Whether a state sits inside a Map iteration (at any depth). */
  private insideMap(name: string): boolean {
    for (let owner = this.states.get(name)?.owner; owner && owner.kind !== 'root';) {
      if (owner.kind === 'map') return true;
      owner = this.states.get(owner.state)?.owner;
    }
    return false;
  }

  private place(event: EngineEvent): void {
    const iteration = this.iterationOf(event);
    const attempt = iteration && this.maps.get(iteration.map);
    if (iteration && attempt) {
      const { index } = iteration;
      if (attempt.ghosts.has(index) || (event.type === 'MapIterationStarted' && attempt.failed)) {
        attempt.ghosts.add(index);
        if (
          event.type === 'StateEntered' &&
          event.state &&
          this.states.get(event.state.name)?.type === 'Task'
        ) {
          this.queueTask(event.state.name, GHOST_THREAD);
        }
        return;
      }
      if (
        attempt.deferred.has(index) ||
        (event.type === 'MapIterationStarted' && attempt.open.size >= attempt.limit)
      ) {
        attempt.deferred.add(index);
        attempt.queue.push(event);
        return;
      }
      if (event.type === 'MapIterationStarted') attempt.open.add(index);
    }
    this.translate(event);
    if (
      attempt &&
      iteration &&
      (event.type === 'MapIterationSucceeded' || event.type === 'MapIterationFailed')
    ) {
      attempt.open.delete(iteration.index);
      if (event.type === 'MapIterationFailed') attempt.failed = true;
      const queued = attempt.queue.splice(0);
      attempt.deferred.clear();
      for (const next of queued) this.place(next);
    }
  }

  /** The Map iteration an event belongs to, if any. */
  private iterationOf(event: EngineEvent): { map: string; index: number } | undefined {
    if (event.type.startsWith('MapIteration'))
      return { map: event.parentState?.name ?? '', index: event.index ?? 0 };
    const owner = event.state && this.states.get(event.state.name)?.owner;
    return owner?.kind === 'map' ? { map: owner.state, index: event.index ?? 0 } : undefined;
  }

  private translate(event: EngineEvent): void {
    switch (event.type) {
      case 'StateEntered':
      case 'StateExited':
      case 'StateFailed':
      case 'StateRetried':
      case 'StateCaught':
        if (!event.state) return;
        return this.onStateEvent(
          event.type,
          event.state,
          this.threadOfState(event.state.name, event.index),
          event.retry,
        );
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
        const id = this.write(event.type, { name: map, index: event.index }, `${map}#${event.index}`, {
          advance: false,
        });
        // A Map that succeeds closes on its last iteration's end (AWS: MapStateSucceeded/Exited chain to it).
        if (event.type === 'MapIterationSucceeded') this.iterationEnd.set(map, id);
        return;
      }
      default:
        // ExecutionStarted/Succeeded/Failed/Aborted/Timeout are written by the service, which knows
        // the request's error and cause; Parallel branch events have no Step Functions counterpart.
        return;
    }
  }

  private onStateEvent(
    kind: string,
    state: NonNullable<EngineEvent['state']>,
    thread: string,
    retry?: EngineEvent['retry'],
  ): void {
    const name = state.name;
    const type = this.states.get(name)?.type ?? state.type;
    const key = `${thread}/${name}`;
    switch (kind) {
      case 'StateEntered':
        if (type === 'Map' || type === 'Parallel') {
          // A new entry (a nested Map's next instance), not a retry: it starts from its own entry.
          this.maps.delete(name);
          this.lastInside.delete(name);
        }
        this.enteredAt.set(
          name,
          this.write(`${type}StateEntered`, { name, ...this.data('input', state.input) }, thread),
        );
        return this.beginAttempt(type, name, thread, state.input);
      case 'StateRetried':
        // A retry writes no event of its own (and no Map/ParallelStateFailed): the next attempt's
        // start chains to the failure.
        this.failing.delete(key);
        if (type === 'Task' && retry)
          this.retryDelays.set(key, retryDelaySeconds(retry.retrier, retry.attempt));
        return this.beginAttempt(type, name, thread, state.input);
      case 'StateFailed':
        this.lastFailure = { name, enteredId: this.enteredAt.get(name) ?? 0 };
        // A Map whose items are not an array never started: it fails the execution from its entry.
        if (type === 'Map' && !this.maps.has(name)) return;
        // The engine reports the failure before deciding on a retry; AWS writes it only when none follows.
        if (type === 'Map' || type === 'Parallel') {
          this.failing.set(key, { type: `${type}StateFailed`, thread, prev: this.lastInside.get(name) ?? 0 });
        }
        return;
      case 'StateCaught':
        this.writeFailure(key);
        this.caught.add(key);
        return;
      case 'StateExited': {
        const caught = this.caught.delete(key);
        let prev: number | undefined;
        if ((type === 'Map' || type === 'Parallel') && !caught) {
          prev = (type === 'Map' ? this.iterationEnd.get(name) : undefined) ?? this.lastInside.get(name) ?? 0;
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

  /**
   * Writes the failures no retry followed (the execution is failing). A `States.Runtime` raised by a
   * Map or Parallel state itself fails the execution at once: AWS writes no `…StateFailed` for it.
   */
  flushFailures(error?: string): void {
    for (const key of [...this.failing.keys()]) {
      if (error === 'States.Runtime' && key.endsWith(`/${this.lastFailure?.name ?? ''}`)) {
        this.failing.delete(key);
        continue;
      }
      this.writeFailure(key);
    }
  }

  /** A state's type in the definition (`Wait`, `Map`, ...). */
  stateType(name: string): string | undefined {
    return this.states.get(name)?.type;
  }

  /** The state the engine last reported failing, with the id of its Entered event. */
  failedState(): { name: string; enteredId: number } | undefined {
    return this.lastFailure;
  }

  private writeFailure(key: string): void {
    const failure = this.failing.get(key);
    if (!failure) return;
    this.failing.delete(key);
    this.write(failure.type, undefined, failure.thread, { prev: failure.prev });
  }

  /** The start of an attempt: a Task waits for its handler; a Map or Parallel writes its Started. */
  private beginAttempt(type: string, name: string, thread: string, input: Json): void {
    if (type === 'Task') this.queueTask(name, thread);
    if (type === 'Map') {
      const length = this.mapLength(name, input);
      // Items that are not an array: the Map fails before it starts (States.Runtime).
      if (length === undefined) return;
      this.startContainer('MapStateStarted', name, thread, { length });
    }
    if (type === 'Parallel') this.startContainer('ParallelStateStarted', name, thread);
  }

  private startContainer(
    type: string,
    name: string,
    thread: string,
    details?: Record<string, unknown>,
  ): void {
    if (type === 'MapStateStarted') {
      const max = this.states.get(name)?.definition.MaxConcurrency;
      this.maps.set(name, {
        open: new Set(),
        limit: typeof max === 'number' && max > 0 ? max : Infinity,
        deferred: new Set(),
        queue: [],
        failed: false,
        ghosts: new Set(),
      });
    }
    const prev = this.lastInside.get(name);
    this.iterationEnd.delete(name);
    for (const key of [...this.last.keys()]) if (key.startsWith(`${name}#`)) this.last.delete(key);
    const id = this.write(type, details, thread, prev === undefined ? {} : { prev });
    this.lastInside.set(name, id);
    this.started.set(name, id);
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
  private mapLength(name: string, input: Json): number | undefined {
    const state = this.states.get(name)?.definition;
    if (!state) return 0;
    try {
      let value: unknown = input;
      if (typeof state.InputPath === 'string')
        value = JSONPath({ path: state.InputPath, json: input as object, wrap: false });
      if (typeof state.ItemsPath === 'string')
        value = JSONPath({ path: state.ItemsPath, json: value as object, wrap: false });
      return Array.isArray(value) ? value.length : undefined;
    } catch {
      return undefined;
    }
  }
}

/** What a Task handler's thread is when its Map iteration is one AWS would not have started. */
export const GHOST_THREAD = 'ghost';

interface MapAttempt {
  /** Iterations started and not yet ended. */
  open: Set<number>;
  limit: number;
  /** Iterations held back until an open one ends, and their events in arrival order. */
  deferred: Set<number>;
  queue: EngineEvent[];
  /** An iteration failed: the Map is failing, later iterations are ghosts. */
  failed: boolean;
  ghosts: Set<number>;
}

/** The Map or Parallel state that owns a thread (`Map#3` -> `Map`); undefined for the top level. */
function containerOf(thread: string): string | undefined {
  const hash = thread.lastIndexOf('#');
  return hash < 0 ? undefined : thread.slice(0, hash);
}

/**
 * A Task retrier's wait before retry `attempt` (1 for the first), as Step Functions computes it:
 * IntervalSeconds x BackoffRate^(attempt-1), at most MaxDelaySeconds, drawn from [0, that] with FULL
 * jitter. The engine's copy carries the definition's values in hidden fields (definition.ts).
 */
export function retryDelaySeconds(retrier: Json, attempt: number): number {
  const r = (
    retrier !== null && typeof retrier === 'object' && !Array.isArray(retrier) ? retrier : {}
  ) as Record<string, Json>;
  const num = (key: string, fallback: number): number => (typeof r[key] === 'number' ? r[key] : fallback);
  const interval = num(HIDDEN_RETRY.IntervalSeconds, 1);
  const backoff = num(HIDDEN_RETRY.BackoffRate, 2);
  const max = num(HIDDEN_RETRY.MaxDelaySeconds, Infinity);
  const wait = Math.min(interval * backoff ** Math.max(0, attempt - 1), max);
  return r[HIDDEN_RETRY.JitterStrategy] === 'FULL' ? Math.random() * wait : wait;
}
