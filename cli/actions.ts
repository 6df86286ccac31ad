// What the command line calls: each subcommand's action, injected, so `cli/main.ts` only parses,
// validates and maps exit codes, and the tests drive it with fake actions. The scenario runner
// (bench/scenario/) runs the upload and bench actions (cli/scenario-actions.ts).
import type {
  BenchOptions,
  CheckOptions,
  DashboardOptions,
  StatusOptions,
  UploadOptions,
} from './options.ts';
import type { CliIo } from './io.ts';
import { dashboardAction } from '../console/action.ts';
import { checkAction } from './check.ts';
import { statusAction } from './status.ts';
import { benchAction, uploadAction } from './scenario-actions.ts';

/** Each returns its exit code (cli/exit.ts EXIT); a thrown CliError exits with its own code. */
export interface Actions {
  upload(options: UploadOptions, io: CliIo): Promise<number>;
  bench(options: BenchOptions, io: CliIo): Promise<number>;
  /** Default: the table read through DynamoDB (cli/status.ts). */
  status?(options: StatusOptions, io: CliIo): Promise<number>;
  /** Default: the invariant checker against the target (cli/check.ts). */
  check?(options: CheckOptions, io: CliIo): Promise<number>;
  /** The subcommand exists only when an action serves it. */
  dashboard?(options: DashboardOptions, io: CliIo): Promise<number>;
}

/** The actions `dvs` runs. */
export const defaultActions: Actions = {
  upload: uploadAction,
  bench: benchAction,
  status: statusAction,
  check: checkAction,
  dashboard: dashboardAction,
};
