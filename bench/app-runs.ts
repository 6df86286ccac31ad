// What the orchestrator benchmarks share: the app's own settings at the local cloud's time scale, a
// world for one orchestrator (test/support/scenario-world.ts: the local cloud with the app deployed
// from its one definition), the jobs of a user read from the table, waiting for them with progress
// on stderr, and simulated time.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { DEFAULT_CLOCK } from '../local/cloud.ts';
import { requireNode22 } from '../local/cli/preflight.ts';
import { jobStoreOf } from '../shared/deps.ts';
import { WAIT_MODES, type WaitMode } from '../shared/config.ts';
import { isEnding } from '../shared/job-model.ts';
import type { Job } from '../shared/job-store.ts';
import type { Orchestrator } from '../shared/keys.ts';
import { startWorld, type World } from '../test/support/scenario-world.ts';

/** The benchmarks' default clock (`--clock`): the local cloud's, skip. */
export const BENCH_CLOCK = DEFAULT_CLOCK;

/** The `--clock` option every benchmark of the app takes. */
export const CLOCK_OPTION = { clock: { default: BENCH_CLOCK } };
export const CLOCK_USAGE = `  --clock C               skip, real or scale:N, the local cloud's clock (default ${BENCH_CLOCK})`;

export const ORCHESTRATOR_NAMES: Record<Orchestrator, string> = { ldf: 'durable', sf: 'Step Functions' };

/**
 * A world running the app with its own defaults (idle window 600 s, mask wait 300 s, poll 5..60 s)
 * and the SageMaker emulator's (a 300 s endpoint start), on `clock`.
 */
export function startBenchWorld(
  orchestrator: Orchestrator,
  waitMode: WaitMode,
  clock: string = BENCH_CLOCK,
): Promise<World> {
  return startWorld(orchestrator, waitMode, { settings: {}, clock, sagemakerTimings: {} });
}

/** Parses a benchmark's string options; prints `usage` for --help, and exits 2 with the message on bad input. */
export function benchArgs(
  options: Record<string, { default?: string }>,
  usage: string,
): { options: Record<string, string | undefined>; logs: boolean } {
  const config: ParseArgsConfig['options'] = { help: { type: 'boolean' }, logs: { type: 'boolean' } };
  for (const [name, o] of Object.entries(options)) config[name] = { type: 'string', ...o };
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  try {
    values = parseArgs({ options: config }).values;
  } catch (err) {
    fail(`${(err as Error).message}\n\n${usage}`);
  }
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  requireNode22();
  const out: Record<string, string | undefined> = {};
  for (const name of Object.keys(options)) out[name] = values[name] as string | undefined;
  return { options: out, logs: values.logs === true };
}

/** The option every orchestrator benchmark takes, for its usage text. */
export const LOGS_USAGE = "  --logs                  keep the functions' own log lines (muted by default)";

/**
 * The functions run in worker threads whose stdout is this process's: their log and metric lines
 * would bury the numbers. Mutes stdout unless `keep`, and returns a writer for the results.
 */
export function resultsWriter(keep: boolean): (line: string) => void {
  const write = process.stdout.write.bind(process.stdout);
  if (!keep) process.stdout.write = () => true;
  return (line) => void write(`${line}\n`);
}

export function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

export function positiveInteger(name: string, value: string | undefined): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) fail(`--${name} must be a positive integer, got '${value}'`);
  return n;
}

export function waitModeArg(value: string | undefined): WaitMode {
  if (!(WAIT_MODES as readonly string[]).includes(value ?? ''))
    fail(`--wait-mode must be one of ${WAIT_MODES.join(', ')}, got '${value}'`);
  return value as WaitMode;
}

/** Every job of a user, through the job store's paged query. */
export async function jobsOf(world: World, user: string): Promise<Job[]> {
  const store = jobStoreOf(world.deps);
  const jobs: Job[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.listByUser(world.orchestrator, user, cursor === undefined ? {} : { cursor });
    jobs.push(...page.jobs);
    cursor = page.cursor;
  } while (cursor !== undefined);
  return jobs;
}

/** When a job reached its ending, epoch ms. */
export function endedAt(job: Job): number {
  return Date.parse(job.phases[job.status] ?? job.updatedAt);
}

/**
 * Waits until `count` jobs of `user` (those `which` picks) have ended, printing progress to stderr every 2 s; throws after
 * `timeoutMs` with how far they got.
 */
export async function waitForJobs(
  world: World,
  user: string,
  count: number,
  timeoutMs: number,
  which: (job: Job) => boolean = () => true,
): Promise<Job[]> {
  const started = Date.now();
  let lastReport = started;
  for (;;) {
    const jobs = (await jobsOf(world, user)).filter(which);
    const ended = jobs.filter((j) => isEnding(j.status));
    const line = (): string => {
      const by = countBy(jobs.map((j) => j.status));
      return `${((Date.now() - started) / 1000).toFixed(0)} s: ${ended.length}/${count} jobs ended (${Object.entries(
        by,
      )
        .map(([s, n]) => `${s} ${n}`)
        .join(', ')})`;
    };
    if (ended.length >= count) {
      console.error(line());
      return ended;
    }
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs / 1000} s: ${line()}`);
    if (Date.now() - lastReport >= 2000) {
      lastReport = Date.now();
      console.error(line());
    }
    await pause(250);
  }
}

/** Waits for every execution to end (each job's idle window and guarded stop), with progress. */
export async function quiesceWithProgress(world: World, timeoutMs: number): Promise<void> {
  const report = setInterval(() => {
    void world.executions().then(
      (all) =>
        console.error(
          `waiting for the idle stops: ${all.filter((e) => e.status === 'RUNNING').length} execution(s) running`,
        ),
      () => undefined,
    );
  }, 2000);
  try {
    await world.quiesce(timeoutMs);
  } finally {
    clearInterval(report);
  }
}

/** Real seconds between two of the world's timestamps (both read its clock): what the span really took. */
export function realSeconds(world: World, fromMs: number, toMs: number): number {
  return (world.cloud.time.toReal(toMs) - world.cloud.time.toReal(fromMs)) / 1000;
}

/** CreateEndpoint calls that reached the emulator for this world's endpoint: all, those that created, by outcome. */
export function createEndpointCalls(world: World): {
  all: number;
  ok: number;
  outcomes: Record<string, number>;
} {
  const calls = world.cloud.sagemakerEmulator
    .calls()
    .filter((c) => c.operation === 'CreateEndpoint' && c.endpointName === world.endpointName);
  return {
    all: calls.length,
    ok: calls.filter((c) => c.outcome === 'ok').length,
    outcomes: countBy(calls.map((c) => c.outcome)),
  };
}

export function countBy(values: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}

export const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
