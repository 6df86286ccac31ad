// `dvs dashboard`: the console page for the target the options name (a running local cloud's
// description, or a deployed stack), served on 127.0.0.1 until Ctrl-C. Prints the page's address (or
// one JSON object with --json) and waits; a target without the dashboard, or a port in use, is named.
import type { CliIo } from '../cli/io.ts';
import { EXIT, TargetUnreachableError, UsageError } from '../cli/exit.ts';
import type { DashboardOptions } from '../cli/options.ts';
import { resolveTarget, whenUnreachable, type ResolveHooks } from '../cli/targets.ts';
import { DashboardMissingError, serveConsole, type RunningConsole } from './server.ts';

/** Resolves once `signal` is aborted (at once if it already is). */
const aborted = (signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });

export async function dashboardAction(
  options: DashboardOptions,
  io: CliIo,
  hooks: ResolveHooks = {},
): Promise<number> {
  const target = await resolveTarget(options.target, hooks);
  try {
    let served: RunningConsole;
    try {
      served = await serveConsole({
        target,
        ...(options.port === undefined ? {} : { port: options.port }),
        log: (line) => void io.stderr.write(`${line}\n`),
      });
    } catch (e) {
      if (e instanceof DashboardMissingError) throw new TargetUnreachableError(e.message);
      if ((e as { code?: string }).code === 'EADDRINUSE')
        throw new UsageError(
          `--port ${options.port} is in use on 127.0.0.1: pick another, or leave --port out for a free one`,
        );
      throw whenUnreachable(e, target, 'cloudwatch');
    }
    if (options.json)
      io.stdout.write(
        `${JSON.stringify({ url: served.url, target: target.kind, dashboard: target.dashboardName })}\n`,
      );
    else
      io.stdout.write(
        `console on ${served.url}\n  the comparison dashboard '${target.dashboardName}' and the latest upload's executions, refreshed while they run; Ctrl-C stops it\n`,
      );
    await aborted(io.signal);
    await served.close();
    return EXIT.ok;
  } finally {
    await target.close();
  }
}
