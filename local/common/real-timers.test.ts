// Every timer that stands for AWS time sleeps on the local cloud's clock (clock.ts); a real timer in
// local/ is allowed only where it guards the machinery itself. This test fails when a real timer
// appears anywhere else: put it on the clock, or, if it truly guards the machinery, list it here
// with the reason.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const LOCAL = join(import.meta.dirname, '..');

/** Real timers by file: how many, and why each is not AWS time. */
const ALLOWED: Record<string, { count: number; why: string }> = {
  'common/clock.ts': { count: 3, why: 'the clock itself: its due and settle timers' },
  'common/child-process.ts': { count: 2, why: "a child process's start and kill deadlines" },
  'common/process-lifetime.ts': { count: 1, why: "the ancestor watch's poll" },
  'cli/up.ts': { count: 1, why: 'keeps the process alive while serving' },
  'lambda/sandbox.ts': {
    count: 1,
    why: "the function's timeout: the handler's real running time (work in flight, so 1x on skip)",
  },
  'sagemaker/health-check.ts': {
    count: 2,
    why: "the /ping poll interval and a ping's socket timeout (its simulated timeout reads the clock)",
  },
  'sagemaker/emulator.ts': {
    count: 2,
    why: "the container's real response time limit, and the injected invocation delay (fault injection)",
  },
};

const TIMER =
  /\bsetTimeout\(|\bsetInterval\(|AbortSignal\.timeout\(|import \{[^}]*\b(setTimeout|setInterval)\b[^}]*\} from 'node:timers\/promises'/g;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'fixtures' ? [] : sources(path);
    return /\.ts$/.test(entry.name) && !/\.test\.ts$/.test(entry.name) ? [path] : [];
  });
}

/** Real timers per file, comments left out (a comment may name setTimeout). */
function realTimers(): Record<string, number> {
  const found: Record<string, number> = {};
  for (const file of sources(LOCAL)) {
    const code = readFileSync(file, 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
    const count = code.match(TIMER)?.length ?? 0;
    if (count > 0) found[relative(LOCAL, file)] = count;
  }
  return found;
}

describe('real timers in the local cloud', () => {
  it('appear only where they guard the machinery; every AWS timer is on the clock', () => {
    const found = realTimers();
    const unexpected = Object.entries(found)
      .filter(([file, count]) => count > (ALLOWED[file]?.count ?? 0))
      .map(([file, count]) => `${file}: ${count} real timer(s), ${ALLOWED[file]?.count ?? 0} allowed`);
    expect(
      unexpected,
      'put these on the clock (local/common/clock.ts) or allow them here, saying why',
    ).toEqual([]);
  });

  it('its allowlist names no file that no longer has its timers', () => {
    const found = realTimers();
    const stale = Object.entries(ALLOWED)
      .filter(([file, { count }]) => (found[file] ?? 0) < count)
      .map(([file]) => file);
    expect(stale).toEqual([]);
  });

  it('finds a real timer where there is one (the scan itself works)', () => {
    expect(realTimers()['common/clock.ts']).toBe(3);
  });
});
