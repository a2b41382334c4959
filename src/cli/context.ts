import { openApp, createLogger, type AppContext } from '../app/index.js';
import type { GlobalOptions } from './options.js';
import { configFrom } from './light.js';

export { configFrom, out } from './light.js';

/** Opens the app for one command and always closes it. */
export async function withApp<T>(g: GlobalOptions, opts: { readonly?: boolean }, fn: (ctx: AppContext) => Promise<T> | T): Promise<T> {
  const config = configFrom(g);
  const ctx = openApp({ config, logger: createLogger(config.logLevel), readonly: opts.readonly });
  try {
    // A PostgreSQL store connects and migrates here: an unreachable database fails at once.
    await ctx.store.ready();
    return await fn(ctx);
  } finally {
    await ctx.close();
  }
}
