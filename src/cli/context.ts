import { openApp, createLogger, type AppContext } from '../app/index.js';
import type { GlobalOptions } from './options.js';
import { configFrom } from './light.js';

export { configFrom, out } from './light.js';

/** Opens the app for one command and always closes it. */
export async function withApp<T>(g: GlobalOptions, opts: { readonly?: boolean }, fn: (ctx: AppContext) => Promise<T> | T): Promise<T> {
  const config = configFrom(g);
  const ctx = openApp({ config, logger: createLogger(config.logLevel), readonly: opts.readonly });
  try {
    return await fn(ctx);
  } finally {
    ctx.close();
  }
}
