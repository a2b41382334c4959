import { openApp, createLogger, type AppContext } from '../app/index.js';
import type { GlobalOptions } from './options.js';
import { assertDatabaseExists, configFrom } from './light.js';

export { assertDatabaseExists, configFrom, out } from './light.js';

/** Opens the app for one command and always closes it (`existing`: see assertDatabaseExists). */
export async function withApp<T>(g: GlobalOptions, opts: { readonly?: boolean; existing?: boolean }, fn: (ctx: AppContext) => Promise<T> | T): Promise<T> {
  const config = configFrom(g);
  if (opts.existing) assertDatabaseExists(config.db);
  const ctx = openApp({ config, logger: createLogger(config.logLevel), readonly: opts.readonly });
  try {
    // A PostgreSQL store connects and migrates here: an unreachable database fails at once.
    await ctx.store.ready();
    return await fn(ctx);
  } finally {
    await ctx.close();
  }
}
