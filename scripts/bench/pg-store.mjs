// The PostgreSQL store against the SQLite store, in the same run (issue 10, "Performance"):
//  (1) import: `importPaths` of the same mbox (the mailbox skew of _data.mjs, 5% really signed)
//      into a fresh PostgreSQL database vs a fresh SQLite file, pair by pair. Target >= 0.5x.
//  (2) GET /v1/recipients/{address} on N addresses (1M; 100k with --quick): one `serve`-like
//      HTTP server process on PostgreSQL vs one on SQLite, the same generated rows in both,
//      autocannon in its own process, alternating round by round. Throughput target >= 0.5x;
//      p50/p99 at peak (50 connections) and p99 at one fixed offered rate (50% of the
//      PostgreSQL peak, 10 connections) for both, reported.
// The PostgreSQL server is test/helpers/postgres.ts (built here with esbuild): a throwaway
// cluster with fsync off, which flatters neither side much (SQLite runs with synchronous=NORMAL
// in WAL mode, which does not fsync per commit either). The server process is pinned to CPU 0
// and the load generator to CPU 1 (when taskset works); PostgreSQL's backends float.
import { build } from 'esbuild';
import { join, dirname } from 'node:path';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { writeMbox } from './_data.mjs';
import { smimePool } from './_smime.mjs';
import { cpuMicros, pinned } from './_proc.mjs';
import { configSchema } from '../../dist/config/index.js';
import { openApp, silentLogger, importPaths } from '../../dist/app/index.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DIST = join(ROOT, 'dist') + '/';
const LOADGEN = join(dirname(fileURLToPath(import.meta.url)), '_loadgen.mjs');

async function buildTs(entry, outDir) {
  const outfile = join(outDir, entry.replace(/[/.]/g, '_') + '.mjs');
  await build({ entryPoints: [join(ROOT, entry)], format: 'esm', platform: 'node', outfile, logLevel: 'warning' });
  return import(pathToFileURL(outfile).href);
}

/**
 * The rows of http.mjs's generator (N addresses, one client each, 10% expired decisions), as one
 * SELECT that both dialects run: SQLite through a recursive CTE, PostgreSQL through generate_series.
 */
function rowsSql(N, now, dialect) {
  const i = 'i';
  const addr = dialect === 'sqlite' ? `printf('user%07d@customer%03d.example', i, i % 997)` : `'user' || lpad(i::text, 7, '0') || '@customer' || lpad((i % 997)::text, 3, '0') || '.example'`;
  const src = dialect === 'sqlite' ? `(WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${N - 1}) SELECT i FROM n)` : `(SELECT generate_series(0, ${N - 1}) AS i)`;
  return `INSERT INTO addresses (address, first_seen, last_seen, messages, last_verify_at, family, product, version, smime, client_at, recommendation, reason, decided_until, key_changed)
    SELECT ${addr}, ${now - 86_400_000}, ${now}, 1 + ${i} % 7, ${now},
           CASE ${i} % 4 WHEN 0 THEN 'thunderbird' WHEN 1 THEN 'apple-mail' WHEN 2 THEN 'gmail' ELSE 'outlook-windows' END,
           CASE ${i} % 4 WHEN 0 THEN 'Thunderbird' WHEN 1 THEN 'Apple Mail' WHEN 2 THEN 'Gmail' ELSE 'Microsoft Outlook' END,
           '115.0', CASE ${i} % 4 WHEN 2 THEN 'tolerate' ELSE 'verify' END, ${now},
           CASE ${i} % 4 WHEN 2 THEN 'do-not-sign' ELSE 'sign' END,
           'all evidence of the last 180 days is from clients that verify S/MIME',
           CASE WHEN (${i} * 7919) % 1000 < 100 THEN ${now - 3_600_000} ELSE ${now + 100 * 86_400_000} END, 0
    FROM ${src} AS n;
    INSERT INTO address_clients (address, client_key, family, product, version, platform, smime, count, last_seen)
    SELECT address, family || '|' || product, family, product, version, NULL, smime, messages, last_seen FROM addresses;`;
}

async function startServerProcess(db, erasureKeyFile) {
  const script = `
    const { configSchema } = await import(${JSON.stringify(DIST + 'config/index.js')});
    const { openApp, createLogger } = await import(${JSON.stringify(DIST + 'app/index.js')});
    const { startServer, tokensFrom } = await import(${JSON.stringify(DIST + 'http/index.js')});
    const config = configSchema.parse({ db: ${JSON.stringify(db)}, erasureKeyFile: ${JSON.stringify(erasureKeyFile)}, logLevel: 'warn' });
    const app = openApp({ config, logger: createLogger('warn') });
    await app.store.ready();
    const { server, url } = await startServer({ app, tokens: tokensFrom({}), host: '127.0.0.1', port: 0, publicDir: null });
    process.stdout.write(url + '\\n');
    process.on('SIGTERM', async () => { await server.close(); await app.close(); process.exit(0); });
  `;
  const [cmd, args] = pinned(0, process.execPath, ['--input-type=module', '-e', script]);
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  while (!out.includes('\n')) {
    const [ev] = await Promise.race([once(child.stdout, 'data').then(() => ['data']), once(child, 'exit').then(() => ['exit'])]);
    if (ev === 'exit') throw new Error('server process exited');
  }
  return { url: out.trim(), pid: child.pid, stop: async () => { child.kill('SIGTERM'); await once(child, 'exit'); } };
}

async function load(server, o) {
  const [cmd, args] = pinned(1, process.execPath, [LOADGEN, JSON.stringify({ url: server.url, ...o })]);
  const cpu0 = cpuMicros(server.pid);
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const [code] = await once(child, 'exit');
  const cpu = cpuMicros(server.pid) - cpu0;
  if (code !== 0) throw new Error(`load generator exited ${code}`);
  const r = JSON.parse(out);
  if (r.non2xx || r.errors) throw new Error(`${o.route}: ${r.non2xx} non-2xx, ${r.errors} errors`);
  return { ...r, cpuPerRequest: cpu / Math.max(1, r.total) };
}

export default async function pgStoreBench(ctx) {
  const N_MAIL = ctx.quick ? 10_000 : 100_000;
  const N_ADDR = ctx.quick ? 100_000 : 1_000_000;
  const ROUNDS = ctx.quick ? 2 : 3;
  const duration = ctx.quick ? 2 : 5;
  const dir = ctx.tmp('pg-store-');
  const { startPostgres } = await buildTs('test/helpers/postgres.ts', dir);
  const pg = await startPostgres({ settings: { shared_buffers: '256MB', max_connections: '100' } });
  const keyFile = join(dir, 'erasure.key');
  const m = ctx.median;
  const results = [];
  try {
    // ---- (1) import ----------------------------------------------------------------------
    const pool = smimePool(ctx.cacheDir ?? ctx.tmp('pki-'), { signers: ctx.quick ? 40 : 80 });
    const mbox = await writeMbox(join(dir, 'bench.mbox'), N_MAIL, { pool });
    ctx.size('messages', N_MAIL);
    ctx.size('addressesInMail', mbox.addresses);
    const config = (db) => configSchema.parse({ db, erasureKeyFile: keyFile, sign: { trustedCaFiles: [pool.rootCertFile] } });
    let run = 0;
    let lastSqlite = null;
    const importInto = async (db) => {
      const app = openApp({ config: config(db), logger: silentLogger() });
      await app.store.ready();
      const c = await importPaths(app, [mbox.path]);
      const rows = await app.store.stats();
      await app.close();
      if (c.read !== N_MAIL || c.stored !== N_MAIL || rows.messages !== N_MAIL) throw new Error(`${db}: read ${c.read}, stored ${c.stored}, rows ${rows.messages} of ${N_MAIL}`);
    };
    const intoPg = async () => {
      const db = await pg.createDatabase(`import_${run++}`);
      // Created (and migrated) outside the timing: the SQLite side creates its file inside, which costs ~ms.
      const t0 = performance.now();
      await importInto(db);
      return { ms: performance.now() - t0 };
    };
    const intoSqlite = async () => {
      if (lastSqlite) for (const s of ['', '-wal', '-shm']) rmSync(lastSqlite + s, { force: true });
      lastSqlite = join(dir, `import-${run++}.db`);
      await importInto(lastSqlite);
    };
    const imp = await ctx.pairs(intoPg, intoSqlite, ROUNDS);
    const rate = (ms) => N_MAIL / (ms / 1000);
    const impRatios = imp.ratios.map((r) => 1 / r);
    ctx.log(`import: PostgreSQL ${rate(imp.medianA).toFixed(0)} msg/s, SQLite ${rate(imp.medianB).toFixed(0)} msg/s`);
    results.push({ name: `import ${N_MAIL} msgs (5% signed) into PostgreSQL vs SQLite`, value: rate(imp.medianA), unit: 'msg/s', baseline: rate(imp.medianB), ratio: m(impRatios), samples: impRatios, target: '>= 0.5x', pass: m(impRatios) >= 0.5 });

    // ---- (2) GET lookup ------------------------------------------------------------------
    const now = Date.now();
    const sqliteDb = join(dir, 'lookup.db');
    openApp({ config: configSchema.parse({ db: sqliteDb }), logger: silentLogger() }).close();
    const d = new Database(sqliteDb);
    d.pragma('journal_mode = WAL');
    d.exec(`BEGIN; ${rowsSql(N_ADDR, now, 'sqlite')} COMMIT; PRAGMA wal_checkpoint(TRUNCATE);`);
    d.close();
    const pgDb = await pg.createDatabase('lookup');
    const migrate = openApp({ config: configSchema.parse({ db: pgDb, erasureKeyFile: keyFile }), logger: silentLogger() });
    await migrate.store.ready();
    await migrate.close();
    await pg.psql('lookup', `BEGIN; ${rowsSql(N_ADDR, now, 'postgres')} COMMIT; VACUUM ANALYZE;`);
    ctx.size('addresses', N_ADDR);
    const pgServer = await startServerProcess(pgDb, keyFile);
    const sqliteServer = await startServerProcess(sqliteDb, keyFile);
    const rounds = [];
    const slow = [];
    try {
      for (const s of [pgServer, sqliteServer]) await load(s, { route: 'get', duration: 1, n: N_ADDR, seed: 7 });
      for (let r = 0; r < ROUNDS + 2; r++) {
        const res = {};
        for (const which of r % 2 === 0 ? ['pg', 'sqlite'] : ['sqlite', 'pg']) res[which] = await load(which === 'pg' ? pgServer : sqliteServer, { route: 'get', duration, n: N_ADDR, seed: 100 + r });
        rounds.push(res);
        ctx.log(`round ${r + 1}: PostgreSQL ${res.pg.requests.toFixed(0)} req/s (p99 ${res.pg.latency.p99} ms), SQLite ${res.sqlite.requests.toFixed(0)} req/s (p99 ${res.sqlite.latency.p99} ms)`);
      }
      const offered = Math.max(10, Math.floor(m(rounds.map((x) => x.pg.requests)) / 2));
      for (let r = 0; r < ROUNDS; r++) {
        const res = {};
        for (const which of r % 2 === 0 ? ['pg', 'sqlite'] : ['sqlite', 'pg']) res[which] = await load(which === 'pg' ? pgServer : sqliteServer, { route: 'get', duration, n: N_ADDR, seed: 200 + r, connections: 10, overallRate: offered });
        slow.push(res);
      }
      const thr = rounds.map((x) => x.pg.requests / x.sqlite.requests);
      const label = N_ADDR >= 1e6 ? `${N_ADDR / 1e6}M` : `${N_ADDR / 1e3}k`;
      results.push({ name: `GET /v1/recipients/{address} on PostgreSQL vs SQLite (${label} addresses, 50 conn): throughput`, value: m(rounds.map((x) => x.pg.requests)), unit: 'req/s', baseline: m(rounds.map((x) => x.sqlite.requests)), ratio: m(thr), samples: thr, target: '>= 0.5x', pass: m(thr) >= 0.5 });
      results.push({ name: 'GET lookup p99 at peak (50 conn): PostgreSQL (baseline: SQLite)', value: m(rounds.map((x) => x.pg.latency.p99)), unit: 'ms', baseline: m(rounds.map((x) => x.sqlite.latency.p99)), target: 'reported' });
      results.push({ name: `GET lookup p99 at ${offered} req/s offered (10 conn): PostgreSQL (baseline: SQLite)`, value: m(slow.map((x) => x.pg.latency.p99)), unit: 'ms', baseline: m(slow.map((x) => x.sqlite.latency.p99)), target: 'reported' });
      results.push({ name: 'GET lookup server CPU per request: PostgreSQL store process (baseline: SQLite; PostgreSQL backends not counted)', value: m(rounds.map((x) => x.pg.cpuPerRequest)), unit: 'us/req', baseline: m(rounds.map((x) => x.sqlite.cpuPerRequest)), target: 'reported' });
    } finally {
      await pgServer.stop();
      await sqliteServer.stop();
    }
  } finally {
    await pg.stop();
  }
  return results;
}
