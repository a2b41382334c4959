/**
 * Raw-row access for `store copy` on SQLite: keyset pages in primary-key order and idempotent
 * inserts (INSERT OR IGNORE), one IMMEDIATE transaction per page.
 */
import { COPY_KEYS, assertColumnNames, type CopyTable, type RawRow, type RowValue } from '../contract.js';
import type { SqliteDb } from './open.js';

export function readRows(db: SqliteDb, table: CopyTable, after: readonly RowValue[] | null, limit: number): RawRow[] {
  const keys = COPY_KEYS[table];
  const order = keys.join(', ');
  if (!after) return db.prepare(`SELECT * FROM ${table} ORDER BY ${order} LIMIT ?`).all(limit) as RawRow[];
  return db.prepare(`SELECT * FROM ${table} WHERE (${order}) > (${keys.map(() => '?').join(', ')}) ORDER BY ${order} LIMIT ?`).all(...after, limit) as RawRow[];
}

export function writeRows(db: SqliteDb, table: CopyTable, rows: readonly RawRow[]): number {
  const first = rows[0];
  if (!first) return 0;
  const cols = assertColumnNames(first);
  const insert = db.prepare(`INSERT OR IGNORE INTO ${table} (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`);
  const run = db.transaction(() => {
    let n = 0;
    for (const r of rows) n += insert.run(...cols.map((c) => r[c] ?? null)).changes;
    return n;
  });
  return run.immediate();
}

export function countRows(db: SqliteDb, table: CopyTable): number {
  return (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
}

export function lastKey(db: SqliteDb, table: CopyTable): RowValue[] | null {
  const keys = COPY_KEYS[table];
  const r = db.prepare(`SELECT ${keys.join(', ')} FROM ${table} ORDER BY ${keys.map((k) => `${k} DESC`).join(', ')} LIMIT 1`).raw().get() as RowValue[] | undefined;
  return r ?? null;
}
