import type { Command } from 'commander';
import type { GlobalOptions } from '../options.js';
import { recompute } from '../../app/index.js';
import { withApp, out } from '../context.js';

export function register(program: Command, globals: () => GlobalOptions): void {
  program
    .command('recompute')
    .description('re-run the current rules over all stored fingerprints and rebuild every recommendation (no mail is read)')
    .action(async () => {
      await withApp(globals(), { existing: true }, async (ctx) => {
        const r = await recompute(ctx);
        await out(`observations ${r.observations}\nchanged      ${r.changed}\naddresses    ${r.addresses}\n`);
      });
    });
}
