/**
 * The light half of the CLI context: config loading and output, without the use cases, so a
 * command that only reads the store (export) starts without loading rules, parsers and CMS.
 */
import { loadConfig, type Config } from '../config/index.js';
import type { GlobalOptions } from './main.js';

/** Loads the configuration from --config/env/flags (E_CONFIG names the bad key). */
export function configFrom(g: GlobalOptions): Config {
  return loadConfig({ configFile: g.config, flags: { db: g.db, logLevel: g.logLevel } });
}

/** Writes to stdout, awaiting drain (large outputs to a pipe). */
export function out(text: string): Promise<void> {
  return new Promise((resolve) => {
    if (process.stdout.write(text)) resolve();
    else process.stdout.once('drain', () => resolve());
  });
}
