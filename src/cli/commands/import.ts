import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import type { GlobalOptions } from '../main.js';
import { importPaths, type IngestCounts } from '../../app/index.js';
import { withApp, out } from '../context.js';

/** Human-readable summary of ingest counts. */
export function formatCounts(c: IngestCounts): string {
  const lines = [`read        ${c.read}`, `stored      ${c.stored}`, `duplicates  ${c.duplicates}`];
  const skipped = Object.entries(c.skipped).filter(([, v]) => v);
  const total = skipped.reduce((s, [, v]) => s + (v ?? 0), 0);
  lines.push(`skipped     ${total}`);
  for (const [k, v] of skipped.sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0))) lines.push(`  ${k.padEnd(16)}${v}`);
  return lines.join('\n') + '\n';
}

export function register(program: Command, globals: () => GlobalOptions): void {
  program
    .command('import')
    .description('import mail files: mbox files, Maildir folders, folders of .eml files, or .eml files')
    .argument('<path...>', 'files or folders')
    .option('--json', 'print the counts as JSON')
    .action(async (paths: string[], opts: { json?: boolean }) => {
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
