import type { CensusStore } from '../store/index.js';
import { recommend, type PolicyOptions } from '../policy/index.js';

/**
 * Re-decides addresses whose cached decision has expired and stores the new decision, so that
 * statistics (which count the cached column in SQL) are current. Exports re-decide in their
 * stream instead (app/export.ts) and lookups on each read: neither needs it.
 */
export function refreshStale(store: CensusStore, policy: PolicyOptions, now = Date.now()): Promise<number> {
  return store.refreshStale((s) => recommend(s, now, policy), now);
}
