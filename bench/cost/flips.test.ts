import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../shared/random.ts';
import { gpuSecondsPerJob, idleWindowBreakEven } from './flips.ts';

/**
 * An endpoint's GPU seconds per job, simulated job by job for seeded Poisson arrivals: a job on a
 * stopped endpoint starts it (S), jobs arriving during a start join it, the endpoint stays up while
 * jobs come within W of it going idle, then the deletion (D) is billed. Inference is 0.
 */
function simulate(perHour: number, W: number, S: number, D: number, jobs = 200_000): number {
  const rnd = seededRandom(11);
  let t = 0;
  let billed = 0;
  let up: { start: number; idleSince: number } | undefined;
  let deletedAt = 0;
  for (let i = 0; i < jobs; i++) {
    t += -Math.log(1 - rnd()) / (perHour / 3600);
    if (up && t > up.idleSince + W) {
      billed += up.idleSince + W + D - up.start;
      deletedAt = up.idleSince + W + D;
      up = undefined;
    }
    if (!up) {
      const start = Math.max(t, deletedAt);
      up = { start, idleSince: start + S };
    } else up.idleSince = Math.max(up.idleSince, t);
  }
  if (up) billed += up.idleSince + W + D - up.start;
  return billed / jobs;
}

describe('gpuSecondsPerJob', () => {
  const times = { startSeconds: 300, deleteSeconds: 60, inferenceSeconds: 0 };
  it.each([
    [3, 60],
    [3, 1800],
    [30, 60],
    [30, 1800],
    [120, 60],
    [120, 600],
  ])('matches a job-by-job simulation at %i an hour and a %i s window', (rate, w) => {
    const model = gpuSecondsPerJob(rate, w, times).gpuSeconds;
    // Arrivals during a deletion wait for it and start a life of their own: the model leaves that out.
    const ratio = model / simulate(rate, w, 300, 60);
    expect(ratio).toBeGreaterThan(0.93);
    expect(ratio).toBeLessThan(1.07);
  });

  it('bills every job its own start and deletion when none arrives in a start, and the gap when kept', () => {
    expect(gpuSecondsPerJob(0.0001, 0, times).gpuSeconds).toBeCloseTo(360, 0);
    expect(gpuSecondsPerJob(36, 1e5, times).gpuSeconds).toBeCloseTo(100, 0); // one job per 100 s
  });

  it('a longer window costs less exactly above one job per deletion time', () => {
    expect(idleWindowBreakEven(times).arrivalsPerHour).toBe(60);
    const slope = (rate: number) =>
      gpuSecondsPerJob(rate, 1200, times).gpuSeconds - gpuSecondsPerJob(rate, 60, times).gpuSeconds;
    expect(slope(50)).toBeGreaterThan(0);
    expect(slope(70)).toBeLessThan(0);
  });
});
