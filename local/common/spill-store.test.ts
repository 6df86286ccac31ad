// The spill store: what goes to disk comes back whole (timestamps as Dates), a fresh copy each
// time, and nothing stays behind once a value is let go or the store is disposed.
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { reviveTimestamps, Spillable, SpillStore } from './spill-store.ts';

const folders = (label: string): string[] =>
  readdirSync(tmpdir()).filter((name) => name.startsWith(`dvs-${label}-`));

describe('the spill store', () => {
  it('gives back what it was given, timestamps revived, a fresh copy each read', () => {
    const store = new SpillStore('spill-test-read', reviveTimestamps);
    try {
      const at = new Date('2026-12-04T10:00:00.000Z');
      const spilled = store.put({ events: [{ EventId: 1, EventTimestamp: at, Name: 'a' }] });
      const first = spilled.read();
      expect(first).toEqual({ events: [{ EventId: 1, EventTimestamp: at, Name: 'a' }] });
      expect(first.events[0]!.EventTimestamp).toBeInstanceOf(Date);
      first.events[0]!.Name = 'changed';
      expect(spilled.read().events[0]!.Name, 'a read is a copy').toBe('a');
    } finally {
      store.dispose();
    }
  });

  it('removes a value it lets go, and its folder when disposed', () => {
    const label = `spill-test-dispose-${process.pid}`;
    const store = new SpillStore(label);
    expect(folders(label), 'no folder before the first value').toEqual([]);
    const a = store.put([1, 2, 3]);
    store.put('kept until disposed');
    const [folder] = folders(label);
    expect(readdirSync(join(tmpdir(), folder!))).toHaveLength(2);
    a.delete();
    expect(readdirSync(join(tmpdir(), folder!))).toHaveLength(1);
    store.dispose();
    expect(existsSync(join(tmpdir(), folder!))).toBe(false);
  });

  it('keeps a spillable value on disk until it changes, and then loses nothing', () => {
    const label = `spill-test-spillable-${process.pid}`;
    const store = new SpillStore(label);
    try {
      const value = new Spillable(
        new Map([['a', 1]]),
        (map) => [...map],
        (json) => new Map(json as [string, number][]),
      );
      value.spill(store);
      expect(value.onDisk).toBe(true);
      expect(value.current).toEqual(new Map([['a', 1]]));
      value.current.set('lost', 0);
      expect(value.current.has('lost'), 'a read is a copy').toBe(false);
      value.live().set('b', 2);
      expect(value.onDisk, 'a change brings it back into memory').toBe(false);
      expect(value.current).toEqual(
        new Map([
          ['a', 1],
          ['b', 2],
        ]),
      );
      expect(readdirSync(join(tmpdir(), folders(label)[0]!)), 'its file is gone').toEqual([]);
    } finally {
      store.dispose();
    }
  });
});
