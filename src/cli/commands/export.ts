import type { Command } from 'commander';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { AppError } from '../../core/index.js';
import type { Recommendation } from '../../core/index.js';
import type { GlobalOptions } from '../options.js';
import { writeCsv } from '../../app/export.js';
import { openStore } from '../../store/index.js';
import { assertDatabaseExists, configFrom } from '../light.js';

/** Parses --since: an ISO date or date-time. */
export function parseSince(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const t = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(v) ? v + 'T00:00:00Z' : v);
  if (!Number.isFinite(t)) throw new AppError('E_USAGE', `--since: not a date: ${v} (use YYYY-MM-DD)`);
  return t;
}

const RECOMMENDATIONS = ['sign', 'do-not-sign', 'unknown'];

export function register(program: Command, globals: () => GlobalOptions): void {
  program
    .command('export')
    .description('CSV of addresses and their recommendation (RFC 4180; formula cells neutralised)')
    .option('--recommendation <r>', 'only sign, do-not-sign or unknown')
    .option('--family <id>', "only addresses whose latest mail program is of this family")
    .option('--since <date>', 'only addresses seen on or after this date (YYYY-MM-DD)')
    .option('--out <file>', 'write to a file instead of stdout')
    .action(async (opts: { recommendation?: string; family?: string; since?: string; out?: string }) => {
      if (opts.recommendation !== undefined && !RECOMMENDATIONS.includes(opts.recommendation)) {
        throw new AppError('E_USAGE', `--recommendation must be one of ${RECOMMENDATIONS.join(', ')}`);
      }
      const filter = { recommendation: opts.recommendation as Recommendation | undefined, family: opts.family, since: parseSince(opts.since) };
      // Only the store: an export needs no rules, parsers or CMS code (faster start, less memory).
      const config = configFrom(globals());
      assertDatabaseExists(config.db);
      const store = openStore(config.db);
      try {
        await store.ready();
        const stream = opts.out ? createWriteStream(opts.out) : process.stdout;
        if (opts.out) await once(stream, 'open').catch((e: Error) => { throw new AppError('E_INPUT', `cannot write ${opts.out}: ${e.message}`); });
        await writeCsv(stream, store, config.policy, filter);
        if (opts.out) {
          (stream as ReturnType<typeof createWriteStream>).end();
          await once(stream, 'finish');
        }
      } finally {
        await store.close();
      }
    });
}
