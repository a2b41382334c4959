/**
 * Raw-row access for `store copy` on PostgreSQL: keyset pages in primary-key order and
 * idempotent inserts (ON CONFLICT DO NOTHING), one transaction per page; identity sequences
 * follow the copied ids so that new rows never collide with them.
 */
import type { Db } from './driver.js';
import { COPY_KEYS, assertColumnNames, type CopyTable, type RawRow, type RowValue } from '../contract.js';

/** Rows per INSERT statement: PostgreSQL takes at most 65,535 parameters. */
const ROWS_PER_STATEMENT = 1_000;

export async function readRows(db: Db, table: CopyTable, after: readonly RowValue[] | null, limit: number): Promise<RawRow[]> {
  const keys = COPY_KEYS[table];
  const order = keys.join(', ');
  const { rows } = after
    ? await db.query(`SELECT * FROM ${table} WHERE (${order}) > (${keys.map((_, i) => `$${i + 1}`).join(', ')}) ORDER BY ${order} LIMIT $${keys.length + 1}`, [...after, limit])
    : await db.query(`SELECT * FROM ${table} ORDER BY ${order} LIMIT $1`, [limit]);
  return rows.map((r) => ({ ...r }) as RawRow);
}

export async function writeRows(tx: Db, table: CopyTable, rows: readonly RawRow[]): Promise<number> {
  const first = rows[0];
  if (!first) return 0;
  const cols = assertColumnNames(first);
  let n = 0;
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
    const part = rows.slice(i, i + ROWS_PER_STATEMENT);
    const params: RowValue[] = [];
    const tuples = part.map((r) => `(${cols.map((c) => (params.push(r[c] ?? null), `$${params.length}`)).join(', ')})`);
    const res = await tx.query(`INSERT INTO ${table} (${cols.join(', ')}) VALUES ${tuples.join(', ')} ON CONFLICT DO NOTHING`, params);
    n += res.rowCount;
  }
  if (cols.includes('id')) {
    await tx.query(`SELECT setval(pg_get_serial_sequence('${table}', 'id'), GREATEST((SELECT max(id) FROM ${table}), 1))`);
  }
  return n;
}

export async function countRows(db: Db, table: CopyTable): Promise<number> {
  const [r] = (await db.query(`SELECT count(*) AS n FROM ${table}`)).rows;
  return Number(r?.n ?? 0);
}

export async function lastKey(db: Db, table: CopyTable): Promise<RowValue[] | null> {
  const keys = COPY_KEYS[table];
  const [r] = (await db.query(`SELECT ${keys.join(', ')} FROM ${table} ORDER BY ${keys.map((k) => `${k} DESC`).join(', ')} LIMIT 1`)).rows;
  return r ? keys.map((k) => r[k] as RowValue) : null;
}
