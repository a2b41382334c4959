// smime-census dashboard, its entry module: loading, refresh, lookup and export. Plain ES modules
// (dom, format, api, charts, tables), no framework and no build step: it renders a few
// server-side aggregates (GET /v1/stats, /v1/pollers, /v1/unknown-headers), so the page stays
// fast whatever the size of the database. Every value from the server is inserted with
// textContent / setAttribute, never as HTML: header values come from hostile mail.
// CSP-friendly: no inline script or style attribute, no eval; styles are CSS classes, and the
// only dynamic sizes are SVG geometry attributes and CSSOM properties.
import { $, el } from './dom.js';
import { num } from './format.js';
import { HttpError, api, fetchCertificates, fetchPollers, fetchUnknown, forgetToken, token } from './api.js';
import { renderFamilyChart, renderMonthChart } from './charts.js';
import { renderFamilyTable, renderFigures, renderLookup, renderMonthTable, renderPollers, renderUnknown } from './tables.js';

/** Rows of the unrecognised-values report fetched first, and per "Show more". */
const UNKNOWN_PAGE = 20;
const UNKNOWN_MAX = 500;
/** Figures and poller states refresh on their own while the tab is visible. */
const REFRESH_MS = 30_000;

let lastStats = null;
let unknownTop = UNKNOWN_PAGE;

// ---------- lookup ----------

async function onLookup(ev) {
  ev.preventDefault();
  const address = $('#lookup-address').value.trim();
  const out = $('#lookup-result');
  if (!address) return;
  const button = ev.submitter ?? $('#lookup-form button');
  button.disabled = true;
  try {
    const r = await api(`/v1/recipients/${encodeURIComponent(address)}`);
    const certs = await fetchCertificates(r.address ?? address, r);
    out.replaceChildren(renderLookup(r, certs));
  } catch (e) {
    out.replaceChildren(el('p', { class: 'error result', 'data-lookup-error': '', text: e instanceof HttpError && e.status === 400 ? `Not a valid address: ${e.message}` : `Lookup failed: ${e.message}` }));
  } finally {
    button.disabled = false;
  }
}

// ---------- export ----------

function exportUrl() {
  const q = new URLSearchParams();
  const rec = $('#export-recommendation').value;
  const fam = $('#export-family').value;
  const since = $('#export-since').value;
  if (rec) q.set('recommendation', rec);
  if (fam) q.set('family', fam);
  if (since) q.set('since', since);
  const s = q.toString();
  return `/v1/export.csv${s ? `?${s}` : ''}`;
}

function fileName(res) {
  const cd = res.headers.get('content-disposition') ?? '';
  const m = /filename="?([^";]+)"?/i.exec(cd);
  return m ? m[1] : 'smime-census-export.csv';
}

function clickDownload(href, name) {
  const a = el('a', { href, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
}

async function onExport(ev) {
  ev.preventDefault();
  const status = $('#export-status');
  const url = exportUrl();
  const button = ev.submitter ?? $('#export-form button');
  if (!token()) {
    // No token: let the browser stream the file straight to disk (a 1M-row export never sits in memory).
    clickDownload(url, 'smime-census-export.csv');
    status.textContent = 'Download started.';
    return;
  }
  // A token cannot ride on a plain link (it would end up in URLs and logs), so fetch with the
  // header and hand the browser the result.
  button.disabled = true;
  status.textContent = 'Preparing the export…';
  try {
    const res = await api(url, { raw: true });
    const blob = await res.blob();
    const href = URL.createObjectURL(blob);
    clickDownload(href, fileName(res));
    setTimeout(() => URL.revokeObjectURL(href), 60_000);
    status.textContent = `Downloaded ${num(blob.size)} bytes.`;
  } catch (e) {
    status.textContent = `Export failed: ${e.message}`;
  } finally {
    button.disabled = false;
  }
}

// ---------- loading ----------

let loading = false;

function showError(e) {
  $('#status').textContent = e ? `Could not load: ${e.message}` : '';
}

function renderStats(stats) {
  lastStats = stats;
  renderFigures(stats);
  renderFamilyChart(stats.byFamily ?? []);
  renderFamilyTable(stats.byFamily ?? []);
  renderMonthChart(stats.byMonth ?? []);
  renderMonthTable(stats.byMonth ?? []);
}

async function refresh({ withUnknown = false } = {}) {
  if (loading) return;
  loading = true;
  $('#refresh').disabled = true;
  document.body.setAttribute('aria-busy', 'true');
  try {
    // In parallel, each part drawn as soon as its data arrives: on a large database the statistics
    // take longest, and a failing poller must not wait for them to be announced.
    const stats = api('/v1/stats').then((s) => {
      renderStats(s);
      return s;
    });
    const pollers = fetchPollers().then(async (p) => renderPollers(p ?? (await stats).pollers ?? []));
    const unknown = withUnknown ? fetchUnknown(unknownTop).then((rows) => renderUnknown(rows, unknownTop, UNKNOWN_MAX)) : null;
    await Promise.all([stats, pollers, unknown]);
    showError(null);
    const now = new Date();
    $('#updated').textContent = `Updated ${now.toLocaleTimeString()}`;
    document.body.dataset.loaded = String(now.getTime());
    // Read by scripts/bench/dashboard.mjs: time from navigation start until everything is drawn.
    document.body.dataset.renderedAt = String(Math.round(performance.now()));
  } catch (e) {
    showError(e);
  } finally {
    loading = false;
    $('#refresh').disabled = false;
    document.body.removeAttribute('aria-busy');
  }
}

function redrawCharts() {
  if (!lastStats) return;
  renderFamilyChart(lastStats.byFamily ?? []);
  renderMonthChart(lastStats.byMonth ?? []);
}

function start() {
  $('#forget-token').hidden = !token();
  $('#refresh').addEventListener('click', () => refresh({ withUnknown: true }));
  $('#forget-token').addEventListener('click', () => {
    forgetToken();
    location.reload();
  });
  // Escape must not leave the page half-loaded behind a closed token dialog.
  $('#token-dialog').addEventListener('cancel', (ev) => ev.preventDefault());
  $('#lookup-form').addEventListener('submit', onLookup);
  $('#export-form').addEventListener('submit', onExport);
  $('#unknown-more').addEventListener('click', async () => {
    unknownTop = Math.min(UNKNOWN_MAX, unknownTop * 2);
    try {
      renderUnknown(await fetchUnknown(unknownTop), unknownTop, UNKNOWN_MAX);
    } catch (e) {
      showError(e);
    }
  });
  let lastWidth = 0;
  let pending = 0;
  new ResizeObserver((entries) => {
    const w = Math.round(entries[0]?.contentRect.width ?? 0);
    if (w === lastWidth) return;
    lastWidth = w;
    cancelAnimationFrame(pending);
    pending = requestAnimationFrame(redrawCharts);
  }).observe($('#family-chart'));
  setInterval(() => {
    if (document.visibilityState === 'visible') refresh();
  }, REFRESH_MS);
  refresh({ withUnknown: true });
}

start();