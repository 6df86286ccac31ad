// No module of the project imports itself back, however indirectly: each piece has one job and
// depends only on pieces below it. Type-only imports count too (a cycle of types is the same tangle).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
/** Not the project's own sources: dependencies, build and run outputs. */
const SKIP = new Set(['node_modules', '.git', 'cdk.out', 'dist', 'reports', 'samples']);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return SKIP.has(entry.name) ? [] : sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Each file's relative imports (static, type-only, re-exports and dynamic) that land inside `files`. */
function importGraph(files: string[]): Map<string, string[]> {
  const known = new Set(files);
  return new Map(
    files.map((file) => {
      const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
      const targets = importedFiles
        .map((i) => i.fileName)
        .filter((name) => name.startsWith('.'))
        .map((name) => resolve(dirname(file), name))
        .filter((target) => known.has(target));
      return [file, targets];
    }),
  );
}

/** Every cycle found by a depth-first walk, each as the path that closes it (first node repeated). */
export function findCycles(graph: Map<string, string[]>): string[][] {
  const cycles: string[][] = [];
  const done = new Set<string>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const visit = (node: string): void => {
    if (onStack.has(node)) {
      cycles.push([...stack.slice(stack.indexOf(node)), node]);
      return;
    }
    if (done.has(node)) return;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) visit(next);
    stack.pop();
    onStack.delete(node);
    done.add(node);
  };
  for (const node of graph.keys()) visit(node);
  return cycles;
}

describe('imports', () => {
  it('finds a cycle when there is one (the check can fail)', () => {
    const graph = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a']],
      ['d', ['a']],
    ]);
    expect(findCycles(graph)).toEqual([['a', 'b', 'c', 'a']]);
    expect(
      findCycles(
        new Map([
          ['a', ['b']],
          ['b', []],
        ]),
      ),
    ).toEqual([]);
  });

  it('reads static, type-only and dynamic imports of a real file', () => {
    const graph = importGraph(sourceFiles(ROOT));
    const service = graph.get(join(ROOT, 'local', 'lambda', 'service.ts'))!;
    expect(service).toContain(join(ROOT, 'local', 'lambda', 'http-api.ts'));
    expect(service).toContain(join(ROOT, 'local', 'common', 'clock.ts')); // an `import type`
  });

  it('has no import cycle anywhere in the project', () => {
    const cycles = findCycles(importGraph(sourceFiles(ROOT))).map((cycle) =>
      cycle.map((file) => relative(ROOT, file)).join(' -> '),
    );
    expect(cycles).toEqual([]);
  });
});
