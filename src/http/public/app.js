// smime-census dashboard. Plain ES module, no framework and no build step: it renders a few
// server-side aggregates (GET /v1/stats, /v1/pollers, /v1/unknown-headers), so the page stays
// fast whatever the size of the database. Every value from the server is inserted with
// textContent / setAttribute, never as HTML: header values come from hostile mail.
// CSP-friendly: no inline script or style attribute, no eval; styles are CSS classes, and the
// only dynamic sizes are SVG geometry attributes and CSSOM properties.

const TOKEN_KEY = 'smime-census.token';
const SVG_NS = 'http://www.w3.org/2000/svg';
/** Families shown as their own bar; the rest are summed into "other" (issue #7). */
const TOP_FAMILIES = 15;
/** Months drawn in the time chart; the data table below it lists all of them. */
const MAX_MONTHS = 24;
/** A poller with this many messages still waiting on the server is shown as lagging. */
const LAG_WARN_MESSAGES = 1000;
/** A poller whose last completed sync is older than this is shown as lagging. */
const STALE_SYNC_MS = 24 * 3600 * 1000;
/** Rows of the unrecognised-values report fetched first, and per "Show more". */
const UNKNOWN_PAGE = 20;
const UNKNOWN_MAX = 500;
/** Figures and poller states refresh on their own while the tab is visible. */
const REFRESH_MS = 30_000;

const SMIME_LABEL = { verify: 'verifies', tolerate: 'tolerates', broken: 'broken', unknown: 'unknown', mixed: 'mixed' };
const STATE_LABEL = { connecting: 'connecting', backfilling: 'catching up', idle: 'up to date', backoff: 'retrying after error', failed: 'failed', stopped: 'stopped', standby: 'held by another poller' };

const fmt = new Intl.NumberFormat();
const pctFmt = new Intl.NumberFormat(undefined, { style: 'percent', maximumFractionDigits: 1 });
const $ = (sel) => document.querySelector(sel);

// ---------- small DOM helpers ----------

/** Creates an element; attrs with null/undefined/false values are skipped, children may be strings. */
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'text') e.textContent = String(v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  return e;
}

function svg(tag, attrs = {}, text) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = String(text);
  return e;
}

const num = (n) => fmt.format(n);
const pct = (part, whole) => (whole > 0 ? pctFmt.format(part / whole) : '–');

/** An ISO time as `YYYY-MM-DD HH:MM UTC` (the API's times are UTC). */
function when(iso) {
  if (!iso) return 'never';
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(iso);
  return m ? `${m[1]} ${m[2]} UTC` : String(iso);
}

function relTime(iso) {
  if (!iso) return 'never';
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return String(iso);
  const s = Math.round((Date.now() - t) / 1000);
  if (s < 5) return 'just now';
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 129600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} days ago`;
}

// ---------- API access ----------

class HttpError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Fallback when session storage is disabled: the token then lives for this page only. */
let memoryToken = null;

function token() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? memoryToken;
  } catch {
    return memoryToken;
  }
}

function authHeaders() {
  const t = token();
  return t ? { authorization: `Bearer ${t}` } : {};
}

/** Fetches a same-origin API path; a 401 opens the token prompt and retries once it is answered. */
async function api(path, { raw = false } = {}) {
  for (;;) {
    const sent = token();
    const res = await fetch(path, { headers: { accept: raw ? '*/*' : 'application/json', ...authHeaders() }, cache: 'no-store' });
    if (res.status === 401) {
      // Another request may have obtained a token meanwhile: retry with it before asking.
      if (token() !== sent) continue;
      await askToken(sent ? 'The token was not accepted. Enter a valid token.' : null);
      continue;
    }
    if (!res.ok) {
      let code = `HTTP_${res.status}`;
      let message = `${res.status} ${res.statusText}`;
      try {
        const body = await res.json();
        if (body && body.error) ({ code, message } = body.error);
      } catch {
        /* not a JSON error body */
      }
      throw new HttpError(res.status, code, message);
    }
    return raw ? res : res.json();
  }
}

// ---------- token prompt ----------

let pendingToken = null;

/** Shows the token dialog (once, however many requests are waiting) and resolves when a token is entered. */
function askToken(error) {
  const dialog = $('#token-dialog');
  const err = $('#token-error');
  if (error) {
    err.textContent = error;
    err.hidden = false;
  } else err.hidden = true;
  if (!pendingToken) {
    pendingToken = new Promise((resolve) => {
      const form = $('#token-form');
      const onSubmit = (ev) => {
        ev.preventDefault();
        const value = $('#token-input').value.trim();
        if (!value) return;
        try {
          sessionStorage.setItem(TOKEN_KEY, value);
        } catch {
          memoryToken = value;
        }
        form.removeEventListener('submit', onSubmit);
        $('#token-input').value = '';
        dialog.close();
        pendingToken = null;
        $('#forget-token').hidden = false;
        resolve();
      };
      form.addEventListener('submit', onSubmit);
    });
  }
  if (!dialog.open) dialog.showModal();
  $('#token-input').focus();
  return pendingToken;
}

// ---------- overview ----------

let lastStats = null;

function renderFigures(stats) {
  const total = stats.addresses;
  const set = (key, value) => {
    const dd = document.querySelector(`[data-figure="${key}"]`);
    dd.textContent = num(value);
    dd.dataset.value = String(value);
  };
  set('addresses', total);
  set('messages', stats.messages);
  const bar = $('#share-bar');
  bar.replaceChildren();
  const parts = [];
  for (const rec of ['sign', 'do-not-sign', 'unknown']) {
    const n = stats.byRecommendation?.[rec] ?? 0;
    set(rec, n);
    const share = document.querySelector(`[data-share="${rec}"]`);
    share.textContent = `${pct(n, total)} of addresses`;
    if (total > 0 && n > 0) {
      const seg = el('span', { class: `rec-${rec}` });
      seg.style.width = `${(100 * n) / total}%`; // CSSOM, allowed under a strict style-src
      bar.append(seg);
    }
    parts.push(`${rec} ${pct(n, total)}`);
  }
  bar.setAttribute('aria-label', total > 0 ? `Share of addresses by recommendation: ${parts.join(', ')}` : 'No addresses yet');
}

// ---------- pollers ----------

/** Why a poller needs attention, or null when it is healthy. */
function pollerProblem(p, now = Date.now()) {
  if (p.state === 'failed') return { level: 'bad', text: 'has failed and stopped retrying' };
  if (p.state === 'backoff') return { level: 'bad', text: 'cannot sync and is retrying' };
  if (p.state === 'stopped') return { level: 'warn', text: 'is stopped' };
  if (typeof p.lag === 'number' && p.lag >= LAG_WARN_MESSAGES) return { level: 'warn', text: `is lagging: ${num(p.lag)} messages waiting` };
  const last = p.lastSyncAt ? Date.parse(p.lastSyncAt) : NaN;
  if (p.state === 'idle' && Number.isFinite(last) && now - last > STALE_SYNC_MS) return { level: 'warn', text: `is lagging: last sync ${relTime(p.lastSyncAt)}` };
  return null;
}

function renderPollers(pollers) {
  const tbody = $('#pollers tbody');
  tbody.replaceChildren();
  const alert = $('#poller-alert');
  $('#pollers').hidden = pollers.length === 0;
  $('#pollers-empty').hidden = pollers.length > 0;
  const problems = [];
  for (const p of pollers) {
    const problem = pollerProblem(p);
    if (problem) problems.push({ p, problem });
    const stateClass = problem ? (problem.level === 'bad' ? `state-${p.state}` : 'state-lagging') : '';
    // A recovered poller keeps its last error for the record; it no longer needs attention.
    const err = p.lastError ? `${p.lastError.code}: ${p.lastError.message}${p.healthy && p.lastError.at ? ` (${relTime(p.lastError.at)}, recovered)` : ''}` : '';
    tbody.append(
      el(
        'tr',
        { 'data-poller': `${p.account}/${p.folder}`, 'data-state': p.state },
        el('td', { 'data-label': 'Account', text: p.account }),
        el('td', { 'data-label': 'Folder', text: p.folder }),
        el('td', { 'data-label': 'State' }, el('span', { class: `state ${stateClass}`, text: STATE_LABEL[p.state] ?? p.state })),
        el('td', { 'data-label': 'Last sync', title: p.lastSyncAt ?? null, text: relTime(p.lastSyncAt) }),
        el('td', { 'data-label': 'Waiting', class: 'num', text: typeof p.lag === 'number' ? num(p.lag) : '–' }),
        el('td', { 'data-label': 'Last error', text: err || 'none' }),
      ),
    );
  }
  if (problems.length === 0) {
    alert.hidden = true;
    alert.replaceChildren();
    return;
  }
  const bad = problems.some((x) => x.problem.level === 'bad');
  alert.className = bad ? 'alert bad' : 'alert';
  const list = el('ul');
  for (const { p, problem } of problems) {
    const detail = p.lastError ? ` (${p.lastError.code}: ${p.lastError.message})` : '';
    list.append(el('li', { 'data-poller-warning': `${p.account}/${p.folder}`, text: `${p.account} / ${p.folder} ${problem.text}${detail}. New mail from this mailbox is not being counted.` }));
  }
  alert.replaceChildren(el('strong', { text: bad ? 'Warning: a mailbox poller is failing.' : 'Warning: a mailbox poller is behind.' }), list);
  alert.hidden = false;
}

// ---------- family chart ----------

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

function renderFamilyChart(byFamily) {
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

function renderFamilyTable(byFamily) {
  const tbody = $('#family-table tbody');
  tbody.replaceChildren(
    ...byFamily.map((r) =>
      el('tr', {}, el('th', { scope: 'row', text: r.family ?? 'unrecognised' }), el('td', { text: r.smime ?? 'unknown' }), el('td', { class: 'num', text: num(r.addresses) }), el('td', { class: 'num', text: num(r.sign ?? 0) })),
    ),
  );
  // The export filter offers the families that exist (the unrecognised bucket has no family id).
  const select = $('#export-family');
  const current = select.value;
  const names = byFamily.map((r) => r.family).filter((f) => typeof f === 'string').sort();
  select.replaceChildren(el('option', { value: '', text: 'any' }), ...names.map((f) => el('option', { value: f, text: f })));
  if (names.includes(current)) select.value = current;
}

// ---------- month chart ----------

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

function renderMonthChart(byMonth) {
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

function renderMonthTable(byMonth) {
  const tbody = $('#month-table tbody');
  tbody.replaceChildren(
    ...[...byMonth].reverse().map((r) =>
      el(
        'tr',
        {},
        el('th', { scope: 'row', text: r.month }),
        el('td', { class: 'num', text: num(r.messages) }),
        el('td', { class: 'num', text: num(r.activeAddresses) }),
        el('td', { class: 'num', text: num(r.signable) }),
        el('td', { class: 'num', text: pct(r.signable, r.activeAddresses) }),
      ),
    ),
  );
}

// ---------- unrecognised values ----------

let unknownTop = UNKNOWN_PAGE;

async function fetchUnknown() {
  const body = await api(`/v1/unknown-headers?top=${unknownTop}`);
  return Array.isArray(body) ? body : (body.unknown ?? []);
}

function renderUnknown(rows) {
  const tbody = $('#unknown-table tbody');
  tbody.replaceChildren(
    ...rows.map((r) =>
      el(
        'tr',
        {},
        el('td', { 'data-label': 'Header', text: r.header }),
        el('td', { 'data-label': 'Value', class: 'value', text: r.value }),
        el('td', { 'data-label': 'Messages', class: 'num', text: num(r.count) }),
        el('td', { 'data-label': 'Example', class: 'mid', text: r.exampleMessageId ?? '' }),
      ),
    ),
  );
  $('#unknown-table').hidden = rows.length === 0;
  $('#unknown-empty').hidden = rows.length > 0;
  // A full page means there may be more; the server caps the list, so we only page forward.
  $('#unknown-more').hidden = rows.length < unknownTop || unknownTop >= UNKNOWN_MAX;
}

// ---------- lookup ----------

function renderLookup(r, certificates) {
  const out = el('div', { class: 'result', 'data-lookup': r.address });
  out.append(
    el(
      'dl',
      {},
      el('dt', { text: 'Address' }),
      el('dd', { text: r.address }),
      el('dt', { text: 'Recommendation' }),
      el('dd', {}, el('span', { class: `badge rec-${r.recommendation}`, 'data-recommendation': r.recommendation, text: r.recommendation })),
      el('dt', { text: 'Reason' }),
      el('dd', { 'data-reason': '', text: r.reason }),
      el('dt', { text: 'Last seen' }),
      el('dd', { text: when(r.lastSeen) }),
      r.keyChanged ? [el('dt', { text: 'Note' }), el('dd', { text: 'The signing key or certificate of this address changed.' })] : null,
    ),
  );
  if (r.clients?.length) {
    out.append(
      el('h3', { text: 'Mail programs seen' }),
      el(
        'div',
        { class: 'table-wrap' },
        el(
          'table',
          { class: 'data stack' },
          el('thead', {}, el('tr', {}, ...['Family', 'Product', 'Version', 'Platform', 'S/MIME', 'Messages', 'Last seen'].map((h) => el('th', { scope: 'col', text: h })))),
          el(
            'tbody',
            {},
            ...r.clients.map((c) =>
              el(
                'tr',
                {},
                el('td', { 'data-label': 'Family', text: c.family ?? 'unrecognised' }),
                el('td', { 'data-label': 'Product', text: c.product ?? '' }),
                el('td', { 'data-label': 'Version', text: c.version ?? '' }),
                el('td', { 'data-label': 'Platform', text: c.platform ?? '' }),
                el('td', { 'data-label': 'S/MIME', text: c.smime }),
                el('td', { 'data-label': 'Messages', class: 'num', text: num(c.count) }),
                el('td', { 'data-label': 'Last seen', text: when(c.lastSeen) }),
              ),
            ),
          ),
        ),
      ),
    );
  }
  if (certificates?.length) {
    out.append(
      el('h3', { text: 'Certificates' }),
      el(
        'ul',
        {},
        ...certificates.map((c) => {
          // Rows of the certificates table (snake_case, times in ms) or a camelCase view of them.
          const notAfter = c.notAfter ?? c.not_after;
          const until = typeof notAfter === 'number' ? new Date(notAfter).toISOString().slice(0, 10) : notAfter;
          const parts = [
            c.subject,
            c.issuer ? `issued by ${c.issuer}` : null,
            until ? `valid until ${until}` : null,
            c.trusted ? `trust: ${c.trusted}` : null,
            c.continuity ? `(${c.continuity})` : null,
            c.fingerprint ? `SHA-256 ${c.fingerprint}` : null,
          ].filter(Boolean);
          return el('li', { class: 'value', text: parts.join(' · ') || 'certificate' });
        }),
      ),
    );
  }
  return out;
}

/** Certificates live behind an admin route; a read token simply does not see them (optional panel). */
async function fetchCertificates(address, result) {
  if (Array.isArray(result.certificates)) return result.certificates;
  try {
    const res = await fetch(`/v1/recipients/${encodeURIComponent(address)}/observations`, { headers: { accept: 'application/json', ...authHeaders() }, cache: 'no-store' });
    if (!res.ok) return null;
    const body = await res.json();
    return Array.isArray(body?.certificates) ? body.certificates : null;
  } catch {
    return null;
  }
}

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

/** Poller states, or null when the service has no pollers route (they are then in the stats). */
async function fetchPollers() {
  try {
    const body = await api('/v1/pollers');
    return Array.isArray(body) ? body : (body.pollers ?? []);
  } catch (e) {
    if (e instanceof HttpError && e.status === 404) return null;
    throw e;
  }
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
    const unknown = withUnknown ? fetchUnknown().then(renderUnknown) : null;
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
    try {
      sessionStorage.removeItem(TOKEN_KEY);
    } catch {
      /* ignore */
    }
    memoryToken = null;
    location.reload();
  });
  // Escape must not leave the page half-loaded behind a closed token dialog.
  $('#token-dialog').addEventListener('cancel', (ev) => ev.preventDefault());
  $('#lookup-form').addEventListener('submit', onLookup);
  $('#export-form').addEventListener('submit', onExport);
  $('#unknown-more').addEventListener('click', async () => {
    unknownTop = Math.min(UNKNOWN_MAX, unknownTop * 2);
    try {
      renderUnknown(await fetchUnknown());
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
