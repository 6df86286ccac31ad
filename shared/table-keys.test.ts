import { describe, expect, it } from 'vitest';
import type { Orchestrator } from './keys.ts';
import { keyPrefix, orchestratorOfKey, tableKey } from './table-keys.ts';

describe('table keys', () => {
  it('always carry the orchestrator prefix', () => {
    expect(tableKey('sf', 'job', 'abc')).toBe('sf#job#abc');
    expect(tableKey('ldf', 'endpoint', 'gpu-ldf')).toBe('ldf#endpoint#gpu-ldf');
    expect(keyPrefix('sf')).toBe('sf#');
  });

  it('cannot be built without a valid orchestrator or with ambiguous parts', () => {
    expect(() => tableKey('' as Orchestrator, 'job', 'x')).toThrow(/unknown orchestrator/);
    expect(() => tableKey('both' as Orchestrator, 'job')).toThrow(/unknown orchestrator/);
    expect(() => tableKey('sf', 'job', 'a#b')).toThrow(/contain no '#'/);
    expect(() => tableKey('sf', 'job', '')).toThrow(/non-empty/);
  });

  it('tell which orchestrator a stored key belongs to', () => {
    expect(orchestratorOfKey('ldf#job#x')).toBe('ldf');
    expect(orchestratorOfKey('job#x')).toBeUndefined();
  });
});
