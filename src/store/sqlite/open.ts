import Database from 'better-sqlite3';
import { mkdirSync, existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppError } from '../../core/index.js';

export type SqliteDb = Database.Database;

export interface OpenOptions {
  /** Open read-only (the Node library beside a running poller): no migrations, no writes. */
  readonly?: boolean;
  /** Memory-mapped I/O in bytes (0 = off). */
  mmapBytes?: number;
  /** Page cache in KiB. */
  cacheKiB?: number;
}

/**
 * better-sqlite3's addon, handed to it (`nativeBinding`) instead of left to its loader, the
 * `bindings` package, which works out the package folder from a stack trace, then tries
 * `require` on build/, build/Debug/ and build/Release/ in that order, each miss throwing and
 * catching a MODULE_NOT_FOUND (~5 ms of a one-message `import -`). The common case costs two
 * stat calls here — neither of the two earlier candidates exists and the Release build does —
 * and loads the same file; anything else (a Debug build, another layout) asks `bindings` itself,
 * from better-sqlite3's folder, as better-sqlite3 would. Always given: the `import -` script
 * holds an inlined copy of better-sqlite3's JavaScript (scripts/bundle-cli.mjs), whose own
 * `bindings` call would search from the script's folder.
 */
let addon: string | undefined;
function nativeBinding(): string {
  if (addon === undefined) {
    const pkg = createRequire(import.meta.url).resolve('better-sqlite3/package.json');
    const build = join(dirname(pkg), 'build');
    const release = join(build, 'Release', 'better_sqlite3.node');
    if (!existsSync(join(build, 'better_sqlite3.node')) && !existsSync(join(build, 'Debug', 'better_sqlite3.node')) && existsSync(release)) addon = release;
    else addon = (createRequire(pkg)('bindings') as (o: { bindings: string; module_root: string; path: true }) => string)({ bindings: 'better_sqlite3.node', module_root: dirname(pkg), path: true });
  }
  return addon;
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
export function openDatabase(path: string, options: OpenOptions = {}): { sqlite: SqliteDb } {
  let sqlite: SqliteDb;
  try {
    if (options.readonly) {
      if (!existsSync(path)) throw new Error('no such file');
      sqlite = new Database(path, { readonly: true, fileMustExist: true, nativeBinding: nativeBinding() });
    } else {
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
      sqlite = new Database(path, { nativeBinding: nativeBinding() });
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
      // An ingest batch (2,000 messages) dirties ~700 pages, so at the default of 1,000 pages
      // nearly every commit also ran a checkpoint, copying into the file the index pages the
      // next batch dirties again, and fsynced the file. At 10,000 pages (~40 MiB of WAL) one
      // checkpoint serves about ten batches: in same-process pairs the store's CPU fell 3% and its
      // wall time 12% (issue 14). Erasure still truncates the WAL at once.
      sqlite.pragma('wal_autocheckpoint = 10000');
    }
    sqlite.pragma(`mmap_size = ${options.mmapBytes ?? 268_435_456}`);
    sqlite.pragma(`cache_size = -${options.cacheKiB ?? 65_536}`);
    sqlite.pragma('foreign_keys = ON');
    if (!options.readonly) {
      if (migrationsPending(sqlite)) migrateGuarded(sqlite);
    } else {
      const ok = sqlite.prepare("SELECT 1 FROM sqlite_master WHERE type='table' AND name='addresses'").get();
      if (!ok) throw new Error('not a smime-census database (no addresses table)');
      // Lookups read the client list from the address row (migration 0004); a file that an older
      // version wrote, and no writer has opened since, still keeps it in a table of its own.
      const current = sqlite.prepare("SELECT 1 FROM pragma_table_info('addresses') WHERE name = 'clients'").get();
      if (!current) throw new AppError('E_DB', `database ${path} was written by an older smime-census: open it once for writing (any import, poll or serve) to migrate it`);
    }
    return { sqlite };
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
function migrateGuarded(sqlite: SqliteDb): void {
  const { drizzle, migrate } = loadMigrator();
  const orm = drizzle(sqlite);
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

/**
 * Whether drizzle's migrator would apply anything: it applies each journal entry newer than
 * the last applied migration's `created_at` (its folder time), so with none newer it would
 * only read the journal, hash every migration file and find nothing to do. Checking that
 * here lets an up-to-date census open without loading drizzle at all (~150 files, most of the
 * start-up of a one-message `import -`). A missing or unreadable journal counts as pending:
 * the migrator then reports the problem.
 */
function migrationsPending(sqlite: SqliteDb): boolean {
  let newest = -Infinity;
  try {
    const journal = JSON.parse(readFileSync(join(MIGRATIONS_DIR, 'meta', '_journal.json'), 'utf8')) as { entries?: Array<{ when?: unknown }> };
    for (const e of journal.entries ?? []) newest = Math.max(newest, Number(e.when));
  } catch {
    return true;
  }
  if (!Number.isFinite(newest)) return true;
  const table = sqlite.prepare("SELECT 1 FROM sqlite_master WHERE type='table' AND name='__drizzle_migrations'").get();
  if (!table) return true;
  const last = sqlite.prepare('SELECT created_at FROM __drizzle_migrations ORDER BY created_at DESC LIMIT 1').get() as { created_at: unknown } | undefined;
  return !last || !(Number(last.created_at) >= newest);
}

type Migrator = { drizzle: typeof import('drizzle-orm/better-sqlite3').drizzle; migrate: typeof import('drizzle-orm/better-sqlite3/migrator').migrate };

/**
 * drizzle's migrator, loaded on first need through its CommonJS build: opening is synchronous
 * (the Node library's sync API), and an ESM import cannot be. Only the migrator is used from it
 * (no schema objects cross), so the second copy of drizzle that a process holding the ESM one
 * would get is harmless.
 */
function loadMigrator(): Migrator {
  const require = createRequire(import.meta.url);
  return {
    drizzle: (require('drizzle-orm/better-sqlite3') as typeof import('drizzle-orm/better-sqlite3')).drizzle,
    migrate: (require('drizzle-orm/better-sqlite3/migrator') as typeof import('drizzle-orm/better-sqlite3/migrator')).migrate,
  };
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
