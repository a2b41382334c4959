/**
 * `smime-census config check`: prints the effective configuration (secrets are never read
 * into it: accounts name an environment variable or file) and tests each IMAP login and folder.
 */
import type { Command } from 'commander';
import { AppError } from '../../core/index.js';
import { redactAccount, type Config } from '../../config/index.js';
import { configFrom } from '../light.js';
import { createLogger } from '../../app/logger.js';
import { checkAccounts } from '../../app/check-accounts.js';
import type { GlobalOptions } from '../options.js';

/** Registers `config check`. */
export function register(program: Command, globals: () => GlobalOptions): void {
  const config = program.command('config').description('inspect the configuration');
  config
    .command('check')
    .description('print the effective configuration (secrets redacted) and test each IMAP login and folder')
    .option('--no-login', 'only validate and print; do not connect')
    .action(async (flags: { login?: boolean }) => {
      const g = globals();
      const cfg = configFrom(g);
      process.stdout.write(JSON.stringify(effective(cfg), null, 2) + '\n');
      if (flags.login === false) return;
      const logger = createLogger(g.logLevel ?? (cfg.logLevel === 'info' ? 'warn' : cfg.logLevel));
      const failures: AppError[] = [];
      for await (const r of checkAccounts(cfg, logger)) {
        if (r.kind === 'login') process.stdout.write(`ok    ${r.account}: login as ${r.user} (${r.secure ? 'TLS' : 'NO TLS'})\n`);
        else if (r.kind === 'folder') process.stdout.write(`ok    ${r.account} folder "${r.folder}": ${r.exists} messages, UIDVALIDITY ${r.uidValidity}\n`);
        else {
          failures.push(r.error);
          process.stdout.write(`FAIL  ${r.error.message} [${r.error.code}]\n`);
        }
      }
      const first = failures[0];
      if (first) throw new AppError(first.code, `config check: ${failures.length} problem(s); first: ${first.message}`);
    });
}

/** The config as printed: account secret sources are shown by name, never by value. */
function effective(cfg: Config): Record<string, unknown> {
  return { ...cfg, accounts: cfg.accounts.map(redactAccount) };
}
