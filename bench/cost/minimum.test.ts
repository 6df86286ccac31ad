import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { STATE_MACHINE_ASL_PATH } from '../../orchestrators/stepfunctions/definition.ts';
import { OP } from '../../orchestrators/durable/workflow.ts';
import {
  analyticMinimum,
  pollRounds,
  sfPath,
  timedOutRounds,
  type FlowTimes,
  type JobSpec,
} from './minimum.ts';

// The app's defaults (poll 5..60 s) with a 300 s start and a 60 s deletion, the case the two
// orchestrators' READMEs count by hand from their flow tests.
const times: FlowTimes = {
  inServiceWaitSeconds: 300,
  deleteSeconds: 60,
  pollSeconds: 5,
  pollMaxSeconds: 60,
  eventFallbackSeconds: 60,
};
const warm = { shape: 'warm', started: false, stoppedEndpoint: false } as const;
const coldStarterStops = { shape: 'cold', started: true, stoppedEndpoint: true } as const;
const spec = (
  o: JobSpec['orchestrator'],
  w: JobSpec['waitMode'],
  rest: Omit<JobSpec, 'orchestrator' | 'waitMode'>,
) => ({
  orchestrator: o,
  waitMode: w,
  ...rest,
});

describe('poll and event rounds', () => {
  it('counts the backoff intervals 5, 10, 20, 40, 60, 60, … until the time has passed', () => {
    // 5, 15, 35, 75, 135, 195, 255, 315 ≥ 300 → 8 rounds; 60 s → 5, 15, 35, 75 → 4.
    expect(pollRounds(times, 300)).toBe(8);
    expect(pollRounds(times, 60)).toBe(4);
    expect(pollRounds(times, 0)).toBe(0);
  });
  it('counts the 60 s callback rounds that time out before InService', () => {
    expect(timedOutRounds(times)).toBe(4); // timeouts at 60..240 s; the fifth round is woken at 300 s
    expect(timedOutRounds({ ...times, inServiceWaitSeconds: 301 })).toBe(5);
  });
  it('times event rounds out on the event fallback, not the poll cap', () => {
    // A 600 s fallback outlasts a 300 s start: the one round is woken, none times out.
    expect(timedOutRounds({ ...times, eventFallbackSeconds: 600 })).toBe(0);
    expect(timedOutRounds({ ...times, eventFallbackSeconds: 120 })).toBe(2); // 120, 240; woken at 300
  });
});

describe('Step Functions minimum (hand count: orchestrators/stepfunctions/README.md, "What is billed")', () => {
  it.each([
    ['warm, kept', 'poll', warm, 17, 9],
    ['warm, kept', 'event', warm, 17, 9],
    ['warm, stops (60 s deletion)', 'poll', { ...warm, stoppedEndpoint: true }, 33, 13],
    ['cold starter, stops', 'poll', coldStarterStops, 68, 15],
    ['cold starter, stops', 'event', coldStarterStops, 53, 23],
  ] as const)(
    '%s, %s (%j): %i transitions, %i task Lambda requests',
    (_name, waitMode, rest, transitions, lambdas) => {
      const m = analyticMinimum(spec('sf', waitMode, rest), times);
      expect(m.billed).toBe(transitions);
      expect(m.lambdaRequests).toBe(lambdas);
    },
  );

  it('walks real edges of the deployed ASL, from StartAt to a Succeed state', () => {
    const asl = JSON.parse(readFileSync(STATE_MACHINE_ASL_PATH, 'utf8')) as {
      StartAt: string;
      States: Record<
        string,
        {
          Type: string;
          Next?: string;
          Default?: string;
          Choices?: { Next: string }[];
          Catch?: { Next: string }[];
        }
      >;
    };
    const successors = (name: string): string[] => {
      const s = asl.States[name];
      if (!s) throw new Error(`the ASL has no state ${name}`);
      return [
        s.Next,
        s.Default,
        ...(s.Choices ?? []).map((c) => c.Next),
        ...(s.Catch ?? []).map((c) => c.Next),
      ].filter((n): n is string => n !== undefined);
    };
    for (const waitMode of ['poll', 'event'] as const)
      for (const rest of [
        warm,
        coldStarterStops,
        { shape: 'cold', started: false, stoppedEndpoint: false } as const,
      ]) {
        const names = sfPath(spec('sf', waitMode, rest), times).map((s) => s.name);
        expect(names[0]).toBe(asl.StartAt);
        expect(asl.States[names.at(-1)!]?.Type).toBe('Succeed');
        for (let i = 1; i < names.length; i++) expect(successors(names[i - 1]!)).toContain(names[i]);
      }
  });
});

describe('durable minimum (hand count: orchestrators/durable/README.md, "What a job bills")', () => {
  it.each([
    ['warm', 'poll', warm, 10, 2],
    ['warm', 'event', warm, 10, 2],
    ['cold starter, kept', 'poll', { ...coldStarterStops, stoppedEndpoint: false }, 19, 10],
    ['cold starter, kept', 'event', { ...coldStarterStops, stoppedEndpoint: false }, 30, 7],
    ['cold starter, stops', 'poll', coldStarterStops, 24, 14],
    ['cold starter, stops', 'event', coldStarterStops, 35, 11],
  ] as const)(
    '%s, %s (%j): %i operations, %i invocations',
    (_name, waitMode, rest, operations, invocations) => {
      const m = analyticMinimum(spec('ldf', waitMode, rest), times);
      expect(m.billed).toBe(operations);
      expect(m.lambdaRequests).toBe(invocations);
    },
  );

  it('names only operations the workflow has', () => {
    const names = new Set<string>(Object.values(OP));
    const m = analyticMinimum(spec('ldf', 'event', coldStarterStops), times);
    for (const step of m.path) expect(names).toContain(step.name.replace(/ \(.*\)$/, ''));
  });

  it('grows with the start time: one operation per poll round, four per timed-out callback round', () => {
    const at = (w: JobSpec['waitMode'], s: number) =>
      analyticMinimum(spec('ldf', w, coldStarterStops), { ...times, inServiceWaitSeconds: s }).billed;
    expect(at('poll', 375) - at('poll', 315)).toBe(1);
    expect(at('event', 360) - at('event', 300)).toBe(4);
  });
});
