// The PostgreSQL store against the SQLite store, in the same run (issue 10, "Performance"):
//  (1) import: `importPaths` of the same mbox (the mailbox skew of _data.mjs, 5% really signed)
//      into a fresh PostgreSQL database vs a fresh SQLite file, pair by pair. Target >= 0.5x.
//      100k messages (the size); 2 pairs by default, 3 after a warm-up with --scale.
//  (2) GET /v1/recipients/{address} on 1M addresses (100k with --quick): one `serve`-like
//      HTTP server process on PostgreSQL vs one on SQLite, the same generated rows in both,
//      autocannon in its own process, alternating round by round. Throughput target >= 0.5x;
//      p50/p99 at peak (50 connections) for both, reported; with --scale also p99 at one fixed
//      offered rate (50% of the PostgreSQL peak, 10 connections), reported.
//  (3) scaling: 1, 2 and 4 concurrent `smime-census import` processes sharing the same work
//      (4 disjoint mbox files, the mailbox skew across them, so frequent senders are written by
//      several importers at once) into one PostgreSQL database; aggregate msg/s against one
//      importer. The targets are 1.6x and 2.5x. With them, per-process CPU accounting:
//      the importers' CPU (this process's reaped children) and PostgreSQL's (the postmaster, its
//      reaped backends and its live helpers), as a share of wall time x cores — on a 2-core
//      machine, once that share is near 100% more importers cannot add throughput.
//  (4) lookup curve (--scale only: a curve, no target, ~50 s of the default budget): GET
//      throughput, p50 and p99 at 10k and 100k addresses (1M from (2); 10M in scale-lookup.mjs)
//      on both stores.
// The PostgreSQL server is test/helpers/postgres.ts (built here with esbuild): a throwaway
// cluster with fsync off, which flatters neither side much (SQLite runs with synchronous=NORMAL
// in WAL mode, which does not fsync per commit either). The server process is pinned to CPU 0
// and the load generator to CPU 1 (when taskset works); PostgreSQL's backends float.
import { build } from 'esbuild';
import { join, dirname } from 'node:path';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { writeMbox } from './_data.mjs';
import { smimePool } from './_smime.mjs';
import { load, startServerProcess } from './_server.mjs';
import { clockTicks } from './_proc.mjs';
import { configSchema } from '../../dist/config/index.js';
import { openApp, silentLogger, importPaths } from '../../dist/app/index.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DIST = join(ROOT, 'dist') + '/';

async function buildTs(entry, outDir) {
  const outfile = join(outDir, entry.replace(/[/.]/g, '_') + '.mjs');
  await build({ entryPoints: [join(ROOT, entry)], format: 'esm', platform: 'node', outfile, logLevel: 'warning' });
  return import(pathToFileURL(outfile).href);
}

/**
 * The rows of http.mjs's generator (N addresses, one client each in the address row's list, 10%
 * expired decisions), as statements that both dialects run: SQLite through a recursive CTE, PostgreSQL through generate_series
 * (bigint: `i * 7919` passes int4's range from about 271k addresses on, and the 1M run failed).
 */
function rowsSql(N, now, dialect) {
  const i = 'i';
  const addr = dialect === 'sqlite' ? `printf('user%07d@customer%03d.example', i, i % 997)` : `'user' || lpad(i::text, 7, '0') || '@customer' || lpad((i % 997)::text, 3, '0') || '.example'`;
  const src = dialect === 'sqlite' ? `(WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${N - 1}) SELECT i FROM n)` : `(SELECT generate_series(0::bigint, ${N - 1}) AS i)`;
  return `INSERT INTO addresses (address, first_seen, last_seen, messages, last_verify_at, family, product, version, smime, client_at, recommendation, reason, decided_until, key_changed)
    SELECT ${addr}, ${now - 86_400_000}, ${now}, 1 + ${i} % 7, ${now},
           CASE ${i} % 4 WHEN 0 THEN 'thunderbird' WHEN 1 THEN 'apple-mail' WHEN 2 THEN 'gmail' ELSE 'outlook-windows' END,
           CASE ${i} % 4 WHEN 0 THEN 'Thunderbird' WHEN 1 THEN 'Apple Mail' WHEN 2 THEN 'Gmail' ELSE 'Microsoft Outlook' END,
           '115.0', CASE ${i} % 4 WHEN 2 THEN 'tolerate' ELSE 'verify' END, ${now},
           CASE ${i} % 4 WHEN 2 THEN 'do-not-sign' ELSE 'sign' END,
           'all evidence of the last 180 days is from clients that verify S/MIME',
           CASE WHEN (${i} * 7919) % 1000 < 100 THEN ${now - 3_600_000} ELSE ${now + 100 * 86_400_000} END, 0
    FROM ${src} AS n;
    UPDATE addresses SET clients = ${dialect === 'sqlite' ? 'json_array(json_array' : 'json_build_array(json_build_array'}(family, product, version, NULL, smime, messages, last_seen))${dialect === 'sqlite' ? '' : '::text'};`;
}

/** Generates the same N lookup rows into a fresh SQLite file and a fresh PostgreSQL database. */
async function lookupData(pg, dir, N, keyFile, now) {
  const sqliteDb = join(dir, `lookup-${N}.db`);
  openApp({ config: configSchema.parse({ db: sqliteDb }), logger: silentLogger() }).close();
  const d = new Database(sqliteDb);
  d.pragma('journal_mode = WAL');
  d.exec(`BEGIN; ${rowsSql(N, now, 'sqlite')} COMMIT; PRAGMA wal_checkpoint(TRUNCATE);`);
  d.close();
  const name = `lookup_${N}`;
  const pgDb = await pg.createDatabase(name);
  const migrate = openApp({ config: configSchema.parse({ db: pgDb, erasureKeyFile: keyFile }), logger: silentLogger() });
  await migrate.store.ready();
  await migrate.close();
  await pg.psql(name, `BEGIN; ${rowsSql(N, now, 'postgres')} COMMIT; VACUUM ANALYZE;`);
  return { sqliteDb, pgDb, dropSqlite: () => { for (const s of ['', '-wal', '-shm']) rmSync(sqliteDb + s, { force: true }); } };
}

/** One `smime-census import` process per group of files, all at once; resolves with the wall time. */
async function importers(groups, env) {
  const t0 = performance.now();
  await Promise.all(groups.map(async (files) => {
    const child = spawn(process.execPath, [join(DIST, 'cli', 'main.js'), 'import', '--json', ...files], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const [code] = await once(child, 'exit');
    if (code !== 0) throw new Error(`import exited ${code}: ${err.slice(-2000)}`);
  }));
  return performance.now() - t0;
}

/** Fields after comm of /proc/PID/stat (utime is [11], stime [12], cutime [13], cstime [14], ppid [1]). */
function statFields(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}
const ms = (ticks) => (ticks * 1000) / clockTicks();

/** CPU ms of the children this process has reaped (the importer processes, once they exited). */
function reapedChildrenCpuMs() {
  const f = statFields(process.pid);
  return ms(Number(f[13]) + Number(f[14]));
}

/** CPU ms of a PostgreSQL server so far: the postmaster, the backends it reaped, and its live processes. */
function postgresCpuMs(dataDir) {
  const postmaster = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const f = statFields(postmaster);
  let ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const c = statFields(Number(d));
      if (Number(c[1]) === postmaster) ticks += Number(c[11]) + Number(c[12]);
    } catch {
      /* gone meanwhile */
    }
  }
  return ms(ticks);
}

/** The machine's busy and total CPU ms so far (/proc/stat's cpu line: every process, ours and others'). */
function machineCpuMs() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: ms(total - f[3] - f[4]), total: ms(total) };
}

export default async function pgStoreBench(ctx) {
  const N_MAIL = ctx.quick ? 10_000 : 100_000;
  const N_ADDR = ctx.quick ? 100_000 : 1_000_000;
  const ROUNDS = ctx.quick ? 2 : 3;
  const duration = ctx.quick ? 2 : 3;
  const WARMUP_REQUESTS = ctx.quick ? 5_000 : 20_000;
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
    // 100k messages take tens of seconds a side: the default run takes 2 pairs without a warm-up
    // (the order alternates, so a cold first import hits each side once), --scale 3 after one.
    const imp = await ctx.pairs(intoPg, intoSqlite, ctx.scale ? 3 : 2, { warmup: !!ctx.scale });
    const rate = (ms) => N_MAIL / (ms / 1000);
    const impRatios = imp.ratios.map((r) => 1 / r);
    ctx.log(`import: PostgreSQL ${rate(imp.medianA).toFixed(0)} msg/s, SQLite ${rate(imp.medianB).toFixed(0)} msg/s`);
    results.push({ name: `import ${N_MAIL} msgs (5% signed) into PostgreSQL vs SQLite`, value: rate(imp.medianA), unit: 'msg/s', baseline: rate(imp.medianB), ratio: m(impRatios), samples: impRatios, target: '>= 0.5x', pass: m(impRatios) >= 0.5 });

    // ---- (3) concurrent importers --------------------------------------------------------
    const PER_FILE = ctx.quick ? 3_000 : ctx.scale ? 25_000 : 10_000;
    const files = [];
    for (let k = 0; k < 4; k++) files.push((await writeMbox(join(dir, `part-${k}.mbox`), PER_FILE, { pool, total: 4 * PER_FILE, offset: k * PER_FILE })).path);
    ctx.size('concurrentImportMessages', 4 * PER_FILE);
    const pwFile = join(dir, 'db-password');
    writeFileSync(pwFile, pg.password, { mode: 0o600 });
    const cfgFile = join(dir, 'import.json');
    writeFileSync(cfgFile, JSON.stringify({ sign: { trustedCaFiles: [pool.rootCertFile] }, erasureKeyFile: keyFile, logLevel: 'warn' }));
    const curveRates = {};
    const cpuShare = {};
    const dataDir = join(pg.dir, 'data');
    const cores = cpus().length;
    for (const c of [1, 2, 4]) {
      const rates = [];
      const shares = [];
      for (let r = 0; r < (ctx.scale ? 2 : 1); r++) {
        const name = `concurrent_${c}_${r}`;
        await pg.createDatabase(name);
        const env = { CENSUS_DB: pg.urlWithoutPassword(name), CENSUS_DB_PASSWORD_FILE: pwFile, CENSUS_CONFIG: cfgFile };
        const groups = Array.from({ length: c }, (_, g) => files.filter((_, k) => k % c === g));
        const [child0, pg0, box0] = [reapedChildrenCpuMs(), postgresCpuMs(dataDir), machineCpuMs()];
        const wall = await importers(groups, env);
        const [childMs, pgMs, box1] = [reapedChildrenCpuMs() - child0, postgresCpuMs(dataDir) - pg0, machineCpuMs()];
        const n = Number((await pg.psql(name, 'SELECT count(*) FROM observations')).trim());
        if (n !== 4 * PER_FILE) throw new Error(`${c} importers stored ${n} of ${4 * PER_FILE}`);
        rates.push((4 * PER_FILE) / (wall / 1000));
        shares.push({ importers: childMs / (wall * cores), postgres: pgMs / (wall * cores), total: (childMs + pgMs) / (wall * cores), machine: (box1.busy - box0.busy) / (box1.total - box0.total), importerMsPerMsg: childMs / (4 * PER_FILE), pgMsPerMsg: pgMs / (4 * PER_FILE) });
      }
      curveRates[c] = m(rates);
      const pick = (k) => m(shares.map((x) => x[k]));
      cpuShare[c] = { importers: pick('importers'), postgres: pick('postgres'), total: pick('total'), machine: pick('machine'), importerMsPerMsg: pick('importerMsPerMsg'), pgMsPerMsg: pick('pgMsPerMsg') };
      const pc = (x) => `${(x * 100).toFixed(0)}%`;
      ctx.log(`${c} concurrent importer(s): ${curveRates[c].toFixed(0)} msg/s; the machine's ${cores} cores ${pc(cpuShare[c].machine)} busy, importers ${pc(cpuShare[c].importers)} + PostgreSQL ${pc(cpuShare[c].postgres)} of them; per message ${cpuShare[c].importerMsPerMsg.toFixed(2)} ms importer + ${cpuShare[c].pgMsPerMsg.toFixed(2)} ms PostgreSQL CPU`);
    }
    results.push({ name: `1 importer into PostgreSQL (${4 * PER_FILE} msgs in 4 files; the curve's baseline)`, value: curveRates[1], unit: 'msg/s', target: 'reported (curve)' });
    for (const c of [2, 4]) {
      const ratio = curveRates[c] / curveRates[1];
      const target = c === 2 ? 1.6 : 2.5;
      results.push({ name: `${c} concurrent importers into one PostgreSQL vs 1 (${4 * PER_FILE} msgs in 4 files; ${cores} cores)`, value: curveRates[c], unit: 'msg/s', baseline: curveRates[1], ratio, target: `>= ${target}x`, pass: ratio >= target });
    }
    for (const c of [1, 2, 4]) {
      const x = cpuShare[c];
      results.push({ name: `CPU with ${c} importer(s): the machine's ${cores} cores busy (importers ${(x.importers * 100).toFixed(0)}% + PostgreSQL ${(x.postgres * 100).toFixed(0)}% of cores x wall, the rest other processes; per message ${x.importerMsPerMsg.toFixed(2)} ms importer + ${x.pgMsPerMsg.toFixed(2)} ms PostgreSQL CPU)`, value: +(x.machine * 100).toFixed(1), unit: '%', target: 'reported (why the curve flattens)' });
    }

    // ---- (2) GET lookup ------------------------------------------------------------------
    const now = Date.now();
    const { sqliteDb, pgDb } = await lookupData(pg, dir, N_ADDR, keyFile, now);
    ctx.size('addresses', N_ADDR);
    const pgServer = await startServerProcess(pgDb, keyFile);
    const sqliteServer = await startServerProcess(sqliteDb, keyFile);
    const rounds = [];
    const slow = [];
    try {
      // Warm-up by request count, as http.mjs does: one second of a loaded machine can be a few
      // hundred requests, too few for V8 to optimise either server's lookup path.
      for (const s of [pgServer, sqliteServer]) await load(s, { route: 'get', amount: WARMUP_REQUESTS, n: N_ADDR, seed: 7 });
      for (let r = 0; r < ROUNDS; r++) {
        const res = {};
        for (const which of r % 2 === 0 ? ['pg', 'sqlite'] : ['sqlite', 'pg']) res[which] = await load(which === 'pg' ? pgServer : sqliteServer, { route: 'get', duration, n: N_ADDR, seed: 100 + r });
        rounds.push(res);
        ctx.log(`round ${r + 1}: PostgreSQL ${res.pg.requests.toFixed(0)} req/s (p99 ${res.pg.latency.p99} ms), SQLite ${res.sqlite.requests.toFixed(0)} req/s (p99 ${res.sqlite.latency.p99} ms)`);
      }
      const offered = Math.max(10, Math.floor(m(rounds.map((x) => x.pg.requests)) / 2));
      // A diagnostic with no target (~16 s of the default budget): --scale only.
      for (let r = 0; r < (ctx.scale ? 2 : 0); r++) {
        const res = {};
        for (const which of r % 2 === 0 ? ['pg', 'sqlite'] : ['sqlite', 'pg']) res[which] = await load(which === 'pg' ? pgServer : sqliteServer, { route: 'get', duration, n: N_ADDR, seed: 200 + r, connections: 10, overallRate: offered });
        slow.push(res);
      }
      const thr = rounds.map((x) => x.pg.requests / x.sqlite.requests);
      const label = N_ADDR >= 1e6 ? `${N_ADDR / 1e6}M` : `${N_ADDR / 1e3}k`;
      results.push({ name: `GET /v1/recipients/{address} on PostgreSQL vs SQLite (${label} addresses, 50 conn): throughput`, value: m(rounds.map((x) => x.pg.requests)), unit: 'req/s', baseline: m(rounds.map((x) => x.sqlite.requests)), ratio: m(thr), samples: thr, target: '>= 0.5x', pass: m(thr) >= 0.5 });
      const lat = (k, q) => m(rounds.map((x) => x[k].latency[q]));
      results.push({ name: `curve: GET lookup at ${label} addresses, PostgreSQL (p50 ${lat('pg', 'p50')} ms, p99 ${lat('pg', 'p99')} ms) vs SQLite (p50 ${lat('sqlite', 'p50')} ms, p99 ${lat('sqlite', 'p99')} ms)`, value: m(rounds.map((x) => x.pg.requests)), unit: 'req/s', baseline: m(rounds.map((x) => x.sqlite.requests)), ratio: m(thr), samples: thr, target: 'reported (curve)' });
      results.push({ name: 'GET lookup p99 at peak (50 conn): PostgreSQL (baseline: SQLite)', value: m(rounds.map((x) => x.pg.latency.p99)), unit: 'ms', baseline: m(rounds.map((x) => x.sqlite.latency.p99)), target: 'reported' });
      if (slow.length) results.push({ name: `GET lookup p99 at ${offered} req/s offered (10 conn): PostgreSQL (baseline: SQLite)`, value: m(slow.map((x) => x.pg.latency.p99)), unit: 'ms', baseline: m(slow.map((x) => x.sqlite.latency.p99)), target: 'reported' });
      results.push({ name: 'GET lookup server CPU per request: PostgreSQL store process (baseline: SQLite; PostgreSQL backends not counted)', value: m(rounds.map((x) => x.pg.cpuPerRequest)), unit: 'us/req', baseline: m(rounds.map((x) => x.sqlite.cpuPerRequest)), target: 'reported' });
    } finally {
      await pgServer.stop();
      await sqliteServer.stop();
    }

    // ---- (4) lookup curve ----------------------------------------------------------------
    // Not in the default run: a curve with no target, and the 20-minute budget is for targets.
    for (const S of ctx.quick ? [10_000] : ctx.scale ? [10_000, 100_000] : []) {
      const data = await lookupData(pg, dir, S, keyFile, now);
      const servers = { pg: await startServerProcess(data.pgDb, keyFile), sqlite: await startServerProcess(data.sqliteDb, keyFile) };
      try {
        for (const s of Object.values(servers)) await load(s, { route: 'get', amount: WARMUP_REQUESTS, n: S, seed: 7 });
        const xs = [];
        for (let r = 0; r < 3; r++) {
          const res = {};
          for (const which of r % 2 === 0 ? ['pg', 'sqlite'] : ['sqlite', 'pg']) res[which] = await load(servers[which], { route: 'get', duration: ctx.quick ? 1 : 2, n: S, seed: 300 + r });
          xs.push(res);
        }
        const label = S >= 1e6 ? `${S / 1e6}M` : `${S / 1e3}k`;
        const ratios = xs.map((x) => x.pg.requests / x.sqlite.requests);
        results.push({ name: `curve: GET lookup at ${label} addresses, PostgreSQL (p50 ${m(xs.map((x) => x.pg.latency.p50))} ms, p99 ${m(xs.map((x) => x.pg.latency.p99))} ms) vs SQLite (p50 ${m(xs.map((x) => x.sqlite.latency.p50))} ms, p99 ${m(xs.map((x) => x.sqlite.latency.p99))} ms)`, value: m(xs.map((x) => x.pg.requests)), unit: 'req/s', baseline: m(xs.map((x) => x.sqlite.requests)), ratio: m(ratios), samples: ratios, target: 'reported (curve)' });
      } finally {
        await servers.pg.stop();
        await servers.sqlite.stop();
        data.dropSqlite();
      }
    }
  } finally {
    await pg.stop();
  }
  return results;
}
