/**
 * The commander program: every command's options, help and usage errors. Each command lives in
 * commands/<name>.ts and exports `register(program, globals)`; only the named one is loaded.
 */
import { Command, CommanderError } from 'commander';
import { EXIT_CODES } from './exit-codes.js';
import { loadCommands } from './commands/index.js';
import { report } from './report.js';
import { VERSION } from './version.js';
import type { GlobalOptions } from './options.js';

/** The program with its global options and no command yet (throws CommanderError instead of exiting). */
export function createProgram(): Command {
  return new Command()
    .name('smime-census')
    .description('Learn which mail program each customer uses from the headers of their mail, and recommend whether to S/MIME-sign mail to them.')
    .version(VERSION)
    .option('--db <path|url>', 'SQLite database file, or a postgres:// URL (password from CENSUS_DB_PASSWORD_FILE; TLS with ?sslmode=require or verify-full) (env CENSUS_DB, default ./data/census.db)')
    .option('--config <file>', 'configuration file (YAML or JSON; env CENSUS_CONFIG)')
    .option('--log-level <level>', 'log level: fatal, error, warn, info, debug, trace (env CENSUS_LOG_LEVEL)')
    .showHelpAfterError()
    .exitOverride();
}

/** Runs the command of `argv` (node, script, arguments); resolves to the exit code. */
export async function runProgram(argv: string[]): Promise<number> {
  const program = createProgram();
  const globals = (): GlobalOptions => program.opts<GlobalOptions>();
  for (const register of await loadCommands(argv.slice(2))) register(program, globals);
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version "errors" are normal exits; commander already printed the message
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      return EXIT_CODES.E_USAGE;
    }
    return report(e);
  }
}
