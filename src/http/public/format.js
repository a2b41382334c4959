// Number and time formatting of the dashboard (the browser's locale; the API's times are UTC).

const fmt = new Intl.NumberFormat();
const pctFmt = new Intl.NumberFormat(undefined, { style: 'percent', maximumFractionDigits: 1 });

export const num = (n) => fmt.format(n);
export const pct = (part, whole) => (whole > 0 ? pctFmt.format(part / whole) : '–');

/** An ISO time as `YYYY-MM-DD HH:MM UTC` (the API's times are UTC). */
export function when(iso) {
  if (!iso) return 'never';
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(iso);
  return m ? `${m[1]} ${m[2]} UTC` : String(iso);
}

export function relTime(iso) {
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
