/**
 * `smime-census classify`: JSON lines in ({"headers": {...}} or {"raw": "<header block>"}),
 * exactly one JSON line out per input line, in order: the verdict or {"error": "..."}
 * (app/classify-lines.ts).
 */
import type { Command } from 'commander';
import type { GlobalOptions } from '../options.js';
import { ruleDirs } from '../rule-dirs.js';
import { classifyLines } from '../../app/classify-lines.js';

export function register(program: Command, globals: () => GlobalOptions): void {
  program
    .command('classify')
    .description('classify header sets: JSON lines on stdin ({"headers": {...}} or {"raw": "..."}), one verdict JSON line out per line')
    .option('--rules <dir...>', 'extra rules folders (override shipped rules with the same id)')
    .action(async (opts: { rules?: string[] }) => {
      await classifyLines(ruleDirs(globals(), opts.rules), process.stdin, process.stdout);
    });
}
