import type { Command } from 'commander';
import type { GlobalOptions } from '../options.js';
import { lookupOne } from '../../app/index.js';
import { openStore } from '../../store/index.js';
import { assertDatabaseExists, configFrom, out } from '../context.js';
import { formatLookups } from '../format.js';

export function register(program: Command, globals: () => GlobalOptions): void {
  program
    .command('lookup')
    .description('the recommendation (sign / do-not-sign / unknown) for addresses')
    .argument('<address...>', 'e-mail addresses (case-insensitive)')
    .option('--json', 'print a JSON array of {address, recommendation, reason, lastSeen, clients}')
    .action(async (addresses: string[], opts: { json?: boolean }) => {
      const config = configFrom(globals());
      // Lookups never write (read-only beside a running poller), and answer no "unknown for
      // everyone" from a wrong --db.
      assertDatabaseExists(config.db);
      const store = openStore(config.db, { readonly: true });
      try {
        const results = await Promise.all(addresses.map((a) => lookupOne(store, config.policy, a)));
        await out(opts.json ? JSON.stringify(results, null, 2) + '\n' : formatLookups(results));
      } finally {
        await store.close();
      }
    });
}
