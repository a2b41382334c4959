import type { Command } from 'commander';
import type { GlobalOptions } from '../options.js';
import { lookupInCensus } from '../../app/lookup.js';
import { assertDatabaseExists, configFrom, out } from '../light.js';
import { formatLookups } from '../format.js';

export function register(program: Command, globals: () => GlobalOptions): void {
  program
    .command('lookup')
    .description('the recommendation (sign / do-not-sign / unknown) for addresses')
    .argument('<address...>', 'e-mail addresses (case-insensitive)')
    .option('--json', 'print a JSON array of {address, recommendation, reason, lastSeen, clients}')
    .action(async (addresses: string[], opts: { json?: boolean }) => {
      const config = configFrom(globals());
      // No "unknown for everyone" from a wrong --db.
      assertDatabaseExists(config.db);
      const results = await lookupInCensus(config, addresses);
      await out(opts.json ? JSON.stringify(results, null, 2) + '\n' : formatLookups(results));
    });
}
