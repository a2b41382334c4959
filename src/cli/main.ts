#!/usr/bin/env node
/**
 * CLI entry point: a thin adapter over app/. The only module that calls process.exit.
 * Each command lives in commands/<name>.ts and exports `register(program, globals)`.
 */
import { Command, CommanderError } from 'commander';
import { AppError, isAppError } from '../core/index.js';
import { EXIT_CODES, EX_TEMPFAIL } from './exit-codes.js';
import { commandName, loadCommands } from './commands/index.js';
import { VERSION } from './version.js';
import type { GlobalOptions } from './options.js';

async function main(argv: string[]): Promise<number> {
  const program = new Command();
  program
    .name('smime-census')
    .description('Learn which mail program each customer uses from the headers of their mail, and recommend whether to S/MIME-sign mail to them.')
    .version(VERSION)
    .option('--db <path|url>', 'SQLite database file, or a postgres:// URL (password from CENSUS_DB_PASSWORD_FILE; TLS with ?sslmode=require or verify-full) (env CENSUS_DB, default ./data/census.db)')
    .option('--config <file>', 'configuration file (YAML or JSON; env CENSUS_CONFIG)')
    .option('--log-level <level>', 'log level: fatal, error, warn, info, debug, trace (env CENSUS_LOG_LEVEL)')
    .showHelpAfterError()
    .exitOverride();
  const globals = (): GlobalOptions => program.opts<GlobalOptions>();
  for (const register of await loadCommands(argv.slice(2))) register(program, globals);
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    return report(e);
  }
}

function report(e: unknown): number {
  if (e instanceof CommanderError) {
    // help and version "errors" are normal exits; commander already printed the message
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
    return EXIT_CODES.E_USAGE;
  }
  if (isAppError(e)) {
    process.stderr.write(`smime-census: ${e.message} [${e.code}]\n`);
    if (process.env.CENSUS_DEBUG && e.cause) process.stderr.write(String((e.cause as Error)?.stack ?? e.cause) + '\n');
    return EXIT_CODES[e.code];
  }
  // A bug: a short line for the user, the stack only on request.
  const err = e as Error;
  process.stderr.write(`smime-census: internal error: ${err?.message ?? String(e)} [E_INTERNAL]\n`);
  if (process.env.CENSUS_DEBUG) process.stderr.write(String(err?.stack) + '\n');
  return EXIT_CODES.E_INTERNAL;
}

/** `import -`: delivery from an MTA, which must retry (75), never bounce, on any failure of ours. */
function isMtaDelivery(argv: string[]): boolean {
  const args = argv.slice(2);
  return commandName(args) === 'import' && args.includes('-');
}

const mta = isMtaDelivery(process.argv);
main(process.argv).then(
  (code) => {
    process.exitCode = mta && code !== 0 ? EX_TEMPFAIL : code;
  },
  (e) => {
    const code = report(e instanceof AppError ? e : e);
    process.exitCode = mta ? EX_TEMPFAIL : code;
  },
);
