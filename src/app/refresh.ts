import type { CensusStore } from '../store/index.js';
import { recommend, type PolicyOptions } from '../policy/index.js';

/**
 * Re-decides addresses whose cached decision has expired and stores the new decision. Nothing
 * in the census needs it to answer correctly (lookups re-decide on each read, exports and
 * statistics in their stream); it makes the stored column current for readers of the raw
 * database, such as the export benchmark's `sqlite3` shell and the tests' reference.
 */
export function refreshStale(store: CensusStore, policy: PolicyOptions, now = Date.now()): Promise<number> {
  return store.refreshStale((s) => recommend(s, now, policy), now);
}
