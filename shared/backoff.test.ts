import { describe, expect, it } from 'vitest';
import {
  delayAfterLook,
  eventLoop,
  pollDelaySeconds,
  pollLoop,
  waitedBeforeLook,
  waitLoop,
  wholeSeconds,
} from './backoff.ts';

const S = { pollSeconds: 5, pollMaxSeconds: 60 };

describe('the backoff both orchestrators wait by', () => {
  it('doubles from POLL_SECONDS up to POLL_MAX_SECONDS, in whole seconds of at least one', () => {
    expect(pollLoop(S, 1800).waits.slice(0, 7)).toEqual([5, 10, 20, 40, 60, 60, 60]);
    expect(delayAfterLook({ pollSeconds: 0.2, pollMaxSeconds: 0.5 }, 10, 1)).toBe(1);
    expect(wholeSeconds(2.1)).toBe(3);
    expect(wholeSeconds(0.1)).toBe(1);
  });

  it('adds up to the bound exactly: the last wait is cut short, then no more looks', () => {
    expect(waitLoop(5, 60, 300)).toEqual({
      waits: [5, 10, 20, 40, 60, 60, 60, 45],
      rounds: 8,
      boundSeconds: 300,
    });
    const delays = [1, 2, 3, 4, 5, 6].map((n) => delayAfterLook(S, 100, n));
    expect(delays).toEqual([5, 10, 20, 40, 25, undefined]);
    expect(waitedBeforeLook(S, 100, 6)).toBe(100);
    expect(waitedBeforeLook(S, 100, 1)).toBe(0);
  });

  it('rounds every setting up, so no wait is shorter than configured', () => {
    expect(waitLoop(0.5, 1.2, 3.1)).toEqual({ waits: [1, 2, 1], rounds: 3, boundSeconds: 4 });
  });

  it('event waits time out after EVENT_FALLBACK_SECONDS each, within the bound', () => {
    expect(eventLoop({ eventFallbackSeconds: 60 }, 200).waits).toEqual([60, 60, 60, 20]);
    // The default: a 300 s start is waited for in one round; the mask's 300 s bound is one round too.
    expect(eventLoop({ eventFallbackSeconds: 600 }, 1800).waits).toEqual([600, 600, 600]);
    expect(eventLoop({ eventFallbackSeconds: 600 }, 300).waits).toEqual([300]);
  });

  it('a 300 s start with the default settings is found InService on the 9th look', () => {
    const looks = Array.from({ length: 20 }, (_, i) => i + 1).find(
      (n) => waitedBeforeLook(S, 1800, n) >= 300,
    );
    expect(looks).toBe(9);
  });

  it("a round's own delay is the poll loop's before the bound cuts it", () => {
    const uncut = pollLoop(S, 10_000).waits.slice(0, 8);
    expect(uncut.map((_, i) => pollDelaySeconds(S, i + 1))).toEqual(uncut);
    expect(uncut).toEqual([5, 10, 20, 40, 60, 60, 60, 60]);
  });
});
