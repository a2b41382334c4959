import type { Config } from '../config/index.js';
import { openStore, type CensusStore, type StoreOptions } from '../store/index.js';

export interface OpenStoreOptions {
  readonly?: boolean;
  /** Overrides config.db. */
  dbPath?: string;
  /** Store tuning (SQLite cache and mmap sizes, PostgreSQL pool). */
  store?: Omit<StoreOptions, 'readonly'>;
}

/**
 * Store tuning of the long-running HTTP server (`serve`, and the bench's server, which must match
 * it). Its lookups read uniformly scattered rows of a file that is 460 MB at 1M addresses: with the
 * default 256 MiB mapping, the rest of the file is read by a pread() into SQLite's own page cache
 * for the 4 in 10 lookups whose leaf lies past the mapping, and the mapping cut the row read from 22 to
 * 16 µs of CPU (scripts/bench/http.mjs). The bound is real: SQLite maps at most min(this, the
 * file's size), and better-sqlite3's build caps any mapping at 0x7fff0000 bytes; a larger file
 * reads its tail through the page cache as before. The mapped pages are clean, shared page-cache
 * pages (RssFile, which the kernel reclaims without swap; the pread path keeps the same pages in the
 * page cache, unaccounted to the process, plus a private copy in SQLite's cache). The processes
 * with RSS targets (export, poll, relay) keep their own settings.
 */
export const SERVER_STORE_OPTIONS: Readonly<Omit<StoreOptions, 'readonly'>> = Object.freeze({ mmapBytes: 2 * 1024 ** 3, lookupSnapshotPerTurn: true });

/**
 * The configured census's store, and nothing else: the one way the app opens it, used by openApp
 * (context.ts) and by the use cases that need no rules, parsers, CMS code or erasure key
 * (lookup, export), which then start without loading them.
 */
export function openCensusStore(config: Config, options: OpenStoreOptions = {}): CensusStore {
  return openCensusAt(options.dbPath ?? config.db, options);
}

/** openCensusStore for a database named directly (the Node library, given `db` and a policy, needs no configuration). */
export function openCensusAt(db: string, options: Omit<OpenStoreOptions, 'dbPath'> = {}): CensusStore {
  return openStore(db, { ...options.store, readonly: !!options.readonly });
}
