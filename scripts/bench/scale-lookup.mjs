// Scaling point (--scale only): GET /v1/recipients/{address} at 10M addresses on PostgreSQL and
// on SQLite in the same run — the lookup curve's last point (issue 10: 10k, 100k, 1M, 10M on
// both stores; issue 14: p50/p99 and throughput). The data are the curve's smaller points' shape
// (pg-store.mjs and http.mjs: one client row per address, 10% of decisions expired), built inside
// each database by the store's seedSynthetic. Measured exactly as pg-store.mjs measures its
// curve: one `serve`-like server process per store pinned to CPU 0, autocannon in its own process
// on CPU 1, 50 connections, addresses drawn uniformly over all N with 10% never seen; rounds
// alternate the order of the stores. Each round also times GET /v1/ping on the same server, so
// every figure has a peer from the same moment: PostgreSQL vs SQLite, and lookup vs ping per store
// (the load on a shared 2-core machine moves absolute figures by 2x; the ratios move far less).
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { configSchema } from '../../dist/config/index.js';
import { openApp, silentLogger } from '../../dist/app/index.js';
import { seedSynthetic } from '../../dist/store/index.js';
import { load, startServerProcess } from './_server.mjs';
import { peakRss } from './_proc.mjs';
import { dropSqlite, label, postgresHelper, scaleSize, timed } from './_scale.mjs';

/** Seeds N lookup-shape addresses into the census at `db` through the app's own store. */
async function seed(db, keyFile, N, now) {
  const app = openApp({ config: configSchema.parse({ db, erasureKeyFile: keyFile }), logger: silentLogger() });
  try {
    await app.store.ready();
    return await seedSynthetic(app.store, { shape: 'lookup', addresses: N, now });
  } finally {
    await app.close();
  }
}

/** seed() in a worker thread; resolves with its seconds. */
function inWorker(db, keyFile, N, now) {
  const w = new Worker(fileURLToPath(import.meta.url), { workerData: { db, keyFile, N, now } });
  return new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
    w.once('exit', (code) => code !== 0 && reject(new Error(`seeding worker exited ${code}`)));
  });
}

if (!isMainThread && workerData?.db) {
  const { db, keyFile, N, now } = workerData;
  const [, seconds] = await timed(() => seed(db, keyFile, N, now));
  parentPort.postMessage(seconds);
}

export default async function scaleLookup(ctx) {
  if (!ctx.scale) throw new Error('scale-lookup runs only with --scale');
  const N = scaleSize(ctx);
  const ROUNDS = ctx.quick ? 2 : 5;
  const duration = ctx.quick ? 2 : 3;
  const dir = ctx.tmp('scale-lookup-');
  const keyFile = join(dir, 'erasure.key');
  const startPostgres = await postgresHelper(dir);
  // The same server settings as pg-store.mjs's 10k–1M points.
  const pg = await startPostgres({ settings: { shared_buffers: '256MB', max_connections: '100' } });
  const m = ctx.median;
  const now = Date.now();
  const sqliteDb = join(dir, `lookup-${N}.db`);
  const results = [];
  try {
    // Both at once: PostgreSQL seeds in its backend, SQLite in a worker thread (its seeding is
    // synchronous), so the two use both cores; each is timed on its own.
    const pgDb = await pg.createDatabase(`lookup_${N}`);
    const [[, pgSeconds], sqliteSeconds] = await Promise.all([
      timed(() => seed(pgDb, keyFile, N, now)).then((r) => (ctx.log(`PostgreSQL: ${N} addresses seeded in ${r[1].toFixed(0)} s`), r)),
      inWorker(sqliteDb, keyFile, N, now).then((s) => (ctx.log(`SQLite: ${N} addresses seeded in ${s.toFixed(0)} s`), s)),
    ]);
    ctx.size('addresses', N);
    ctx.size('seedSecondsSqlite', +sqliteSeconds.toFixed(1));
    ctx.size('seedSecondsPostgres', +pgSeconds.toFixed(1));
    const servers = { pg: await startServerProcess(pgDb, keyFile), sqlite: await startServerProcess(sqliteDb, keyFile) };
    const rounds = [];
    try {
      // Warm-up: one pass over the address space on each (page cache, prepared statements, JIT).
      for (const s of Object.values(servers)) await load(s, { route: 'get', duration: ctx.quick ? 1 : 5, n: N, seed: 7 });
      for (let r = 0; r < ROUNDS; r++) {
        const res = {};
        for (const which of r % 2 === 0 ? ['pg', 'sqlite'] : ['sqlite', 'pg']) {
          const s = servers[which];
          const ping = await load(s, { route: 'ping', duration });
          const get = await load(s, { route: 'get', duration, n: N, seed: 300 + r });
          res[which] = { ping, get };
        }
        rounds.push(res);
        const f = (x) => `${x.get.requests.toFixed(0)} req/s (p50 ${x.get.latency.p50} ms, p99 ${x.get.latency.p99} ms; ping ${x.ping.requests.toFixed(0)} req/s)`;
        ctx.log(`round ${r + 1}: PostgreSQL ${f(res.pg)}, SQLite ${f(res.sqlite)}`);
      }
    } finally {
      ctx.size('serverPeakRssMbPostgres', +(peakRss(servers.pg.pid) / 1048576).toFixed(0));
      ctx.size('serverPeakRssMbSqlite', +(peakRss(servers.sqlite.pid) / 1048576).toFixed(0));
      await servers.pg.stop();
      await servers.sqlite.stop();
    }
    const L = label(N);
    const get = (k, f) => m(rounds.map((x) => f(x[k])));
    const thr = rounds.map((x) => x.pg.get.requests / x.sqlite.get.requests);
    const lat = (k, q) => get(k, (x) => x.get.latency[q]);
    results.push({ name: `curve: GET lookup at ${L} addresses, PostgreSQL (p50 ${lat('pg', 'p50')} ms, p99 ${lat('pg', 'p99')} ms) vs SQLite (p50 ${lat('sqlite', 'p50')} ms, p99 ${lat('sqlite', 'p99')} ms)`, value: get('pg', (x) => x.get.requests), unit: 'req/s', baseline: get('sqlite', (x) => x.get.requests), ratio: m(thr), samples: thr, target: 'reported (curve; 10k-1M: 0.47-0.54x)', p50: lat('pg', 'p50'), p99: lat('pg', 'p99'), baselineP50: lat('sqlite', 'p50'), baselineP99: lat('sqlite', 'p99') });
    for (const [k, name] of [['pg', 'PostgreSQL'], ['sqlite', 'SQLite']]) {
      const ratios = rounds.map((x) => x[k].get.requests / x[k].ping.requests);
      results.push({ name: `curve: ${name} GET lookup vs GET /v1/ping at ${L} addresses (p50 ${lat(k, 'p50')} ms, p99 ${lat(k, 'p99')} ms)`, value: get(k, (x) => x.get.requests), unit: 'req/s', baseline: get(k, (x) => x.ping.requests), ratio: m(ratios), samples: ratios, target: 'reported (curve; baseline = ping)', p50: lat(k, 'p50'), p99: lat(k, 'p99') });
      const cpu = rounds.map((x) => x[k].get.cpuPerRequest);
      results.push({ name: `curve: ${name} server CPU per GET lookup at ${L} addresses (server process only${k === 'pg' ? '; PostgreSQL backends not counted' : ''})`, value: m(cpu), unit: 'us/req', samples: cpu, target: 'reported' });
    }
  } finally {
    dropSqlite(sqliteDb);
    await pg.stop();
  }
  return results;
}
