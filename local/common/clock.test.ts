import { setTimeout as realDelay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createClock, formatClockMode, parseClockMode, simulatedNow, skipped } from './clock.ts';

const HOUR = 3600;

describe('the skip clock', () => {
  it('passes an hour-long sleep in well under a second while nothing is in flight', async () => {
    const clock = createClock({ kind: 'skip', settleMs: 5 });
    const before = clock.now();
    const real = Date.now();
    await clock.sleep(HOUR);
    expect(Date.now() - real).toBeLessThan(1000);
    expect(clock.now() - before).toBeGreaterThanOrEqual(HOUR * 1000);
    expect(skipped(clock).jumps).toBe(1);
  });

  it('never jumps while work is in flight, and jumps once it ends', async () => {
    const clock = createClock({ kind: 'skip', settleMs: 1 });
    const end = clock.begin();
    let woke = false;
    const sleeping = clock.sleep(HOUR).then(() => (woke = true));
    const before = clock.now();
    // Many settle times pass in real time: with work in flight none of them may jump.
    for (let i = 0; i < 20; i++) await realDelay(5);
    expect(woke).toBe(false);
    expect(skipped(clock).jumps).toBe(0);
    expect(clock.now() - before).toBeLessThan(HOUR * 1000);
    end();
    await sleeping;
    expect(woke).toBe(true);
  });

  it('counts tracked promises as in flight until they settle, rejected ones too', async () => {
    const clock = createClock({ kind: 'skip', settleMs: 1 });
    let finish!: () => void;
    const work = clock.track(new Promise<void>((resolve) => (finish = resolve)));
    const failing = clock.track(Promise.reject(new Error('no'))).catch(() => undefined);
    expect(clock.inFlight).toBe(2);
    await failing;
    expect(clock.inFlight).toBe(1);
    let woke = false;
    const sleeping = clock.sleep(HOUR).then(() => (woke = true));
    for (let i = 0; i < 10; i++) await realDelay(5);
    expect(woke).toBe(false);
    finish();
    await work;
    expect(clock.inFlight).toBe(0);
    await sleeping;
  });

  it('never jumps for background sleeps alone, but wakes them on time on the way to another', async () => {
    const clock = createClock({ kind: 'skip', settleMs: 1 });
    const start = clock.now();
    let tickedAt: number | undefined;
    const tick = clock.sleep(60, undefined, { background: true }).then(() => (tickedAt = clock.now()));
    for (let i = 0; i < 20; i++) await realDelay(5);
    expect(tickedAt, 'a schedule alone leaves an idle clock where it is').toBeUndefined();
    expect(skipped(clock).jumps).toBe(0);
    await clock.sleep(HOUR);
    await tick;
    // The jump went to the background sleeper first: it woke at its own time, not at the hour.
    expect(tickedAt! - start).toBeGreaterThanOrEqual(60_000);
    expect(tickedAt! - start).toBeLessThan(HOUR * 1000);
    expect(skipped(clock).jumps).toBe(2);
  });

  it('an end called twice ends one piece of work only', () => {
    const clock = createClock('skip');
    const first = clock.begin();
    clock.begin();
    first();
    first();
    expect(clock.inFlight).toBe(1);
  });

  it('wakes sleepers in due order, each at or after its due time, one jump per due time', async () => {
    const clock = createClock({ kind: 'skip', settleMs: 1 });
    const start = clock.now();
    const woke: { seconds: number; at: number }[] = [];
    const sleep = (seconds: number) =>
      clock.sleep(seconds).then(() => woke.push({ seconds, at: clock.now() - start }));
    await Promise.all([sleep(300), sleep(60), sleep(600), sleep(60.5), sleep(120)]);
    expect(woke.map((w) => w.seconds)).toEqual([60, 60.5, 120, 300, 600]);
    for (const w of woke) expect(w.at).toBeGreaterThanOrEqual(w.seconds * 1000);
    expect(skipped(clock).jumps).toBe(5);
  });

  it('work a wake-up begins holds the next jump back until it ends', async () => {
    const clock = createClock({ kind: 'skip', settleMs: 1 });
    const order: string[] = [];
    let endWork: () => void = () => undefined;
    const first = clock.sleep(60).then(() => {
      order.push('first');
      endWork = clock.begin();
    });
    const second = clock.sleep(120).then(() => order.push('second'));
    await first;
    for (let i = 0; i < 10; i++) await realDelay(5);
    expect(order).toEqual(['first']);
    endWork();
    await second;
    expect(order).toEqual(['first', 'second']);
  });

  it('an aborted sleep neither wakes nor holds a jump to a later one', async () => {
    const clock = createClock({ kind: 'skip', settleMs: 1 });
    const controller = new AbortController();
    const cancelled = clock.sleep(60, controller.signal);
    controller.abort(new Error('disarmed'));
    await expect(cancelled).rejects.toThrow('disarmed');
    const start = clock.now();
    await clock.sleep(HOUR);
    expect(clock.now() - start).toBeGreaterThanOrEqual(HOUR * 1000);
    await expect(clock.sleep(1, controller.signal)).rejects.toThrow('disarmed');
  });

  it('maps simulated times back to the real times they were read at, across jumps', async () => {
    const clock = createClock({ kind: 'skip', settleMs: 1 });
    const before = clock.now();
    const realBefore = Date.now();
    await clock.sleep(HOUR);
    const after = clock.now();
    const realAfter = Date.now();
    expect(Math.abs(clock.toReal(before) - realBefore)).toBeLessThan(50);
    expect(Math.abs(clock.toReal(after) - realAfter)).toBeLessThan(50);
    expect(clock.toReal(after) - clock.toReal(before)).toBeLessThan(1000);
  });

  it('shares its mapping: a reader in another thread sees the jumps', async () => {
    const clock = createClock({ kind: 'skip', settleMs: 1 });
    const mapping = new Float64Array(clock.shared);
    await clock.sleep(HOUR);
    const real = Date.now();
    expect(Math.abs(simulatedNow(mapping, real) - clock.now())).toBeLessThan(50);
    expect(simulatedNow(mapping, real) - real).toBeGreaterThanOrEqual(HOUR * 1000 - 50);
  });
});

describe('the scale and real clocks', () => {
  it('a scale clock runs N times real time, in its sleeps and in now()', async () => {
    const clock = createClock('scale:1000');
    const start = clock.now();
    const real = Date.now();
    await clock.sleep(2);
    const realMs = Date.now() - real;
    // Two simulated seconds are 2 ms real; now() moved 1000 times as far as real time did.
    expect(clock.now() - start).toBeGreaterThanOrEqual(2000);
    expect(realMs).toBeGreaterThanOrEqual(1);
    const mapping = new Float64Array(clock.shared);
    expect(mapping[2]).toBe(1000);
    expect(clock.toReal(start + 2000) - clock.toReal(start)).toBeCloseTo(2, 5);
  });

  it('a real clock reads real time and counts work in flight too', () => {
    const clock = createClock('real');
    expect(Math.abs(clock.now() - Date.now())).toBeLessThan(50);
    const end = clock.begin();
    expect(clock.inFlight).toBe(1);
    end();
    expect(clock.inFlight).toBe(0);
  });
});

describe('clock modes', () => {
  it('parses and formats each mode', () => {
    for (const text of ['real', 'skip', 'scale:60', 'scale:0.5']) {
      expect(formatClockMode(parseClockMode(text))).toBe(text);
    }
  });

  it.each(['', 'fast', 'scale:', 'scale:0', 'scale:-1', 'scale:x'])(
    'refuses %j, naming the forms',
    (text) => {
      expect(() => parseClockMode(text)).toThrow(/'skip', 'real' or 'scale:N'/);
    },
  );
});
