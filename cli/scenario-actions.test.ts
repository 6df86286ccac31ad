// The bench action's inputs: the command line's options become the runner's spec with the app's own
// defaults; a cloud or stack that is already there runs one configuration, and says so when asked
// for more; the give-up time follows the target's clock.
import { describe, expect, it } from 'vitest';
import { CONFIG_DEFAULTS } from '../shared/config.ts';
import { benchAction, specOf, waveTimeoutSeconds } from './scenario-actions.ts';
import { BENCH_DEFAULTS, type BenchOptions } from './options.ts';
import { EXIT, UsageError } from './exit.ts';
import { recordingIo } from './test-io.ts';

const common = {
  target: { kind: 'local' as const },
  waitModes: ['poll' as const, 'event' as const],
  seed: 1,
  endpointStartSeconds: 300,
  inferenceSeconds: 30,
  endpointConcurrency: 2,
  idleWindowSeconds: 120,
  clock: 'scale:60',
  json: false,
};

describe('specOf', () => {
  it('maps a burst onto the runner, the app defaults filling what the command line leaves out', () => {
    const spec = specOf({ ...common, scenario: 'burst', jobs: 7 });
    expect(spec).toMatchObject({
      scenario: 'burst',
      jobs: 7,
      endpointConcurrency: 2,
      idleWindows: [120],
      fallbacks: [BENCH_DEFAULTS.fallbackSeconds],
      pollSeconds: CONFIG_DEFAULTS.pollSeconds,
      pollMaxSeconds: CONFIG_DEFAULTS.pollMaxSeconds,
    });
  });

  it('gives a sweep its idle windows and fallbacks, and a stream its rate and duration', () => {
    const sweep: BenchOptions = {
      ...common,
      scenario: 'sweep',
      arrivalsPerHour: 12,
      durationSeconds: 1800,
      idleWindowsSeconds: [60, 600],
      fallbacksSeconds: [30, 90],
    };
    expect(specOf(sweep)).toMatchObject({
      ratePerHour: 12,
      durationSeconds: 1800,
      idleWindows: [60, 600],
      fallbacks: [30, 90],
    });
    expect(specOf({ ...common, scenario: 'cold' }).jobs).toBe(1);
  });
});

describe('waveTimeoutSeconds', () => {
  it('turns the simulated work into real seconds on the target clock', () => {
    const spec = specOf({ ...common, scenario: 'burst', jobs: 10 });
    // 300 start + 5 queued rounds × 30 + 120 idle + 60 delete + 600 slack = 1230 simulated seconds.
    expect(waveTimeoutSeconds(spec, { simulatedSeconds: (ms) => ms / 1000 })).toBe(1230 + 120 + 10);
    expect(waveTimeoutSeconds(spec, { simulatedSeconds: (ms) => (ms * 60) / 1000 })).toBe(
      Math.ceil(1230 / 60 + 130),
    );
  });
});

describe('benchAction on a cloud that is already running', () => {
  it('refuses a scenario that needs more than one configuration, before anything runs', async () => {
    const io = recordingIo();
    const run = benchAction({ ...common, target: { kind: 'local', endpoints: '-' }, scenario: 'cold' }, io, {
      readStdin: () => JSON.stringify(runningCloud),
    });
    await expect(run).rejects.toThrow(UsageError);
    await expect(run).rejects.toThrow(/give --wait-mode poll or --wait-mode event/);
    expect(io.out()).toBe('');
    expect(EXIT.usage).toBe(new UsageError('x').exitCode);
  });
});

const endpoint = 'http://127.0.0.1:1';
const runningCloud = {
  region: 'us-east-1',
  tableName: 'jobs',
  bucket: 'uploads',
  eventBusName: 'default',
  timeScale: 60,
  dynamodb: endpoint,
  s3: endpoint,
  eventbridge: endpoint,
  sagemaker: endpoint,
  sagemakerRuntime: endpoint,
  lambda: endpoint,
  stepfunctions: endpoint,
  cloudwatch: endpoint,
};
