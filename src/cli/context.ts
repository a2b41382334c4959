import { loadConfig, type Config } from '../config/index.js';
import { openApp, createLogger, type AppContext } from '../app/index.js';
import type { GlobalOptions } from './main.js';

/** Loads the configuration from --config/env/flags (E_CONFIG names the bad key). */
export function configFrom(g: GlobalOptions): Config {
  return loadConfig({ configFile: g.config, flags: { db: g.db, logLevel: g.logLevel } });
}

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

/** Writes to stdout, awaiting drain (large outputs to a pipe). */
export function out(text: string): Promise<void> {
  return new Promise((resolve) => {
    if (process.stdout.write(text)) resolve();
    else process.stdout.once('drain', () => resolve());
  });
}
