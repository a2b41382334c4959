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
import { build } from 'esbuild';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';

/**
 * Packages inlined into the bundle: pure JS, no file or worker located by path. Not iconv-lite
 * and encoding-japanese: their charset tables (~800 KB, required lazily per charset) would be
 * inlined and parsed at every start.
 */
const BUNDLED = new Set([
  'zod',
  'commander',
  'libmime',
  'libbase64',
  'libqp',
  'nodemailer',
  'pino',
  'pino-std-serializers',
  '@pinojs/redact',
  'sonic-boom',
  'atomic-sleep',
  'on-exit-leak-free',
  'quick-format-unescaped',
  'safe-stable-stringify',
  'process-warning',
]);

/**
 * Worker threads located by path, bundled as entries of their own beside the chunks (the poll
 * ingest worker loaded ~200 modules of dist/ at every `poll`: most of its start-up). In each
 * module that starts one, the worker's `new URL(file, import.meta.url)` keeps the bundle's own
 * import.meta.url, so it names the bundled entry in dist/cli/ rather than the file in dist/.
 */
const WORKERS = [{ name: 'poll-worker', module: join('app', 'poll-worker.js'), url: "new URL('./poll-worker.js', import.meta.url)" }];

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
  const result = await build({
    entryPoints: { main: entry, ...Object.fromEntries(WORKERS.map((w) => [w.name, join(dist, w.module)])) },
    outdir,
    chunkNames: 'chunk-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    write: false,
    // Less text to parse at each start (V8 scans all of it); identifiers stay, so names in
    // stack traces and error messages are the source's.
    minifyWhitespace: true,
    minifySyntax: true,
    logLevel: 'warning',
    // Bundled CommonJS packages require node built-ins ('buffer', 'events'): give them a require.
    banner: { js: "import { createRequire as __censusCreateRequire } from 'node:module';\nconst require = __censusCreateRequire(import.meta.url);" },
    plugins: [
      {
        name: 'census-externals',
        setup(b) {
          b.onResolve({ filter: /^[^./]/ }, (args) => {
            if (args.path.startsWith('node:')) return { path: args.path, external: true };
            if (BUNDLED.has(packageName(args.path))) return undefined;
            return { path: args.path, external: true };
          });
        },
      },
      {
        name: 'census-module-urls',
        setup(b) {
          // Each of our modules keeps its own import.meta.url (see the top of this file).
          b.onLoad({ filter: /\.js$/ }, (args) => {
            if (!args.path.startsWith(dist + sep)) return undefined;
            const text = readFileSync(args.path, 'utf8');
            if (!text.includes('import.meta.url')) return { contents: text, loader: 'js', resolveDir: dirname(args.path) };
            // Relative to the output file, resolved at run time: dist/ may be moved (npm pack, install).
            const own = JSON.stringify(relative(outdir, args.path).split(sep).join('/'));
            const worker = WORKERS.find((w) => args.path === join(dist, w.module));
            if (worker && !text.includes(worker.url)) throw new Error(`${args.path}: the worker URL ${worker.url} is not in it (scripts/bundle-cli.mjs WORKERS)`);
            const held = worker ? text.replaceAll(worker.url, '__censusWorkerUrl__') : text;
            const contents = held.replaceAll('import.meta.url', `new URL(${own}, import.meta.url).href`).replaceAll('__censusWorkerUrl__', worker?.url ?? '');
            return { contents, loader: 'js', resolveDir: dirname(args.path) };
          });
        },
      },
    ],
  });
  for (const f of readdirSync(outdir)) if (/^chunk-.*\.js$/.test(f)) rmSync(join(outdir, f));
  for (const f of result.outputFiles) {
    writeFileSync(f.path, f.contents);
  }
  return result.outputFiles.map((f) => relative(root, f.path));
}
