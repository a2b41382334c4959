import type { Command } from 'commander';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { GlobalOptions } from '../options.js';
import { openApp, importPaths, lookupOne, createLogger } from '../../app/index.js';
import { loadConfig } from '../../config/index.js';
import { formatCounts, formatLookups } from '../format.js';
import { out } from '../context.js';

/** The sample mailbox shipped with the package (synthetic messages, real client fingerprints). */
const SAMPLE = fileURLToPath(new URL('../../../scripts/demo/sample.mbox', import.meta.url));

export function register(program: Command, globals: () => GlobalOptions): void {
  program
    .command('demo')
    .description('import the sample mailbox into a fresh demo database and print the recommendation table')
    .option('--db <path>', 'demo database (replaced)', './data/demo.db')
    .action(async (opts: { db: string }) => {
      const g = globals();
      for (const suffix of ['', '-wal', '-shm']) rmSync(opts.db + suffix, { force: true });
      const config = loadConfig({ configFile: g.config, flags: { db: opts.db, logLevel: g.logLevel ?? 'warn' }, env: { ...process.env, CENSUS_OWN_DOMAINS: process.env.CENSUS_OWN_DOMAINS ?? 'our-company.example' } });
      const ctx = openApp({ config, logger: createLogger(config.logLevel) });
      try {
        await out(`Importing ${SAMPLE}\n`);
        const counts = await importPaths(ctx, [SAMPLE]);
        await out(formatCounts(counts) + '\n');
        const addresses = await ctx.store.addressPage('', 10_000);
        await out(formatLookups(await Promise.all(addresses.map((a) => lookupOne(ctx.store, config.policy, a)))));
        await out(`\nDatabase: ${opts.db}. Try: smime-census --db ${opts.db} lookup --json alice@customer-a.example\n`);
      } finally {
        await ctx.close();
      }
    });
}
