import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  ancestors,
  claimFolder,
  identify,
  isRunning,
  removeOrphanedFolders,
  watchAncestors,
  type ProcessIdentity,
} from './process-lifetime.ts';

describe('process lifetime', () => {
  it('tells a running process from one that ended, and from a reused pid', () => {
    expect(isRunning(identify(process.pid))).toBe(true);
    const ended = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
    expect(isRunning({ pid: Number(ended.stdout.trim()) })).toBe(false);
    expect(isRunning({ pid: process.pid, start: 'another start' })).toBe(false);
  });

  it('counts a zombie as ended: its parent may never read its exit status', async () => {
    // The shell starts `cat` and becomes `sleep`, which never reaps; `cat` ends only when we close its
    // input after the exec, so no shell is left to reap it (fd 3: a background job's stdin is /dev/null).
    const parent = spawn('sh', ['-c', 'exec 3<&0; cat <&3 >/dev/null & echo $!; exec sleep 60 3<&-'], {
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    onTestFinished(() => void parent.kill('SIGKILL'));
    const lines = createInterface({ input: parent.stdout })[Symbol.asyncIterator]();
    const pid = Number((await lines.next()).value);
    const field = (who: number, n: number): string => {
      const stat = readFileSync(`/proc/${who}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[n]!;
    };
    await expect
      .poll(() => readFileSync(`/proc/${parent.pid}/comm`, 'utf8').trim(), { timeout: 30_000 })
      .toBe('sleep');
    parent.stdin.end();
    await expect.poll(() => field(pid, 0), { timeout: 30_000 }).toBe('Z');
    expect(Number(field(pid, 1))).toBe(parent.pid);
    expect(isRunning(identify(pid))).toBe(false);
  });

  it('lists this process’s ancestors, its parent first', () => {
    expect(ancestors()[0]?.pid).toBe(process.ppid);
  });

  it('sees an ancestor that ended before the watch began, when the list was taken while it lived', async () => {
    const child = spawn('sleep', ['60']);
    const lineage: ProcessIdentity[] = [identify(process.pid), identify(child.pid!)];
    await new Promise((resolve) => {
      child.once('exit', resolve);
      child.kill('SIGKILL');
    });
    const gone = await new Promise<ProcessIdentity>((resolve) => watchAncestors(resolve, lineage, 10));
    expect(gone.pid).toBe(child.pid);
  });

  it('removes the folders of owners that are gone and keeps the rest', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'lifetime-'));
    onTestFinished(() => rmSync(parent, { recursive: true, force: true }));
    const ours = join(parent, 'local-s3-ours');
    const dead = join(parent, 'local-s3-dead');
    const fresh = join(parent, 'local-s3-fresh');
    const stale = join(parent, 'local-s3-stale');
    const other = join(parent, 'something-else');
    for (const dir of [ours, dead, fresh, stale, other]) mkdirSync(dir);
    await claimFolder(ours);
    writeFileSync(join(dead, 'owner.json'), JSON.stringify({ pid: process.pid, start: 'an earlier life' }));
    utimesSync(stale, new Date(0), new Date(0)); // unowned and old: left by a version before owner files
    utimesSync(other, new Date(0), new Date(0));

    expect((await removeOrphanedFolders(parent, 'local-s3-')).sort()).toEqual([dead, stale].sort());
    expect([ours, dead, fresh, stale, other].map((d) => existsSync(d))).toEqual([
      true,
      false,
      true,
      false,
      true,
    ]);
  });
});
