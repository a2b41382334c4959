/**
 * The export's CSV line of an address row, byte for byte what sqlite/store.ts builds in SQL
 * (its csvCell and neutralOnly expressions): RFC 4180 quoting, OWASP formula neutralisation with
 * the same trigger characters, CRLF line ends, last_seen as ISO 8601 seconds in UTC. Shared by
 * both dialects: PostgreSQL formats every line with it, SQLite the lines of re-decided stale
 * rows. The contract suite compares both stores' exports byte by byte.
 */

/** The first characters that make a spreadsheet read a cell as a formula (the list in sqlite/store.ts). */
const FORMULA_TRIGGERS = new Set(['=', '+', '-', '@', '\t', '\r', '\uFF1D', '\uFF0B', '\uFF0D', '\uFF20', '\uFE66', '\uFE62', '\uFE63', '\uFE6B', '\u2212', '\u200B', '\u200C', '\u200D', '\u2060', '\uFEFF']);

function startsWithTrigger(v: string): boolean {
  // Every trigger is one UTF-16 unit (BMP), so the first unit decides, as SQLite's substr(x,1,1).
  return v.length > 0 && FORMULA_TRIGGERS.has(v[0]!);
}

/** A free-text cell: empty for null, quoted when it holds a quote, comma or line break, or starts like a formula. */
export function csvCell(v: string | null): string {
  if (v === null) return '';
  const trigger = startsWithTrigger(v);
  if (trigger || v.includes('"') || v.includes(',') || v.includes('\n') || v.includes('\r')) {
    return '"' + (trigger ? "'" + v : v).replace(/"/g, '""') + '"';
  }
  return v;
}

/** An address cell (stored addresses have no quotes, commas or line breaks): only neutralised. */
export function csvAddress(v: string): string {
  return startsWithTrigger(v) ? `"'${v}"` : v;
}

/** Seconds since the epoch that SQLite's datetime formats (years 0000-9999); outside it gives NULL, the export ''. */
const MIN_SECONDS = -62_167_219_200;
const MAX_SECONDS = 253_402_300_799;

/**
 * SQLite's datetime(ms / 1000, 'unixepoch') with a T and a Z (sqlite/store.ts): integer division truncates
 * towards zero. (Before year 0 SQLite prints negative years; ingest never stores dates before
 * 1990, so those are outside what can reach an export.)
 */
export function csvTime(ms: number | null): string {
  if (ms === null) return '';
  const s = Math.trunc(ms / 1000);
  if (s < MIN_SECONDS || s > MAX_SECONDS) return '';
  return new Date(s * 1000).toISOString().slice(0, 19) + 'Z';
}

export interface ExportRow {
  address: string;
  recommendation: string;
  family: string | null;
  product: string | null;
  version: string | null;
  smime: string | null;
  last_seen: number;
  messages: number;
  reason: string;
  key_changed: number;
}

/** One CSV line (no line end) in EXPORT_COLUMNS order. */
export function csvLine(r: ExportRow): string {
  return [
    csvAddress(r.address),
    r.recommendation,
    r.family ?? '',
    csvCell(r.product),
    csvCell(r.version),
    r.smime ?? '',
    csvTime(r.last_seen),
    String(r.messages),
    csvCell(r.reason),
    String(r.key_changed),
  ].join(',');
}
