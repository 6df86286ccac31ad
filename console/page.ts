// The console page: one self-contained HTML document (no network: Chart.js from node_modules and the
// page's own script, console/page.js, are inlined), with the dashboard's layout and the settings the
// script needs embedded as JSON. The data comes from the console's JSON endpoints (server.ts).
import { readFileSync } from 'node:fs';
import { CHART_COLORS, chartJsSource } from '../bench/report/html.ts';
import type { Widget } from '../dashboards/comparison.ts';

/** What the page script reads at start (embedded as JSON in the page). */
export interface PageConfig {
  target: { kind: 'local' | 'aws'; description: string; clock: string };
  /** The dashboard's widgets as the body places them; a text widget carries its Markdown as HTML. */
  widgets: (Widget & { html?: string })[];
  defaults: { range: string; period: string };
  refreshSeconds: number;
  idleRefreshSeconds: number;
}

/** The time ranges and periods the page offers (the defaults are added when not among them). */
export const RANGES = ['PT5M', 'PT15M', 'PT1H', 'PT3H', 'PT6H', 'P1D'] as const;
export const PERIODS = ['inherit', 'auto', '10', '60', '300'] as const;

const PERIOD_LABELS: Record<string, string> = {
  inherit: "each widget's own",
  auto: 'auto (about 100 points)',
  '10': '10 s',
  '60': '1 min',
  '300': '5 min',
};

const STYLE = `*{box-sizing:border-box}body{font:13px/1.4 system-ui,sans-serif;margin:0;color:#222;background:#f4f5f7}
header{display:flex;flex-wrap:wrap;gap:6px 16px;align-items:center;padding:8px 16px;background:#232f3e;color:#fff}
header h1{font-size:16px;margin:0 12px 0 0}header label{font-size:12px}header select{font-size:12px;max-width:420px}
#target,#live,#range-shown{font-size:12px;color:#d5dbdb}#error{background:#fde8e8;color:#a00;padding:6px 16px}
main{display:flex;flex-wrap:wrap;gap:12px;padding:12px}
#dashboard{flex:3 1 760px;min-width:0}#executions{flex:2 1 620px;min-width:0}
#grid{display:grid;grid-template-columns:repeat(24,1fr);grid-auto-rows:40px;gap:6px}
.widget{background:#fff;border:1px solid #d5dbdb;border-radius:3px;padding:4px 6px;display:flex;flex-direction:column;min-width:0;overflow:hidden}
.widget h3{font-size:12px;margin:0 0 2px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.widget .canvas{position:relative;flex:1;min-height:0}.widget.text{font-size:12px;overflow:auto}.widget.text h1{font-size:15px;margin:2px 0}
.widget.text p{margin:3px 0}code{background:#f3f3f3;padding:0 3px}
.values{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:6px;overflow:auto}
.value .number{display:block;font-size:20px;color:#1f77b4}.value .label{font-size:11px;color:#555}
#executions>h2{font-size:14px;margin:0 0 6px}.sides{display:grid;grid-template-columns:1fr 1fr;gap:8px}
.side{background:#fff;border:1px solid #d5dbdb;border-radius:3px;padding:6px;min-width:0}
.side h3{margin:0;font-size:13px}.status,.units,.phases{font-size:11px;color:#444}.arn{font-size:10px;color:#888;word-break:break-all}
.timeline{display:block;margin:4px 0}.timeline .lane{font-size:10px;text-anchor:end;fill:#333}
.timeline .tick{font-size:9px;text-anchor:middle;fill:#777}.timeline .grid{stroke:#eee}
.timeline .now{stroke:#d62728;stroke-dasharray:3 2}.timeline .span.running{opacity:.55}
.legend{font-size:11px;color:#555;margin-top:6px}.legend span{display:inline-block;width:10px;height:10px;margin:0 3px 0 8px;vertical-align:middle}`;

const escapeHtml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** JSON inside a <script> element: nothing in it can close the element. */
const scriptJson = (value: unknown): string => JSON.stringify(value).replace(/</g, '\\u003c');

const inlineScript = (source: string): string => source.replace(/<\/script/gi, '<\\/script');

const options = (values: readonly string[], labels: Record<string, string> = {}): string =>
  values.map((v) => `<option value="${escapeHtml(v)}">${escapeHtml(labels[v] ?? v)}</option>`).join('');

const LEGEND: [string, string][] = [
  ['#1f77b4', 'Task / step'],
  ['#b0b0b0', 'Wait'],
  ['#9467bd', 'waitForCondition'],
  ['#ff7f0e', 'waitForCallback'],
  ['#2ca02c', 'Lambda invocation'],
  ['#d62728', 'failed'],
];

/** The page for `config`. */
export function consolePage(config: PageConfig): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Durable functions vs Step Functions: console</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">
<style>${STYLE}</style></head>
<body>
<header><h1>Durable functions vs Step Functions</h1><span id="target"></span>
<label>Upload <select id="upload"><option value="">latest upload</option></select></label>
<label>Range <select id="range">${options(RANGES)}</select></label>
<label>Period <select id="period">${options(PERIODS, PERIOD_LABELS)}</select></label>
<span id="range-shown"></span><span id="live"></span></header>
<div id="error" hidden></div>
<main>
<section id="dashboard" aria-label="comparison dashboard"><div id="grid"></div></section>
<section id="executions" aria-label="the upload's executions"><h2 id="upload-title">Reading the latest upload…</h2>
<div class="sides"><div class="side" id="side-ldf"></div><div class="side" id="side-sf"></div></div>
<div class="legend">${LEGEND.map(([c, l]) => `<span style="background:${c}"></span>${escapeHtml(l)}`).join('')}
<label style="margin-left:12px"><input type="checkbox" id="show-instant"> show Choice and Pass states</label></div>
</section>
</main>
<script type="application/json" id="console-config">${scriptJson({ ...config, colors: CHART_COLORS })}</script>
<script>${inlineScript(chartJsSource())}</script>
<script>${inlineScript(readFileSync(new URL('./page.js', import.meta.url), 'utf8'))}</script>
</body></html>
`;
}
