#!/usr/bin/env node
/**
 * CLI entry point: a thin adapter over app/. The only module that calls process.exit (through
 * process.exitCode). The commander program (program.ts) runs every command, except the
 * argument lists an MTA recipe uses for `import -` (stdin-import.ts, `directStdinImport`):
 * those run that command directly, without loading commander, because an MTA starts one
 * process per message and commander's load was ~20 ms of each.
 */
import { commandName } from './commands/index.js';
import { deliveryExitCode, directStdinImport, runDirectStdinImport, stdinImportScript } from './stdin-import-args.js';
import { loadCachedScript } from './code-cache.js';

type StdinImport = typeof import('./stdin-import.js');

/** stdin-import: the build's script with its V8 code cache (code-cache.ts says why), else the module. */
async function loadStdinImport(): Promise<StdinImport> {
  const script = stdinImportScript();
  return script !== null ? (loadCachedScript(script) as StdinImport) : import('./stdin-import.js');
}

async function main(argv: string[]): Promise<number> {
  const direct = directStdinImport(argv.slice(2));
  if (direct === null) return (await import('./program.js')).runProgram(argv);
  return runDirectStdinImport(await loadStdinImport(), direct);
}

/** `import -`: delivery from an MTA, which must retry (75), never bounce, on any failure of ours. */
function isMtaDelivery(argv: string[]): boolean {
  const args = argv.slice(2);
  return commandName(args) === 'import' && args.includes('-');
}

const mta = isMtaDelivery(process.argv);
main(process.argv).then(
  (code) => {
    process.exitCode = mta ? deliveryExitCode(code) : code;
  },
  async (e) => {
    const code = (await import('./report.js')).report(e);
    process.exitCode = mta ? deliveryExitCode(code) : code;
  },
);
