// report.html in a real headless Chromium (Debian's `chromium`, driven by puppeteer-core): the page
// loads with no network and no console error, and every chart drew. The report and its screenshot
// stay in reports/browser-test/ (git-ignored) for a person to look at.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import puppeteer, { type Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleResults } from './example-results.ts';
import { renderReport } from './render.ts';

const CHROMIUM = '/usr/bin/chromium';
// reports/ is git-ignored; each run replaces this report and its screenshot.
const dir = fileURLToPath(new URL('../../reports/browser-test/', import.meta.url));
let browser: Browser | undefined;

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `the browser test needs Chromium at ${CHROMIUM}: install it with apt-get install -y chromium`,
    );
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Root in a container has no user namespace sandbox; the page is our own file.
    args: ['--no-sandbox', '--disable-gpu'],
  });
});
afterAll(async () => {
  await browser?.close();
});

describe('report.html in Chromium', () => {
  it('loads offline with no console error, and every chart has drawn pixels', async () => {
    const out = renderReport(exampleResults(), dir);
    const page = await browser!.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warn') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${String(e)}`));
    // Nothing may leave the file: any request other than the page itself is a failure.
    const requests: string[] = [];
    await page.setRequestInterception(true);
    page.on('request', (r) => {
      if (r.url() !== pathToFileURL(out.html).href) requests.push(r.url());
      void (r.url().startsWith('file:') ? r.continue() : r.abort());
    });
    await page.setViewport({ width: 1280, height: 900 });
    await page.goto(pathToFileURL(out.html).href, { waitUntil: 'load' });
    // A string, evaluated in the page: the project type-checks without the DOM library.
    const charts = (await page.evaluate(`[...document.querySelectorAll('canvas')].map((canvas) => {
      const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
      let painted = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
      return { id: canvas.id, painted, pixels: canvas.width * canvas.height };
    })`)) as { id: string; painted: number; pixels: number }[];
    await page.screenshot({ path: join(dir, 'report.png'), fullPage: true });
    expect(problems).toEqual([]);
    expect(requests).toEqual([]);
    expect(charts.map((c) => c.id)).toEqual([
      'chart-latency',
      'chart-phases',
      'chart-minimum',
      'chart-cost',
      'chart-cost-no-gpu',
      'chart-tradeoff',
    ]);
    // Axes, labels and bars: a drawn chart paints well over 2% of its canvas; a blank one paints nothing.
    for (const c of charts) expect(c.painted, c.id).toBeGreaterThan(c.pixels * 0.02);
    expect(await page.evaluate(`[...document.querySelectorAll('h2')].map((h) => h.textContent)`)).toContain(
      'Decision',
    );
  });
});
