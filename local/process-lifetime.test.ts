import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { ancestors, claimFolder, identify, isRunning, removeOrphanedFolders } from './process-lifetime.ts';

describe('process lifetime', () => {
  it('tells a running process from one that ended, and from a reused pid', () => {
    expect(isRunning(identify(process.pid))).toBe(true);
    const ended = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
    expect(isRunning({ pid: Number(ended.stdout.trim()) })).toBe(false);
    expect(isRunning({ pid: process.pid, start: 'another start' })).toBe(false);
  });

  it('lists this process’s ancestors, its parent first', () => {
    expect(ancestors()[0]?.pid).toBe(process.ppid);
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
