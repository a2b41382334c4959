/**
 * `smime-census config check`: prints the effective configuration (secrets are never read
 * into it: accounts name an environment variable or file) and tests each IMAP login and folder.
 */
import type { Command } from 'commander';
import { AppError, isAppError } from '../../core/index.js';
import { redactAccount, accountName, type Config } from '../../config/index.js';
import { configFrom } from '../light.js';
import { createLogger } from '../../app/logger.js';
import { ImapSession, toImapError } from '../../source/imap/index.js';
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
      for (const account of cfg.accounts) {
        const name = accountName(account);
        const log = logger.child({ component: 'imap', account: name });
        try {
          const session = await ImapSession.open({ account, poll: cfg.poll, logger: log });
          process.stdout.write(`ok    ${name}: login as ${account.user} (${session.secure ? 'TLS' : 'NO TLS'})\n`);
          try {
            for (const folder of account.folders) {
              try {
                const info = await session.examine(folder);
                process.stdout.write(`ok    ${name} folder "${folder}": ${info.exists} messages, UIDVALIDITY ${info.uidValidity}\n`);
              } catch (e) {
                const err = toImapError(e, account, folder);
                if (err.code !== 'E_IMAP_FOLDER') throw err;
                failures.push(err);
                process.stdout.write(`FAIL  ${err.message} [${err.code}]\n`);
              }
            }
          } finally {
            await session.close();
          }
        } catch (e) {
          const err = isAppError(e) ? e : toImapError(e, account);
          failures.push(err);
          process.stdout.write(`FAIL  ${err.message} [${err.code}]\n`);
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
