import type { ColumnReport, DatasetComparison } from './dataset-profile.js';
import type { MonitorResult } from './service.js';

const escapeHtml = (text: unknown): string =>
  String(text).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );

const fmt = (value: number | undefined): string => {
  if (value === undefined || Number.isNaN(value)) return '–';
  if (Number.isInteger(value)) return value.toLocaleString('en-US');
  const abs = Math.abs(value);
  return abs !== 0 && (abs < 0.001 || abs >= 1e6) ? value.toExponential(3) : value.toFixed(4);
};

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#1d2330;padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #dde}
table{border-collapse:collapse;margin:.5rem 0}td,th{padding:.25rem .6rem;border-bottom:1px solid #eef;text-align:left}
th{background:#f5f6fa}.bad{color:#b3261e;font-weight:600}.ok{color:#1e7b34;font-weight:600}
.verdict{padding:.8rem 1rem;border-radius:6px;margin:1rem 0;font-size:1.05rem}
.verdict.bad{background:#fdecea}.verdict.ok{background:#e8f5ec}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:1rem}
.card{border:1px solid #e3e5ee;border-radius:6px;padding:.6rem .8rem}.card h3{margin:.1rem 0 .4rem;font-size:1rem}
.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 10px}.muted{color:#667}`;

/** Reference vs current bars over the same bins/categories, as proportions, in inline SVG. */
function histogramSvg(column: ColumnReport): string {
  const ref = column.reference.histogram;
  const cur = column.current.histogram;
  if (ref.length === 0) return '<p class="muted">no histogram</p>';
  const refTotal = ref.reduce((n, h) => n + h.count, 0) || 1;
  const curTotal = cur.reduce((n, h) => n + h.count, 0) || 1;
  const bars = ref.map((h, i) => ({
    label: h.label,
    ref: h.count / refTotal,
    cur: (cur[i]?.count ?? 0) / curTotal,
  }));
  const max = Math.max(...bars.flatMap((b) => [b.ref, b.cur]), 1e-9);
  const width = 320;
  const height = 120;
  const slot = width / bars.length;
  const bar = Math.max(1, slot / 2 - 1);
  const rects = bars
    .map((b, i) => {
      const x = i * slot;
      const hr = (b.ref / max) * height;
      const hc = (b.cur / max) * height;
      return `<g><title>${escapeHtml(b.label)}: reference ${(b.ref * 100).toFixed(1)}%, current ${(b.cur * 100).toFixed(1)}%</title><rect x="${x.toFixed(1)}" y="${(height - hr).toFixed(1)}" width="${bar.toFixed(1)}" height="${hr.toFixed(1)}" fill="#8aa4d6"/><rect x="${(x + bar + 1).toFixed(1)}" y="${(height - hc).toFixed(1)}" width="${bar.toFixed(1)}" height="${hc.toFixed(1)}" fill="#e07b39"/></g>`;
    })
    .join('');
  return `<svg width="${width}" height="${height + 2}" role="img" aria-label="histogram of ${escapeHtml(column.column)}">${rects}<line x1="0" y1="${height}" x2="${width}" y2="${height}" stroke="#999"/></svg>`;
}

function driftTable(comparison: DatasetComparison): string {
  const rows = comparison.columns
    .map((c) => {
      const d = c.drift;
      const q = c.quality;
      const status =
        c.drift_error !== undefined
          ? `<span class="muted">${escapeHtml(c.drift_error)}</span>`
          : d === undefined
            ? '<span class="muted">no data</span>'
            : d.drifted
              ? '<span class="bad">drift</span>'
              : '<span class="ok">ok</span>';
      const issues = [
        q.missing_rate > 0 ? `missing ${(q.missing_rate * 100).toFixed(1)}%` : '',
        q.type_mismatches > 0 ? `${q.type_mismatches} type mismatches` : '',
        q.out_of_range > 0 ? `${(q.out_of_range_rate * 100).toFixed(1)}% out of range` : '',
        q.unseen_categories.length > 0 ? `unseen: ${q.unseen_categories.slice(0, 5).join(', ')}` : '',
      ]
        .filter((s) => s !== '')
        .join('; ');
      return `<tr><td>${escapeHtml(c.column)}</td><td>${c.role}</td><td>${c.kind}</td><td>${d === undefined ? '–' : d.test}</td><td>${fmt(d?.value)}</td><td>${d === undefined ? '–' : `${d.test === 'ks' || d.test === 'chisquare' ? '<' : '≥'} ${fmt(d.threshold)}`}</td><td>${status}</td><td>${escapeHtml(issues || '–')}</td></tr>`;
    })
    .join('');
  return `<table><tr><th>column</th><th>role</th><th>kind</th><th>test</th><th>score</th><th>drift when</th><th>verdict</th><th>data quality</th></tr>${rows}</table>`;
}

function comparisonBody(comparison: DatasetComparison): string {
  const verdict = comparison.dataset_drift
    ? `<div class="verdict bad">Dataset drift: ${comparison.drifted_features} of ${comparison.columns.filter((c) => c.role === 'feature').length} features drifted (share ${fmt(comparison.drift_share)}).</div>`
    : `<div class="verdict ok">No dataset drift: ${comparison.drifted_features} of ${comparison.columns.filter((c) => c.role === 'feature').length} features drifted (share ${fmt(comparison.drift_share)}).</div>`;
  const cards = comparison.columns
    .map(
      (c) =>
        `<div class="card"><h3>${escapeHtml(c.column)} ${c.drift?.drifted === true ? '<span class="bad">drift</span>' : ''}</h3>${histogramSvg(c)}<div class="muted">${c.kind === 'numeric' ? `reference mean ${fmt(c.reference.mean)} · current mean ${fmt(c.current.mean)} · ` : ''}n ${fmt(c.reference.count)} / ${fmt(c.current.count)}</div></div>`,
    )
    .join('');
  const schema =
    comparison.missing_columns.length > 0 || comparison.schema_violations > 0
      ? `<p class="bad">Schema: missing columns ${escapeHtml(comparison.missing_columns.join(', ') || 'none')}; ${comparison.schema_violations} requests with unexpected columns.</p>`
      : '';
  return `${verdict}<p>Reference rows ${fmt(comparison.reference_rows)} · current rows ${fmt(comparison.current_rows)} · missing rate ${fmt(comparison.missing_rate)}</p>${schema}
<h2>Tests</h2>${driftTable(comparison)}
<h2>Distributions</h2><p class="legend"><span style="background:#8aa4d6"></span>reference<span style="background:#e07b39"></span>current (share of rows per reference decile bin or category)</p><div class="grid">${cards}</div>`;
}

const page = (title: string, body: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body><h1>${escapeHtml(title)}</h1>${body}<p class="muted">Generated by Slipway at ${new Date().toISOString()}.</p></body></html>`;

/** A self-contained HTML page for a dataset comparison. */
export function renderComparisonHtml(title: string, comparison: DatasetComparison): string {
  return page(title, comparisonBody(comparison));
}

/** A self-contained HTML report of a monitor result: drift, quality, performance, latency, alerts. */
export function renderMonitorReportHtml(result: MonitorResult): string {
  const window = `${new Date(result.window.start).toISOString()} – ${new Date(result.window.end).toISOString()}`;
  let body = `<p>Endpoint <b>${escapeHtml(result.endpoint)}</b> (model ${escapeHtml(result.model)}), reference version ${escapeHtml(result.reference_version)}, window ${escapeHtml(window)}.</p>`;
  body +=
    result.drift === undefined
      ? '<p class="muted">No traffic or no reference profile for this window.</p>'
      : comparisonBody(result.drift);
  if (result.performance !== undefined) {
    const p = result.performance;
    const metrics = Object.keys(p.overall).filter((k) => k !== 'count');
    const header = `<tr><th>version</th><th>rows</th>${metrics.map((m) => `<th>${escapeHtml(m)}</th>`).join('')}</tr>`;
    const line = (name: string, values: Record<string, number>) =>
      `<tr><td>${escapeHtml(name)}</td><td>${fmt(values.count)}</td>${metrics.map((m) => `<td>${fmt(values[m])}</td>`).join('')}</tr>`;
    body += `<h2>Performance (${p.task}, ${fmt(p.labelled_rows)} labelled rows)</h2><table>${header}${line('all', p.overall)}${Object.entries(
      p.by_version,
    )
      .map(([v, values]) => line(`v${v}`, values))
      .join('')}</table>`;
  } else {
    body += '<h2>Performance</h2><p class="muted">No labels yet for this window.</p>';
  }
  if (result.latency !== undefined) {
    body += `<h2>Latency</h2><p>${fmt(result.latency.requests)} requests · p50 ${fmt(result.latency.p50_ms)} ms · p99 ${fmt(result.latency.p99_ms)} ms</p>`;
  }
  if (result.alerts.length > 0) {
    body += `<h2>Alerts</h2><table><tr><th>rule</th><th>state</th><th>value</th></tr>${result.alerts
      .map(
        (a) =>
          `<tr><td>${escapeHtml(a.rule)}</td><td class="${a.state === 'firing' ? 'bad' : 'ok'}">${a.state}</td><td>${fmt(a.value)}</td></tr>`,
      )
      .join('')}</table>`;
  }
  return page(`Monitoring report: ${result.endpoint}`, body);
}
