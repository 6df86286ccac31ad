// Where a service puts what it must keep but no longer works on (an ended execution's history and
// operations, kept for its retention period): one JSON file each in a temporary folder, read back on
// demand, so that a long run's memory stays flat however many executions it ends. The folder goes
// when the service stops.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One value on disk: read it back (a fresh copy each time) or let it go. */
export interface Spilled<T> {
  read(): T;
  delete(): void;
}

/** Revives the `…Timestamp` members that JSON turned into ISO strings (the durable API's Dates). */
export function reviveTimestamps(key: string, value: unknown): unknown {
  return typeof value === 'string' && key.endsWith('Timestamp') ? new Date(value) : value;
}

export class SpillStore {
  private dir: string | undefined;
  private next = 0;

  /** `label` names the folder (`dvs-<label>-…` under the system's temporary folder). */
  constructor(
    private readonly label: string,
    private readonly reviver?: (key: string, value: unknown) => unknown,
  ) {}

  /** Writes `value` as JSON now; the handle reads it back. */
  put<T>(value: T): Spilled<T> {
    this.dir ??= mkdtempSync(join(tmpdir(), `dvs-${this.label}-`));
    const file = join(this.dir, `${this.next++}.json`);
    writeFileSync(file, JSON.stringify(value));
    const reviver = this.reviver;
    return {
      read: () => JSON.parse(readFileSync(file, 'utf8'), reviver) as T,
      delete: () => rmSync(file, { force: true }),
    };
  }

  /** Removes the folder and everything in it. */
  dispose(): void {
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }
}

/**
 * A value kept in memory while it changes, and on disk once it no longer does (spill): reads then get
 * a fresh copy from disk, and a change (live) brings it back into memory first, so nothing is lost.
 * `save` and `load` turn it into JSON and back (a Map, say).
 */
export class Spillable<T> {
  private value: T | undefined;
  private spilled: Spilled<unknown> | undefined;

  constructor(
    initial: T,
    private readonly save: (value: T) => unknown = (value) => value,
    private readonly load: (json: unknown) => T = (json) => json as T,
  ) {
    this.value = initial;
  }

  /** The value: in memory, or once spilled a fresh copy from disk (changes to it are not kept). */
  get current(): T {
    return this.value ?? this.load(this.spilled!.read());
  }

  /** The value in memory, to change: read back from disk first if it was spilled. */
  live(): T {
    if (this.value === undefined) {
      this.value = this.current;
      this.spilled?.delete();
      this.spilled = undefined;
    }
    return this.value;
  }

  /** Moves the value to `store`; memory keeps nothing of it. */
  spill(store: SpillStore): void {
    if (this.value === undefined) return;
    this.spilled = store.put(this.save(this.value));
    this.value = undefined;
  }

  get onDisk(): boolean {
    return this.spilled !== undefined;
  }

  /** Lets the copy on disk go (the value is forgotten). */
  forget(): void {
    this.spilled?.delete();
  }
}
