/**
 * Moving house: `smime-census store copy --from ./census.db --to postgres://…` copies a census
 * into another store through the store contract (raw rows, table by table, in primary-key
 * pages), so a user can start on the embedded default and grow.
 *
 * - Resumable: every page is one transaction of idempotent inserts, written in key order, so
 *   an interrupted copy holds an exact prefix of each table; `resume` continues after the
 *   target's last key, and a page written twice adds nothing.
 * - Verified: at the end every table has as many rows as its source, and both stores export
 *   the same CSV bytes (compared by SHA-256 while streaming).
 * - The erasure key goes along: without it the copied erasure list would not recognise the
 *   erased addresses (their keyed hashes), and old mail could bring them back.
 * Copy a census that nothing writes to (stop pollers and importers first): the verification
 * fails otherwise.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, linkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { AppError } from '../core/index.js';
import { COPY_KEYS, COPY_TABLES, isPostgresUrl, openStore, redactDbUrl, type CensusStore, type CopyTable, type RowValue } from '../store/index.js';

export interface CopyProgress {
  table: CopyTable;
  done: number;
  total: number;
}

export interface CopyOptions {
  /** Continue an interrupted copy into this target (otherwise the target must be empty). */
  resume?: boolean;
  /** Rows per page (one transaction in the target). */
  pageSize?: number;
  onProgress?: (p: CopyProgress) => void;
}

export interface CopyReport {
  tables: Array<{ table: CopyTable; rows: number; copied: number }>;
  /** SHA-256 of the export both stores produce. */
  exportSha256: string;
}

/** Rows per page: big enough to amortise a network round trip, small enough to bound memory. */
export const COPY_PAGE_ROWS = 2_000;

async function exportHash(store: CensusStore): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of store.exportCsv({})) h.update(chunk);
  return h.digest('hex');
}

/** Copies every census table from `from` to `to`, then verifies counts and export bytes (E_COPY_MISMATCH otherwise). */
export async function copyCensus(from: CensusStore, to: CensusStore, o: CopyOptions = {}): Promise<CopyReport> {
  const pageSize = o.pageSize ?? COPY_PAGE_ROWS;
  if (!Number.isInteger(pageSize) || pageSize < 1) throw new AppError('E_USAGE', `page size must be a whole number of at least 1, not ${pageSize}`);
  if (!o.resume) {
    for (const t of COPY_TABLES) {
      if ((await to.countRows(t)) > 0) throw new AppError('E_USAGE', `${to.location} already holds a census (table ${t} is not empty); pass --resume to continue an interrupted copy into it`);
    }
  }
  const report: CopyReport = { tables: [], exportSha256: '' };
  for (const table of COPY_TABLES) {
    const total = await from.countRows(table);
    let after: RowValue[] | null = o.resume ? await to.lastKey(table) : null;
    let done = after ? await to.countRows(table) : 0;
    let copied = 0;
    o.onProgress?.({ table, done, total });
    for (;;) {
      const rows = await from.readRows(table, after, pageSize);
      if (rows.length === 0) break;
      copied += await to.writeRows(table, rows);
      done += rows.length;
      const last = rows[rows.length - 1]!;
      after = COPY_KEYS[table].map((k) => last[k] ?? null);
      o.onProgress?.({ table, done: Math.min(done, total), total });
      if (rows.length < pageSize) break;
    }
    report.tables.push({ table, rows: total, copied });
  }
  const mismatched: string[] = [];
  for (const { table, rows } of report.tables) {
    const n = await to.countRows(table);
    if (n !== rows) mismatched.push(`${table}: ${rows} in the source, ${n} in the copy`);
  }
  if (mismatched.length) throw new AppError('E_COPY_MISMATCH', `the copy does not match its source (was it written to meanwhile?): ${mismatched.join('; ')}`);
  const [a, b] = await Promise.all([exportHash(from), exportHash(to)]);
  if (a !== b) throw new AppError('E_COPY_MISMATCH', 'the copy exports different CSV than its source (was it written to meanwhile?)');
  report.exportSha256 = a;
  return report;
}

/**
 * Brings the source's erasure key to the target's key file: copied (0600, atomically) when the
 * target has none, accepted when it is the same key, refused when it differs (the target's
 * erased addresses would no longer be recognised).
 */
export function copyErasureKey(fromFile: string, toFile: string): 'copied' | 'same' | 'none' {
  if (!existsSync(fromFile)) return 'none';
  const key = readFileSync(fromFile, 'utf8').trim();
  if (existsSync(toFile)) {
    if (readFileSync(toFile, 'utf8').trim() === key) return 'same';
    throw new AppError('E_CONFIG', `erasure key ${toFile} differs from the source's ${fromFile}: use the source's key file for the target (erasureKeyFile)`);
  }
  const tmp = `${toFile}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(tmp, key + '\n', { mode: 0o600, flag: 'wx' });
    linkSync(tmp, toFile);
  } catch (e) {
    throw new AppError('E_SECRET', `cannot write erasure key ${toFile}: ${(e as Error).message}`, { cause: e });
  } finally {
    rmSync(tmp, { force: true });
  }
  return 'copied';
}

/** The two databases of a copy, as the user names them, and where each keeps its erasure key. */
export interface CopyBetween extends CopyOptions {
  from: string;
  to: string;
  /** The source's erasure key file (default: `<from>.key` for SQLite; required for PostgreSQL). */
  fromKeyFile?: string;
  /** The target's erasure key file (default: `<to>.key` for SQLite, else `erasureKeyFile`). */
  toKeyFile?: string;
  /** The configured erasure key file, the default for a PostgreSQL target. */
  erasureKeyFile?: string;
}

export interface CopyBetweenReport extends CopyReport {
  from: string;
  to: string;
  toKeyFile: string;
  key: 'copied' | 'same' | 'none';
}

/** Where a census keeps its erasure key: beside a SQLite file, or the given file (required for PostgreSQL). */
function keyFileOf(db: string, given: string | undefined, configured: string | undefined, flag: string): string {
  if (given) return given;
  if (!isPostgresUrl(db)) return `${db}.key`;
  if (configured) return configured;
  throw new AppError('E_CONFIG', `${flag}: required for ${redactDbUrl(db)} (the erasure key file every process of that census uses)`);
}

/** Opens both databases (the source read-only), carries the erasure key over, copies and verifies. */
export async function copyCensusBetween(o: CopyBetween): Promise<CopyBetweenReport> {
  if (o.from === o.to) throw new AppError('E_USAGE', '--from and --to name the same database');
  const fromKey = keyFileOf(o.from, o.fromKeyFile, undefined, '--from-key-file');
  const toKey = keyFileOf(o.to, o.toKeyFile, o.erasureKeyFile, '--to-key-file');
  const from = openStore(o.from, { readonly: true });
  const to = openStore(o.to, {});
  try {
    await Promise.all([from.ready(), to.ready()]);
    const key = copyErasureKey(fromKey, toKey);
    const report = await copyCensus(from, to, o);
    return { from: from.location, to: to.location, toKeyFile: toKey, key, ...report };
  } finally {
    await Promise.all([from.close(), to.close()]);
  }
}
