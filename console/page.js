// The console page's own script (plain browser JavaScript, inlined by page.ts after Chart.js): draws
// the dashboard's widgets from /api/widgets with Chart.js, and the upload's two executions from
// /api/timeline as SVG timelines drawn here; refreshes every few seconds while an execution runs.
// It reports what it drew on each element (data-points, data-arn, ...) so that a test can read it.
/* global Chart */
(function () {
  'use strict';
  const config = JSON.parse(document.getElementById('console-config').textContent);
  const params = new URLSearchParams(location.search);
  const state = {
    job: params.get('job') || '',
    range: params.get('range') || config.defaults.range,
    period: params.get('period') || config.defaults.period,
    showInstant: params.get('instant') === '1',
    charts: new Map(),
    timer: undefined,
    refreshes: 0,
  };
  // The report's palette (bench/report/html.ts CHART_COLORS), handed over in the page's config.
  const COLORS = config.colors;
  const KIND_COLORS = {
    Task: '#1f77b4',
    Step: '#1f77b4',
    Wait: '#b0b0b0',
    WaitForCondition: '#9467bd',
    WaitForCallback: '#ff7f0e',
    Callback: '#ffbb78',
    Context: '#c5b0d5',
    ChainedInvoke: '#17becf',
    Invocation: '#2ca02c',
    Choice: '#8c564b',
    Pass: '#8c564b',
    Succeed: '#2ca02c',
    Fail: '#d62728',
    Map: '#17becf',
    Parallel: '#17becf',
  };
  const INSTANT = new Set(['Choice', 'Pass', 'Succeed', 'Fail']);
  const $ = (id) => document.getElementById(id);
  const el = (tag, attrs, ...children) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else e.setAttribute(k, v);
    }
    for (const c of children) e.append(c);
    return e;
  };
  const SVG = 'http://www.w3.org/2000/svg';
  const svg = (tag, attrs) => {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    return e;
  };
  const clock = (ms) => new Date(ms).toISOString().slice(11, 19);
  const num = (v) => {
    if (v === undefined || v === null || Number.isNaN(v)) return '–';
    const a = Math.abs(v);
    if (a !== 0 && a < 0.01) return v.toPrecision(3);
    if (a >= 1e6) return v.toExponential(3);
    return String(Math.round(v * 1000) / 1000);
  };

  function showError(message) {
    const box = $('error');
    box.hidden = message === undefined;
    box.textContent = message || '';
  }

  async function getJson(path) {
    const res = await fetch(path, { cache: 'no-store' });
    const body = await res.json();
    if (!res.ok) throw new Error(body.error || `${path}: HTTP ${res.status}`);
    return body;
  }

  // ---- the dashboard --------------------------------------------------------------------------

  function buildGrid() {
    const grid = $('grid');
    config.widgets.forEach((w, index) => {
      const style = `grid-column:${w.x + 1} / span ${w.width};grid-row:${w.y + 1} / span ${w.height}`;
      if (w.type === 'text') {
        const box = el('div', { class: 'widget text', style, 'data-index': index, 'data-kind': 'text' });
        box.innerHTML = w.html;
        grid.append(box);
        return;
      }
      const view = w.properties.view || 'timeSeries';
      const box = el(
        'div',
        { class: 'widget metric', style, 'data-index': index, 'data-kind': 'metric', 'data-view': view },
        el('h3', { text: w.properties.title || '', title: w.properties.title || '' }),
      );
      box.dataset.points = '0';
      box.append(
        view === 'singleValue'
          ? el('div', { class: 'values' })
          : el('div', { class: 'canvas' }, el('canvas')),
      );
      grid.append(box);
    });
  }

  function drawWidget(widget, start, end) {
    const box = document.querySelector(`.widget[data-index="${widget.index}"]`);
    if (!box) return;
    const points = widget.series.reduce((n, s) => n + s.values.length, 0);
    box.dataset.points = String(points);
    box.dataset.series = String(widget.series.length);
    box.dataset.seriesWithData = String(widget.series.filter((s) => s.values.length > 0).length);
    box.dataset.period = String(widget.period);
    if (widget.view === 'singleValue') {
      const values = box.querySelector('.values');
      values.replaceChildren(
        ...widget.series.map((s) =>
          el(
            'div',
            { class: 'value' },
            el('span', { class: 'number', text: num(s.values[s.values.length - 1]) }),
            el('span', { class: 'label', text: s.label }),
          ),
        ),
      );
      return;
    }
    const canvas = box.querySelector('canvas');
    let chart = state.charts.get(widget.index);
    const right = widget.series.some((s) => s.yAxis === 'right');
    if (widget.view === 'bar') {
      // As CloudWatch's bar view: each series' latest value.
      const data = {
        labels: widget.series.map((s) => s.label),
        datasets: [
          {
            label: 'latest',
            data: widget.series.map((s) => (s.values.length ? s.values[s.values.length - 1] : null)),
            backgroundColor: widget.series.map((_, i) => COLORS[i % COLORS.length]),
          },
        ],
      };
      if (!chart) {
        chart = new Chart(canvas, {
          type: 'bar',
          data,
          options: {
            indexAxis: 'y',
            animation: false,
            responsive: true,
            maintainAspectRatio: false,
            plugins: { legend: { display: false } },
            scales: {
              x: { beginAtZero: true, ticks: { font: { size: 10 } } },
              y: { ticks: { font: { size: 10 } } },
            },
          },
        });
        state.charts.set(widget.index, chart);
      } else {
        chart.data = data;
        chart.update('none');
      }
      return;
    }
    const datasets = widget.series.map((s, i) => ({
      label: s.label,
      data: s.timestamps.map((t, j) => ({ x: t, y: s.values[j] })),
      borderColor: COLORS[i % COLORS.length],
      backgroundColor: COLORS[i % COLORS.length],
      pointRadius: 3,
      borderWidth: 1.5,
      yAxisID: s.yAxis === 'right' ? 'y1' : 'y',
    }));
    const scales = {
      x: {
        type: 'linear',
        min: start,
        max: end,
        ticks: { maxTicksLimit: 6, font: { size: 10 }, callback: (v) => clock(v) },
      },
      y: { beginAtZero: true, ticks: { font: { size: 10 } } },
      ...(right
        ? {
            y1: {
              position: 'right',
              beginAtZero: true,
              grid: { drawOnChartArea: false },
              ticks: { font: { size: 10 } },
            },
          }
        : {}),
    };
    if (!chart) {
      chart = new Chart(canvas, {
        type: 'line',
        data: { datasets },
        options: {
          animation: false,
          responsive: true,
          maintainAspectRatio: false,
          parsing: true,
          scales,
          plugins: { legend: { position: 'bottom', labels: { boxWidth: 8, font: { size: 10 } } } },
        },
      });
      state.charts.set(widget.index, chart);
    } else {
      chart.data.datasets = datasets;
      chart.options.scales = scales;
      chart.update('none');
    }
  }

  async function refreshWidgets() {
    const q = new URLSearchParams({ range: state.range, period: state.period });
    const answer = await getJson(`/api/widgets?${q}`);
    $('range-shown').textContent = `${clock(answer.start)}–${clock(answer.end)} UTC`;
    for (const w of answer.widgets) drawWidget(w, answer.start, answer.end);
  }

  // ---- the executions ------------------------------------------------------------------------

  const SIDES = [
    ['ldf', 'Durable function'],
    ['sf', 'Step Functions'],
  ];

  function drawExecution(execution, scale, now) {
    const lanes = execution.lanes.filter((l) => state.showInstant || !INSTANT.has(l.kind));
    const labelWidth = 150;
    const laneHeight = 15;
    const top = 18;
    const width = scale.width;
    const plot = width - labelWidth - 8;
    const x = (s) => labelWidth + (Math.max(0, s) / scale.max) * plot;
    const height = top + lanes.length * laneHeight + 4;
    const root = svg('svg', { width, height, viewBox: `0 0 ${width} ${height}`, class: 'timeline' });
    root.dataset.arn = execution.arn;
    root.dataset.status = execution.status;
    root.dataset.lanes = String(lanes.length);
    // The axis: seconds after the upload's first execution started.
    const step = niceStep(scale.max / 6);
    for (let t = 0; t <= scale.max + 1e-9; t += step) {
      root.append(svg('line', { x1: x(t), x2: x(t), y1: top - 4, y2: height, class: 'grid' }));
      const label = svg('text', { x: x(t), y: 10, class: 'tick' });
      label.textContent = `${num(t)} s`;
      root.append(label);
    }
    let spans = 0;
    lanes.forEach((lane, i) => {
      const y = top + i * laneHeight;
      const name = svg('text', { x: labelWidth - 6, y: y + 11, class: 'lane' });
      name.textContent = lane.name;
      root.append(name);
      const row = svg('g', { 'data-lane': lane.name, 'data-kind': lane.kind });
      for (const span of lane.spans) {
        const end = span.end === undefined ? now : span.end;
        const rect = svg('rect', {
          x: x(span.start),
          y: y + 2,
          width: Math.max(2, x(end) - x(span.start)),
          height: laneHeight - 4,
          fill: span.outcome === 'failed' ? '#d62728' : KIND_COLORS[lane.kind] || '#1f77b4',
          class: `span ${span.outcome}`,
        });
        const title = svg('title');
        title.textContent =
          `${lane.name} (${lane.kind}) ${num(span.start)}–${span.end === undefined ? 'running' : `${num(span.end)} s`}` +
          (span.attempts > 1 ? `, ${span.attempts} attempts` : '') +
          (span.error ? `, ${span.error}` : '');
        rect.append(title);
        row.append(rect);
        spans++;
      }
      root.append(row);
    });
    root.dataset.spans = String(spans);
    if (execution.status === 'RUNNING')
      root.append(svg('line', { x1: x(now), x2: x(now), y1: top - 4, y2: height, class: 'now' }));
    return root;
  }

  function niceStep(raw) {
    const p = Math.pow(10, Math.floor(Math.log10(Math.max(raw, 1e-3))));
    for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
    return 10 * p;
  }

  function drawTimelines(answer) {
    const title = $('upload-title');
    if (!answer.upload) {
      title.textContent =
        'No upload yet: upload an image and its mask (dvs upload, or any S3 client) to see both executions.';
      for (const [o] of SIDES) $(`side-${o}`).replaceChildren();
      return;
    }
    const u = answer.upload;
    title.textContent = `${u.name} of ${u.userId} (job ${u.jobId.slice(0, 12)}…), from ${answer.origin.slice(11, 19)} UTC, ${config.target.clock}`;
    title.dataset.job = u.jobId;
    let max = answer.running ? answer.now : 0;
    for (const [o] of SIDES)
      for (const e of answer.sides[o].executions)
        for (const l of e.lanes) for (const s of l.spans) max = Math.max(max, s.end ?? answer.now);
    const width = Math.max(320, $('side-ldf').clientWidth || 480);
    const scale = { max: Math.max(1, max * 1.02), width };
    for (const [o, label] of SIDES) {
      const side = answer.sides[o];
      const box = $(`side-${o}`);
      const executions = side.executions.length;
      box.dataset.executions = String(executions);
      const head = el(
        'div',
        { class: 'side-head' },
        el('h3', { text: label }),
        el('div', {
          class: 'status',
          text: `job ${side.job ? side.job.status : 'not admitted yet'}${side.job && side.job.reason ? ` (${side.job.reason})` : ''}`,
        }),
      );
      const phases = el('div', {
        class: 'phases',
        text: side.phases.length ? side.phases.map((p) => `${p.label} ${num(p.at)} s`).join(' · ') : '',
      });
      const parts = side.executions.map((e) =>
        el(
          'div',
          { class: 'execution' },
          el('div', {
            class: 'units',
            text: `${e.status}${e.end !== undefined ? ` in ${num(e.end - (e.start || 0))} s` : ''}; ${e.units.map((u) => `${u.value} ${u.label}`).join(', ')}`,
          }),
          drawExecution(e, scale, answer.now),
          el('div', { class: 'arn', text: e.arn }),
        ),
      );
      box.replaceChildren(
        head,
        phases,
        ...(parts.length ? parts : [el('div', { class: 'none', text: 'no execution yet' })]),
      );
    }
  }

  async function refreshUploads() {
    const uploads = await getJson('/api/uploads');
    const select = $('upload');
    const options = [el('option', { value: '', text: 'latest upload' })];
    for (const u of uploads) {
      const sides = SIDES.map(([o]) => `${o} ${u.status[o] || '–'}`).join(', ');
      options.push(
        el('option', {
          value: u.jobId,
          text: `${u.firstAdmitted.slice(11, 19)} ${u.name} (${u.userId}): ${sides}`,
        }),
      );
    }
    select.replaceChildren(...options);
    if (state.job && !uploads.some((u) => u.jobId === state.job))
      select.append(el('option', { value: state.job, text: `job ${state.job}` }));
    select.value = state.job;
  }

  async function refreshTimelines() {
    const answer = await getJson(`/api/timeline${state.job ? `?job=${encodeURIComponent(state.job)}` : ''}`);
    drawTimelines(answer);
    return answer.running === true || !answer.upload;
  }

  // ---- the loop ------------------------------------------------------------------------------

  async function refresh() {
    clearTimeout(state.timer);
    let live = true;
    try {
      const [, running] = await Promise.all([refreshWidgets(), refreshTimelines(), refreshUploads()]);
      live = running;
      showError(undefined);
    } catch (err) {
      showError(`could not read the target: ${err.message}`);
    }
    state.refreshes++;
    document.body.dataset.refreshes = String(state.refreshes);
    document.body.dataset.live = String(live);
    $('live').textContent = live
      ? `live: refreshing every ${config.refreshSeconds} s`
      : `no execution running: refreshing every ${config.idleRefreshSeconds} s`;
    state.timer = setTimeout(refresh, (live ? config.refreshSeconds : config.idleRefreshSeconds) * 1000);
  }

  function keepInUrl() {
    const q = new URLSearchParams();
    if (state.job) q.set('job', state.job);
    if (state.range !== config.defaults.range) q.set('range', state.range);
    if (state.period !== config.defaults.period) q.set('period', state.period);
    if (state.showInstant) q.set('instant', '1');
    history.replaceState(null, '', `${location.pathname}${q.size ? `?${q}` : ''}`);
  }

  function setUp() {
    $('target').textContent = config.target.description;
    for (const [id, key] of [
      ['range', 'range'],
      ['period', 'period'],
    ]) {
      const select = $(id);
      if (![...select.options].some((o) => o.value === state[key]))
        select.append(el('option', { value: state[key], text: state[key] }));
      select.value = state[key];
      select.addEventListener('change', () => {
        state[key] = select.value;
        keepInUrl();
        void refresh();
      });
    }
    $('upload').addEventListener('change', () => {
      state.job = $('upload').value;
      keepInUrl();
      void refresh();
    });
    const instant = $('show-instant');
    instant.checked = state.showInstant;
    instant.addEventListener('change', () => {
      state.showInstant = instant.checked;
      keepInUrl();
      void refresh();
    });
    buildGrid();
    void refresh();
  }

  setUp();
})();
