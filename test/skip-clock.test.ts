// Honest latencies on the skip clock, for both orchestrators in both wait modes: a warm job's latency
// in simulated seconds is the modelled inference plus the real time it took (within 20 %: the clock
// jumped over the inference's modelled GPU time and nothing else while the job worked), and a cold
// job's is the modelled endpoint start plus that (the start is jumped over, not sat through). Real times come from the clock itself (Clock.toReal), not from
// a stopwatch around the test, so a loaded machine changes the numbers but not the verdict.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WaitMode } from '../shared/config.ts';
import type { Orchestrator } from '../shared/keys.ts';
import { SCENARIO_SETTINGS, startWorld, type World } from './support/scenario-world.ts';
import { stopWhenIdle, warmHolder } from './support/warm-holder.ts';

const START_SECONDS = 120;
/** A long modelled inference: jumped over, it costs no wall time. */
const INFERENCE_SECONDS = 600;

/** A job's latency from its upload to its recorded completion: simulated, and the real time it took. */
async function timed(world: World, user: string, name: string): Promise<{ simulated: number; real: number }> {
  const clock = world.cloud.time;
  const uploadedAt = clock.now();
  await world.upload(user, name);
  const job = await world.waitForEnding(user, name);
  expect(job.status).toBe('COMPLETED');
  const completedAt = Date.parse(job.phases.COMPLETED!);
  return {
    simulated: (completedAt - uploadedAt) / 1000,
    real: (clock.toReal(completedAt) - clock.toReal(uploadedAt)) / 1000,
  };
}

function latencies(orchestrator: Orchestrator, waitMode: WaitMode): void {
  describe(`${orchestrator}, ${waitMode} wait mode`, () => {
    let world: World;
    beforeAll(async () => {
      world = await startWorld(orchestrator, waitMode, {
        clock: 'skip',
        sagemakerTimings: {
          createSeconds: START_SECONDS,
          deleteSeconds: 30,
          inferenceSeconds: INFERENCE_SECONDS,
        },
      });
    });
    afterAll(async () => {
      await world?.stop();
    });

    it('a warm job takes its modelled inference plus the real time it took, within 20 %', async () => {
      const release = await warmHolder(world);
      const { simulated, real } = await timed(world, 'u-warm', 'warm');
      expect(simulated).toBeGreaterThanOrEqual(INFERENCE_SECONDS);
      // What the clock skipped during the job is the inference's modelled time, and no more.
      expect(simulated - real).toBeLessThanOrEqual(INFERENCE_SECONDS + real * 0.2);
      expect(real).toBeLessThan(INFERENCE_SECONDS / 2);
      await world.quiesce();
      await release();
      await stopWhenIdle(world);
      await world.quiesce();
    }, 120_000);

    it('a cold job takes the modelled start plus its processing', async () => {
      const { simulated, real } = await timed(world, 'u-cold', 'cold');
      // The start is waited out on the clock; a poll may find it up to one (longest) round late.
      const slack = waitMode === 'poll' ? SCENARIO_SETTINGS.pollMaxSeconds : 0;
      const modelled = START_SECONDS + INFERENCE_SECONDS;
      expect(simulated).toBeGreaterThanOrEqual(modelled);
      expect(simulated - real).toBeLessThanOrEqual(modelled + slack + real * 0.2);
      // Jumped over: the real time is the processing, far less than what was modelled.
      expect(real).toBeLessThan(modelled / 4);
      await world.quiesce();
    }, 120_000);
  });
}

latencies('ldf', 'poll');
latencies('ldf', 'event');
latencies('sf', 'poll');
latencies('sf', 'event');
