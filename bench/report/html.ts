// report.html: one self-contained page (no network): the charts, drawn by Chart.js inlined from
// node_modules, then the same sections as report.md, converted from its Markdown.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { COMPONENTS } from '../cost/cost.ts';
import type { ReportModel } from './model.ts';
import { PHASES } from './results.ts';

/** Chart.js 4's UMD build, read from node_modules (a dependency), to inline into the page. */
export function chartJsSource(): string {
  const require = createRequire(import.meta.url);
  // The package exports no subpath for it: it sits beside the main entry (dist/chart.cjs).
  return readFileSync(join(dirname(require.resolve('chart.js')), 'chart.umd.min.js'), 'utf8');
}

type Dataset = { label: string; data: unknown[]; [option: string]: unknown };
interface ChartSpec {
  id: string;
  title: string;
  caption: string;
  type: 'bar' | 'scatter';
  labels?: string[];
  datasets: Dataset[];
  options?: Record<string, unknown>;
}

/** The series colours of every chart the project draws (the report's and the console's). */
export const CHART_COLORS = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
];
const colored = (datasets: Dataset[]): Dataset[] =>
  datasets.map((d, i) => ({
    backgroundColor: CHART_COLORS[i % CHART_COLORS.length],
    borderColor: CHART_COLORS[i % CHART_COLORS.length],
    ...d,
  }));
const axis = (x: string, y: string, extra: Record<string, unknown> = {}) => ({
  scales: {
    x: { title: { display: true, text: x }, ...extra },
    y: { title: { display: true, text: y }, beginAtZero: true },
  },
});
const stacked = { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } };

/** The charts' data, from the model. */
export function chartSpecs(m: ReportModel): ChartSpec[] {
  const labels = m.groups.map((g) => `${g.label} [${g.clocks.join(',')}]`);
  const phaseSegments = PHASES.filter((p) => p !== 'stopped').map((phase, i, all) => ({
    label: phase,
    data: m.groups.map((g) => {
      const at = g.phases[phase];
      const before = i === 0 ? 0 : g.phases[all[i - 1]!];
      return at === undefined || before === undefined ? 0 : Math.max(0, at - before);
    }),
  }));
  const byLabel = new Map<string, typeof m.tradeoff>();
  for (const p of m.tradeoff) byLabel.set(p.label, [...(byLabel.get(p.label) ?? []), p]);
  return [
    {
      id: 'latency',
      title: 'Latency, upload to result',
      caption:
        'p50, p90 and max seconds per orchestrator, wait mode and job shape; the clock that produced them in brackets.',
      type: 'bar',
      labels,
      datasets: colored(
        (['p50', 'p90', 'max'] as const).map((k) => ({
          label: k,
          data: m.groups.map((g) => g.latency?.[k] ?? 0),
        })),
      ),
      options: axis('', 'seconds'),
    },
    {
      id: 'phases',
      title: 'Phase breakdown',
      caption: 'Median seconds spent reaching each phase from the one before (completed jobs).',
      type: 'bar',
      labels,
      datasets: colored(phaseSegments),
      options: { indexAxis: 'y', ...stacked },
    },
    {
      id: 'minimum',
      title: 'Units against the analytic minimum',
      caption:
        'Per job: state transitions (Step Functions) or durable operations as billed (durable), and Lambda requests.',
      type: 'bar',
      labels,
      datasets: colored([
        { label: 'measured transitions / operations', data: m.groups.map((g) => g.billedMean) },
        { label: 'minimum transitions / operations', data: m.groups.map((g) => g.billedMinimum) },
        { label: 'measured Lambda requests', data: m.groups.map((g) => g.lambdaMean) },
        { label: 'minimum Lambda requests', data: m.groups.map((g) => g.lambdaMinimum) },
      ]),
      options: axis('', 'units per job'),
    },
    {
      id: 'cost',
      title: 'Cost per 1,000 jobs by component',
      caption: 'USD per 1,000 jobs of the measured mix; GPU time dominates.',
      type: 'bar',
      labels: m.modes.map((s) => s.label),
      datasets: colored(
        COMPONENTS.map((c) => ({ label: c, data: m.modes.map((s) => s.cost.byComponent[c] * 1000) })),
      ),
      options: stacked,
    },
    {
      id: 'cost-no-gpu',
      title: 'Cost per 1,000 jobs without the GPU',
      caption: 'The same, GPU left out, so the orchestrators’ own difference shows.',
      type: 'bar',
      labels: m.modes.map((s) => s.label),
      datasets: colored(
        COMPONENTS.filter((c) => c !== 'gpu').map((c) => ({
          label: c,
          data: m.modes.map((s) => s.cost.byComponent[c] * 1000),
        })),
      ),
      options: stacked,
    },
    {
      id: 'tradeoff',
      title: 'Idle window: cost against latency',
      caption:
        'Each run of the idle-window sweep per orchestrator and wait mode (ringed: the Pareto set), and the model’s curve (GPU only).',
      type: 'scatter',
      datasets: colored([
        ...[...byLabel].map(([label, points]) => ({
          label,
          data: points.map((p) => ({ x: p.costPerThousand, y: p.latencySeconds, w: p.idleWindowSeconds })),
          pointRadius: points.map((p) => (p.pareto ? 8 : 4)),
          pointBorderWidth: points.map((p) => (p.pareto ? 3 : 1)),
          pointBorderColor: points.map((p) => (p.pareto ? '#000' : 'rgba(0,0,0,0.3)')),
        })),
        {
          label: 'model (GPU only)',
          data: m.curve.map((c) => ({ x: c.gpuPerThousand, y: c.latencySeconds, w: c.idleWindowSeconds })),
          showLine: true,
          pointRadius: 2,
        },
      ]),
      options: axis('USD per 1,000 jobs', 'mean latency, seconds', { beginAtZero: false }),
    },
  ];
}

const escapeHtml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const inline = (s: string): string =>
  escapeHtml(s)
    .replace(/`([^`]+)`/g, '<code>$1</code>')
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>');

/** The subset of Markdown report.md uses: headings, tables, lists, quotes, paragraphs. */
export function markdownToHtml(md: string): string {
  const out: string[] = [];
  const lines = md.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const heading = /^(#{1,3}) (.*)$/.exec(line);
    if (heading) out.push(`<h${heading[1]!.length}>${inline(heading[2]!)}</h${heading[1]!.length}>`);
    else if (line.startsWith('| ')) {
      const rows: string[][] = [];
      for (; i < lines.length && lines[i]!.startsWith('| '); i++)
        rows.push(
          lines[i]!.slice(2, -2)
            .split(/(?<!\\) \| /)
            .map((c) => c.replace(/\\\|/g, '|')),
        );
      i--;
      const [head, , ...body] = rows;
      out.push(
        `<table><thead><tr>${head!.map((c) => `<th>${inline(c)}</th>`).join('')}</tr></thead><tbody>` +
          body.map((r) => `<tr>${r.map((c) => `<td>${inline(c)}</td>`).join('')}</tr>`).join('') +
          '</tbody></table>',
      );
    } else if (/^\s*(- |\d+\. )/.test(line)) {
      const items: string[] = [];
      for (; i < lines.length && /^\s*(- |\d+\. )/.test(lines[i]!); i++) {
        const nested = lines[i]!.startsWith('  ');
        items.push(
          `<li${nested ? ' class="nested"' : ''}>${inline(lines[i]!.replace(/^\s*(- |\d+\. )/, ''))}</li>`,
        );
      }
      i--;
      out.push(`<ul>${items.join('')}</ul>`);
    } else if (line.startsWith('> ')) out.push(`<blockquote>${inline(line.slice(2))}</blockquote>`);
    else if (line.trim() !== '') out.push(`<p>${inline(line)}</p>`);
  }
  return out.join('\n');
}

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#222;background:#fff}
main{max-width:1200px;margin:0 auto;padding:16px 24px}
table{border-collapse:collapse;margin:8px 0;font-size:12px}th,td{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f3f3f3}code{background:#f3f3f3;padding:0 3px}blockquote{border-left:4px solid #d62728;margin:8px 0;padding:4px 12px;background:#fff4f4}
.charts{display:grid;grid-template-columns:repeat(2,1fr);gap:16px}figure{margin:0;border:1px solid #ddd;padding:8px}
figcaption{font-size:12px;color:#555}li.nested{margin-left:24px;list-style:circle}`;

/** The page's own script: draws every chart from the embedded data, without animation. */
const DRAW = `const specs = JSON.parse(document.getElementById('chart-data').textContent);
for (const s of specs) {
  const canvas = document.getElementById('chart-' + s.id);
  new Chart(canvas, { type: s.type, data: { labels: s.labels, datasets: s.datasets },
    options: Object.assign({ animation: false, responsive: false, plugins: { title: { display: true, text: s.title },
      tooltip: { callbacks: s.type === 'scatter' ? { label: (c) => c.dataset.label + ': window ' + c.raw.w + ' s' } : {} } } }, s.options) });
}`;

/** The whole page, self-contained. */
export function reportHtml(m: ReportModel, markdown: string): string {
  const specs = chartSpecs(m);
  // The title and the summary line first, then the charts, then the sections.
  const cut = Math.max(0, markdown.indexOf('\n## '));
  const [head, rest] = [markdown.slice(0, cut), markdown.slice(cut)];
  // JSON and scripts inside <script>: no "</script" may appear, so "<" is escaped in the data.
  const data = JSON.stringify(specs).replace(/</g, '\\u003c');
  const figures = specs
    .map(
      (s) =>
        `<figure><canvas id="chart-${s.id}" width="560" height="340" aria-label="${escapeHtml(s.title)}"></canvas>` +
        `<figcaption>${escapeHtml(s.caption)}</figcaption></figure>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Durable functions vs Step Functions: comparison report</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<style>${STYLE}</style></head>
<body><main>
${markdownToHtml(head)}
<h2>Charts</h2>
<div class="charts">
${figures}
</div>
${markdownToHtml(rest)}
</main>
<script>${chartJsSource().replace(/<\/script/gi, '<\\/script')}</script>
<script type="application/json" id="chart-data">${data}</script>
<script>${DRAW}</script>
</body></html>
`;
}
