import { describe, expect, it } from 'vitest';
import { parseFunctionFlag } from './function-flag.ts';

describe('--function NAME=module[:export]', () => {
  it('takes a name, a module and an optional export', () => {
    expect(parseFunctionFlag('orders=src/orders.ts')).toEqual({
      name: 'orders',
      entry: 'src/orders.ts',
      exportName: 'handler',
      alias: 'live',
    });
    expect(parseFunctionFlag('my_fn-2=/abs/dir/mod.mjs:main')).toMatchObject({
      name: 'my_fn-2',
      entry: '/abs/dir/mod.mjs',
      exportName: 'main',
    });
  });

  it('refuses what it cannot read, saying what it expects', () => {
    for (const bad of [
      'orders',
      'orders=',
      '=src/a.ts',
      'bad name=src/a.ts',
      'orders=src/a.txt',
      'o=src/a.ts:1x',
    ]) {
      expect(() => parseFunctionFlag(bad)).toThrow(/NAME=path\/to\/module\.ts\[:export\]/);
    }
  });
});
