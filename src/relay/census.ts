/**
 * The census as the relay asks it: one recommendation per envelope recipient, from the same
 * lookup use case the HTTP API and the library use. A recipient that is not a valid address
 * (the upstream will refuse it anyway) counts as unknown.
 */
import { lookupOne, type AppContext } from '../app/index.js';
import type { CensusRecommender } from '../sign/index.js';

export function censusOf(app: AppContext): CensusRecommender {
  const policy = app.config.policy;
  return {
    async recommendMany(addresses) {
      const now = Date.now();
      return Promise.all(
        addresses.map(async (address) => {
          try {
            return { address, recommendation: (await lookupOne(app.store, policy, address, now, false)).recommendation };
          } catch {
            return { address, recommendation: 'unknown' as const };
          }
        }),
      );
    },
  };
}
