#!/usr/bin/env node
/**
 * The package's bin (package.json "bin"; what an MTA recipe's `smime-census` runs). The build
 * bundles it as one CommonJS file, dist/cli/bin.cjs (scripts/bundle-cli.mjs): an `import -`
 * argument list (stdin-import-args.ts) runs the build's `import -` script straight from here,
 * so a delivery never starts Node's ES module loader — the loader's own modules, the entry's
 * chunks and their resolution were ~10 ms of CPU of each process an MTA starts per message.
 * Every other argument list, and a build without that script, loads main.js, the ES module
 * entry, which runs the command as it always has (main.ts: the same direct path, commander
 * otherwise, and the same exit codes).
 */
import { EX_TEMPFAIL } from './exit-codes.js';
import { deliveryExitCode, directStdinImport, runDirectStdinImport, stdinImportScript, type StdinImportModule } from './stdin-import-args.js';
import { loadCachedScript } from './code-cache.js';

/** The script's exports, or null when it cannot run here (main.js then does the whole delivery, reporting why). */
function stdinImport(script: string): StdinImportModule | null {
  try {
    return loadCachedScript(script) as StdinImportModule;
  } catch {
    return null;
  }
}

const direct = directStdinImport(process.argv.slice(2));
const script = direct === null ? null : stdinImportScript();
const mod = script === null ? null : stdinImport(script);
if (direct !== null && mod !== null) {
  // `import -` from an MTA, which must retry (75), never bounce, on any failure of ours.
  runDirectStdinImport(mod, direct).then(
    (code) => {
      process.exitCode = deliveryExitCode(code);
    },
    (e: unknown) => {
      // Only when reporting the error failed too (report() never throws for an error of ours).
      process.stderr.write(`smime-census: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = EX_TEMPFAIL;
    },
  );
} else {
  void import('./main.js');
}
