// Test support: a CliIo that records what the command line writes, and fake actions that record
// the options they were called with.
import type { Actions } from './actions.ts';
import type { CliIo } from './io.ts';
import type {
  BenchOptions,
  CheckOptions,
  DashboardOptions,
  StatusOptions,
  UploadOptions,
} from './options.ts';
import { silentProgress } from './progress.ts';

export interface RecordedIo extends CliIo {
  out(): string;
  err(): string;
  controller: AbortController;
}

export function recordingIo(): RecordedIo {
  let out = '';
  let err = '';
  const controller = new AbortController();
  return {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    progress: silentProgress,
    signal: controller.signal,
    controller,
    out: () => out,
    err: () => err,
  };
}

export interface FakeCalls {
  upload: UploadOptions[];
  bench: BenchOptions[];
  status: StatusOptions[];
  check: CheckOptions[];
  dashboard: DashboardOptions[];
}

/** Actions that record their options and return `code` (or what `run` returns). */
export function fakeActions(run: (io: CliIo) => Promise<number> = () => Promise.resolve(0)): {
  actions: Required<Actions>;
  calls: FakeCalls;
} {
  const calls: FakeCalls = { upload: [], bench: [], status: [], check: [], dashboard: [] };
  return {
    calls,
    actions: {
      upload: (o, io) => (calls.upload.push(o), run(io)),
      bench: (o, io) => (calls.bench.push(o), run(io)),
      status: (o, io) => (calls.status.push(o), run(io)),
      check: (o, io) => (calls.check.push(o), run(io)),
      dashboard: (o, io) => (calls.dashboard.push(o), run(io)),
    },
  };
}
