// Ctrl-C: the first SIGINT/SIGTERM aborts the signal (the action writes what it measured, the command
// exits 130), a second one exits at once. Tested on the module and on a real child process.
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { interruptOnSignals, InterruptedError } from './abort.ts';

describe('interruptOnSignals', () => {
  it('aborts on the first signal, exits 130 on the second, and stops listening when disposed', () => {
    const source = new EventEmitter();
    const notes: string[] = [];
    const exits: number[] = [];
    const interrupts = interruptOnSignals({
      source,
      notify: (l) => notes.push(l),
      exit: (c) => exits.push(c),
    });
    expect(interrupts.signal.aborted).toBe(false);
    source.emit('SIGTERM');
    expect(interrupts.signal.aborted).toBe(true);
    expect(interrupts.signal.reason).toBeInstanceOf(InterruptedError);
    expect((interrupts.signal.reason as InterruptedError).signalName).toBe('SIGTERM');
    expect(exits).toEqual([]);
    source.emit('SIGINT');
    expect(exits).toEqual([130]);
    expect(notes[0]).toContain('SIGTERM: stopping; what was measured is still written');
    interrupts.dispose();
    expect(source.listenerCount('SIGINT') + source.listenerCount('SIGTERM')).toBe(0);
  });
});

const fixture = fileURLToPath(new URL('./interrupt-child.fixture.ts', import.meta.url));

/** Starts the fixture, sends `signals` once it is ready, resolves with its exit code and output. */
function runChild(
  args: string[],
  signals: NodeJS.Signals[],
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready\n') && signals.length > 0) {
        const [first, ...rest] = signals.splice(0);
        child.kill(first);
        // The second signal only once the first was noticed (its message is on stderr).
        const again = (): void => {
          if (err.includes('stopping')) for (const s of rest) child.kill(s);
          else setTimeout(again, 20);
        };
        if (rest.length > 0) again();
      }
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

describe('dvs under Ctrl-C (a child process)', () => {
  it('first SIGINT: the action sees the abort, writes what it measured, and dvs exits 130', async () => {
    const { code, out, err } = await runChild([], ['SIGINT']);
    expect(out).toContain('measured so far written (InterruptedError)');
    expect(err).toContain('SIGINT: stopping');
    expect(code).toBe(130);
  });

  it('a second SIGINT exits 130 at once, even when the action does not stop', async () => {
    const { code, err } = await runChild(['--ignore-abort'], ['SIGINT', 'SIGINT']);
    expect(err).toContain('SIGINT again: quitting now');
    expect(code).toBe(130);
  });
});
