import { describe, expect, it } from 'vitest';
import { cheaperMode, gpuSecondsPerJob } from '../cost/flips.ts';
import { loadPrices, priceOf } from '../cost/prices.ts';
import { exampleRun } from './example-results.ts';
import { usd as formatUsd } from './format.ts';
import { describeChecks, idleWindowChecks, startTimeChecks } from './flip-checks.ts';
import type { Run } from './results.ts';

const prices = loadPrices();

/** One cold job per orchestrator on a stopped endpoint, in one wait mode, at one start time. */
const coldRun = (id: string, waitMode: 'poll' | 'event', endpointStartSeconds: number): Run =>
  exampleRun(id, { jobs: 1, endpointStartSeconds, eventFallbackSeconds: 60 }, { waitModes: [waitMode] });

describe('startTimeChecks', () => {
  const runs = [10, 600].flatMap((s) => [coldRun(`poll-${s}`, 'poll', s), coldRun(`event-${s}`, 'event', s)]);

  it('sets the measured cheaper mode beside the model at each start time with a poll and an event run', () => {
    const checks = startTimeChecks(runs, 'ldf', prices);
    expect(checks.map((c) => c.at)).toEqual([10, 600]);
    for (const c of checks) {
      const p = runs.find((r) => r.id === `poll-${c.at}`)!.scenario.parameters;
      const model = cheaperMode(
        'ldf',
        {
          inServiceWaitSeconds: c.at,
          deleteSeconds: p.endpointDeleteSeconds,
          pollSeconds: p.pollSeconds,
          pollMaxSeconds: p.pollMaxSeconds,
          eventFallbackSeconds: 60,
        },
        prices,
      );
      expect(c.predicted).toBe(model.mode);
      expect(c.runs).toEqual([`poll-${c.at}`, `event-${c.at}`]);
      // The example jobs bill their flow's minimum: measurement and model agree.
      expect(c.agrees).toBe(true);
    }
  });

  it('prices what the runs billed, and says when they disagree with the model', () => {
    const tampered = runs.map((r) => structuredClone(r));
    const predicted = startTimeChecks(runs, 'ldf', prices).find((c) => c.at === 600)!.predicted;
    // Make the model's pick at 600 s bill 1,000 more operations per job than it did.
    const run = tampered.find((r) => r.id === `${predicted}-600`)!;
    for (const j of run.jobs) if (j.orchestrator === 'ldf') j.units.durable.operationsBilled += 1000;
    const check = startTimeChecks(tampered, 'ldf', prices).find((c) => c.at === 600)!;
    expect(check.measured).not.toBe(predicted);
    expect(check.agrees).toBe(false);
    const job = run.jobs.find((j) => j.orchestrator === 'ldf')!;
    const usd =
      job.units.durable.operationsBilled * priceOf(prices, 'durable.operation').usd +
      job.units.lambda.requests * priceOf(prices, 'lambda.request').usd;
    expect(check.detail).toContain(`measured ${predicted} ${formatUsd(usd * 1000)}`);
    const text = describeChecks([check], [300], 's start');
    expect(text).toContain('**disagrees**');
    expect(text).toContain('Flip at 300 s start: below no run, at or above disagrees');
    expect(text).toContain('1 of 1 measured comparisons disagree with the model.');
  });

  it('needs both modes at a start time, and a completed starter of that orchestrator', () => {
    expect(startTimeChecks([coldRun('poll-only', 'poll', 30)], 'sf', prices)).toEqual([]);
    const failed = [coldRun('p', 'poll', 30), coldRun('e', 'event', 30)];
    for (const j of failed[1]!.jobs) j.outcome = 'FAILED';
    expect(startTimeChecks(failed, 'sf', prices)).toEqual([]);
    expect(describeChecks([], [16], 's start')).toContain('run `dvs bench --scenario flips`');
  });
});

describe('idleWindowChecks', () => {
  const stream = (rate: number, w: number) =>
    exampleRun(
      `r${rate}-w${w}`,
      { jobs: 4, arrivalsPerHour: rate, idleWindowSeconds: w },
      { waitModes: ['poll'] },
    );

  it('picks the cheaper window per arrival rate from the model and from the GPU seconds billed', () => {
    const runs = [3, 120].flatMap((rate) => [stream(rate, 60), stream(rate, 1800)]);
    const checks = idleWindowChecks(runs, prices);
    expect(checks.map((c) => c.at)).toEqual([3, 120]);
    for (const c of checks) {
      const p = runs[0]!.scenario.parameters;
      const model = (w: number) =>
        gpuSecondsPerJob(c.at, w, {
          startSeconds: p.endpointStartSeconds,
          deleteSeconds: p.endpointDeleteSeconds,
          inferenceSeconds: p.inferenceSeconds,
        }).gpuSeconds;
      expect(c.predicted).toBe(model(60) < model(1800) ? '60 s window' : '1,800 s window');
      const measured = (w: number) => {
        const jobs = runs.find((r) => r.id === `r${c.at}-w${w}`)!.jobs;
        return jobs.reduce((a, j) => a + j.units.sagemaker.instanceSeconds, 0) / jobs.length;
      };
      expect(c.measured).toBe(measured(60) < measured(1800) ? '60 s window' : '1,800 s window');
      expect(c.agrees).toBe(c.predicted === c.measured);
    }
    // Below the break-even rate (60 an hour: one job per 60 s deletion) the short window wins; above it the long one.
    expect(checks[0]!.predicted).toBe('60 s window');
    expect(checks[1]!.predicted).toBe('1,800 s window');
    expect(checks.map((c) => c.flipAt)).toEqual([60, 60]);
  });

  it('leaves out a rate with a single window', () => {
    expect(idleWindowChecks([stream(30, 60)], prices)).toEqual([]);
  });
});
