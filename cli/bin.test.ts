// The package's bin as a user runs it: `cli/dvs.mjs` on Node 22, TypeScript loaded by tsx's loader.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const dvs = (...args: string[]) =>
  spawnSync(process.execPath, ['cli/dvs.mjs', ...args], { cwd: root, encoding: 'utf8', timeout: 30_000 });

describe('the dvs bin', () => {
  it('is the package.json bin, and answers --help with exit 0', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      bin: Record<string, string>;
    };
    expect(pkg.bin).toEqual({ dvs: 'cli/dvs.mjs' });
    const help = dvs('--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Usage: dvs');
    for (const command of ['report', 'status', 'upload', 'bench']) expect(help.stdout).toContain(command);
  });

  it('exits with the documented codes: 2 for a bad value, 3 for a bad file', () => {
    const bad = dvs('bench', '--scenario', 'burst', '--jobs', 'many');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("--jobs: 'many' is not allowed; expected a whole number from 1 to 100000");
    const missing = dvs('report', 'no-such-results.json');
    expect(missing.status).toBe(3);
  });
});
