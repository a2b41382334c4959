import type { AddressState } from '../policy/index.js';
import type { StaleDecisions, Stats } from './contract.js';

/**
 * Moves each address whose cached decision has expired from the count of its cached
 * recommendation to the count of the decision policy gives it now, in place. Both dialects
 * count the cached column in SQL and pass their expired rows here, so a read-only census and
 * a long-running `serve` give the figures a refreshed database would, without writing.
 */
export function restate(stats: Stats, expired: Iterable<AddressState>, stale: StaleDecisions): void {
  const byFamily = new Map(stats.byFamily.map((f) => [f.family, f]));
  for (const s of expired) {
    const now = stale.decide(s).recommendation;
    if (now === s.recommendation) continue;
    stats.byRecommendation[s.recommendation]--;
    stats.byRecommendation[now]++;
    const f = byFamily.get(s.family);
    if (f === undefined) continue;
    if (s.recommendation === 'sign') f.sign--;
    if (now === 'sign') f.sign++;
  }
}
