/**
 * Start-up of `import -` (issue #13: one process per message from an MTA, < 150 ms). Timing is
 * the benchmark's job (`npm run bench -- oauth`, on a shared machine); this test holds what makes
 * start-up short and can be counted: the bundled CLI (scripts/bundle-cli.mjs) runs `import -` as
 * one CommonJS script whose V8 code cache the build made (src/cli/code-cache.ts) and which V8
 * accepts, without commander or pino, loading under MAX_STARTUP_MODULES modules, not the ~260
 * of the unbundled graph; and it still finds the files its modules locate beside themselves in
 * dist/ — the precompiled rules (no YAML parser loaded), the SQLite migrations (a new database
 * is created and migrated) and package.json (--version).
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { builtBin, ROOT } from '../helpers/built.js';
import { runBuiltCli as runCli } from '../helpers/cli.js';

/**
 * Modules `import -` may load for plain mail: ~7 today — the entry and 3 ESM chunks, the `import -`
 * script, better-sqlite3's addon and recheck's package.json (the verdict file's checker version);
 * 22 while better-sqlite3's 16 CommonJS files came from node_modules; 46 before that script
 * (27 ESM chunks, with commander, and pino's thread-stream); 79 before libmime (with iconv-lite
 * 16 and encoding-japanese 12) loaded on first use only; the unbundled graph loaded 264.
 */
const MAX_STARTUP_MODULES = 10;

/**
 * Bytes of ES module bundle (dist/cli/*.js) the entry loads before it runs the `import -`
 * script: ~6.4 KB today (the entry and 3 chunks); ~600 KB before that script, all of it parsed
 * and compiled at every start.
 */
const MAX_STARTUP_BUNDLE_BYTES = 16 * 1024;

/**
 * Bytes of the `import -` script: ~690 KB today, with the lazily run S/MIME, PostgreSQL, libmime
 * and config-YAML code inlined. Its compiled code comes from the code cache; V8 reads all of it
 * only when it rejects the cache. zod imported as `{ z }` instead of `* as z` would add every
 * zod locale (+434 KB), because the z object reaches them.
 */
const MAX_STARTUP_SCRIPT_BYTES = 720 * 1024;

/** The line the entry writes with CENSUS_DEBUG set once the `import -` script has run from its code cache. */
const CACHE_ACCEPTED = /^smime-census: code cache accepted for (stdin-import\.[0-9a-f]+\.cjs)\n$/;

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Writes a preload that records every module the process loads (ESM through a loader hook, CommonJS from require.cache). */
function moduleRecorder(dir: string): { preload: string; list: string } {
  const hooks = join(dir, 'hooks.mjs');
  const preload = join(dir, 'preload.mjs');
  const list = join(dir, 'modules.txt');
  writeFileSync(hooks, 'let port;\nexport function initialize(d) { port = d.port; }\nexport async function load(url, context, next) { port.postMessage(url); return next(url, context); }\n');
  writeFileSync(
    preload,
    `import { register, createRequire } from 'node:module';
import { MessageChannel } from 'node:worker_threads';
import { writeFileSync } from 'node:fs';
const { port1, port2 } = new MessageChannel();
const esm = new Set();
port1.on('message', (u) => esm.add(u));
port1.unref();
register(${JSON.stringify(pathToFileURL(hooks).href)}, { data: { port: port2 }, transferList: [port2] });
const require = createRequire(import.meta.url);
process.on('exit', () => {
  const cjs = Object.keys(require('node:module')._cache).map((f) => 'file://' + f);
  const own = new Set([${JSON.stringify(pathToFileURL(preload).href)}]);
  writeFileSync(${JSON.stringify(list)}, [...new Set([...esm, ...cjs])].filter((u) => u.startsWith('file:') && !own.has(u)).sort().join('\\n'));
});
`,
  );
  return { preload, list };
}

const MESSAGE = readFileSync(join(ROOT, 'test', 'fixtures', 'messages', '01-apple-mail-lion.eml'), 'utf8');

describe('import - start-up', () => {
  it('runs the script from its code cache, loads at most MAX_STARTUP_MODULES modules, MAX_STARTUP_BUNDLE_BYTES of ES modules and MAX_STARTUP_SCRIPT_BYTES of script, no pino, no YAML parser (rules precompiled) and no IMAP, HTTP, CMS or PostgreSQL code', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'census-startup-'));
    dirs.push(dir);
    const db = join(dir, 'census.db');
    // The first delivery creates and migrates the database (the migrations are found from the bundle).
    const first = await runCli(['--db', db, 'import', '-', '--json'], MESSAGE);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ read: 1, stored: 1 });

    const rec = moduleRecorder(dir);
    const again = MESSAGE.replace(/^Message-ID:.*$/im, 'Message-ID: <startup-second@example.com>');
    expect(again).not.toBe(MESSAGE);
    const second = await runCli(['--db', db, 'import', '-', '--json'], again, ['--import', rec.preload], { CENSUS_DEBUG: '1' });
    // The script ran from its code cache (a cache V8 rejects would be compiled and run too, silently slower).
    const accepted = CACHE_ACCEPTED.exec(second.stderr);
    expect(accepted, second.stderr).not.toBeNull();
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ read: 1, stored: 1 });
    // The script is compiled by vm.Script, not loaded as a module: neither the loader hook nor require.cache sees it.
    const script = pathToFileURL(join(ROOT, 'dist', 'cli', accepted![1]!)).href;
    const modules = [...readFileSync(rec.list, 'utf8').split('\n').filter(Boolean), script];
    expect(modules.length).toBeGreaterThan(5);
    expect(modules.length, modules.join('\n')).toBeLessThanOrEqual(MAX_STARTUP_MODULES);
    expect(modules.filter((u) => /\/node_modules\/(pino|thread-stream|sonic-boom)\//.test(u)), 'pino (no line to log)').toEqual([]);
    expect(statSync(fileURLToPath(script)).size).toBeLessThanOrEqual(MAX_STARTUP_SCRIPT_BYTES);
    const bundle = modules.filter((u) => u !== script && u.startsWith(pathToFileURL(join(ROOT, 'dist', 'cli')).href + '/'));
    expect(bundle.length).toBeGreaterThan(0);
    const bundleBytes = bundle.reduce((n, u) => n + statSync(fileURLToPath(u)).size, 0);
    expect(bundleBytes, `${bundle.length} bundle files`).toBeLessThanOrEqual(MAX_STARTUP_BUNDLE_BYTES);
    // libmime (and the charset tables it builds on load) only for encoded words or an unusual Content-Type: the fixture has neither.
    for (const pkg of ['yaml', 'imapflow', 'fastify', 'pg', 'openid-client', 'pkijs', 'drizzle-orm', 'libmime', 'iconv-lite', 'encoding-japanese']) {
      expect(modules.filter((u) => u.includes(`/node_modules/${pkg}/`)), pkg).toEqual([]);
    }
  });

  it('a code cache V8 rejects (made under other V8 flags) is compiled from source: the delivery is the same', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'census-startup-'));
    dirs.push(dir);
    const db = join(dir, 'census.db');
    const first = await runCli(['--db', db, 'import', '-', '--json'], MESSAGE);
    expect(first.code).toBe(0);
    // Any V8 flag changes the flag hash V8 checks the cache against; this one changes nothing else here.
    const other = await runCli(['--db', db, 'import', '-', '--json'], MESSAGE.replace(/^Message-ID:.*$/im, 'Message-ID: <startup-rejected@example.com>'), ['--no-flush-bytecode'], { CENSUS_DEBUG: '1' });
    expect(other.stderr).toMatch(/^smime-census: code cache rejected for stdin-import\.[0-9a-f]+\.cjs\n$/);
    expect(other.code).toBe(0);
    expect(JSON.parse(other.stdout)).toMatchObject({ read: 1, stored: 1 });
    const again = await runCli(['--db', db, 'import', '-', '--json'], MESSAGE);
    expect(JSON.parse(again.stdout)).toMatchObject({ read: 1, stored: 0, duplicates: 1 });
  });

  it('the package bin runs import - as CommonJS, without the entry\'s ES modules, from the same code cache, and exits 75 on a database it cannot open', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'census-startup-'));
    dirs.push(dir);
    const bin = builtBin();
    expect(bin.endsWith('.cjs')).toBe(true);
    const db = join(dir, 'census.db');
    const first = await runCli(['--db', db, 'import', '-', '--json'], MESSAGE, [], {}, bin);
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ read: 1, stored: 1 });
    const rec = moduleRecorder(dir);
    const again = MESSAGE.replace(/^Message-ID:.*$/im, 'Message-ID: <startup-bin@example.com>');
    const second = await runCli(['--db', db, 'import', '-', '--json'], again, ['--import', rec.preload], { CENSUS_DEBUG: '1' }, bin);
    expect(CACHE_ACCEPTED.exec(second.stderr), second.stderr).not.toBeNull();
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ read: 1, stored: 1 });
    const modules = readFileSync(rec.list, 'utf8').split('\n').filter(Boolean);
    expect(modules).toContain(pathToFileURL(bin).href);
    expect(modules.filter((u) => u.startsWith(pathToFileURL(join(ROOT, 'dist')).href + '/') && u.endsWith('.js')), 'ES modules of dist/').toEqual([]);
    expect(modules.length, modules.join('\n')).toBeLessThanOrEqual(MAX_STARTUP_MODULES);
    // The same exit codes as main.js: a database that cannot be opened is a temporary failure.
    writeFileSync(join(dir, 'a-file'), '');
    const failed = await runCli(['--db', join(dir, 'a-file', 'census.db'), 'import', '-'], MESSAGE, [], {}, bin);
    expect(failed.code).toBe(75);
    expect(failed.stderr).toMatch(/^smime-census: .*\[E_DB\]\n$/);
    // Every other command goes to main.js.
    const version = await runCli(['--version'], undefined, [], {}, bin);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toBe((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);
  });

  it('prints the package version from the bundle', async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = await runCli(['--version'], undefined);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });
});
