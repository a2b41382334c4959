/**
 * Which argument lists main.ts runs as `import -` without commander (stdin-import.ts says why).
 * Its own module, so that main.ts reads argv without loading the command.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EX_TEMPFAIL } from './exit-codes.js';
import type { GlobalOptions } from './options.js';

export interface StdinImportOptions {
  json?: boolean;
  mbox?: boolean;
}

/** Global options that take a value, by flag, as GlobalOptions names them. */
const GLOBAL_VALUE_OPTIONS: Readonly<Record<string, keyof GlobalOptions>> = { '--db': 'db', '--config': 'config', '--log-level': 'logLevel' };
const IMPORT_FLAGS: Readonly<Record<string, keyof StdinImportOptions>> = { '--json': 'json', '--mbox': 'mbox' };

/**
 * The options of an `import -` argument list (after node and the script) that commander would
 * parse the same way: global options (`--db x` or `--db=x`) anywhere, `import`, exactly one `-`,
 * and `--json`/`--mbox` after `import`. Anything else — help, a second path, `--`, an unknown
 * option, a value that looks like an option — is null, and goes to commander, which parses it
 * (or reports the usage error) as it always has.
 */
export function directStdinImport(args: readonly string[]): { globals: GlobalOptions; options: StdinImportOptions } | null {
  const globals: GlobalOptions = {};
  const options: StdinImportOptions = {};
  let command = false;
  let stdin = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const eq = a.indexOf('=');
    const flag = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    const key = GLOBAL_VALUE_OPTIONS[flag];
    if (key !== undefined) {
      const value = flag === a ? args[++i] : a.slice(eq + 1);
      if (value === undefined || (flag === a && value.startsWith('-'))) return null;
      globals[key] = value;
    } else if (!command) {
      if (a !== 'import') return null;
      command = true;
    } else if (a === '-' && !stdin) {
      stdin = true;
    } else if (Object.hasOwn(IMPORT_FLAGS, a)) {
      options[IMPORT_FLAGS[a]!] = true;
    } else {
      return null;
    }
  }
  return command && stdin ? { globals, options } : null;
}

/** What the direct path uses of stdin-import.ts (declared here: that module imports this one). */
export interface StdinImportModule {
  importStdin(g: GlobalOptions, opts: StdinImportOptions): Promise<void>;
  report(e: unknown): number;
}

/**
 * Runs a direct `import -` with the command's module (the build's script, or the module itself)
 * and returns the exit code before the MTA mapping: the command's own code, or its error's.
 * main.ts and bin.ts both run the direct path through this.
 */
export async function runDirectStdinImport(mod: StdinImportModule, direct: { globals: GlobalOptions; options: StdinImportOptions }): Promise<number> {
  // The script's report: its AppError class is the one its code throws (isAppError is instanceof).
  try {
    await mod.importStdin(direct.globals, direct.options);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    return mod.report(e);
  }
}

/**
 * The file name (beside this module in dist/cli/) of stdin-import.ts bundled as one CommonJS
 * script, set by scripts/bundle-cli.mjs in the bundles of main.ts and bin.ts (esbuild's define);
 * undefined in tsc's own output, whose modules are then loaded as they are. The name holds the
 * script's hash: a later tsc run cannot pair an entry with another build's script.
 */
declare const __CENSUS_STDIN_IMPORT_SCRIPT__: string | undefined;

/** The build's `import -` script (its absolute path), or null in tsc's output or when the file is missing. main.ts and bin.ts both find it here. */
export function stdinImportScript(): string | null {
  if (typeof __CENSUS_STDIN_IMPORT_SCRIPT__ !== 'string') return null;
  const script = fileURLToPath(new URL(__CENSUS_STDIN_IMPORT_SCRIPT__, import.meta.url));
  return existsSync(script) ? script : null;
}

/**
 * The exit code an MTA gets for an `import -` delivery whose own code is `code`: 0, or 75
 * (EX_TEMPFAIL) for any failure of ours, so that the MTA retries and never bounces the
 * customer's mail for our problem. main.ts and bin.ts both map through this.
 */
export function deliveryExitCode(code: number): number {
  return code === 0 ? 0 : EX_TEMPFAIL;
}
