#!/usr/bin/env node
/**
 * CLI entry point: a thin adapter over app/. The only module that calls process.exit (through
 * process.exitCode). The commander program (program.ts) runs every command, except the
 * argument lists an MTA recipe uses for `import -` (stdin-import.ts, `directStdinImport`):
 * those run that command directly, without loading commander, because an MTA starts one
 * process per message and commander's load was ~20 ms of each.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EX_TEMPFAIL } from './exit-codes.js';
import { commandName } from './commands/index.js';
import { directStdinImport, runDirectStdinImport } from './stdin-import-args.js';
import { loadCachedScript } from './code-cache.js';

type StdinImport = typeof import('./stdin-import.js');

/**
 * The file name (beside this one) of stdin-import.ts bundled as one CommonJS script, set by
 * scripts/bundle-cli.mjs when it bundles this module; undefined in tsc's own output, whose
 * modules are then loaded as they are. The name holds the script's hash: a later tsc run
 * cannot pair this entry with another build's script.
 */
declare const __CENSUS_STDIN_IMPORT_SCRIPT__: string | undefined;

/** stdin-import: the build's script with its V8 code cache (code-cache.ts says why), else the module. */
async function loadStdinImport(): Promise<StdinImport> {
  if (typeof __CENSUS_STDIN_IMPORT_SCRIPT__ === 'string') {
    const script = fileURLToPath(new URL(__CENSUS_STDIN_IMPORT_SCRIPT__, import.meta.url));
    if (existsSync(script)) return loadCachedScript(script) as StdinImport;
  }
  return import('./stdin-import.js');
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
    process.exitCode = mta && code !== 0 ? EX_TEMPFAIL : code;
  },
  async (e) => {
    const code = (await import('./report.js')).report(e);
    process.exitCode = mta ? EX_TEMPFAIL : code;
  },
);
