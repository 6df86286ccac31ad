// The `bench` and `upload` actions: the command line's options turned into the scenario runner's
// inputs (bench/scenario/), its results printed. A local cloud the command starts gets a fresh cloud
// per configuration; a running cloud (--endpoints) or a deployed stack is one fixed configuration.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { appDefinition, FUNCTIONS } from '../infra/app-definition.ts';
import { DEFAULT_TIMINGS } from '../local/sagemaker/endpoints.ts';
import { startLocalCloud } from '../local/cloud.ts';
import { parseClockMode } from '../local/common/clock.ts';
import { DEFAULT_ENDPOINT_NAME, deployApp, localAppSettings } from '../local/deploy-app.ts';
import { localTarget } from '../bench/collect/local-target.ts';
import type { Target } from '../bench/collect/target.ts';
import { runBench } from '../bench/scenario/bench.ts';
import { localSessions } from '../bench/scenario/local-session.ts';
import type { Session, SessionFactory } from '../bench/scenario/run.ts';
import { plan, specFor, type ScenarioSpec } from '../bench/scenario/scenarios.ts';
import { renderTimeline, runUpload } from '../bench/scenario/upload.ts';
import { clockLabel } from '../bench/report/results.ts';
import { CONFIG_DEFAULTS } from '../shared/config.ts';
import { EXIT, UsageError } from './exit.ts';
import type { CliIo } from './io.ts';
import { BENCH_DEFAULTS, type BenchOptions, type UploadOptions } from './options.ts';
import { resolveTarget, type ResolveHooks } from './targets.ts';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The scenario the options describe, with the app's own defaults for what the command line leaves out. */
export function specOf(o: BenchOptions): ScenarioSpec {
  const arrivals =
    o.scenario === 'stream' || o.scenario === 'sweep'
      ? { ratePerHour: o.arrivalsPerHour, durationSeconds: o.durationSeconds }
      : { ratePerHour: BENCH_DEFAULTS.arrivalsPerHour, durationSeconds: BENCH_DEFAULTS.durationSeconds };
  return {
    scenario: o.scenario,
    waitModes: o.waitModes,
    seed: o.seed,
    jobs: 'jobs' in o ? o.jobs : 1,
    ...arrivals,
    endpointStartSeconds: o.endpointStartSeconds,
    endpointDeleteSeconds: DEFAULT_TIMINGS.deleteSeconds,
    inferenceSeconds: o.inferenceSeconds,
    endpointConcurrency: o.endpointConcurrency,
    idleWindows: o.scenario === 'sweep' ? o.idleWindowsSeconds : [o.idleWindowSeconds],
    fallbacks: o.scenario === 'sweep' ? o.fallbacksSeconds : [BENCH_DEFAULTS.fallbackSeconds],
    pollSeconds: CONFIG_DEFAULTS.pollSeconds,
    pollMaxSeconds: CONFIG_DEFAULTS.pollMaxSeconds,
    maskDelaySeconds: 0,
  };
}

/**
 * Real seconds a wave may take before the runner gives up on it: the simulated time the work needs
 * (an endpoint start, every inference queued behind the endpoint's slots, the idle window and the
 * stop) on the target's clock, and the local machinery's own time, generously.
 */
export function waveTimeoutSeconds(spec: ScenarioSpec, target: Pick<Target, 'simulatedSeconds'>): number {
  const simulated = Math.max(
    ...plan(spec).configurations.map((config) => {
      const s = specFor(spec, config);
      const queued = Math.ceil(Math.max(s.jobs, 1) / s.endpointConcurrency) * s.inferenceSeconds;
      const arrivals = s.scenario === 'stream' || s.scenario === 'sweep' ? s.durationSeconds : 0;
      return s.endpointStartSeconds + queued + config.idleWindowSeconds + s.endpointDeleteSeconds + arrivals;
    }),
  );
  const perRealSecond = target.simulatedSeconds(1000);
  return Math.ceil((simulated + 600) / perRealSecond + 120 + spec.jobs);
}

/** One configuration on a cloud or stack that is already there: it runs under the settings it was deployed with. */
function fixedSessions(target: Target, spec: ScenarioSpec): SessionFactory {
  const configurations = plan(spec).configurations;
  if (configurations.length > 1)
    throw new UsageError(
      `a running local cloud or a deployed stack has one wait mode and one idle window, and this scenario needs ${configurations.length} configurations: ` +
        'give --wait-mode poll or --wait-mode event (the one it was deployed with), or leave --endpoints out to let the command start a local cloud per configuration',
    );
  const definition = appDefinition({
    region: target.region,
    tableName: target.tableName,
    bucket: target.bucket,
    eventBusName: 'default',
    endpointName: DEFAULT_ENDPOINT_NAME,
    waitMode: configurations[0]!.waitMode,
  });
  const memory = (name: string): number => definition.functions.find((f) => f.name === name)?.memoryMb ?? 0;
  return () => {
    const session: Session = {
      target,
      // Log bytes are read from the local cloud's function output only.
      logs: () => undefined,
      memoryMb: { ldf: memory(FUNCTIONS.durable), sf: memory(FUNCTIONS.sfnTasks) },
      retentionDays: definition.functions.find((f) => f.durable)?.durable?.retentionPeriodDays ?? 0,
      instanceType: definition.endpoint.instanceType ?? 'ml.g5.xlarge',
      // The target outlives the session: the action closes it once the run is over.
      close: () => Promise.resolve(),
    };
    return Promise.resolve(session);
  };
}

function runIdNow(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
}

/** `hooks` reach the target's resolution (tests read a description from a string). */
export async function benchAction(
  options: BenchOptions,
  io: CliIo,
  hooks: Omit<ResolveHooks, 'startLocal'> = {},
): Promise<number> {
  const spec = specOf(options);
  const fixed =
    options.target.kind === 'aws' || options.target.endpoints !== undefined
      ? await resolveTarget(options.target, hooks)
      : undefined;
  try {
    const open =
      fixed === undefined ? localSessions(spec, undefined, options.clock) : fixedSessions(fixed, spec);
    // A local cloud the runner starts: a scale clock's factor, else (skip, real) real time at worst.
    const mode = parseClockMode(options.clock);
    const factor = mode.kind === 'scale' ? mode.factor : 1;
    const clock = fixed ?? { simulatedSeconds: (ms: number) => (ms * factor) / 1000 };
    const outcome = await runBench(
      spec,
      open,
      {
        timeoutSeconds: waveTimeoutSeconds(spec, clock),
        inFlight: 16,
        runId: runIdNow(),
        repoRoot: REPO_ROOT,
        ...(options.outDir === undefined ? {} : { outDir: options.outDir }),
      },
      io,
    );
    const report = outcome.report;
    if (options.json) {
      io.stdout.write(
        `${JSON.stringify({
          scenario: spec.scenario,
          interrupted: io.signal.aborted,
          notCompleted: outcome.notCompleted,
          report: { markdown: report.markdown, html: report.html, results: report.results },
          summary: outcome.summary,
        })}\n`,
      );
    } else {
      io.stdout.write(`${outcome.summary}\n\n`);
      io.stdout.write(`report: ${report.markdown}\n        ${report.html}\n        ${report.results}\n`);
      if (outcome.notCompleted > 0)
        io.stdout.write(`${outcome.notCompleted} job(s) did not complete: see the report's Jobs section\n`);
    }
    return outcome.notCompleted > 0 ? EXIT.failed : EXIT.ok;
  } finally {
    await fixed?.close();
  }
}

/** A local cloud with the app deployed, for one upload; closing the target brings it down. */
async function startLocalTarget(): Promise<Target> {
  const cloud = await startLocalCloud({});
  try {
    const app = await deployApp(cloud, appDefinition(localAppSettings(cloud)));
    const target = localTarget(cloud, app);
    return {
      ...target,
      close: async () => {
        await target.close();
        app.undeploy();
        await cloud.stop();
      },
    };
  } catch (err) {
    await cloud.stop();
    throw err;
  }
}

export async function uploadAction(options: UploadOptions, io: CliIo): Promise<number> {
  const target = await resolveTarget(options.target, { startLocal: startLocalTarget });
  try {
    const live = (io.stdout as { isTTY?: boolean }).isTTY === true && !options.json;
    let drawnLines = 0;
    const sides = await runUpload(
      target,
      {
        imagePath: options.imagePath,
        maskPath: options.maskPath,
        maskDelaySeconds: options.maskDelaySeconds,
        user: options.userId,
        name: options.name,
        timeoutSeconds: waveTimeoutSeconds(
          {
            ...specOf({
              ...BENCH_DEFAULTS,
              scenario: 'cold',
              target: options.target,
              waitModes: ['poll'],
              json: false,
            }),
            maskDelaySeconds: options.maskDelaySeconds,
          },
          target,
        ),
      },
      io,
      (timeline) => {
        if (options.json) return;
        // On a terminal the timeline is redrawn in place; elsewhere each change is printed once at the end.
        if (!live) return;
        if (drawnLines > 0) io.stdout.write(`\x1b[${drawnLines}F\x1b[J`);
        io.stdout.write(`${timeline}\n`);
        drawnLines = timeline.split('\n').length;
      },
    );
    const completed = sides.ldf.job?.status === 'COMPLETED' && sides.sf.job?.status === 'COMPLETED';
    if (options.json)
      io.stdout.write(`${JSON.stringify({ clock: target.clock, completed, orchestrators: sides })}\n`);
    else if (!live) io.stdout.write(`${renderTimeline(sides, clockLabel(target.clock))}\n`);
    return completed ? EXIT.ok : EXIT.failed;
  } finally {
    await target.close();
  }
}
