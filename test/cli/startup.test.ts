/**
 * Start-up of `import -` (issue #13: one process per message from an MTA, < 150 ms). Timing is
 * the benchmark's job (`npm run bench -- oauth`, on a shared machine); this test holds what makes
 * start-up short and can be counted: the bundled CLI (scripts/bundle-cli.mjs) loads under sixty
 * modules, not the ~260 of the unbundled graph, and still finds the files its modules locate
 * beside themselves in dist/ — the precompiled rules (no YAML parser loaded), the SQLite
 * migrations (a new database is created and migrated) and package.json (--version).
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/built.js';
import { runBuiltCli as runCli } from '../helpers/cli.js';

/**
 * Modules `import -` may load for plain mail: 46 today — 27 bundle chunks and the CommonJS
 * packages kept out of the bundle (better-sqlite3 15, thread-stream 3); 79 before libmime (with
 * iconv-lite 16 and encoding-japanese 12) loaded on first use only; the unbundled graph loaded 264.
 */
const MAX_STARTUP_MODULES = 60;

/**
 * Bytes of bundle JS (dist/cli/*.js) `import -` loads, all of which V8 parses at every start:
 * ~600 KB today. zod imported as `{ z }` instead of `* as z` puts every zod locale in its chunk
 * (+434 KB, from 148 KB to 582 KB), because the z object reaches them.
 */
const MAX_STARTUP_BUNDLE_BYTES = 700 * 1024;

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
  it('loads at most MAX_STARTUP_MODULES modules and MAX_STARTUP_BUNDLE_BYTES of bundle, no YAML parser (rules precompiled) and no IMAP, HTTP, CMS or PostgreSQL code', async () => {
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
    const second = await runCli(['--db', db, 'import', '-', '--json'], again, ['--import', rec.preload]);
    expect(second.stderr).toBe('');
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ read: 1, stored: 1 });
    const modules = readFileSync(rec.list, 'utf8').split('\n').filter(Boolean);
    expect(modules.length).toBeGreaterThan(5);
    expect(modules.length, modules.join('\n')).toBeLessThanOrEqual(MAX_STARTUP_MODULES);
    const bundle = modules.filter((u) => u.startsWith(pathToFileURL(join(ROOT, 'dist', 'cli')).href + '/'));
    expect(bundle.length).toBeGreaterThan(5);
    const bundleBytes = bundle.reduce((n, u) => n + statSync(fileURLToPath(u)).size, 0);
    expect(bundleBytes, `${bundle.length} bundle files`).toBeLessThanOrEqual(MAX_STARTUP_BUNDLE_BYTES);
    // libmime (and the charset tables it builds on load) only for encoded words or an unusual Content-Type: the fixture has neither.
    for (const pkg of ['yaml', 'imapflow', 'fastify', 'pg', 'openid-client', 'pkijs', 'drizzle-orm', 'libmime', 'iconv-lite', 'encoding-japanese']) {
      expect(modules.filter((u) => u.includes(`/node_modules/${pkg}/`)), pkg).toEqual([]);
    }
  });

  it('prints the package version from the bundle', async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = await runCli(['--version'], undefined);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });
});
