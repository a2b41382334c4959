import type { Command } from 'commander';
import type { GlobalOptions } from '../main.js';
import { lookupOne, type LookupResult } from '../../app/index.js';
import { isPostgresUrl, openStore } from '../../store/index.js';
import { configFrom, out } from '../context.js';
import { printable } from '../light.js';
import { existsSync } from 'node:fs';
import { AppError } from '../../core/index.js';

/** A fixed-width table of lookup results. */
export function formatLookups(rs: readonly LookupResult[]): string {
  const rows = [['ADDRESS', 'RECOMMENDATION', 'CLIENT', 'S/MIME', 'LAST SEEN', 'REASON']];
  for (const r of rs) {
    const c = r.clients[0];
    rows.push([r.address, r.recommendation + (r.keyChanged ? ' (key changed!)' : ''), c ? [c.product ?? c.family ?? '?', c.version].filter(Boolean).join(' ') : '-', c?.smime ?? '-', r.lastSeen?.slice(0, 10) ?? '-', r.reason]);
  }
  for (const r of rows) for (let i = 0; i < r.length; i++) r[i] = printable(r[i]!);
  const w = rows[0]!.map((_, i) => Math.min(40, Math.max(...rows.map((r) => (r[i] ?? '').length))));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]!))).join('  ')).join('\n') + '\n';
}

export function register(program: Command, globals: () => GlobalOptions): void {
  program
    .command('lookup')
    .description('the recommendation (sign / do-not-sign / unknown) for addresses')
    .argument('<address...>', 'e-mail addresses (case-insensitive)')
    .option('--json', 'print a JSON array of {address, recommendation, reason, lastSeen, clients}')
    .action(async (addresses: string[], opts: { json?: boolean }) => {
      const config = configFrom(globals());
      // Lookups never write (read-only beside a running poller). A missing file is far more often
      // a wrong --db than an empty census, so it is an error rather than "unknown" for everyone.
      if (!isPostgresUrl(config.db) && !existsSync(config.db)) throw new AppError('E_DB', `no database at ${config.db} (import mail or start the poller first, or pass --db)`);
      const store = openStore(config.db, { readonly: true });
      try {
        const results = await Promise.all(addresses.map((a) => lookupOne(store, config.policy, a)));
        await out(opts.json ? JSON.stringify(results, null, 2) + '\n' : formatLookups(results));
      } finally {
        await store.close();
      }
    });
}
