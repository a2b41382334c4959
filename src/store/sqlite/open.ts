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
 * drizzle's migrator transaction; two processes migrating the same file at the same moment are
 * not yet guarded beyond that (a deferred BEGIN can fail with SQLITE_BUSY): see issue #10.
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
    if (!options.readonly) migrate(orm, { migrationsFolder: MIGRATIONS_DIR });
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
