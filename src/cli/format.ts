/**
 * Human output shared by several commands (import, lookup, demo): one module, so commands do not
 * import each other. Kept light (types and light.ts only): `import -` starts once per message.
 */
import type { IngestCounts, LookupResult } from '../app/index.js';
import { printable } from './light.js';

/** Human-readable summary of ingest counts. */
export function formatCounts(c: IngestCounts): string {
  const lines = [`read        ${c.read}`, `stored      ${c.stored}`, `duplicates  ${c.duplicates}`];
  const skipped = Object.entries(c.skipped).filter(([, v]) => v);
  const total = skipped.reduce((s, [, v]) => s + (v ?? 0), 0);
  lines.push(`skipped     ${total}`);
  for (const [k, v] of skipped.sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0))) lines.push(`  ${k.padEnd(16)}${v}`);
  return lines.join('\n') + '\n';
}

/** A fixed-width table of lookup results. */
export function formatLookups(rs: readonly LookupResult[]): string {
  const rows = [['ADDRESS', 'RECOMMENDATION', 'CLIENT', 'S/MIME', 'LAST SEEN', 'REASON']];
  for (const r of rs) {
    const c = r.clients[0];
    rows.push([r.address, r.recommendation + (r.keyChanged ? ' (key changed!)' : ''), c ? [c.product ?? c.family ?? '?', c.version].filter(Boolean).join(' ') : '-', c?.smime ?? '-', r.lastSeen?.slice(0, 10) ?? '-', r.reason]);
  }
  for (const r of rows) for (let i = 0; i < r.length; i++) r[i] = printable(r[i]!);
  const w = rows[0]!.map((_, i) => Math.min(40, Math.max(...rows.map((r) => (r[i] ?? '').length))));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]!))).join('  ')).join('\n') + '\n';
}
