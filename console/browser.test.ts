// The console page in a real headless Chromium (Debian's `chromium`, driven by puppeteer-core) during
// a local run: the page is opened before the upload (it shows no upload and keeps refreshing), then one
// upload runs through both orchestrators; the page must end with every dashboard widget drawn from
// data, both timelines showing the upload's executions (the ARNs the job items name) to their ends,
// no console error and no request beyond the console itself. The screenshot stays in
// reports/console-browser-test/ (git-ignored) for a person to look at.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { S3Client } from '@aws-sdk/client-s3';
import puppeteer, { type Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localTarget } from '../bench/collect/local-target.ts';
import { executionArns, readJobs } from '../bench/collect/read.ts';
import type { Target } from '../bench/collect/target.ts';
import { uploadPair } from '../bench/scenario/drive.ts';
import { generateSample, samplePngs } from '../container/src/samples.ts';
import { appDefinition } from '../infra/app-definition.ts';
import { startLocalCloud, type LocalCloud } from '../local/cloud.ts';
import { deployApp, localAppSettings, type DeployedApp } from '../local/deploy-app.ts';
import { serveConsole, type RunningConsole } from './server.ts';

const CHROMIUM = '/usr/bin/chromium';
const dir = fileURLToPath(new URL('../reports/console-browser-test/', import.meta.url));
let browser: Browser | undefined;
let cloud: LocalCloud | undefined;
let app: DeployedApp | undefined;
let target: Target;
let served: RunningConsole | undefined;

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `the console's browser test needs Chromium at ${CHROMIUM}: install it with sudo apt-get install -y chromium`,
    );
  mkdirSync(dir, { recursive: true });
  [browser, cloud] = await Promise.all([
    puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      // Root in a container has no user namespace sandbox; the page is our own, on loopback.
      args: ['--no-sandbox', '--disable-gpu'],
    }),
    startLocalCloud({ functionOutput: () => undefined }),
  ]);
  // A one-minute idle window (1 s at 60x) keeps the run short; the stop after it is still drawn.
  app = await deployApp(cloud, appDefinition(localAppSettings(cloud, { idleWindowSeconds: 60 })));
  target = localTarget(cloud, app);
  served = await serveConsole({ target, refreshSeconds: 1 });
});

afterAll(async () => {
  await browser?.close();
  await served?.close();
  app?.undeploy();
  await cloud?.stop();
});

interface Drawn {
  index: string;
  view: string;
  title: string;
  points: number;
  painted: number;
  pixels: number;
  values: number;
}

describe('the console page in Chromium, during a local run', () => {
  it('draws every widget from data and both executions of the upload, live, with no console error', async () => {
    const page = await browser!.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warn') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${String(e)}`));
    const elsewhere: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(served!.url)) elsewhere.push(r.url());
    });
    await page.setViewport({ width: 1800, height: 1150 });
    await page.goto(served!.url, { waitUntil: 'load' });
    // Before any upload: the page says so and keeps refreshing.
    await page.waitForFunction(
      `document.getElementById('upload-title').textContent.startsWith('No upload yet')`,
      {
        timeout: 10_000,
      },
    );

    const s3 = new S3Client(target.clientConfig('s3'));
    await uploadPair(target, s3, 'u1', 'chair', samplePngs(generateSample('disc', 64)), 30);
    s3.destroy();

    // Both executions drawn to their ends, and every metric widget with points.
    await page.waitForFunction(
      `(() => {
        const ended = (o) => {
          const svgs = [...document.querySelectorAll('#side-' + o + ' svg.timeline')];
          return svgs.length > 0 && svgs.every((s) => s.dataset.status !== 'RUNNING');
        };
        const widgets = [...document.querySelectorAll('.widget[data-kind="metric"]')];
        return ended('ldf') && ended('sf') && widgets.every((w) => Number(w.dataset.points) > 0);
      })()`,
      { timeout: 45_000, polling: 250 },
    );
    await page.screenshot({ path: join(dir, 'console.png'), fullPage: true });

    // Every metric widget of the deployed body drew its points: charts painted, numbers shown.
    const drawn =
      (await page.evaluate(`[...document.querySelectorAll('.widget[data-kind="metric"]')].map((w) => {
      const canvas = w.querySelector('canvas');
      let painted = 0;
      if (canvas) {
        const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
        for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
      }
      return {
        index: w.dataset.index,
        view: w.dataset.view,
        title: w.querySelector('h3').textContent,
        points: Number(w.dataset.points),
        painted,
        pixels: canvas ? canvas.width * canvas.height : 0,
        values: w.querySelectorAll('.value .number').length,
      };
    })`)) as Drawn[];
    const body = JSON.parse(app!.dashboard.body) as {
      widgets: { type: string; properties: { title?: string } }[];
    };
    expect(drawn.map((d) => d.title)).toEqual(
      body.widgets.filter((w) => w.type === 'metric').map((w) => w.properties.title),
    );
    expect(drawn.length).toBeGreaterThan(8);
    for (const d of drawn) {
      expect(d.points, d.title).toBeGreaterThan(0);
      if (d.view === 'singleValue') expect(d.values, d.title).toBeGreaterThan(0);
      else expect(d.painted, d.title).toBeGreaterThan(d.pixels * 0.02);
    }

    // Both timelines show the upload's own executions, the ones its job items name, each ended.
    const shown = (await page.evaluate(`Object.fromEntries(['sf', 'ldf'].map((o) => [o,
      [...document.querySelectorAll('#side-' + o + ' svg.timeline')].map((s) => ({
        arn: s.dataset.arn, status: s.dataset.status, spans: Number(s.dataset.spans),
        lanes: [...s.querySelectorAll('g[data-lane]')].map((g) => g.dataset.lane),
      }))]))`)) as Record<'sf' | 'ldf', { arn: string; status: string; spans: number; lanes: string[] }[]>;
    for (const o of ['sf', 'ldf'] as const) {
      const jobs = await readJobs(target, o, 'u1');
      expect(jobs.map((j) => j.status)).toEqual(['COMPLETED']);
      expect(shown[o].map((e) => e.arn)).toEqual(executionArns(jobs));
      expect(shown[o].map((e) => e.status)).toEqual(['SUCCEEDED']);
    }
    // The flow's own steps, by the names each orchestrator gives them.
    expect(shown.sf[0]!.lanes).toEqual(expect.arrayContaining(['Admit', 'Invoke', 'IdleWait', 'FinishStop']));
    expect(shown.ldf[0]!.lanes).toEqual(
      expect.arrayContaining([
        'admit',
        'invoke-endpoint',
        'idle-window',
        'finish-stop',
        'Lambda invocations',
      ]),
    );
    // It refreshed on its own: from "no upload yet" to both executions' ends.
    expect(Number(await page.evaluate(`document.body.dataset.refreshes`))).toBeGreaterThan(1);
    expect(problems).toEqual([]);
    expect(elsewhere).toEqual([]);
  }, 60_000);
});
