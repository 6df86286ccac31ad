// serveConsole: the console page and the JSON it reads, on 127.0.0.1 only. The page renders the
// dashboard body the deployment put in its CloudWatch (GetDashboard: the very body the stack deploys,
// or the local deployer's, for the target's names), each widget from GetMetricData against the target's
// CloudWatch, and beside it the two executions of one upload as timelines read through the services'
// history APIs. Every request reads the target afresh: the page refreshes while a run goes.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Target } from '../bench/collect/target.ts';
import { clockLabel } from '../bench/report/results.ts';
import { markdownToHtml } from '../bench/report/html.ts';
import type { DashboardBody } from '../dashboards/comparison.ts';
import { closeServer, serveEveryRequest } from '../local/common/http-server.ts';
import {
  consoleClients,
  listUploads,
  readDashboard,
  readUploadTimelines,
  readWidgets,
  UnknownUploadError,
} from './data.ts';
import { consolePage, type PageConfig } from './page.ts';

export interface ConsoleOptions {
  target: Target;
  /** The loopback port; absent or 0: a free one. */
  port?: number;
  /** Seconds between the page's refreshes while an execution of the shown upload runs (default 3). */
  refreshSeconds?: number;
  /** Seconds between refreshes when nothing runs (default 30: a new upload shows within that). */
  idleRefreshSeconds?: number;
  /** Failures answering a request (the page shows them too). */
  log?: (line: string) => void;
}

export interface RunningConsole {
  /** The page's address, `http://127.0.0.1:PORT/`. */
  url: string;
  close(): Promise<void>;
}

/** The deployment has no comparison dashboard where the target says: nothing to render. */
export class DashboardMissingError extends Error {
  override name = 'DashboardMissingError';
}

/** A query parameter the console does not accept, named with what it takes. */
class BadParameter extends Error {}

const DURATION = /^-?P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/;

/** An ISO 8601 duration as CloudWatch's dashboards write them (`-PT6H`, `PT15M`, `P1D`): ms. */
export function durationMs(text: string): number | undefined {
  const m = DURATION.exec(text);
  if (!m || text === 'P' || text.endsWith('T')) return undefined;
  const [d, h, min, s] = m.slice(1).map((v) => Number(v ?? 0)) as [number, number, number, number];
  const ms = (((d * 24 + h) * 60 + min) * 60 + s) * 1000;
  return ms > 0 ? ms : undefined;
}

/** CloudWatch's usual periods; `auto` picks the smallest that gives at most about 100 points. */
const AUTO_PERIODS = [10, 60, 300, 900, 3600, 21600, 86400];

/** The period override a `period` parameter asks for: undefined for `inherit` (each widget's own). */
export function periodFor(period: string, rangeMs: number): number | undefined {
  if (period === 'inherit') return undefined;
  if (period === 'auto') return AUTO_PERIODS.find((p) => rangeMs / 1000 / p <= 100) ?? 86400;
  const n = Number(period);
  if (!Number.isInteger(n) || n < 1 || n > 86400)
    throw new BadParameter(
      `period must be inherit, auto or whole seconds from 1 to 86400, got ${JSON.stringify(period)}`,
    );
  return n;
}

/** What the page opens on: the body's own range and period on AWS; the last 5 minutes locally. */
function defaults(target: Target, body: DashboardBody): PageConfig['defaults'] {
  // A local run lasts seconds to minutes: six hours of five-minute periods would show it as one dot.
  if (target.kind === 'local') return { range: 'PT5M', period: 'auto' };
  return {
    range: body.start.replace(/^-/, ''),
    period: body.periodOverride === 'inherit' ? 'inherit' : 'auto',
  };
}

function describeTarget(target: Target): PageConfig['target'] {
  const clock = clockLabel(target.clock);
  return {
    kind: target.kind,
    clock: target.clock.kind === 'scale' ? `simulated seconds (clock ${clock})` : 'seconds',
    description:
      target.kind === 'local'
        ? `local cloud, ${target.region}, clock ${clock}, dashboard ${target.dashboardName}`
        : `deployed stack, ${target.region}, dashboard ${target.dashboardName}`,
  };
}

const json = (res: ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
};

/** Serves the console for `target` on 127.0.0.1 until closed. */
export async function serveConsole(options: ConsoleOptions): Promise<RunningConsole> {
  const { target } = options;
  const log = options.log ?? (() => undefined);
  const clients = consoleClients(target);
  const dashboard = async (): Promise<DashboardBody> => {
    try {
      return await readDashboard(clients, target.dashboardName);
    } catch (e) {
      if (
        ['ResourceNotFound', 'ResourceNotFoundException', 'DashboardNotFoundError'].includes(
          (e as Error).name,
        )
      )
        throw new DashboardMissingError(
          `the target's CloudWatch has no dashboard '${target.dashboardName}': ${
            target.kind === 'local'
              ? 'start the local cloud with the app deployed (`npm run up`)'
              : 'deploy the stack (`npx cdk deploy`)'
          }`,
        );
      throw e;
    }
  };
  // Fail at start, not on the first page load, when there is nothing to render.
  let body: DashboardBody;
  try {
    body = await dashboard();
  } catch (e) {
    clients.destroy();
    throw e;
  }

  const pageConfig = (b: DashboardBody): PageConfig => ({
    target: describeTarget(target),
    widgets: b.widgets.map((w) =>
      w.type === 'text'
        ? {
            ...w,
            html: markdownToHtml(typeof w.properties.markdown === 'string' ? w.properties.markdown : ''),
          }
        : w,
    ),
    defaults: defaults(target, b),
    refreshSeconds: options.refreshSeconds ?? 3,
    idleRefreshSeconds: options.idleRefreshSeconds ?? 30,
  });

  const routes: Record<string, (url: URL, res: ServerResponse) => Promise<void>> = {
    '/': async (_url, res) => {
      body = await dashboard();
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(consolePage(pageConfig(body)));
    },
    '/api/dashboard': async (_url, res) => {
      body = await dashboard();
      json(res, 200, { name: target.dashboardName, body });
    },
    '/api/widgets': async (url, res) => {
      const range = url.searchParams.get('range') ?? defaults(target, body).range;
      const rangeMs = durationMs(range);
      if (rangeMs === undefined)
        throw new BadParameter(
          `range must be an ISO 8601 duration such as PT15M or PT6H, got ${JSON.stringify(range)}`,
        );
      const period = periodFor(url.searchParams.get('period') ?? defaults(target, body).period, rangeMs);
      const end = new Date(target.now());
      const start = new Date(end.getTime() - rangeMs);
      const widgets = await readWidgets(clients, body, start, end, period);
      json(res, 200, { start: start.getTime(), end: end.getTime(), widgets });
    },
    '/api/uploads': async (url, res) => {
      const limit = Number(url.searchParams.get('limit') ?? 20);
      if (!Number.isInteger(limit) || limit < 1 || limit > 200)
        throw new BadParameter(
          `limit must be a whole number from 1 to 200, got ${url.searchParams.get('limit')}`,
        );
      json(res, 200, await listUploads(clients, limit));
    },
    '/api/timeline': async (url, res) => {
      const job = url.searchParams.get('job') ?? undefined;
      if (job !== undefined && !/^[0-9a-f]{1,64}$/.test(job))
        throw new BadParameter(
          `job must be a job id (hexadecimal) or the start of one, got ${JSON.stringify(job)}`,
        );
      const timelines = await readUploadTimelines(clients, target, job || undefined);
      json(res, 200, timelines ?? { upload: null });
    },
  };

  const server = serveEveryRequest(
    async (req: IncomingMessage, res: ServerResponse) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const route = routes[url.pathname];
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET' }).end();
        return;
      }
      if (!route) {
        json(res, 404, { error: `no such page: ${url.pathname} (the console serves / and /api/...)` });
        return;
      }
      try {
        await route(url, res);
      } catch (e) {
        if (e instanceof BadParameter) json(res, 400, { error: e.message });
        else if (e instanceof UnknownUploadError) json(res, 404, { error: e.message });
        else {
          const err = e as Error;
          log(`console: ${url.pathname}: ${err.name}: ${err.message}`);
          json(res, 502, { error: `${err.name}: ${err.message}` });
        }
      }
    },
    (res, err) => json(res, 500, { error: String(err) }),
    log,
  );
  const url = await new Promise<string>((resolve, reject) => {
    server.once('error', reject);
    // Loopback only: the page reads the target with the caller's credentials.
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      const address = server.address();
      if (typeof address === 'object' && address) resolve(`http://127.0.0.1:${address.port}/`);
      else reject(new Error('the console server has no TCP address'));
    });
  }).catch((e: unknown) => {
    clients.destroy();
    throw e;
  });
  return {
    url,
    close: async () => {
      await closeServer(server);
      clients.destroy();
    },
  };
}
