// The plans the scenarios make: which configurations a scenario deploys and when each upload lands.
// Pure functions of the spec, so each scenario's promise is checked exactly.
import { describe, expect, it } from 'vitest';
import { plan, poissonArrivals, type ScenarioSpec } from './scenarios.ts';

const base: ScenarioSpec = {
  scenario: 'default',
  waitModes: ['poll', 'event'],
  seed: 1,
  jobs: 4,
  ratePerHour: 60,
  durationSeconds: 3600,
  endpointStartSeconds: 300,
  endpointDeleteSeconds: 60,
  inferenceSeconds: 30,
  endpointConcurrency: 1,
  idleWindows: [600],
  fallbacks: [600],
  pollSeconds: 5,
  pollMaxSeconds: 60,
  maskDelaySeconds: 0,
};

describe('plan', () => {
  it('default: a cold burst of --jobs at once, then two warm jobs, under each wait mode', () => {
    const p = plan(base);
    expect(p.configurations).toEqual([
      { waitMode: 'poll', idleWindowSeconds: 600, eventFallbackSeconds: 600 },
      { waitMode: 'event', idleWindowSeconds: 600, eventFallbackSeconds: 600 },
    ]);
    expect(p.waves).toEqual([
      { label: 'cold burst', arrivals: [0, 0, 0, 0] },
      { label: 'warm', arrivals: [0, 1] },
    ]);
  });

  it('warm: one cold job brings the endpoint up, then --jobs waves of one, one after another', () => {
    const p = plan({ ...base, scenario: 'warm', jobs: 3 });
    expect(p.waves.map((w) => w.arrivals)).toEqual([[0], [0], [0], [0]]);
    expect(p.waves[0]!.label).toBe('bring the endpoint up');
  });

  it('cold and burst: one wave on stopped endpoints', () => {
    expect(plan({ ...base, scenario: 'cold' }).waves).toEqual([{ label: 'cold', arrivals: [0] }]);
    expect(plan({ ...base, scenario: 'burst', jobs: 3 }).waves).toEqual([
      { label: 'burst', arrivals: [0, 0, 0] },
    ]);
  });

  it('sweep: every idle window under poll once and under event once per fallback, one trace for all', () => {
    const p = plan({ ...base, scenario: 'sweep', idleWindows: [60, 600], fallbacks: [60, 300] });
    expect(p.configurations).toEqual([
      { waitMode: 'poll', idleWindowSeconds: 60, eventFallbackSeconds: 60 },
      { waitMode: 'event', idleWindowSeconds: 60, eventFallbackSeconds: 60 },
      { waitMode: 'event', idleWindowSeconds: 60, eventFallbackSeconds: 300 },
      { waitMode: 'poll', idleWindowSeconds: 600, eventFallbackSeconds: 60 },
      { waitMode: 'event', idleWindowSeconds: 600, eventFallbackSeconds: 60 },
      { waitMode: 'event', idleWindowSeconds: 600, eventFallbackSeconds: 300 },
    ]);
    expect(p.waves).toHaveLength(1);
    expect(p.waves[0]!.arrivals).toEqual(poissonArrivals(60, 3600, 1));
  });
});

describe('poissonArrivals', () => {
  it('is the same trace for the same seed, within the duration, in order', () => {
    const a = poissonArrivals(60, 3600, 7);
    expect(poissonArrivals(60, 3600, 7)).toEqual(a);
    expect(poissonArrivals(60, 3600, 8)).not.toEqual(a);
    expect(a.every((t, i) => t >= 0 && t < 3600 && (i === 0 || t >= a[i - 1]!))).toBe(true);
  });

  it('averages the rate over a long trace', () => {
    // 10,000 expected arrivals: the count lies within a few standard deviations (100) of it.
    const n = poissonArrivals(100, 360_000, 3).length;
    expect(n).toBeGreaterThan(9_500);
    expect(n).toBeLessThan(10_500);
  });
});
