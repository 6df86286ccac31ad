// The scenarios: what a comparison uploads, when, and under which settings. A scenario is a list of
// configurations (the app's settings: wait mode, idle window, event fallback) and, for each, waves of
// arrivals in simulated seconds; a wave starts when every job of the one before has ended. Pure: the
// runner (run.ts) plays a plan against a target.
import { seededRandom } from '../../shared/random.ts';
import type { WaitModeId } from '../report/results.ts';

export const SCENARIOS = ['default', 'cold', 'warm', 'burst', 'stream', 'sweep', 'flips'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export const SCENARIO_HELP: Record<ScenarioName, string> = {
  default: 'a cold burst (--jobs, default 4), then 2 warm jobs on the endpoint it started',
  cold: 'one job on a stopped endpoint',
  warm: '--jobs jobs one after another on a serving endpoint (a first, cold job brings it up)',
  burst: '--jobs N concurrent uploads on stopped endpoints',
  stream: 'Poisson arrivals at --rate per hour over --duration simulated seconds',
  sweep:
    'one seeded stream replayed under each --idle-windows value, both wait modes, each --fallbacks value',
  flips:
    "runs on each side of the report's flip points: cold jobs at endpoint starts around the wait-mode flips, streams slower and faster than the idle-window break-even under a short and a long window",
};

/** flips: the endpoint starts of its cold runs (around the durable wait-mode flips at the default poll settings) and its stream rates and windows. */
export const FLIP_POINTS = {
  endpointStartSeconds: [10, 30, 120, 600],
  ratesPerHour: [3, 30],
  idleWindowsSeconds: [60, 1800],
  coldIdleWindowSeconds: 60,
} as const;

export interface ScenarioSpec {
  scenario: ScenarioName;
  waitModes: WaitModeId[];
  seed: number;
  /** burst and default: uploads at once. */
  jobs: number;
  /** stream and sweep: arrivals per hour, over `durationSeconds`. */
  ratePerHour: number;
  durationSeconds: number;
  /** The modelled SageMaker times. */
  endpointStartSeconds: number;
  endpointDeleteSeconds: number;
  inferenceSeconds: number;
  endpointConcurrency: number;
  /** The app's settings; sweep replays the trace under each idle window and fallback. */
  idleWindows: number[];
  fallbacks: number[];
  pollSeconds: number;
  pollMaxSeconds: number;
  /** Simulated seconds between an upload's image and its mask. */
  maskDelaySeconds: number;
}

/** The app's settings one configuration deploys. */
export interface Configuration {
  waitMode: WaitModeId;
  idleWindowSeconds: number;
  eventFallbackSeconds: number;
  /** What this configuration runs differently from the spec (flips: its own scenario, start, rate). */
  overrides?: Partial<Pick<ScenarioSpec, 'scenario' | 'endpointStartSeconds' | 'ratePerHour'>>;
}

/** The spec one configuration runs: the scenario's, with the configuration's overrides. */
export function specFor(spec: ScenarioSpec, config: Configuration): ScenarioSpec {
  return { ...spec, ...config.overrides };
}

export interface Wave {
  label: string;
  /** Simulated seconds after the wave starts at which each upload lands. */
  arrivals: number[];
}

export interface Plan {
  configurations: Configuration[];
  waves: Wave[];
}

/** Poisson arrivals: exponential gaps of mean 3600 / rate seconds, from a seed, within `duration`. */
export function poissonArrivals(ratePerHour: number, durationSeconds: number, seed: number): number[] {
  const random = seededRandom(seed);
  const mean = 3600 / ratePerHour;
  const arrivals: number[] = [];
  for (let t = -Math.log(1 - random()) * mean; t < durationSeconds; t += -Math.log(1 - random()) * mean)
    arrivals.push(Math.round(t * 1000) / 1000);
  return arrivals;
}

const at = (n: number, t = 0): number[] => Array.from({ length: n }, () => t);

export function plan(spec: ScenarioSpec): Plan {
  const idle = spec.idleWindows[0]!;
  const fallback = spec.fallbacks[0]!;
  const each = (idleWindowSeconds: number, eventFallbackSeconds: number): Configuration[] =>
    spec.waitModes.map((waitMode) => ({ waitMode, idleWindowSeconds, eventFallbackSeconds }));
  switch (spec.scenario) {
    case 'default':
      return {
        configurations: each(idle, fallback),
        waves: [
          { label: 'cold burst', arrivals: at(spec.jobs) },
          { label: 'warm', arrivals: [0, 1] },
        ],
      };
    case 'cold':
      return { configurations: each(idle, fallback), waves: [{ label: 'cold', arrivals: [0] }] };
    case 'warm':
      return {
        configurations: each(idle, fallback),
        // One after another: each warm job finds the endpoint serving and nobody else on it.
        waves: [
          { label: 'bring the endpoint up', arrivals: [0] },
          ...Array.from({ length: spec.jobs }, (_, i) => ({ label: `warm ${i + 1}`, arrivals: [0] })),
        ],
      };
    case 'burst':
      return { configurations: each(idle, fallback), waves: [{ label: 'burst', arrivals: at(spec.jobs) }] };
    case 'stream':
      return {
        configurations: each(idle, fallback),
        waves: [
          { label: 'stream', arrivals: poissonArrivals(spec.ratePerHour, spec.durationSeconds, spec.seed) },
        ],
      };
    case 'flips': {
      // Each run is a plain cold job or stream; its overrides say which (the waves follow from them).
      const cold = FLIP_POINTS.endpointStartSeconds.flatMap((endpointStartSeconds) =>
        spec.waitModes.map((waitMode) => ({
          waitMode,
          idleWindowSeconds: FLIP_POINTS.coldIdleWindowSeconds,
          eventFallbackSeconds: fallback,
          overrides: { scenario: 'cold' as const, endpointStartSeconds },
        })),
      );
      const streams = FLIP_POINTS.ratesPerHour.flatMap((ratePerHour) =>
        FLIP_POINTS.idleWindowsSeconds.map((idleWindowSeconds) => ({
          waitMode: spec.waitModes[0]!,
          idleWindowSeconds,
          eventFallbackSeconds: fallback,
          overrides: { scenario: 'stream' as const, ratePerHour },
        })),
      );
      return { configurations: [...cold, ...streams], waves: [] };
    }
    case 'sweep': {
      // The event fallback only matters in event mode: poll runs once per idle window.
      const configurations = spec.idleWindows.flatMap((w) =>
        spec.waitModes.flatMap((waitMode) =>
          (waitMode === 'event' ? spec.fallbacks : [fallback]).map((f) => ({
            waitMode,
            idleWindowSeconds: w,
            eventFallbackSeconds: f,
          })),
        ),
      );
      return {
        configurations,
        waves: [
          { label: 'stream', arrivals: poissonArrivals(spec.ratePerHour, spec.durationSeconds, spec.seed) },
        ],
      };
    }
  }
}
