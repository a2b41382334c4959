/**
 * Runs a one-file CommonJS bundle through V8 with the code cache the build made for it.
 *
 * Why: `import -` starts once per message from an MTA, and Node 20 has no compile cache
 * (`module.enableCompileCache` came in 22): every start parsed and compiled the same ~500 KB
 * of bundle again. The build (scripts/code-cache.mjs) bundles that command as one script and
 * stores V8's code for it after a warm-up delivery, so a start deserializes compiled functions
 * instead of compiling them.
 *
 * Stale-safe by construction:
 * - the cache file is named after the V8 version and CPU architecture it was made with, so a
 *   Node upgrade finds no cache at all;
 * - V8 itself rejects a cache made from other source text or under other V8 flags
 *   (`cachedDataRejected`), and then compiles the script as if there were none;
 * - this never writes a cache: the census may run as a user who cannot write to its install.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import vm from 'node:vm';

/**
 * V8 flags the script runs under, set before it is compiled, at the build's warm-up and at every
 * start alike: V8 rejects a code cache made under other flags, so both sides must set the same.
 *
 * Why: a delivery keeps almost everything it allocates (compiled rules, their index, the config
 * and rule schemas), and V8's young generation starts at 1 MB and doubles only after a
 * scavenge that finds most of it alive: ~9 scavenges per delivery, each copying nearly all of
 * what it found. Growing by 16 instead of 2 reaches the default maximum (16 MB) after the
 * first such scavenge, and a delivery then ends before the next one. It changes when the
 * collector runs, never what the program computes; the maximum young generation (and so the
 * memory of a long `--mbox` import) stays V8's default. V8 reads this flag each time it grows
 * the young generation, so setting it at run time takes effect (node's documented caveat about
 * setFlagsFromString concerns flags read once at start).
 */
export const SCRIPT_V8_FLAGS = '--semi-space-growth-factor=16';

/** The code cache of `script` for the running V8 (see above). */
export function codeCacheFile(script: string): string {
  return `${script}.${process.versions.v8}-${process.arch}.v8cache`;
}

/** The module.exports of the CommonJS file `script`, compiled with its code cache when one is there. */
export function runCachedScript(script: string): { exports: unknown; compiled: vm.Script; cacheRejected: boolean | undefined } {
  setFlagsFromString(SCRIPT_V8_FLAGS);
  const cacheFile = codeCacheFile(script);
  const cachedData = existsSync(cacheFile) ? readFileSync(cacheFile) : undefined;
  // Node's own CommonJS wrapper, so the bundle sees exactly what `require(script)` gives it.
  const wrapped = `(function (exports, require, module, __filename, __dirname) {${readFileSync(script, 'utf8')}\n})`;
  const compiled = new vm.Script(wrapped, {
    filename: script,
    cachedData,
    // A lazily imported package (S/MIME harvest, PostgreSQL) loads as from any module.
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const module = { exports: {} as unknown };
  (compiled.runInThisContext() as (...a: unknown[]) => void)(module.exports, createRequire(script), module, script, dirname(script));
  return { exports: module.exports, compiled, cacheRejected: cachedData === undefined ? undefined : compiled.cachedDataRejected };
}

/** runCachedScript's exports, saying with CENSUS_DEBUG set whether V8 took the cache (test/cli/startup.test.ts reads the line). */
export function loadCachedScript(script: string): unknown {
  const run = runCachedScript(script);
  if (process.env.CENSUS_DEBUG) process.stderr.write(`smime-census: code cache ${run.cacheRejected === undefined ? 'absent' : run.cacheRejected ? 'rejected' : 'accepted'} for ${basename(script)}\n`);
  return run.exports;
}
