// What one durable execution has recorded: its operations (EXECUTION first), the append-only history,
// and which operations changed since the handler last heard of them.
import type { ErrorObject, Event as HistoryEvent, Operation } from '@aws-sdk/client-lambda';
import { Spillable, type SpillStore } from '../common/spill-store.ts';

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'STOPPED' | 'TIMED_OUT';

const TERMINAL_EVENT: Record<Exclude<ExecutionStatus, 'RUNNING'>, HistoryEvent['EventType']> = {
  SUCCEEDED: 'ExecutionSucceeded',
  FAILED: 'ExecutionFailed',
  STOPPED: 'ExecutionStopped',
  TIMED_OUT: 'ExecutionTimedOut',
};

/** An operation the execution still waits on: a timer, a callback or a chained invoke will end it. */
const isPendingOp = (op: Operation): boolean =>
  (op.Type === 'WAIT' && op.Status === 'STARTED') ||
  (op.Type === 'STEP' && (op.Status === 'PENDING' || op.Status === 'READY')) ||
  (op.Type === 'CALLBACK' && op.Status === 'STARTED') ||
  (op.Type === 'CHAINED_INVOKE' && op.Status === 'STARTED');

export class ExecutionRecord {
  /** The operations by id and the history: on disk once the execution ended (see spill). */
  private readonly data = new Spillable<{ ops: Map<string, Operation>; events: HistoryEvent[] }>(
    { ops: new Map(), events: [] },
    ({ ops, events }) => ({ ops: [...ops.values()], events }),
    (json) => {
      const { ops, events } = json as { ops: Operation[]; events: HistoryEvent[] };
      return { ops: new Map(ops.map((op) => [op.Id!, op])), events };
    },
  );
  /** Operations changed since the last checkpoint response (echoed in the next one). */
  readonly dirty = new Set<string>();
  /** Operations changed outside the handler and not yet delivered to the running invocation. */
  readonly undelivered = new Set<string>();

  /** `now`: the local cloud's clock, which every timestamp of the execution reads. */
  constructor(readonly now: () => Date = () => new Date()) {}

  /** The operations by id; once spilled, a fresh copy read from disk (changes to it are not kept). */
  get ops(): Map<string, Operation> {
    return this.data.current.ops;
  }

  /** The history; once spilled, a fresh copy read from disk. */
  get events(): HistoryEvent[] {
    return this.data.current.events;
  }

  /**
   * Moves the operations and history of an ended execution to `store`: they are read back on demand
   * (the history and state APIs), and memory keeps nothing of them. Anything recorded later brings
   * them back into memory first, so nothing is lost.
   */
  spill(store: SpillStore): void {
    this.data.spill(store);
    this.dirty.clear();
    this.undelivered.clear();
  }

  /** Whether the operations and history are on disk (the execution ended), not in memory. */
  get onDisk(): boolean {
    return this.data.onDisk;
  }

  /** Lets the spilled copy go (the execution is forgotten). */
  forget(): void {
    this.data.forget();
  }

  /** Appends a history event, numbered and stamped; members left undefined are dropped. */
  record(event: HistoryEvent): void {
    const { events } = this.data.live();
    const cleaned = Object.fromEntries(Object.entries(event).filter(([, v]) => v !== undefined));
    events.push({ ...cleaned, EventId: events.length + 1, EventTimestamp: this.now() });
  }

  /** The execution's terminal event: its result, or its error under `<EventType>Details`. */
  recordEnd(
    execution: { Id: string; Name: string },
    status: Exclude<ExecutionStatus, 'RUNNING'>,
    end: { result?: string; error?: ErrorObject },
  ): void {
    const eventType = TERMINAL_EVENT[status];
    const details =
      status === 'SUCCEEDED'
        ? { ExecutionSucceededDetails: { Result: { Payload: end.result } } }
        : { [`${eventType}Details`]: { Error: { Payload: end.error } } };
    this.record({ EventType: eventType, ...execution, ...details });
  }

  end(op: Operation, status: Operation['Status'], at: Date): void {
    op.Status = status;
    op.EndTimestamp = at;
  }

  /** The operations a handler sees: descendants of a completed child context are left out unless it replays children. */
  state(): Operation[] {
    const hidden = new Set<string>();
    const visible: Operation[] = [];
    for (const op of this.ops.values()) {
      if (op.ParentId && hidden.has(op.ParentId)) {
        hidden.add(op.Id!);
        continue;
      }
      visible.push(op);
      const done = op.Status === 'SUCCEEDED' || op.Status === 'FAILED';
      if (op.Type === 'CONTEXT' && done && !op.ContextDetails?.ReplayChildren) hidden.add(op.Id!);
    }
    return visible;
  }

  hasPendingOperation(): boolean {
    return [...this.ops.values()].some(isPendingOp);
  }
}
