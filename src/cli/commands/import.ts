import type { Command } from 'commander';
import type { GlobalOptions } from '../options.js';
import { out } from '../light.js';
import { formatCounts } from '../format.js';

export function register(program: Command, globals: () => GlobalOptions): void {
  program
    .command('import')
    .description('import mail files: mbox files, Maildir folders, folders of .eml files, or .eml files; `-` reads one message (or with --mbox an mbox) from standard input, for an MTA pipe')
    .argument('<path...>', 'files or folders, or - for standard input')
    .option('--json', 'print the counts as JSON')
    .option('--mbox', 'with -: standard input is an mbox, not one message')
    .action(async (paths: string[], opts: { json?: boolean; mbox?: boolean }) => {
      // Loaded here, not at the top: an MTA starts one process per message (see README, "Mail pushed in").
      if (paths.includes('-')) {
        if (paths.length !== 1) {
          const { AppError } = await import('../../core/index.js');
          throw new AppError('E_USAGE', 'import: - (standard input) cannot be combined with paths');
        }
        const { importStdin } = await import('../stdin-import.js');
        await importStdin(globals(), { json: opts.json, mbox: opts.mbox });
        return;
      }
      const { withApp } = await import('../context.js');
      const { importPaths } = await import('../../app/import.js');
      const { default: cliProgress } = await import('cli-progress');
      await withApp(globals(), {}, async (ctx) => {
        const bar = process.stderr.isTTY
          ? new cliProgress.SingleBar({ format: 'importing {path} | {value} messages | {rate}/s | stored {stored}', stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic)
          : null;
        const t0 = Date.now();
        bar?.start(0, 0, { path: '', rate: 0, stored: 0 });
        const counts = await importPaths(ctx, paths, (p) => {
          bar?.setTotal(p.counts.read);
          bar?.update(p.counts.read, { path: p.path, stored: p.counts.stored, rate: Math.round(p.counts.read / Math.max(0.001, (Date.now() - t0) / 1000)) });
        });
        bar?.stop();
        await out(opts.json ? JSON.stringify(counts) + '\n' : formatCounts(counts));
      });
    });
}
