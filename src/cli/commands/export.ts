import type { Command } from 'commander';
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { AppError } from '../../core/index.js';
import type { Recommendation } from '../../core/index.js';
import type { GlobalOptions } from '../options.js';
import { exportCensus, parseSince } from '../../app/export.js';
import { assertDatabaseExists, configFrom } from '../light.js';

const RECOMMENDATIONS = ['sign', 'do-not-sign', 'unknown'];

/**
 * Bytes the output file may buffer before the export waits for it: a few of the store's pages
 * (~660 KB each at 4,000 rows), so the next page is built while the last is written. With the
 * 16 KiB default every page waited for its own write.
 */
const OUT_BUFFER_BYTES = 4 * 1024 * 1024;

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
      const filter = { recommendation: opts.recommendation as Recommendation | undefined, family: opts.family, since: parseSince(opts.since, '--since') };
      const config = configFrom(globals());
      assertDatabaseExists(config.db);
      let file: WriteStream | undefined;
      await exportCensus(config, filter, async () => {
        if (!opts.out) return process.stdout;
        file = createWriteStream(opts.out, { highWaterMark: OUT_BUFFER_BYTES });
        await once(file, 'open').catch((e: Error) => { throw new AppError('E_INPUT', `cannot write ${opts.out}: ${e.message}`); });
        return file;
      });
      if (file) {
        file.end();
        await once(file, 'finish');
      }
    });
}
