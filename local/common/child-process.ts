// Child processes of the local cloud that must never outlive it. Each runs in its own process group
// under a tiny shell watchdog: when this Node process goes away for any reason (Ctrl-C, a crashed
// test worker, SIGKILL), the watchdog's stdin pipe closes and it ends the whole group.
import { spawn, type ChildProcess } from 'node:child_process';

export interface WatchedProcess {
  pid: number;
  /** Everything the process wrote so far (stdout and stderr), for error messages. */
  output(): string;
  /** Whether the process has exited. */
  exited(): boolean;
  /** Resolves once the process has exited, for whatever reason. */
  whenExited: Promise<void>;
  /** Resolves with the first output line matching `pattern`; rejects if the process exits first. */
  waitForLine(pattern: RegExp, timeoutMs: number, what: string): Promise<string>;
  stop(): Promise<void>;
}

// A background job's stdin is /dev/null in a non-interactive shell, so the pipe is handed over as fd 3.
const WATCHDOG = 'exec 3<&0; (cat <&3 >/dev/null; kill -TERM 0) & exec 3<&- "$@" </dev/null';

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) killGroup(child, 'SIGKILL');
});

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

export function spawnWatched(command: string, args: string[], env?: NodeJS.ProcessEnv): WatchedProcess {
  const child = spawn('sh', ['-c', WATCHDOG, 'watchdog', command, ...args], {
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
    env,
  });
  live.add(child);
  let output = '';
  let gone = false;
  const exited = new Promise<void>((resolve) => {
    child.on('exit', () => {
      gone = true;
      live.delete(child);
      resolve();
    });
  });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  // Unref so an idle local cloud never keeps a finished test process alive; the pipes keep the watchdog armed.
  child.unref();

  return {
    pid: child.pid ?? -1,
    output: () => output,
    exited: () => gone,
    whenExited: exited,
    waitForLine(pattern, timeoutMs, what) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const line = output.split('\n').find((l) => pattern.test(l));
          if (line === undefined) return false;
          cleanup();
          resolve(line);
          return true;
        };
        const onData = (): void => void check();
        const onExit = (): void => {
          if (check()) return;
          cleanup();
          reject(
            new Error(
              `${what} exited before it was ready (code ${child.exitCode}). Its output:\n${output.slice(-4000)}`,
            ),
          );
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new Error(`${what} was not ready within ${timeoutMs} ms. Its output:\n${output.slice(-4000)}`),
          );
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          child.stdout?.off('data', onData);
          child.stderr?.off('data', onData);
          child.off('exit', onExit);
        };
        child.stdout?.on('data', onData);
        child.stderr?.on('data', onData);
        child.on('exit', onExit);
        check();
      });
    },
    async stop() {
      killGroup(child, 'SIGTERM');
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
      child.stdin?.destroy();
      child.stdout?.destroy();
      child.stderr?.destroy();
    },
  };
}
