// Bundles the CLI (dist/cli/main.js and the modules it imports) into a few files, so that a
// process starts by loading ~10 modules instead of ~260. `import -` runs once per message from an
// MTA, and on Node 20 (no module compile cache) the ESM loader's per-module work — resolve,
// stat, realpath, package.json lookups, a read and a compile per file — was most of its
// start-up: zod's 95 modules cost ~180 ms of CPU as a graph and ~10 ms as one file.
//
// Behaviour stays the tsc output's, because the bundle is made from it:
// - every command stays a dynamic import (its own chunk), so `export` still loads no rules and
//   `import -` no HTTP server or CMS library;
// - `import.meta.url` in each module is rewritten to the URL of that module's own file in dist/,
//   which is still there: precompiled-rules.json, the rule-schema hash, the migrations, the
//   shipped regex verdicts and package.json are found exactly where the unbundled module looks;
// - only pure-JS packages on the start-up path are bundled (BUNDLED); native drivers, packages
//   that locate files or workers by path, and ones loaded on demand stay plain imports from
//   node_modules.
//
// `import -` (dist/cli/stdin-import.js and what it imports) is bundled a second time, as one
// CommonJS script, dist/cli/stdin-import.<hash>.cjs: V8 can cache the compiled code of a script
// (src/cli/code-cache.ts; scripts/code-cache.mjs makes the cache), not of Node 20's ES modules.
// The entry learns the script's name at bundle time (__CENSUS_STDIN_IMPORT_SCRIPT__).
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';

/**
 * Packages inlined into the bundle: pure JS, no file or worker located by path. Not iconv-lite
 * and encoding-japanese: their charset tables (~800 KB, required lazily per charset) would be
 * inlined and parsed at every start. Not pino: src/app/logger.ts requires it when a line is
 * first written (a bundled copy would be parsed at every start, and a second copy loaded).
 */
const BUNDLED = new Set([
  'zod',
  'commander',
  'libmime',
  'libbase64',
  'libqp',
  'nodemailer',
]);

/**
 * Worker threads located by path, bundled as entries of their own beside the chunks (the poll
 * ingest worker loaded ~200 modules of dist/ at every `poll`: most of its start-up). In each
 * module that starts one, the worker's `new URL(file, import.meta.url)` keeps the bundle's own
 * import.meta.url, so it names the bundled entry in dist/cli/ rather than the file in dist/.
 */
const WORKERS = [{ name: 'poll-worker', module: join('app', 'poll-worker.js'), url: "new URL('./poll-worker.js', import.meta.url)" }];

/**
 * esbuild options both bundles share. Less text to parse at each start (V8 scans all of it);
 * identifiers stay, so names in stack traces and error messages are the source's.
 */
const COMMON = { bundle: true, platform: 'node', target: 'node20', write: false, minifyWhitespace: true, minifySyntax: true, logLevel: 'warning' };

/**
 * Packages that two of our modules require on first use (`createRequire(import.meta.url)(x)`),
 * inlined into the `import -` script as modules that run when first required, so the code cache
 * holds their compiled code too: the YAML parser for the config file (otherwise 72 CommonJS
 * files from node_modules per delivery with the README recipes' --config, ~45 ms of CPU) and
 * ua-parser-js for a User-Agent. The rule loader's YAML parser stays a require of node_modules:
 * the shipped rules come precompiled, and test/cli/startup.test.ts sees it if they stop to.
 * better-sqlite3's JavaScript (16 CommonJS files required from node_modules at every delivery,
 * ~10 ms) is inlined too: its addon is located by path, but src/store/sqlite/open.ts always
 * hands it over (nativeBinding), found from better-sqlite3's own folder, so the inlined copy never
 * asks the `bindings` package, which would search from the script's folder instead.
 */
const SCRIPT_BUNDLED = new Set([...BUNDLED, 'yaml', 'ua-parser-js', 'better-sqlite3']);
const LAZY_REQUIRE = 'createRequire(import.meta.url)(';
const INLINED_LAZY_REQUIRES = new Set(['config/index.js', 'classify/filters.js']);

function packageName(spec) {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/**
 * Writes the bundled CLI over dist/cli/main.js, its chunks beside it (dist/cli/chunk-*.js: one
 * folder, so a path relative to dist/cli/ holds from every output file). `root` is the package
 * root; dist/ must hold tsc's output.
 */
export async function bundleCli(root) {
  const dist = join(root, 'dist');
  const entry = join(dist, 'cli', 'main.js');
  const outdir = join(dist, 'cli');
  // Bundling a bundle would rewrite the banner's import.meta.url: tsc must have run first.
  if (readFileSync(entry, 'utf8').includes('__censusCreateRequire')) throw new Error(`${entry} is already bundled: run tsc (npm run build) first`);
  for (const f of readdirSync(outdir)) if (/^stdin-import\..*\.(cjs|v8cache)$/.test(f)) rmSync(join(outdir, f));
  const stdinScript = await bundleStdinImport(dist, outdir);
  const result = await build({
    entryPoints: { main: entry, ...Object.fromEntries(WORKERS.map((w) => [w.name, join(dist, w.module)])) },
    outdir,
    chunkNames: 'chunk-[hash]',
    ...COMMON,
    splitting: true,
    format: 'esm',
    // Bundled CommonJS packages require node built-ins ('buffer', 'events'): give them a require.
    banner: { js: "import { createRequire as __censusCreateRequire } from 'node:module';\nconst require = __censusCreateRequire(import.meta.url);" },
    define: { __CENSUS_STDIN_IMPORT_SCRIPT__: JSON.stringify(stdinScript) },
    plugins: [externals(), moduleUrls(dist, outdir, 'import.meta.url')],
  });
  for (const f of readdirSync(outdir)) if (/^chunk-.*\.js$/.test(f)) rmSync(join(outdir, f));
  for (const f of result.outputFiles) {
    writeFileSync(f.path, f.contents);
  }
  const bin = await bundleBin(dist, outdir, stdinScript);
  return { files: [...result.outputFiles.map((f) => relative(root, f.path)), relative(root, join(outdir, stdinScript)), relative(root, bin)], stdinScript: join(outdir, stdinScript) };
}

/** Packages outside `bundled`, and node built-ins, stay imports (or requires) of node_modules. */
function externals(bundled = BUNDLED) {
  return {
    name: 'census-externals',
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, (args) => {
        if (args.path.startsWith('node:')) return { path: args.path, external: true };
        if (bundled.has(packageName(args.path))) return undefined;
        return { path: args.path, external: true };
      });
    },
  };
}

/**
 * Each of our modules keeps its own import.meta.url (see the top of this file), resolved against
 * `base` at run time. `lazyRequires`: the on-demand `createRequire(import.meta.url)(x)` of
 * INLINED_LAZY_REQUIRES becomes `require(x)`, which the bundler sees (the script is CommonJS:
 * same resolution, same first-use timing).
 */
function moduleUrls(dist, outdir, base, lazyRequires = false) {
  return {
    name: 'census-module-urls',
    setup(b) {
      b.onLoad({ filter: /\.js$/ }, (args) => {
        if (!args.path.startsWith(dist + sep)) return undefined;
        let text = readFileSync(args.path, 'utf8');
        if (lazyRequires && INLINED_LAZY_REQUIRES.has(relative(dist, args.path).split(sep).join('/'))) text = text.replaceAll(LAZY_REQUIRE, 'require(');
        if (!text.includes('import.meta.url')) return { contents: text, loader: 'js', resolveDir: dirname(args.path) };
        // Relative to the output file, resolved at run time: dist/ may be moved (npm pack, install).
        const own = JSON.stringify(relative(outdir, args.path).split(sep).join('/'));
        const worker = WORKERS.find((w) => args.path === join(dist, w.module));
        if (worker && !text.includes(worker.url)) throw new Error(`${args.path}: the worker URL ${worker.url} is not in it (scripts/bundle-cli.mjs WORKERS)`);
        const held = worker ? text.replaceAll(worker.url, '__censusWorkerUrl__') : text;
        const contents = held.replaceAll('import.meta.url', `new URL(${own}, ${base}).href`).replaceAll('__censusWorkerUrl__', worker?.url ?? '');
        return { contents, loader: 'js', resolveDir: dirname(args.path) };
      });
    },
  };
}

/**
 * Writes dist/cli/stdin-import.js and its imports as one CommonJS script beside main.js and
 * returns its file name, stdin-import.<hash of its text>.cjs. Its lazy imports (libmime, the
 * S/MIME harvest, the PostgreSQL store) are inlined but run only when called, as in the ESM
 * bundle; packages outside BUNDLED are required from node_modules.
 */
async function bundleStdinImport(dist, outdir) {
  const result = await build({
    entryPoints: [join(dist, 'cli', 'stdin-import.js')],
    outfile: join(outdir, 'stdin-import.cjs'),
    ...COMMON,
    format: 'cjs',
    // A CommonJS script has no import.meta: its modules' URLs are resolved against its own file.
    banner: { js: "const __censusScriptUrl = require('node:url').pathToFileURL(__filename).href;" },
    plugins: [externals(SCRIPT_BUNDLED), moduleUrls(dist, outdir, '__censusScriptUrl', true)],
    metafile: true,
  });
  // The config's YAML parser must be in the script (SCRIPT_BUNDLED): a rewrite that stopped matching would load it from node_modules again.
  if (!Object.keys(result.metafile.inputs).some((f) => f.includes('node_modules/yaml/'))) throw new Error(`the import - script does not hold the YAML parser: does src/config still load it with ${LAZY_REQUIRE}'yaml')?`);
  const [script] = result.outputFiles;
  const name = `stdin-import.${createHash('sha256').update(script.contents).digest('hex').slice(0, 12)}.cjs`;
  writeFileSync(join(outdir, name), script.contents);
  return name;
}

/**
 * Writes the package's bin, dist/cli/bin.cjs (src/cli/bin.ts says why): bin.js and the few
 * modules it imports as one CommonJS file, which runs the `import -` script itself and loads
 * main.js (left an import of the file beside it) for every other command.
 */
async function bundleBin(dist, outdir, stdinScript) {
  const outfile = join(outdir, 'bin.cjs');
  const result = await build({
    entryPoints: [join(dist, 'cli', 'bin.js')],
    outfile,
    ...COMMON,
    format: 'cjs',
    banner: { js: "const __censusScriptUrl = require('node:url').pathToFileURL(__filename).href;" },
    define: { __CENSUS_STDIN_IMPORT_SCRIPT__: JSON.stringify(stdinScript) },
    plugins: [
      {
        name: 'census-bin-main',
        setup(b) {
          b.onResolve({ filter: /^\.\/main\.js$/ }, () => ({ path: './main.js', external: true }));
        },
      },
      externals(new Set()),
      moduleUrls(dist, outdir, '__censusScriptUrl'),
    ],
    metafile: true,
  });
  // Nothing but our own small modules: a package inlined here would be parsed at every start.
  const inputs = Object.keys(result.metafile.inputs);
  if (inputs.some((f) => f.includes('node_modules/')) || inputs.length > 8) throw new Error(`the bin bundles more than its few modules: ${inputs.join(', ')}`);
  const [out] = result.outputFiles;
  writeFileSync(outfile, out.contents);
  return outfile;
}
