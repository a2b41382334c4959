import type { Command } from 'commander';
import type { GlobalOptions } from '../options.js';
import { forget, show } from '../../app/index.js';
import { withApp, out } from '../context.js';

export function register(program: Command, globals: () => GlobalOptions): void {
  program
    .command('show')
    .description('everything stored about an address (right of access), as JSON')
    .argument('<address>')
    .action(async (address: string) => {
      await withApp(globals(), { existing: true }, async (ctx) => out(JSON.stringify(await show(ctx, address), null, 2) + '\n'));
    });
  program
    .command('forget')
    .description('erase an address (right to erasure); only a keyed hash is kept so old mail cannot bring it back')
    .argument('<address>')
    .action(async (address: string) => {
      await withApp(globals(), {}, async (ctx) => out(JSON.stringify(await forget(ctx, address)) + '\n'));
    });
}
