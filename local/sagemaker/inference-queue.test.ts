// The modelled model server: at most `concurrency` invocations of an endpoint at once, each holding
// its slot for the modelled time, the rest served strictly in arrival order. The hand clock decides
// when modelled time passes, so nothing here depends on the machine's speed.
import { describe, expect, it } from 'vitest';
import { HandClock } from '../common/hand-clock.ts';
import { createClock } from '../common/clock.ts';
import { InferenceQueue } from './inference-queue.ts';

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

function held(): HandClock {
  const clock = new HandClock(createClock('scale:1'));
  clock.hold();
  return clock;
}

describe('InferenceQueue', () => {
  it('serves at most `concurrency` at once and the rest in arrival order', async () => {
    const clock = held();
    const queue = new InferenceQueue({ seconds: 30, concurrency: 2 }, clock);
    const started: number[] = [];
    const done: number[] = [];
    const jobs = [0, 1, 2, 3, 4].map((i) =>
      queue
        .serve('ep', () => {
          started.push(i);
          return Promise.resolve(i);
        })
        .then((r) => done.push(r)),
    );
    await settle();
    expect(started).toEqual([0, 1]);
    expect(queue.depth('ep')).toEqual({ serving: 2, waiting: 3 });

    clock.advance(29);
    await settle();
    expect(done).toEqual([]);

    clock.advance(1);
    await settle();
    expect(done).toEqual([0, 1]);
    expect(started).toEqual([0, 1, 2, 3]);

    clock.advance(30);
    await settle();
    clock.advance(30);
    await Promise.all(jobs);
    expect(done).toEqual([0, 1, 2, 3, 4]);
    expect(queue.depth('ep')).toEqual({ serving: 0, waiting: 0 });
  });

  it('keeps each endpoint in its own queue', async () => {
    const clock = held();
    const queue = new InferenceQueue({ seconds: 10, concurrency: 1 }, clock);
    const started: string[] = [];
    const serve = (ep: string): Promise<void> =>
      queue.serve(ep, () => {
        started.push(ep);
        return Promise.resolve();
      });
    const all = [serve('sf'), serve('sf'), serve('ldf')];
    await settle();
    expect(started).toEqual(['sf', 'ldf']);
    clock.advance(10);
    await settle();
    clock.advance(10);
    await Promise.all(all);
    expect(started).toEqual(['sf', 'ldf', 'sf']);
  });

  it('holds the slot for the longer of the modelled time and the work itself', async () => {
    const clock = held();
    const queue = new InferenceQueue({ seconds: 5, concurrency: 1 }, clock);
    let finishWork = (): void => undefined;
    const slow = queue.serve('ep', () => new Promise<string>((r) => (finishWork = () => r('slow'))));
    let secondStarted = false;
    const second = queue.serve('ep', () => {
      secondStarted = true;
      return Promise.resolve('next');
    });
    clock.advance(5);
    await settle();
    expect(secondStarted).toBe(false);
    finishWork();
    expect(await slow).toBe('slow');
    await settle();
    expect(secondStarted).toBe(true);
    clock.advance(5);
    expect(await second).toBe('next');
  });

  it('frees the slot when the work fails, and passes the failure on', async () => {
    const clock = held();
    const queue = new InferenceQueue({ seconds: 0, concurrency: 1 }, clock);
    await expect(queue.serve('ep', () => Promise.reject(new Error('container died')))).rejects.toThrow(
      'container died',
    );
    expect(await queue.serve('ep', () => Promise.resolve('ok'))).toBe('ok');
  });

  it('refuses a concurrency that is not a whole number of at least one', () => {
    const clock = held();
    expect(() => new InferenceQueue({ seconds: 1, concurrency: 0 }, clock)).toThrow(/at least 1, got 0/);
    expect(() => new InferenceQueue({ seconds: 1, concurrency: 1.5 }, clock)).toThrow(/got 1.5/);
    expect(() => new InferenceQueue({ seconds: -1, concurrency: 1 }, clock)).toThrow(/0 or more/);
    expect(() => new InferenceQueue({ seconds: 0, concurrency: Infinity }, clock)).not.toThrow();
  });
});
