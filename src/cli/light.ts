/**
 * The light half of the CLI context: config loading and output, without the use cases, so a
 * command that only reads the store (export) starts without loading rules, parsers and CMS.
 */
import { existsSync } from 'node:fs';
import { loadConfig, type Config, type FlagValue } from '../config/index.js';
import { AppError } from '../core/index.js';
import { isPostgresUrl, redactDbUrl } from '../core/db-url.js';
import type { GlobalOptions } from './options.js';

/**
 * Loads the configuration from --config/env/flags (E_CONFIG names the bad key). `flags`: a
 * command's own options that set config keys (`serve --port` is `http.port`), by config key.
 */
export function configFrom(g: GlobalOptions, flags: Readonly<Record<string, FlagValue>> = {}): Config {
  return loadConfig({ configFile: g.config, flags: { db: g.db, logLevel: g.logLevel, ...flags } });
}

/**
 * For commands that only read the census (lookup, stats, export, show, certs, recompute): a
 * missing SQLite file is far more often a wrong --db than an empty census, so it is an error,
 * and opening it must not create the file (or its folders) as a side effect.
 */
export function assertDatabaseExists(db: string): void {
  if (isPostgresUrl(db) || db === ':memory:') return;
  if (!existsSync(db)) throw new AppError('E_DB', `no database at ${redactDbUrl(db)} (import mail or start the poller first, or pass --db)`);
}

/** Writes to stdout, awaiting drain (large outputs to a pipe). */
export function out(text: string): Promise<void> {
  return new Promise((resolve) => {
    if (process.stdout.write(text)) resolve();
    else process.stdout.once('drain', () => resolve());
  });
}

// C0 and C1 controls (ESC starts CSI/OSC sequences; C1 CSI is 0x9b), DEL, and the bidi
// overrides and isolates that reorder what a terminal shows.
const UNPRINTABLE = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * A customer-controlled string fit for a terminal: controls become U+FFFD, so headers cannot
 * move the cursor, clear the screen, set the title (OSC) or hide text in human output.
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, '\ufffd');
}
