/**
 * The in-process census for senders on the same host: reads the SQLite database read-only
 * (WAL lets a running poller or import write beside it) and answers from the cached decision,
 * re-deciding in memory when it has expired. Never writes.
 */
import { loadConfig } from '../config/index.js';
import { lookupOne, type LookupResult } from '../app/index.js';
import type { PolicyOptions } from '../policy/index.js';
import { Store } from '../store/index.js';
import type { CensusRecommender, RecommendOptions } from './types.js';

export interface OpenCensusOptions {
  /** SQLite database file written by `smime-census import`/`poll`/`serve`. Default: config `db` (CENSUS_DB, CENSUS_CONFIG). */
  db?: string;
  /** Policy to decide expired cached decisions with; default: the configuration's (strict, 180 days). */
  policy?: Partial<PolicyOptions>;
  /** Configuration file to take `db` and `policy` from (default CENSUS_CONFIG). */
  configFile?: string;
}

/** The in-process census: the async CensusRecommender plus synchronous variants for hot loops. */
export interface Census extends CensusRecommender {
  /** Synchronous recommend (no promise allocated). Throws AppError E_ADDRESS for an invalid address. */
  recommendSync(address: string, options?: RecommendOptions): LookupResult;
  /** Synchronous recommendMany: results in input order, all read from one snapshot of the database. */
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
  const store = new Store(db, { readonly: true });

  const one = (address: string, o?: RecommendOptions): LookupResult => lookupOne(store, policy, address, Date.now(), o?.clients === true);
  // One deferred read transaction per batch: a consistent snapshot while a poller commits, and
  // one lock acquisition instead of one per address.
  const many = store.sqlite.transaction((addresses: readonly string[], o?: RecommendOptions): LookupResult[] => {
    const now = Date.now();
    const withClients = o?.clients === true;
    const out: LookupResult[] = new Array(addresses.length);
    for (let i = 0; i < addresses.length; i++) out[i] = lookupOne(store, policy, addresses[i]!, now, withClients);
    return out;
  });
  return {
    recommendSync: one,
    recommendManySync: many,
    recommend: async (address, o) => one(address, o),
    recommendMany: async (addresses, o) => many(addresses, o),
    close: () => store.close(),
  };
}
