import type { CensusStore } from '../store/index.js';
import { recommend, type PolicyOptions } from '../policy/index.js';

/**
 * Re-decides addresses whose cached decision has expired and stores the new decision, so that
 * exports and statistics (which read the cached column in SQL) are current. Its own module so
 * that `export` loads the policy and the store only, not the parsers behind lookups.
 */
export function refreshStale(store: CensusStore, policy: PolicyOptions, now = Date.now()): Promise<number> {
  return store.refreshStale((s) => recommend(s, now, policy), now);
}
