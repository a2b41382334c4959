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
