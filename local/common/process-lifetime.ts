// Ties the local cloud's lifetime to the processes around it:
// - each data folder names its owner (pid and start time), so a new cloud can remove the folders of
//   clouds that are gone, however they ended (crash, kill -9, a machine that went down);
// - `npm run up` watches every ancestor process (npm, the shell npm ran, tsx's launcher), not just its
//   parent, and stops when any of them dies: `kill -9` of the npm process ends the cloud too.
// Process identity comes from /proc (Linux); elsewhere a pid alone identifies a process.
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ProcessIdentity {
  pid: number;
  /** Start time in clock ticks since boot (/proc/<pid>/stat field 22), so a reused pid is not mistaken. */
  start?: string;
}

/** Fields 3 (state), 4 (ppid) and 22 (start time) of /proc/<pid>/stat; undefined when the process is gone. */
function procStat(pid: number): { state: string; ppid: number; start: string } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces; fields after it are plain.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '', ppid: Number(fields[1]), start: fields[19] ?? '' };
}

export function identify(pid: number): ProcessIdentity {
  const info = procStat(pid);
  return info ? { pid, start: info.start } : { pid };
}

export function isRunning(who: ProcessIdentity): boolean {
  const info = procStat(who.pid);
  // A zombie has ended; it only waits for its parent to read its exit status, which may never happen.
  if (info) return info.state !== 'Z' && (who.start === undefined || info.start === who.start);
  try {
    process.kill(who.pid, 0);
    return process.platform !== 'linux'; // on Linux, no /proc entry means no process
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const OWNER_FILE = 'owner.json';
/** A folder without an owner file may be one being created right now; older ones are leftovers. */
const UNOWNED_GRACE_MS = 10 * 60_000;

/** Records this process as the owner of `folder`. */
export async function claimFolder(folder: string): Promise<void> {
  await writeFile(join(folder, OWNER_FILE), JSON.stringify(identify(process.pid)));
}

/**
 * Removes the folders under `parent` whose names start with `prefix` and whose owner is no longer
 * running. Returns the folders removed.
 */
export async function removeOrphanedFolders(parent: string, prefix: string): Promise<string[]> {
  const removed: string[] = [];
  const names = (await readdir(parent).catch(() => [] as string[])).filter((n) => n.startsWith(prefix));
  for (const name of names) {
    const folder = join(parent, name);
    try {
      const owner = await readFile(join(folder, OWNER_FILE), 'utf8')
        .then((text) => JSON.parse(text) as ProcessIdentity)
        .catch(() => undefined);
      const orphaned = owner
        ? !isRunning(owner)
        : Date.now() - (await stat(folder)).mtimeMs > UNOWNED_GRACE_MS;
      if (!orphaned) continue;
      await rm(folder, { recursive: true, force: true });
      removed.push(folder);
    } catch {
      // another cloud removed it first, or it is not ours to read
    }
  }
  return removed;
}

/** This process's ancestors, nearest first, up to (not including) init. */
export function ancestors(pid = process.pid): ProcessIdentity[] {
  const chain: ProcessIdentity[] = [];
  let info = procStat(pid);
  while (info && info.ppid > 1) {
    const parent = procStat(info.ppid);
    if (!parent) break;
    chain.push({ pid: info.ppid, start: parent.start });
    info = parent;
  }
  if (chain.length === 0 && process.ppid > 1) chain.push({ pid: process.ppid });
  return chain;
}

/**
 * Calls `onGone` once, as soon as any of `watched` has ended. Take `watched` (this process's
 * `ancestors()`) as early as the process starts: an ancestor that dies before the list is taken is
 * missing from it, its children are re-parented, and nothing would ever be seen to end.
 * Returns a cancel function.
 */
export function watchAncestors(
  onGone: (who: ProcessIdentity) => void,
  watched: ProcessIdentity[],
  everyMs = 250,
): () => void {
  const timer = setInterval(() => {
    const gone = watched.find((who) => !isRunning(who));
    if (!gone) return;
    clearInterval(timer);
    onGone(gone);
  }, everyMs);
  return () => clearInterval(timer);
}
