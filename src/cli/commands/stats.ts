import type { Command } from 'commander';
import type { GlobalOptions } from '../options.js';
import { censusStats } from '../../app/index.js';
import { withApp, out } from '../context.js';

export function register(program: Command, globals: () => GlobalOptions): void {
  program
    .command('stats')
    .description('counts by recommendation and by client family')
    .option('--json', 'print JSON (the same object as GET /v1/stats)')
    .action(async (opts: { json?: boolean }) => {
      await withApp(globals(), { existing: true }, async (ctx) => {
        const s = await censusStats(ctx);
        if (opts.json) return out(JSON.stringify(s, null, 2) + '\n');
        const pct = (n: number): string => (s.addresses ? ((100 * n) / s.addresses).toFixed(1) + '%' : '-');
        const lines = [`addresses   ${s.addresses}`, `messages    ${s.messages}`, '', 'recommendation'];
        for (const [k, v] of Object.entries(s.byRecommendation)) lines.push(`  ${k.padEnd(14)}${String(v).padStart(8)}  ${pct(v)}`);
        lines.push('', 'family (latest client per address)');
        for (const f of s.byFamily) lines.push(`  ${(f.family ?? '(none)').padEnd(28)}${String(f.addresses).padStart(8)}  sign ${f.sign}`);
        return out(lines.join('\n') + '\n');
      });
    });
}
