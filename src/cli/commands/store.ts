/**
 * `smime-census store copy --from <db> --to <db>`: moves a census between stores (SQLite to
 * PostgreSQL, or any pair), resumable, with a progress bar on a terminal, verified at the end.
 * A thin adapter over app/copy.ts (which opens both stores). Exit codes: 0 copied and verified; 2 the target is not
 * empty without --resume; 3 erasure key problem; 5 a database failed (run again with --resume);
 * 9 the copy does not match its source.
 */
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { copyCensusBetween, createLogger, type CopyProgress } from '../../app/index.js';
import type { GlobalOptions } from '../options.js';
import { configFrom, out } from '../context.js';

interface CopyFlags {
  from: string;
  to: string;
  fromKeyFile?: string;
  toKeyFile?: string;
  resume?: boolean;
  progress?: boolean;
  json?: boolean;
}

export function register(program: Command, globals: () => GlobalOptions): void {
  const store = program.command('store').description('manage the census database itself');
  store
    .command('copy')
    .description('copy a census into another database (e.g. ./census.db to postgres://…): resumable, verified by counts and export')
    .requiredOption('--from <db>', 'source census: a SQLite file or postgres:// URL (password from CENSUS_DB_PASSWORD_FILE)')
    .requiredOption('--to <db>', 'target census (created and migrated as needed; must be empty unless --resume)')
    .option('--from-key-file <file>', "the source's erasure key (default: <from>.key for SQLite)")
    .option('--to-key-file <file>', "the target's erasure key file (default: <to>.key for SQLite, erasureKeyFile of the config for PostgreSQL)")
    .option('--resume', 'continue an interrupted copy into the same target')
    .option('--no-progress', 'no progress bar even on a terminal')
    .option('--json', 'print the report as JSON')
    .action(async (flags: CopyFlags) => {
      const config = configFrom(globals());
      const logger = createLogger(config.logLevel).child({ component: 'store-copy' });
      const tty = flags.progress !== false && !!process.stderr.isTTY;
      const bar = tty ? new cliProgress.SingleBar({ format: '{table} |{bar}| {value}/{total} rows', hideCursor: true, stream: process.stderr }, cliProgress.Presets.shades_classic) : null;
      let current = '';
      const onProgress = (p: CopyProgress): void => {
        if (bar) {
          if (p.table !== current) {
            if (current) bar.stop();
            bar.start(p.total, p.done, { table: p.table.padEnd(16) });
          } else bar.update(p.done);
        } else if (p.table !== current || p.done === p.total) logger.info({ table: p.table, done: p.done, total: p.total }, 'copying');
        current = p.table;
      };
      try {
        const report = await copyCensusBetween({ from: flags.from, to: flags.to, fromKeyFile: flags.fromKeyFile, toKeyFile: flags.toKeyFile, erasureKeyFile: config.erasureKeyFile, resume: !!flags.resume, onProgress });
        bar?.stop();
        if (report.key === 'copied') logger.info({ keyFile: report.toKeyFile }, 'erasure key copied to the target');
        if (flags.json) {
          const { from, to, tables, exportSha256 } = report;
          return out(JSON.stringify({ from, to, tables, exportSha256, verified: true }, null, 2) + '\n');
        }
        const lines = ['table\trows\tcopied now'];
        for (const t of report.tables) lines.push(`${t.table}\t${t.rows}\t${t.copied}`);
        lines.push(`verified: row counts equal, export identical (sha256 ${report.exportSha256})`);
        return out(lines.join('\n') + '\n');
      } finally {
        bar?.stop();
      }
    });
}
