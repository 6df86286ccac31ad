// The command line's parsing, validation, defaults, help and exit codes, driven with fake actions: what
// each action receives is exactly what a user typed, checked, with every default filled in.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './main.ts';
import { CliError, EXIT, InputFileError, TargetUnreachableError } from './exit.ts';
import { BENCH_DEFAULTS } from './options.ts';
import { fakeActions, recordingIo } from './test-io.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'dvs-cli-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);
const image = path.join(dir, 'chair_image.png');
const mask = path.join(dir, 'chair_mask.png');
writeFileSync(image, PNG);
writeFileSync(mask, PNG);
const notPng = path.join(dir, 'notes.png');
writeFileSync(notPng, 'hello');

async function dvs(argv: string[], run?: Parameters<typeof fakeActions>[0]) {
  const { actions, calls } = fakeActions(run);
  const io = recordingIo();
  const code = await runCli(argv, actions, io);
  return { code, calls, out: io.out(), err: io.err() };
}

describe('dvs bench', () => {
  it('fills every default: both wait modes, seed 1, the modelled SageMaker times, the local target', async () => {
    const { code, calls } = await dvs(['bench', '--scenario', 'burst']);
    expect(code).toBe(EXIT.ok);
    expect(calls.bench).toEqual([
      {
        target: { kind: 'local' },
        scenario: 'burst',
        jobs: BENCH_DEFAULTS.jobs.burst,
        waitModes: ['poll', 'event'],
        seed: 1,
        endpointStartSeconds: 300,
        inferenceSeconds: 30,
        endpointConcurrency: 1,
        idleWindowSeconds: 600,
        clock: 'skip',
        json: false,
      },
    ]);
  });

  it('passes each scenario only its own options, parsed', async () => {
    const sweep = await dvs([
      'bench',
      '--scenario',
      'sweep',
      '--wait-mode',
      'event',
      '--seed',
      '7',
      '--rate',
      '12.5',
      '--duration',
      '7200',
      '--idle-windows',
      '0, 120,600',
      '--fallbacks',
      '30,90',
      '--endpoint-start',
      '45',
      '--inference-seconds',
      '2.5',
      '--out',
      'reports/x',
      '--json',
      '--endpoints',
      'cloud.json',
    ]);
    expect(sweep.code).toBe(0);
    expect(sweep.calls.bench[0]).toEqual({
      target: { kind: 'local', endpoints: 'cloud.json' },
      scenario: 'sweep',
      waitModes: ['event'],
      seed: 7,
      arrivalsPerHour: 12.5,
      durationSeconds: 7200,
      idleWindowsSeconds: [0, 120, 600],
      fallbacksSeconds: [30, 90],
      endpointStartSeconds: 45,
      inferenceSeconds: 2.5,
      endpointConcurrency: 1,
      idleWindowSeconds: 600,
      clock: 'skip',
      outDir: 'reports/x',
      json: true,
    });
    const stream = await dvs(['bench', '--scenario', 'stream']);
    expect(stream.calls.bench[0]).toMatchObject({
      scenario: 'stream',
      arrivalsPerHour: 60,
      durationSeconds: 3600,
    });
    expect(stream.calls.bench[0]).not.toHaveProperty('idleWindowsSeconds');
    const cold = await dvs(['bench', '--scenario', 'cold', '--wait-mode', 'poll']);
    expect(cold.calls.bench[0]).toEqual(expect.objectContaining({ scenario: 'cold', waitModes: ['poll'] }));
    expect(cold.calls.bench[0]).not.toHaveProperty('jobs');
    const warm = await dvs(['bench', '--scenario', 'warm', '--jobs', '5']);
    expect(warm.calls.bench[0]).toMatchObject({ scenario: 'warm', jobs: 5 });
    const byDefault = await dvs([
      'bench',
      '--scenario',
      'default',
      '--endpoint-concurrency',
      '3',
      '--idle-window',
      '90',
    ]);
    expect(byDefault.calls.bench[0]).toMatchObject({
      scenario: 'default',
      jobs: BENCH_DEFAULTS.jobs.default,
      endpointConcurrency: 3,
      idleWindowSeconds: 90,
    });
    const sweepWindow = await dvs(['bench', '--scenario', 'sweep', '--idle-window', '90']);
    expect(sweepWindow.code).toBe(EXIT.usage);
    expect(sweepWindow.err).toContain('--idle-window applies to --scenario default or cold');
  });

  it.each([
    [['--jobs', '0'], "--jobs: '0' is not allowed; expected a whole number from 1 to 100000"],
    [['--jobs', '2.5'], "--jobs: '2.5' is not allowed; expected a whole number"],
    [['--jobs', 'ten'], "--jobs: 'ten' is not allowed"],
    [['--jobs', ''], "--jobs: '' is not allowed"],
    [['--seed', '-1'], "--seed: '-1' is not allowed; expected a whole number from 0 to 4294967295"],
    [['--endpoint-start', '-5'], "--endpoint-start: '-5' is not allowed; expected a number from 0"],
    [['--inference-seconds', '0'], "--inference-seconds: '0' is not allowed; expected a number above 0"],
    [['--inference-seconds', 'Infinity'], "--inference-seconds: 'Infinity' is not allowed"],
    [['--clock', 'fast'], "--clock: clock must be 'skip', 'real' or 'scale:N'"],
  ])(
    'refuses %j on burst, naming the option, the value and what is allowed (exit 2)',
    async (args, message) => {
      const { code, calls, err } = await dvs(['bench', '--scenario', 'burst', ...args]);
      expect(code).toBe(EXIT.usage);
      expect(calls.bench).toEqual([]);
      expect(err).toContain(message);
      expect(err).toContain('dvs bench --help');
    },
  );

  it.each([
    [['--scenario', 'sweep', '--rate', '0'], "--rate: '0' is not allowed; expected a number above 0"],
    [['--scenario', 'stream', '--duration', '-1'], "--duration: '-1' is not allowed"],
    [['--scenario', 'sweep', '--idle-windows', '60,,600'], 'expected a comma-separated list'],
    [
      ['--scenario', 'sweep', '--idle-windows', '60,x'],
      "--idle-windows: 'x' is not allowed; expected a whole number",
    ],
    [['--scenario', 'sweep', '--idle-windows', '60,60'], "--idle-windows: '60,60' lists 60 twice"],
    [
      ['--scenario', 'sweep', '--fallbacks', '0'],
      "--fallbacks: '0' is not allowed; expected a whole number from 1",
    ],
    [
      ['--scenario', 'cold', '--jobs', '3'],
      '--jobs applies to --scenario default or warm or burst, not cold',
    ],
    [['--scenario', 'burst', '--rate', '3'], '--rate applies to --scenario stream or sweep, not burst'],
    [
      ['--scenario', 'stream', '--idle-windows', '60'],
      '--idle-windows applies to --scenario sweep, not stream',
    ],
    [['--scenario', 'warm', '--fallbacks', '60'], '--fallbacks applies to --scenario sweep, not warm'],
    [
      ['--scenario', 'storm'],
      "argument 'storm' is invalid. Allowed choices are default, cold, warm, burst, stream, sweep",
    ],
    [
      ['--scenario', 'cold', '--wait-mode', 'sleep'],
      "argument 'sleep' is invalid. Allowed choices are poll, event, both",
    ],
    [[], "required option '--scenario <name>' not specified"],
    [['--scenario', 'cold', '--bogus'], "unknown option '--bogus'"],
  ])('refuses %j (exit 2)', async (args, message) => {
    const { code, calls, err } = await dvs(['bench', ...args]);
    expect(code).toBe(EXIT.usage);
    expect(calls.bench).toEqual([]);
    expect(err).toContain(message);
  });
});

describe('target options', () => {
  it('takes a deployed stack by name, with the default stack name and an optional region', async () => {
    const named = await dvs([
      'bench',
      '--scenario',
      'cold',
      '--target',
      'aws',
      '--stack',
      'MyStack',
      '--region',
      'eu-west-1',
    ]);
    expect(named.calls.bench[0]!.target).toEqual({ kind: 'aws', stack: 'MyStack', region: 'eu-west-1' });
    const plain = await dvs(['status', '--target', 'aws']);
    expect(plain.calls.status[0]!.target).toEqual({ kind: 'aws', stack: 'DurableVsStepFunctions' });
  });

  it.each([
    [['--target', 'aws', '--endpoints', 'cloud.json'], '--endpoints applies to --target local only'],
    [['--stack', 'S'], '--stack applies to --target aws only'],
    [['--region', 'us-east-1'], '--region applies to --target aws only'],
    [
      ['--target', 'aws', '--stack', '1bad_name'],
      "--stack: '1bad_name' is not allowed; expected a CloudFormation stack name",
    ],
    [
      ['--target', 'aws', '--region', 'mars'],
      "--region: 'mars' is not allowed; expected an AWS region such as us-east-1",
    ],
    [['--target', 'gcp'], "argument 'gcp' is invalid. Allowed choices are local, aws"],
  ])('refuses %j (exit 2)', async (args, message) => {
    const { code, err, calls } = await dvs(['status', ...args]);
    expect(code).toBe(EXIT.usage);
    expect(calls.status).toEqual([]);
    expect(err).toContain(message);
  });
});

describe('dvs upload', () => {
  it('names the upload after the image, user cli, no mask delay by default', async () => {
    const { code, calls } = await dvs(['upload', image, mask]);
    expect(code).toBe(0);
    expect(calls.upload).toEqual([
      {
        target: { kind: 'local' },
        imagePath: image,
        maskPath: mask,
        maskDelaySeconds: 0,
        userId: 'cli',
        name: 'chair',
        json: false,
      },
    ]);
    const given = await dvs([
      'upload',
      image,
      mask,
      '--mask-delay',
      '30',
      '--user',
      'u1',
      '--name',
      'sofa',
      '--json',
    ]);
    expect(given.calls.upload[0]).toMatchObject({
      maskDelaySeconds: 30,
      userId: 'u1',
      name: 'sofa',
      json: true,
    });
  });

  it('refuses a missing or non-PNG file (exit 3) and bad names or delays (exit 2)', async () => {
    const missing = await dvs(['upload', path.join(dir, 'nope.png'), mask]);
    expect(missing.code).toBe(EXIT.badInput);
    expect(missing.err).toContain(`the image '${path.join(dir, 'nope.png')}' cannot be read`);
    const text = await dvs(['upload', image, notPng]);
    expect(text.code).toBe(EXIT.badInput);
    expect(text.err).toContain(`the mask '${notPng}' is not a PNG file`);
    const folder = await dvs(['upload', image, dir]);
    expect(folder.code).toBe(EXIT.badInput);
    const user = await dvs(['upload', image, mask, '--user', '../root']);
    expect(user.code).toBe(EXIT.usage);
    expect(user.err).toContain("--user: user id '../root' contains '/'");
    const delay = await dvs(['upload', image, mask, '--mask-delay', 'soon']);
    expect(delay.code).toBe(EXIT.usage);
    expect(delay.err).toContain("--mask-delay: 'soon' is not allowed; expected a number from 0");
    const one = await dvs(['upload', image]);
    expect(one.code).toBe(EXIT.usage);
    expect(one.err).toContain("missing required argument 'mask'");
    expect([missing, text, folder, user, delay, one].every((r) => r.calls.upload.length === 0)).toBe(true);
  });
});

describe('dvs status', () => {
  it('passes --job, --user, --limit and --json checked', async () => {
    const { calls } = await dvs([
      'status',
      '--job',
      'ab12',
      '--user',
      'u1',
      '--limit',
      '5',
      '--json',
      '--endpoints',
      '-',
    ]);
    expect(calls.status).toEqual([
      { target: { kind: 'local', endpoints: '-' }, jobId: 'ab12', userId: 'u1', limit: 5, json: true },
    ]);
    const bad = await dvs(['status', '--job', 'not-hex']);
    expect(bad.code).toBe(EXIT.usage);
    expect(bad.err).toContain("--job: 'not-hex' is not allowed");
    const limit = await dvs(['status', '--limit', '0']);
    expect(limit.err).toContain("--limit: '0' is not allowed; expected a whole number from 1 to 10000");
  });
});

describe('dvs check', () => {
  it('passes --margin and --json checked, and the target', async () => {
    const { calls } = await dvs(['check', '--margin', '30', '--json', '--endpoints', 'cloud.json']);
    expect(calls.check).toEqual([
      { target: { kind: 'local', endpoints: 'cloud.json' }, marginSeconds: 30, json: true },
    ]);
    const aws = await dvs(['check', '--target', 'aws', '--stack', 'Mine']);
    expect(aws.calls.check).toEqual([
      { target: { kind: 'aws', stack: 'Mine' }, marginSeconds: 60, json: false },
    ]);
    const bad = await dvs(['check', '--margin', '-1']);
    expect(bad.code).toBe(EXIT.usage);
    expect(bad.err).toContain("--margin: '-1' is not allowed; expected a number from 0 to 86400");
    expect(bad.calls.check).toEqual([]);
  });

  it("exits with the action's code: 1 when an invariant is violated", async () => {
    const { actions } = fakeActions(() => Promise.resolve(EXIT.failed));
    expect(await runCli(['check', '--endpoints', 'cloud.json'], actions, recordingIo())).toBe(EXIT.failed);
  });
});

describe('exit codes', () => {
  it("passes the action's code through, maps a CliError to its code and anything thrown to 1", async () => {
    expect((await dvs(['bench', '--scenario', 'cold'], () => Promise.resolve(EXIT.failed))).code).toBe(1);
    const bad = await dvs(['bench', '--scenario', 'cold'], () =>
      Promise.reject(new InputFileError('the trace file is empty')),
    );
    expect(bad.code).toBe(EXIT.badInput);
    expect(bad.err).toBe('dvs bench: the trace file is empty\n');
    const gone = await dvs(['bench', '--scenario', 'cold'], () =>
      Promise.reject(new TargetUnreachableError('no cloud')),
    );
    expect(gone.code).toBe(EXIT.unreachable);
    const custom = await dvs(['bench', '--scenario', 'cold'], () =>
      Promise.reject(new CliError('x', EXIT.interrupted)),
    );
    expect(custom.code).toBe(130);
    const crash = await dvs(['bench', '--scenario', 'cold'], () =>
      Promise.reject(new Error('invariant broke')),
    );
    expect(crash.code).toBe(EXIT.failed);
    expect(crash.err).toContain('dvs bench failed: Error: invariant broke');
  });

  it('exits 130 once the signal is aborted, whatever the action returns or throws', async () => {
    const returned = await dvs(['bench', '--scenario', 'burst'], (io) => {
      (io as ReturnType<typeof recordingIo>).controller.abort();
      return Promise.resolve(0);
    });
    expect(returned.code).toBe(EXIT.interrupted);
    const thrown = await dvs(['upload', image, mask], (io) => {
      (io as ReturnType<typeof recordingIo>).controller.abort();
      return Promise.reject(new Error('aborted'));
    });
    expect(thrown.code).toBe(EXIT.interrupted);
    expect(thrown.err).toBe('dvs upload: interrupted\n');
  });

  it('exits 2 with the help on no command and on an unknown one', async () => {
    const none = await dvs([]);
    expect(none.code).toBe(EXIT.usage);
    expect(none.err).toContain('Usage: dvs');
    const unknown = await dvs(['deploy']);
    expect(unknown.code).toBe(EXIT.usage);
    expect(unknown.err).toContain("unknown command 'deploy'");
  });
});

describe('help', () => {
  const commands: [string, string[]][] = [
    [
      'bench',
      [
        '--scenario',
        '--wait-mode',
        'default: "both"',
        '--seed',
        'default: "1"',
        '--jobs',
        'burst 100',
        '--rate',
        'default: 60',
        '--duration',
        'default: 3600',
        '--endpoint-start',
        'default: "300"',
        '--inference-seconds',
        'default: "30"',
        '--idle-windows',
        '60,300,600,1800',
        '--fallbacks',
        '60,300,600',
        '--out',
        '--json',
      ],
    ],
    [
      'upload',
      ['<image>', '<mask>', '--mask-delay', 'default: "0"', '--user', 'default: "cli"', '--name', '--json'],
    ],
    ['status', ['--job', '--user', '--limit', 'default: "20"', '--json']],
    [
      'check',
      ['--margin', 'default: "60"', '--json', 'jobs-end', 'nothing-left', 'prefixes-apart', 'Exits 0 when'],
    ],
    ['report', ['[results.json]', '--out', '--prices', '--example']],
  ];
  it.each(commands)(
    'dvs %s --help names every option with its default, the exit codes and an example (exit 0)',
    async (command, expected) => {
      const { code, out: text, calls } = await dvs([command, '--help']);
      const out = text.replace(/\s+/g, ' ');
      expect(code).toBe(EXIT.ok);
      for (const text of [...expected, 'Exit codes:', 'Example: dvs ']) expect(out).toContain(text);
      if (command !== 'report')
        for (const text of ['--target', 'default: "local"', '--endpoints', '--stack', '--region', '130'])
          expect(out).toContain(text);
      expect(Object.values(calls).flat()).toEqual([]);
    },
  );

  it('lists the commands at the top, and dashboard only when an action serves it', async () => {
    const { code, out } = await dvs(['--help']);
    expect(code).toBe(0);
    for (const command of ['report', 'status', 'check', 'upload', 'bench', 'dashboard'])
      expect(out).toContain(command);
    const { actions } = fakeActions();
    const io = recordingIo();
    const { dashboard: _, ...withoutDashboard } = actions;
    expect(await runCli(['--help'], withoutDashboard, io)).toBe(0);
    expect(io.out()).not.toContain('dashboard');
    expect(await runCli(['dashboard'], withoutDashboard, recordingIo())).toBe(EXIT.usage);
  });
});

describe('dvs report', () => {
  it('writes the report from results, and refuses a bad results or price file with exit 3', async () => {
    const out = path.join(dir, 'example');
    const example = await dvs(['report', '--example', '--out', out]);
    expect(example.code).toBe(EXIT.ok);
    for (const file of ['report.md', 'report.html', 'results.json'])
      expect(existsSync(path.join(out, file))).toBe(true);
    const again = await dvs(['report', path.join(out, 'results.json'), '--out', path.join(dir, 'again')]);
    expect(again.code).toBe(EXIT.ok);
    expect(again.out).toContain(path.join(dir, 'again', 'report.html'));
    const missing = await dvs(['report', path.join(dir, 'none.json')]);
    expect(missing.code).toBe(EXIT.badInput);
    const prices = path.join(dir, 'prices.json');
    writeFileSync(prices, '{"not": "prices"}');
    const badPrices = await dvs([
      'report',
      path.join(out, 'results.json'),
      '--prices',
      prices,
      '--out',
      path.join(dir, 'p'),
    ]);
    expect(badPrices.code).toBe(EXIT.badInput);
    const none = await dvs(['report']);
    expect(none.code).toBe(EXIT.usage);
  });
});
