// `dvs`, the project's command line (commander): parses and validates each subcommand's options into
// typed objects (options.ts), calls the injected action (actions.ts) with stdout/stderr, live progress
// and an AbortSignal that Ctrl-C aborts, and turns what happens into the documented exit code.
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { EXIT as REPORT_EXIT, runReportCli } from '../bench/report/cli.ts';
import { requireNode22 } from '../local/cli/preflight.ts';
import { interruptOnSignals } from './abort.ts';
import { defaultActions, type Actions } from './actions.ts';
import type { CliIo } from './io.ts';
import { CliError, EXIT, EXIT_CODES_HELP, UsageError } from './exit.ts';
import {
  BENCH_DEFAULTS,
  CHECK_DEFAULTS,
  parseBenchOptions,
  parseCheckOptions,
  parseDashboardOptions,
  parseStatusOptions,
  parseUploadOptions,
  SCENARIOS,
  STATUS_DEFAULTS,
  TARGETS,
  UPLOAD_DEFAULTS,
  WAIT_MODE_CHOICES,
  type RawOptions,
} from './options.ts';
import { createProgress } from './progress.ts';
import { checkAction } from './check.ts';
import { statusAction } from './status.ts';

const TARGET_HELP = `Targets:
  --target local (default) runs against the local cloud: with --endpoints FILE (or - for stdin), the
  one a running \`npm run up -- --json > cloud.json\` describes; without it, the command starts one
  where it can. --target aws --stack NAME reads the deployed stack's outputs (DescribeStacks) and
  uses the AWS SDK's default credentials; the region is --region or the SDK's default chain.`;

function addTargetOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--target <kind>', 'where to run: the local cloud or a deployed stack')
        .choices(TARGETS)
        .default('local'),
    )
    .option(
      '--endpoints <file|->',
      'a running local cloud: the JSON `npm run up -- --json` prints (- reads stdin)',
    )
    .option('--stack <name>', 'with --target aws: the CloudFormation stack (default: DurableVsStepFunctions)')
    .option(
      '--region <region>',
      "with --target aws: the stack's region (default: the SDK's chain, e.g. AWS_REGION)",
    );
}

function raw(cmd: Command): RawOptions {
  return { values: cmd.opts(), given: (key) => cmd.getOptionValueSource(key) === 'cli' };
}

function helpAfter(text: string, example: string): string {
  return `\n${text}\n\n${TARGET_HELP}\n\n${EXIT_CODES_HELP}\n\nExample:\n  ${example}\n`;
}

/**
 * The `dvs` program. Each subcommand's action stores its exit code in `result.code`; `runCli` reads
 * it after parsing.
 */
export function buildProgram(actions: Actions, io: CliIo, result: { code: number }): Command {
  const run = (command: string, work: () => Promise<number>) => async (): Promise<void> => {
    result.code = await runAction(command, work, io);
  };

  const program = new Command('dvs')
    .description(
      'Decide between AWS Lambda durable functions and AWS Step Functions with evidence: upload, benchmark, report and inspect both orchestrators, on the local cloud or a deployed stack.',
    )
    .version('0.1.0')
    .exitOverride()
    .configureOutput({ writeOut: (s) => void io.stdout.write(s), writeErr: (s) => void io.stderr.write(s) })
    .showHelpAfterError('(add --help for usage)')
    .addHelpText(
      'after',
      `\n${EXIT_CODES_HELP}\n\nRun \`dvs <command> --help\` for each command's options and an example.\n`,
    );

  const report = program
    .command('report')
    .description('rebuild the comparison report from saved results (no cloud needs to run)')
    .argument(
      '[results.json]',
      'results a bench run wrote (validated against bench/report/results.schema.json)',
    )
    .option('--out <dir>', 'where to write the report (default: reports/<timestamp>/)')
    .option(
      '--prices <file>',
      "a price override file, bench/cost/prices.json's shape; its prices replace the repo's key by key",
    )
    .option('--example', 'render the built-in TEST DATA (bench/report/example-results.ts), not measurements')
    .addHelpText(
      'after',
      `\nWrites report.md, a self-contained report.html with charts, and results.json into the directory.\n\nExit codes:\n  0  written\n  1  anything else failed\n  2  bad arguments\n  3  the results file or the price file is missing or invalid (each bad field named)\n\nExample:\n  dvs report reports/2026-12-02T10-00-00Z/results.json --out /tmp/report\n`,
    );
  report.action(
    run('report', () => {
      const o = report.opts<{ out?: string; prices?: string; example?: boolean }>();
      const results = report.args[0];
      const argv = [
        ...(results === undefined ? [] : [results]),
        ...(o.out === undefined ? [] : ['--out', o.out]),
        ...(o.prices === undefined ? [] : ['--prices', o.prices]),
        ...(o.example ? ['--example'] : []),
      ];
      const code = runReportCli(argv, io.stdout, io.stderr);
      // The report's own CLI exits 4 for a bad price file; here every bad input file is 3.
      return Promise.resolve(code === REPORT_EXIT.badPrices ? EXIT.badInput : code);
    }),
  );

  const status = addTargetOptions(
    program
      .command('status')
      .description(
        "jobs and their phases from the table: both orchestrators' items of each upload side by side",
      )
      .option('--job <id>', 'only this job (its id or the start of it)')
      .option('--user <user>', "only this user's jobs")
      .option('--limit <n>', 'the most uploads shown, newest first', String(STATUS_DEFAULTS.limit))
      .option(
        '--json',
        'one JSON object on stdout: {clock, table, uploads: [{jobId, userId, name, sf, ldf}]}',
      ),
  ).addHelpText(
    'after',
    helpAfter(
      "Each upload shows the phases each orchestrator's job reached (RECEIVED, MASK_READY, ENDPOINT_ACQUIRED,\nENDPOINT_READY, INFERRING, INFERRED, COMPLETED/FAILED/REJECTED) as seconds after the upload's first\nadmission, on the target's clock (simulated seconds on the local cloud), then each one's status and\nreason. Without --user it lists jobs by status (the table's index, eventually consistent). Exits 1\nwhen --job matches nothing.",
      'dvs status --endpoints cloud.json --user u1    # with `npm run up -- --json > cloud.json` running',
    ),
  );
  status.action(run('status', () => (actions.status ?? statusAction)(parseStatusOptions(raw(status)), io)));

  const check = addTargetOptions(
    program
      .command('check')
      .description(
        'check the invariants of both orchestrators: every job ended, nothing left running, held or crossed',
      )
      .option(
        '--margin <seconds>',
        'slack past the idle window before a serving endpoint counts as forgotten',
        String(CHECK_DEFAULTS.marginSeconds),
      )
      .option('--json', 'one JSON object on stdout: {table, checked, invariants, violations: [...]}'),
  ).addHelpText(
    'after',
    helpAfter(
      `Reads the table (a full Scan), both orchestrators' executions and their histories, both endpoint items
and what SageMaker says of each endpoint, then checks, for sf# and ldf# alike:
  jobs-end                  every admitted job is in a final state once its execution ended
  executions-agree          every ended execution and its job's status agree (SUCCEEDED: COMPLETED or
                            REJECTED; FAILED, TIMED_OUT, stopped: FAILED); no ended execution without a job
  idle-endpoint             no endpoint serving past the idle window + --margin, none SageMaker runs that
                            its item says is Stopped
  nothing-left              no lease or waiter left once its job's executions ended
  one-start-per-generation  at most one CreateEndpoint per generation, none beyond the item's generation
  no-stop-under-lease       no stop began while a job was using the endpoint
  prefixes-apart            sf# and ldf# items never cross (keys, executions, artifacts, endpoints, waiters)
Each violation is printed with its job, execution and endpoint, what is wrong and what to do. The idle
window is the deployed one (the durable function's IDLE_WINDOW_SECONDS). Exits 0 when every invariant
holds, 1 when any is violated.`,
      'dvs check --endpoints cloud.json    # with `npm run up -- --json > cloud.json` running',
    ),
  );
  check.action(run('check', () => (actions.check ?? checkAction)(parseCheckOptions(raw(check)), io)));

  const upload = addTargetOptions(
    program
      .command('upload')
      .description('a dual-trigger test upload, followed live through both orchestrators to their ends')
      .argument('<image>', 'the image, a PNG file')
      .argument('<mask>', 'its mask, a PNG file')
      .option(
        '--mask-delay <seconds>',
        "simulated seconds between the image's upload and the mask's",
        String(UPLOAD_DEFAULTS.maskDelaySeconds),
      )
      .option('--user <user>', 'the user id in the keys (users/{user}/input/…)', UPLOAD_DEFAULTS.userId)
      .option('--name <name>', "the upload's name (default: the image's file name less _image.png or .png)")
      .option('--json', 'one JSON object on stdout instead of the timeline'),
  ).addHelpText(
    'after',
    helpAfter(
      "Uploads the image, then (after --mask-delay) the mask, to the uploads bucket: the image's upload starts\nBOTH orchestrators. Follows both executions to their ends and prints a side-by-side timeline of their\nphases (admitted, mask, endpoint acquired, InService, inferred, recorded, released, notified, stopped)\nwith each phase's simulated time and the units billed so far. Exits 1 when a job does not complete.",
      'dvs upload samples/disc-256_image.png samples/disc-256_mask.png --mask-delay 30    # `npm run samples` writes them',
    ),
  );
  upload.action(
    run('upload', () =>
      actions.upload(parseUploadOptions(upload.args[0]!, upload.args[1]!, raw(upload)), io),
    ),
  );

  const bench = addTargetOptions(
    program
      .command('bench')
      .description('run a scenario through both orchestrators and write a report')
      .addOption(
        new Option('--scenario <name>', 'what to run (see below)').choices(SCENARIOS).makeOptionMandatory(),
      )
      .addOption(
        new Option('--wait-mode <mode>', 'how the orchestrators wait for the mask and the endpoint')
          .choices(WAIT_MODE_CHOICES)
          .default(BENCH_DEFAULTS.waitMode),
      )
      .option('--seed <n>', 'the seed of every random choice (arrival times)', String(BENCH_DEFAULTS.seed))
      .option(
        '--jobs <n>',
        `default, warm, burst: how many uploads (default: default ${BENCH_DEFAULTS.jobs.default}, warm ${BENCH_DEFAULTS.jobs.warm}, burst ${BENCH_DEFAULTS.jobs.burst})`,
      )
      .option(
        '--rate <per-hour>',
        `stream, sweep: Poisson arrivals per hour (default: ${BENCH_DEFAULTS.arrivalsPerHour})`,
      )
      .option(
        '--duration <seconds>',
        `stream, sweep: simulated seconds of arrivals (default: ${BENCH_DEFAULTS.durationSeconds})`,
      )
      .option(
        '--endpoint-start <seconds>',
        "the modelled time of SageMaker's endpoint start, to InService",
        String(BENCH_DEFAULTS.endpointStartSeconds),
      )
      .option(
        '--inference-seconds <seconds>',
        'the modelled time of one inference on the endpoint',
        String(BENCH_DEFAULTS.inferenceSeconds),
      )
      .option(
        '--clock <mode>',
        'the clock of a local cloud the command starts: skip (idle time jumps to the next timer), real, or scale:N',
        BENCH_DEFAULTS.clock,
      )
      .option(
        '--endpoint-concurrency <n>',
        'the modelled invocations one endpoint serves at once; the rest queue in arrival order',
        String(BENCH_DEFAULTS.endpointConcurrency),
      )
      .option(
        '--idle-window <seconds>',
        'how long an endpoint serves nothing before it is stopped (not sweep)',
        String(BENCH_DEFAULTS.idleWindowSeconds),
      )
      .option(
        '--idle-windows <list>',
        `sweep: idle windows in seconds (default: ${BENCH_DEFAULTS.idleWindowsSeconds.join(',')})`,
      )
      .option(
        '--fallbacks <list>',
        `sweep: event-wait fallback timeouts in seconds (default: ${BENCH_DEFAULTS.fallbacksSeconds.join(',')})`,
      )
      .option('--out <dir>', 'where to write the report (default: reports/<timestamp>/)')
      .option('--json', 'one JSON object on stdout: the summary and the report paths'),
  ).addHelpText(
    'after',
    helpAfter(
      `Scenarios (each runs both orchestrators under each wait mode, and writes its parameters into the report):
  default a cold burst of --jobs uploads, then 2 warm jobs on the endpoint it started (npm start)
  cold    one job on a stopped endpoint
  warm    --jobs jobs, one after another, on a serving endpoint (a first cold job brings it up)
  burst   --jobs concurrent uploads on cold endpoints
  stream  Poisson arrivals at --rate per hour over --duration simulated seconds
  sweep   one seeded arrival trace replayed under each --idle-windows value, both wait modes and each
          --fallbacks value
  flips   runs on each side of the report's flip points: a cold job at endpoint starts of 10, 30, 120
          and 600 s under each wait mode; streams of 3 and 30 arrivals an hour under idle windows of
          60 s and 1800 s; the decision then checks each flip against them
An option that does not apply to the scenario is refused. The report (report.md, report.html,
results.json) states every modelled time it used. Ctrl-C stops the run and still writes what was
measured (exit 130).`,
      'dvs bench --scenario burst --jobs 1000 --wait-mode poll --out reports/burst-1000',
    ),
  );
  bench.action(run('bench', () => actions.bench(parseBenchOptions(raw(bench)), io)));

  if (actions.dashboard) {
    const cmd = addTargetOptions(
      program
        .command('dashboard')
        .description('the comparison dashboard and the executions of one upload, in a browser page')
        .option('--port <port>', 'the loopback port to serve on (default: a free one)')
        .option('--json', 'one JSON object on stdout with the page URL'),
    ).addHelpText(
      'after',
      helpAfter('Serves the console page on 127.0.0.1 until Ctrl-C.', 'dvs dashboard --endpoints cloud.json'),
    );
    cmd.action(run('dashboard', () => actions.dashboard!(parseDashboardOptions(raw(cmd)), io)));
  }
  return program;
}

/** Runs one action: its exit code, a CliError's code and message, 130 once the signal is aborted. */
export async function runAction(command: string, work: () => Promise<number>, io: CliIo): Promise<number> {
  try {
    const code = await work();
    return io.signal.aborted ? EXIT.interrupted : code;
  } catch (e) {
    if (io.signal.aborted) {
      io.stderr.write(`dvs ${command}: interrupted\n`);
      return EXIT.interrupted;
    }
    if (e instanceof CliError) {
      io.stderr.write(
        `dvs ${command}: ${e.message}${e instanceof UsageError ? ` (see dvs ${command} --help)` : ''}\n`,
      );
      return e.exitCode;
    }
    io.stderr.write(`dvs ${command} failed: ${(e as Error).stack ?? String(e)}\n`);
    return EXIT.failed;
  } finally {
    io.progress.end();
  }
}

/** Parses `argv` (the arguments after `dvs`) and runs the command: its exit code. */
export async function runCli(argv: string[], actions: Actions, io: CliIo): Promise<number> {
  const result = { code: EXIT.usage as number };
  const program = buildProgram(actions, io, result);
  if (argv.length === 0) {
    io.stderr.write(program.helpInformation());
    return EXIT.usage;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
    throw e;
  }
  return result.code;
}

/** `dvs` in this process: the real actions, process streams, progress on stderr, Ctrl-C handling. */
export async function main(argv: string[], actions: Actions = defaultActions): Promise<number> {
  requireNode22();
  const interrupts = interruptOnSignals();
  try {
    return await runCli(argv, actions, {
      stdout: process.stdout,
      stderr: process.stderr,
      progress: createProgress(process.stderr),
      signal: interrupts.signal,
    });
  } finally {
    interrupts.dispose();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1])
  process.exitCode = await main(process.argv.slice(2));
