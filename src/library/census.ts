/**
 * The in-process census for senders on the same host: reads the census database read-only
 * (SQLite's WAL lets a running poller or import write beside it; a PostgreSQL census is shared
 * anyway) and answers from the cached decision, re-deciding in memory when it has expired.
 * Never writes. The synchronous variants need the embedded SQLite store.
 */
import { AppError } from '../core/index.js';
import { loadConfig } from '../config/index.js';
import { lookupMany, lookupManySync, lookupOne, lookupOneSync, openCensusAt, type LookupResult } from '../app/index.js';
import type { PolicyOptions } from '../policy/index.js';
import type { EmbeddedLookups } from '../store/index.js';
import type { CensusRecommender, RecommendOptions } from './types.js';

export interface OpenCensusOptions {
  /** SQLite database file (or postgres:// URL) written by `smime-census import`/`poll`/`serve`. Default: config `db` (CENSUS_DB, CENSUS_CONFIG). */
  db?: string;
  /** Policy to decide expired cached decisions with; default: the configuration's (strict, 180 days). */
  policy?: Partial<PolicyOptions>;
  /** Configuration file to take `db` and `policy` from (default CENSUS_CONFIG). */
  configFile?: string;
}

/** The in-process census: the async CensusRecommender plus synchronous variants for hot loops. */
export interface Census extends CensusRecommender {
  /** Synchronous recommend (no promise allocated; SQLite only). Throws AppError E_ADDRESS for an invalid address. */
  recommendSync(address: string, options?: RecommendOptions): LookupResult;
  /** Synchronous recommendMany: results in input order, all read from one snapshot of the database (SQLite only). */
  recommendManySync(addresses: readonly string[], options?: RecommendOptions): LookupResult[];
  /** Closes the database handle. */
  close(): void;
}

/**
 * Opens the census database read-only. Throws AppError E_DB when it does not exist or is not
 * a smime-census database, E_CONFIG for a bad configuration.
 */
export function openCensus(options: OpenCensusOptions = {}): Census {
  const config = options.db !== undefined && options.policy?.mode !== undefined && options.policy.windowDays !== undefined ? null : loadConfig({ configFile: options.configFile });
  const db = options.db ?? config!.db;
  const policy: PolicyOptions = { mode: options.policy?.mode ?? config!.policy.mode, windowDays: options.policy?.windowDays ?? config!.policy.windowDays };
  const store = openCensusAt(db, { readonly: true });
  const embedded = (): EmbeddedLookups => {
    if (!store.embedded) throw new AppError('E_CONFIG', `db: ${store.location} is a network database: use recommend()/recommendMany() (async), not the Sync variants`);
    return store.embedded;
  };
  return {
    recommendSync: (address, o) => lookupOneSync(embedded(), policy, address, Date.now(), o?.clients === true),
    recommendManySync: (addresses, o) => lookupManySync(embedded(), policy, addresses, Date.now(), o?.clients === true),
    recommend: (address, o) => lookupOne(store, policy, address, Date.now(), o?.clients === true),
    recommendMany: (addresses, o) => lookupMany(store, policy, addresses, Date.now(), o?.clients === true),
    close: () => void store.close(),
  };
}
