import type { Stats } from '../store/index.js';
import { recommend } from '../policy/index.js';
import type { AppContext } from './context.js';

/**
 * The census's figures as of `now`: an address whose cached decision has expired counts as
 * policy decides it now, as a lookup or an export would answer. Reads only, so a read-only
 * census and a long-running `serve` are as current as a refreshed database.
 */
export function censusStats(app: Pick<AppContext, 'store' | 'config'>, now = Date.now()): Promise<Stats> {
  return app.store.stats({ now, decide: (s) => recommend(s, now, app.config.policy) });
}
