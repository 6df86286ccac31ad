// The console's JSON endpoints against a real local cloud with the app deployed, read over real HTTP:
// the dashboard is the body the stack deploys for these names, widget series carry the values put into
// CloudWatch (statistics and periods as asked), and an upload's two executions come back as timelines
// with its job items' state. Bad parameters are refused by name; the server listens on loopback only.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudWatchClient, DeleteDashboardsCommand, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localTarget } from '../bench/collect/local-target.ts';
import type { Target } from '../bench/collect/target.ts';
import { comparisonDashboardJson, WIDGET_TITLES } from '../dashboards/comparison.ts';
import { appDefinition, dashboardNames, STATE_MACHINE } from '../infra/app-definition.ts';
import { startLocalCloud, type LocalCloud } from '../local/cloud.ts';
import { deployApp, localAppSettings, type DeployedApp } from '../local/deploy-app.ts';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../shared/observability.ts';
import type { UploadTimelines, WidgetView } from './data.ts';
import { durationMs, periodFor, serveConsole, type RunningConsole } from './server.ts';
import { EXIT } from '../cli/exit.ts';
import { runCli } from '../cli/main.ts';
import { defaultActions } from '../cli/actions.ts';
import { recordingIo } from '../cli/test-io.ts';

let cloud: LocalCloud | undefined;
let app: DeployedApp | undefined;
let target: Target;
let served: RunningConsole | undefined;

beforeAll(async () => {
  cloud = await startLocalCloud({ functionOutput: () => undefined });
  app = await deployApp(cloud, appDefinition(localAppSettings(cloud, { idleWindowSeconds: 60 })));
  target = localTarget(cloud, app);
  served = await serveConsole({ target });
});
afterAll(async () => {
  await served?.close();
  app?.undeploy();
  await cloud?.stop();
});

async function get(path: string): Promise<{ status: number; body: unknown; type: string }> {
  const res = await fetch(new URL(path, served!.url));
  const type = res.headers.get('content-type') ?? '';
  return {
    status: res.status,
    type,
    body: type.startsWith('application/json') ? await res.json() : await res.text(),
  };
}

describe('the console server', () => {
  it('listens on 127.0.0.1 and serves one self-contained page with the dashboard laid out in it', async () => {
    expect(served!.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await get('/');
    expect(page.status).toBe(200);
    expect(page.type).toMatch(/^text\/html/);
    const html = page.body as string;
    // Nothing is fetched from elsewhere: no external script, style or image.
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href="http|<img/);
    expect(html).toContain('Chart.js');
    const config = JSON.parse(
      /<script type="application\/json" id="console-config">(.*?)<\/script>/s.exec(html)![1]!,
    ) as {
      widgets: { type: string; html?: string }[];
      defaults: unknown;
    };
    const deployed = JSON.parse(app!.dashboard.body) as { widgets: unknown[] };
    expect(config.widgets.map(({ html: _html, ...w }) => w)).toEqual(deployed.widgets);
    expect(config.widgets.find((w) => w.type === 'text')?.html).toMatch(
      /^<h1>Durable functions vs Step Functions/,
    );
    expect(config.defaults).toEqual({ range: 'PT5M', period: 'auto' });
  });

  it('/api/dashboard: the very body the stack deploys, for the names deployed here', async () => {
    const { status, body } = await get('/api/dashboard');
    expect(status).toBe(200);
    const names = dashboardNames(appDefinition(localAppSettings(cloud!, { idleWindowSeconds: 60 })), {
      region: cloud!.region,
      stateMachineArn: app!.stateMachines[STATE_MACHINE]!,
      functionName: (name) => name,
    });
    expect(body).toEqual({
      name: 'durable-vs-stepfunctions',
      body: JSON.parse(comparisonDashboardJson(names)) as unknown,
    });
  });

  it('/api/widgets: each widget series as GetMetricData computes it, with the period asked for', async () => {
    const cloudWatch = new CloudWatchClient(target.clientConfig('cloudwatch'));
    // On the cloud's clock, as the widgets' range is: at scale:60 real time falls behind it by a
    // minute every real second, so a real timestamp drops out of a 15-minute range on a slow start.
    const at = new Date(target.now() - 20_000);
    await cloudWatch.send(
      new PutMetricDataCommand({
        Namespace: METRICS_NAMESPACE,
        MetricData: [100, 200, 300, 400].map((v) => ({
          MetricName: 'JobLatency',
          Unit: 'Milliseconds',
          Value: v,
          Timestamp: at,
          Dimensions: [
            { Name: 'service', Value: SERVICE_NAME },
            { Name: 'Orchestrator', Value: 'sf' },
            { Name: 'WaitMode', Value: 'poll' },
          ],
        })),
      }),
    );
    cloudWatch.destroy();
    const read = async (query: string) => {
      const { status, body } = await get(`/api/widgets?${query}`);
      expect(status).toBe(200);
      return body as { start: number; end: number; widgets: WidgetView[] };
    };
    const answer = await read('range=PT15M&period=60');
    expect(answer.end - answer.start).toBe(15 * 60_000);
    const latency = answer.widgets.find((w) => w.title === WIDGET_TITLES.latency('sf'))!;
    expect(latency.period).toBe(60);
    const series = Object.fromEntries(latency.series.map((s) => [s.label, s.values]));
    // Nearest-rank percentiles of the four values, in the one minute that holds them.
    expect(series).toMatchObject({
      'poll p50': [200],
      'poll p90': [400],
      'poll p99': [400],
      'event p50': [],
    });
    const stamp = latency.series.find((s) => s.label === 'poll p50')!.timestamps[0]!;
    expect(stamp).toBe(Math.floor(at.getTime() / 60_000) * 60_000);
    // Each widget's own period (the body says 300 s), and the cost widget over the whole range.
    const inherit = await read('range=PT6H&period=inherit');
    expect(inherit.widgets.find((w) => w.title === WIDGET_TITLES.latency('sf'))!.period).toBe(300);
    expect(inherit.widgets.find((w) => w.view === 'singleValue')!.period).toBe(6 * 3600);
    expect(inherit.widgets).toHaveLength(answer.widgets.length);
  });

  it('refuses a bad range, period, limit or job id by name', async () => {
    for (const [path, message] of [
      ['/api/widgets?range=6h', /range must be an ISO 8601 duration/],
      ['/api/widgets?period=fast', /period must be inherit, auto or whole seconds/],
      ['/api/uploads?limit=0', /limit must be a whole number from 1 to 200/],
      ['/api/timeline?job=../x', /job must be a job id/],
    ] as const) {
      const { status, body } = await get(path);
      expect(status, path).toBe(400);
      expect((body as { error: string }).error).toMatch(message);
    }
    expect((await get('/nothing')).status).toBe(404);
    expect((await fetch(served!.url, { method: 'POST' })).status).toBe(405);
  });

  it('/api/timeline and /api/uploads: nothing before an upload, then both executions of it, ended', async () => {
    expect((await get('/api/timeline')).body).toEqual({ upload: null });
    expect((await get('/api/uploads')).body).toEqual([]);
    // A name both orchestrators reject at admission: two short executions, no endpoint started.
    const s3 = new S3Client(target.clientConfig('s3'));
    await s3.send(
      new PutObjectCommand({
        Bucket: target.bucket,
        Key: 'users/u1/input/_image.png',
        Body: 'not read',
      }),
    );
    s3.destroy();
    const timeline = async (): Promise<UploadTimelines> =>
      (await get('/api/timeline')).body as UploadTimelines;
    await expect
      .poll(
        async () => {
          const t = await timeline();
          return t.upload
            ? [t.running, ...(['sf', 'ldf'] as const).map((o) => t.sides[o].executions[0]?.status)]
            : [];
        },
        { timeout: 30_000, interval: 200 },
      )
      .toEqual([false, 'SUCCEEDED', 'SUCCEEDED']);
    const t = await timeline();
    for (const o of ['sf', 'ldf'] as const) {
      const side = t.sides[o];
      expect(side.job).toMatchObject({
        status: 'REJECTED',
        reason: expect.stringMatching(/name is empty/) as unknown,
      });
      expect(side.executions).toHaveLength(1);
      const e = side.executions[0]!;
      // On the upload's axis: simulated seconds from the first execution's start, nothing before 0.
      expect(e.start).toBeGreaterThanOrEqual(0);
      expect(e.end).toBeGreaterThanOrEqual(e.start!);
      expect(t.now).toBeGreaterThanOrEqual(e.end!);
      for (const lane of e.lanes) for (const span of lane.spans) expect(span.end).toBeLessThanOrEqual(e.end!);
      expect(e.units.length).toBeGreaterThan(0);
    }
    expect(t.sides.sf.executions[0]!.lanes.map((l) => l.name)).toContain('Admit');
    expect(t.sides.ldf.executions[0]!.lanes.map((l) => l.name)).toEqual(
      expect.arrayContaining(['admit', 'notify']),
    );
    expect(t.sides.sf.executions[0]!.units).toContainEqual({
      label: 'state transitions',
      value: expect.any(Number) as unknown,
    });
    // The same upload by its job id (or the start of it); an unknown one is named.
    const byId = (await get(`/api/timeline?job=${t.upload.jobId.slice(0, 8)}`)).body as UploadTimelines;
    expect(byId.upload.jobId).toBe(t.upload.jobId);
    const unknown = await get('/api/timeline?job=ffffffffffff');
    expect(unknown.status).toBe(404);
    expect((unknown.body as { error: string }).error).toBe('no upload with job id ffffffffffff in the table');
    expect((await get('/api/uploads')).body).toEqual([
      {
        jobId: t.upload.jobId,
        userId: t.upload.userId,
        name: t.upload.name,
        firstAdmitted: t.upload.firstAdmitted,
        status: { sf: 'REJECTED', ldf: 'REJECTED' },
      },
    ]);
  });
});

describe('dvs dashboard', () => {
  const endpointsFile = (): string => {
    const file = join(mkdtempSync(join(tmpdir(), 'dvs-dashboard-test-')), 'cloud.json');
    writeFileSync(file, JSON.stringify(cloud!.describe()));
    return file;
  };

  it('serves the console for a running local cloud, prints its address, and stops on Ctrl-C', async () => {
    const io = recordingIo();
    const running = runCli(['dashboard', '--endpoints', endpointsFile(), '--json'], defaultActions, io);
    await expect.poll(() => io.out(), { timeout: 10_000, interval: 50 }).toContain('\n');
    const printed = JSON.parse(io.out()) as { url: string; target: string; dashboard: string };
    expect(printed).toMatchObject({ target: 'local', dashboard: 'durable-vs-stepfunctions' });
    expect(printed.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect((await fetch(printed.url)).status).toBe(200);
    io.controller.abort();
    expect(await running).toBe(EXIT.interrupted);
    await expect(fetch(printed.url)).rejects.toThrow();
  });

  it('names a port in use, and a target without the dashboard', async () => {
    const port = Number(new URL(served!.url).port);
    const busy = recordingIo();
    expect(
      await runCli(
        ['dashboard', '--endpoints', endpointsFile(), '--port', String(port)],
        defaultActions,
        busy,
      ),
    ).toBe(EXIT.usage);
    expect(busy.err()).toContain(`--port ${port} is in use on 127.0.0.1`);
    // Last: the dashboard goes, as on a cloud started without the app.
    const cloudWatch = new CloudWatchClient(target.clientConfig('cloudwatch'));
    await cloudWatch.send(new DeleteDashboardsCommand({ DashboardNames: ['durable-vs-stepfunctions'] }));
    cloudWatch.destroy();
    const missing = recordingIo();
    expect(await runCli(['dashboard', '--endpoints', endpointsFile()], defaultActions, missing)).toBe(
      EXIT.unreachable,
    );
    expect(missing.err()).toContain(
      "dvs dashboard: the target's CloudWatch has no dashboard 'durable-vs-stepfunctions': start the local cloud with the app deployed (`npm run up`)",
    );
  });
});

describe('durations and periods', () => {
  it('reads the ISO 8601 durations dashboards use, and picks periods', () => {
    expect(durationMs('-PT6H')).toBe(6 * 3600_000);
    expect(durationMs('PT15M')).toBe(900_000);
    expect(durationMs('P1DT30S')).toBe(86_430_000);
    for (const bad of ['P', 'PT', '6h', 'PT0S', '']) expect(durationMs(bad), bad).toBeUndefined();
    expect(periodFor('inherit', 900_000)).toBeUndefined();
    expect(periodFor('auto', 300_000)).toBe(10);
    expect(periodFor('auto', 6 * 3600_000)).toBe(300);
    expect(periodFor('60', 900_000)).toBe(60);
    expect(() => periodFor('0', 900_000)).toThrow(/whole seconds from 1 to 86400/);
  });
});
