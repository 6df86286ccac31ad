// The progress reporter's output on a terminal (one line redrawn in place) and elsewhere (plain lines,
// at most one per interval), on an injected clock so no assertion depends on how fast the test runs.
import { describe, expect, it } from 'vitest';
import { createProgress } from './progress.ts';

function recorder(isTTY: boolean, columns?: number) {
  let text = '';
  return {
    stream: { isTTY, ...(columns === undefined ? {} : { columns }), write: (s: string) => (text += s) },
    text: () => text,
  };
}

/** What a terminal shows: `\r\x1b[2K` clears the line the cursor is on. */
function screen(raw: string): string[] {
  return raw.split('\n').map((line) => line.split('\r\x1b[2K').at(-1)!);
}

describe('on a terminal', () => {
  it('redraws one live line in place, at most every 100 ms, and leaves the final state behind', () => {
    let now = 0;
    const out = recorder(true);
    const p = createProgress(out.stream, { now: () => now });
    p.phase('bench burst: executions ended');
    now = 41_300;
    p.tick(812, 2000, 'ldf 405 sf 407');
    expect(screen(out.text())).toEqual(['bench burst: executions ended  812/2000  41.3 s  ldf 405 sf 407']);
    now += 50; // within 100 ms of the last redraw: not drawn
    p.tick(813, 2000, 'ldf 406 sf 407');
    expect(screen(out.text()).at(-1)).toContain('812/2000');
    p.line('warning: ldf execution 17 retried');
    expect(screen(out.text())).toEqual([
      'warning: ldf execution 17 retried',
      'bench burst: executions ended  813/2000  41.4 s  ldf 406 sf 407',
    ]);
    now += 10;
    p.tick(2000, 2000, 'ldf 1000 sf 1000'); // the last tick always shows
    p.phase('writing the report');
    p.end();
    expect(screen(out.text())).toEqual([
      'warning: ldf execution 17 retried',
      'bench burst: executions ended  2000/2000  41.4 s  ldf 1000 sf 1000',
      'writing the report  0.0 s',
      '',
    ]);
  });

  it('cuts the line to the terminal width', () => {
    const out = recorder(true, 20);
    const p = createProgress(out.stream, { now: () => 0 });
    p.phase('a very long stage name that does not fit');
    expect(screen(out.text())[0]).toBe('a very long stage …');
  });
});

describe('in a log (no terminal)', () => {
  it('writes plain lines, a tick at most every 5 s and the last state at the end; no control characters', () => {
    let now = 0;
    const out = recorder(false);
    const p = createProgress(out.stream, { now: () => now });
    p.phase('bench stream');
    for (let done = 1; done <= 50; done++) {
      now += 400; // 20 s in all: lines 5 s or more apart, counted from the stage's own line
      p.tick(done, 100);
    }
    p.line('an upload was rejected');
    p.end();
    expect(['\r', '\x1b'].some((c) => out.text().includes(c))).toBe(false);
    expect(out.text().split('\n')).toEqual([
      'bench stream',
      'bench stream  13/100  5.2 s',
      'bench stream  26/100  10.4 s',
      'bench stream  39/100  15.6 s',
      'an upload was rejected',
      'bench stream  50/100  20.0 s',
      '',
    ]);
  });

  it('shows the unshown last tick of a stage before the next stage begins', () => {
    let now = 0;
    const out = recorder(false);
    const p = createProgress(out.stream, { now: () => now, plainIntervalMs: 1000 });
    p.phase('uploading');
    now = 100;
    p.tick(1, 3);
    now = 200;
    p.tick(2, 3);
    p.phase('waiting');
    p.end();
    expect(out.text()).toBe('uploading\nuploading  2/3  0.2 s\nwaiting\n');
  });
});
