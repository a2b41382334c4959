// The dashboard's two SVG charts, drawn at the container's real width. Every chart has a text
// alternative (aria-label) and a data table below it with the same figures.
import { el, svg, $ } from './dom.js';
import { num, pct } from './format.js';

/** Families shown as their own bar; the rest are summed into "other" (issue #7). */
const TOP_FAMILIES = 15;
/** Months drawn in the time chart; the data table below it lists all of them. */
const MAX_MONTHS = 24;

const SMIME_LABEL = { verify: 'verifies', tolerate: 'tolerates', broken: 'broken', unknown: 'unknown', mixed: 'mixed' };

function familyRows(byFamily) {
  const rows = [...byFamily].sort((a, b) => b.addresses - a.addresses);
  const top = rows.slice(0, TOP_FAMILIES).map((r) => ({ label: r.family ?? 'unrecognised', smime: r.smime ?? 'unknown', addresses: r.addresses, sign: r.sign ?? 0 }));
  const rest = rows.slice(TOP_FAMILIES);
  if (rest.length) {
    top.push({
      label: `other (${rest.length} families)`,
      smime: 'mixed',
      addresses: rest.reduce((s, r) => s + r.addresses, 0),
      sign: rest.reduce((s, r) => s + (r.sign ?? 0), 0),
    });
  }
  return top;
}

export function renderFamilyChart(byFamily) {
  const fig = $('#family-chart');
  const rows = familyRows(byFamily);
  if (rows.length === 0) {
    fig.replaceChildren(el('p', { class: 'empty', text: 'No addresses yet.' }));
    return;
  }
  // Drawn at the container's real width (re-drawn on resize) so text stays readable on a phone.
  const width = Math.max(240, Math.round(fig.clientWidth || 600));
  const rowH = 38;
  const max = Math.max(...rows.map((r) => r.addresses), 1);
  const total = rows.reduce((s, r) => s + r.addresses, 0);
  const summary = rows.map((r) => `${r.label} ${num(r.addresses)} (${SMIME_LABEL[r.smime] ?? r.smime})`).join('; ');
  const root = svg('svg', { viewBox: `0 0 ${width} ${rows.length * rowH}`, width, height: rows.length * rowH, role: 'img', 'aria-label': `Bar chart, addresses per client family, ${num(total)} in all: ${summary}. The data table below has the same figures.` });
  rows.forEach((r, i) => {
    const y = i * rowH;
    const g = svg('g', { 'aria-hidden': 'true' });
    g.append(svg('text', { x: 0, y: y + 13 }, r.label));
    g.append(svg('text', { x: width, y: y + 13, 'text-anchor': 'end', class: 'muted-text' }, `${num(r.addresses)} · ${num(r.sign)} sign`));
    g.append(svg('rect', { x: 0, y: y + 18, width, height: 14, rx: 2, class: 'track' }));
    g.append(svg('rect', { x: 0, y: y + 18, width: Math.max(2, (width * r.addresses) / max), height: 14, rx: 2, class: `smime-${r.smime === 'mixed' ? 'unknown' : r.smime}` }));
    root.append(g);
  });
  fig.replaceChildren(root);
}

/** Axis top and tick count: whole-number steps of 1, 2 or 5 × 10^k, 4 or 5 ticks, at least v. */
function axis(v) {
  let best = { max: 4, ticks: 4 };
  if (v <= 4) return best;
  best = { max: Infinity, ticks: 4 };
  for (let p = 1; p <= v; p *= 10) {
    for (const m of [1, 2, 5]) {
      for (const ticks of [4, 5]) {
        const max = m * p * ticks;
        if (max >= v && max < best.max) best = { max, ticks };
      }
    }
  }
  return best;
}

/** The last `n` calendar months up to the latest one with data, zero-filled: a real time axis. */
function lastMonths(byMonth, n) {
  const known = byMonth.filter((m) => /^\d{4}-\d{2}$/.test(m.month ?? ''));
  if (known.length === 0) return [];
  const byKey = new Map(known.map((m) => [m.month, m]));
  const latest = known.map((m) => m.month).sort().at(-1);
  let y = Number(latest.slice(0, 4));
  let mo = Number(latest.slice(5, 7));
  const out = [];
  for (let i = 0; i < n; i++) {
    const key = `${y}-${String(mo).padStart(2, '0')}`;
    out.unshift(byKey.get(key) ?? { month: key, messages: 0, activeAddresses: 0, signable: 0 });
    if (--mo === 0) {
      mo = 12;
      y--;
    }
  }
  // Do not draw empty years before the first month that has data.
  const first = known.map((m) => m.month).sort()[0];
  return out.filter((m) => m.month >= first);
}

export function renderMonthChart(byMonth) {
  const fig = $('#month-chart');
  const months = lastMonths(byMonth, MAX_MONTHS);
  if (months.length === 0) {
    fig.replaceChildren(el('p', { class: 'empty', text: 'No messages yet.' }));
    return;
  }
  const width = Math.max(260, Math.round(fig.clientWidth || 600));
  const height = Math.round(Math.min(280, Math.max(180, width * 0.45)));
  const m = { l: 48, r: 44, t: 10, b: 28 };
  const w = width - m.l - m.r;
  const h = height - m.t - m.b;
  const { max: yMax, ticks } = axis(Math.max(...months.map((x) => x.activeAddresses), 1));
  const slot = w / months.length;
  const barW = Math.max(2, slot * 0.7);
  const last = months[months.length - 1];
  const peak = months.reduce((a, b) => (b.activeAddresses > a.activeAddresses ? b : a));
  const label = `Column chart of active addresses per month, ${months[0].month} to ${last.month}. Latest month ${last.month}: ${num(last.activeAddresses)} active addresses, ${pct(last.signable, last.activeAddresses)} signable. Busiest month ${peak.month}: ${num(peak.activeAddresses)}. The data table below has every month.`;
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': label });
  const g = svg('g', { 'aria-hidden': 'true' });
  for (let i = 0; i <= ticks; i++) {
    const y = m.t + h - (h * i) / ticks;
    g.append(svg('line', { x1: m.l, x2: m.l + w, y1: y, y2: y, class: 'grid' }));
    g.append(svg('text', { x: m.l - 6, y: y + 4, 'text-anchor': 'end', class: 'muted-text' }, num((yMax * i) / ticks)));
    g.append(svg('text', { x: m.l + w + 6, y: y + 4, class: 'muted-text' }, `${(100 * i) / ticks}%`));
  }
  // Label every k-th month counted back from the latest, so labels never overlap (~60 px each).
  const every = Math.max(1, Math.ceil(months.length / Math.max(1, Math.floor(w / 60))));
  const points = [];
  months.forEach((mo, i) => {
    const x = m.l + slot * i + (slot - barW) / 2;
    const bh = (h * mo.activeAddresses) / yMax;
    if (bh > 0) g.append(svg('rect', { x, y: m.t + h - bh, width: barW, height: bh, class: 'month-bar' }));
    if ((months.length - 1 - i) % every === 0) g.append(svg('text', { x: x + barW / 2, y: height - 8, 'text-anchor': 'middle', class: 'muted-text' }, mo.month));
    // A month without mail has no share: the line breaks there instead of inventing a trend.
    points.push(mo.activeAddresses > 0 ? [x + barW / 2, m.t + h - h * Math.min(1, mo.signable / mo.activeAddresses)] : null);
  });
  let run = [];
  for (const p of [...points, null]) {
    if (p) run.push(p);
    else {
      if (run.length > 1) g.append(svg('polyline', { points: run.map((q) => q.join(',')).join(' '), class: 'line' }));
      run = [];
    }
  }
  for (const p of points) if (p) g.append(svg('circle', { cx: p[0], cy: p[1], r: 3, class: 'dot' }));
  root.append(g);
  fig.replaceChildren(root);
}
