// The dashboard's figures, tables and panels: the overview, poller states (with the warning when
// one fails or lags), the data tables of the charts, the unrecognised values and a lookup result.
import { el, $ } from './dom.js';
import { num, pct, relTime, when } from './format.js';

/** A poller with this many messages still waiting on the server is shown as lagging. */
const LAG_WARN_MESSAGES = 1000;
/** A poller whose last completed sync is older than this is shown as lagging. */
const STALE_SYNC_MS = 24 * 3600 * 1000;
const STATE_LABEL = { connecting: 'connecting', backfilling: 'catching up', idle: 'up to date', backoff: 'retrying after error', failed: 'failed', stopped: 'stopped', standby: 'held by another poller' };

export function renderFigures(stats) {
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

export function renderPollers(pollers) {
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

export function renderFamilyTable(byFamily) {
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

export function renderMonthTable(byMonth) {
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

/** The rows of the report; `top` is how many were asked for, `max` the most the page asks for. */
export function renderUnknown(rows, top, max) {
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
  $('#unknown-more').hidden = rows.length < top || top >= max;
}

export function renderLookup(r, certificates) {
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
