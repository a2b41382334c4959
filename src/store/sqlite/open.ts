import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { mkdirSync, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppError } from '../../core/index.js';
import * as schema from './schema.js';

export type SqliteDb = Database.Database;

export interface OpenOptions {
  /** Open read-only (the Node library beside a running poller): no migrations, no writes. */
  readonly?: boolean;
  /** Memory-mapped I/O in bytes (0 = off). */
  mmapBytes?: number;
  /** Page cache in KiB. */
  cacheKiB?: number;
}

/** Migrations sit next to this module both in src/ (tests) and dist/ (copied by post-build). */
const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations', import.meta.url));

/**
 * Opens (creating when needed) the SQLite database, applies pending migrations, and sets the
 * pragmas the workload needs: WAL so readers (lookups, the library) never block the poller,
 * a busy timeout for a second writer, and mmap for fast point lookups. Migrations run in
 * drizzle's migrator transaction, guarded against several processes starting at once (see
 * migrateGuarded).
 */
export function openDatabase(path: string, options: OpenOptions = {}): { sqlite: SqliteDb; orm: ReturnType<typeof drizzle<typeof schema>> } {
  let sqlite: SqliteDb;
  try {
    if (options.readonly) {
      if (!existsSync(path)) throw new Error('no such file');
      sqlite = new Database(path, { readonly: true, fileMustExist: true });
    } else {
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
      sqlite = new Database(path);
    }
  } catch (e) {
    throw new AppError('E_DB', `cannot open database ${path}: ${(e as Error).message}`, { cause: e });
  }
  try {
    sqlite.pragma('busy_timeout = 5000');
    if (!options.readonly) {
      sqlite.pragma('journal_mode = WAL');
      // NORMAL is durable across process crashes in WAL mode (only an OS crash can lose the last commit).
      sqlite.pragma('synchronous = NORMAL');
      // Deleted and overwritten content is zeroed, not left in free space: after an erasure no
      // copy of the address survives in the file (an UPDATE frees the old cell too).
      sqlite.pragma('secure_delete = ON');
    }
    sqlite.pragma(`mmap_size = ${options.mmapBytes ?? 268_435_456}`);
    sqlite.pragma(`cache_size = -${options.cacheKiB ?? 65_536}`);
    sqlite.pragma('foreign_keys = ON');
    const orm = drizzle(sqlite, { schema });
    if (!options.readonly) migrateGuarded(orm);
    else {
      const ok = sqlite.prepare("SELECT 1 FROM sqlite_master WHERE type='table' AND name='addresses'").get();
      if (!ok) throw new Error('not a smime-census database (no addresses table)');
    }
    return { sqlite, orm };
  } catch (e) {
    sqlite.close();
    if (e instanceof AppError) throw e;
    throw new AppError('E_DB', `cannot use database ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/** How long a process waits for another one's migration before giving up. */
const MIGRATION_WAIT_MS = 60_000;

/**
 * drizzle's migrator reads the last applied migration outside its transaction, then applies
 * what is newer in a deferred one. Two processes opening a fresh file at once (several pollers
 * started together) therefore race: the loser meets SQLITE_BUSY (its read snapshot is stale,
 * or the winner holds the write lock) or "already exists" (it re-applies what the winner just
 * committed). Its transaction rolls back, so retrying re-reads the applied migrations and finds
 * nothing left to do. A migration that fails on its own still fails (after a few attempts).
 */
function migrateGuarded(orm: ReturnType<typeof drizzle<typeof schema>>): void {
  const deadline = Date.now() + MIGRATION_WAIT_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      migrate(orm, { migrationsFolder: MIGRATIONS_DIR });
      return;
    } catch (e) {
      // drizzle wraps the driver's error (DrizzleError "Failed to run the query …", cause: SqliteError).
      const driver = ((e as { cause?: unknown }).cause ?? e) as { code?: unknown; message?: unknown };
      const code = String(driver.code ?? (e as { code?: unknown }).code ?? '');
      const raced = code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED') || (attempt <= 3 && /already exists/.test(String(driver.message)));
      if (!raced || Date.now() > deadline) throw e;
      sleepSync(20 + Math.floor(Math.random() * 80));
    }
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
