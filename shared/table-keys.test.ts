import { describe, expect, it } from 'vitest';
import type { Orchestrator } from './keys.ts';
import { keyPart, keyPrefix, orchestratorOfKey, tableKey } from './table-keys.ts';

describe('table keys', () => {
  it('always carry the orchestrator prefix', () => {
    expect(tableKey('sf', 'job', 'abc')).toBe('sf#job#abc');
    expect(tableKey('ldf', 'endpoint', 'gpu-ldf')).toBe('ldf#endpoint#gpu-ldf');
    expect(keyPrefix('sf')).toBe('sf#');
  });

  it('cannot be built without a valid orchestrator or with ambiguous parts', () => {
    expect(() => tableKey('' as Orchestrator, 'job', 'x')).toThrow(/unknown orchestrator/);
    expect(() => tableKey('both' as Orchestrator, 'job')).toThrow(/unknown orchestrator/);
    expect(() => tableKey('sf', 'job', '')).toThrow(/non-empty/);
  });

  it('encode any text so that no part splits or forges a key, and keep plain parts as they are', () => {
    expect(tableKey('sf', 'user', 'u-1.x_y')).toBe('sf#user#u-1.x_y');
    expect(tableKey('sf', 'user', 'a#b')).toBe('sf#user#a%23b');
    expect(tableKey('sf', 'user', 'a%23b')).toBe('sf#user#a%2523b');
    expect(tableKey('sf', 'user', 'Jürgen Müller+1')).toBe('sf#user#Jürgen Müller+1');
    // Two users whose ids differ only in '#' placement never share a partition.
    expect(tableKey('sf', 'user', 'a#job', 'b')).not.toBe(tableKey('sf', 'user', 'a', 'job#b'));
    const long = '#'.repeat(400);
    const hashed = keyPart(long);
    expect(hashed).toMatch(/^%sha256:[0-9a-f]{64}$/);
    expect(keyPart('#'.repeat(401))).not.toBe(hashed);
    expect(keyPart('x'.repeat(1024))).toBe('x'.repeat(1024));
  });

  it('tell which orchestrator a stored key belongs to', () => {
    expect(orchestratorOfKey('ldf#job#x')).toBe('ldf');
    expect(orchestratorOfKey('job#x')).toBeUndefined();
  });
});
