// Issue #5 benchmark: the HTTP lookup API and the Node library on a 1M-address database.
// - GET /v1/recipients/{address} vs the same server's constant route GET /v1/ping (>= 0.6x req/s)
// - POST /v1/recipients/lookup, 1000 addresses per request, vs in-process recommendMany (>= 0.7x addresses/s)
// - in-process recommend() vs a bare better-sqlite3 prepared point lookup on the same table (>= 0.5x)
// The server runs in a child process; autocannon (50 connections) runs in this one.
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import autocannon from 'autocannon';
import { configSchema } from '../../dist/config/index.js';
import { openApp, silentLogger } from '../../dist/app/index.js';
import { openCensus } from '../../dist/index.js';

const DIST = fileURLToPath(new URL('../../dist/', import.meta.url));

/** Bulk-generates N addresses and one client row each (what a lookup with clients reads). */
function generate(db, N) {
  const app = openApp({ config: configSchema.parse({ db }), logger: silentLogger() });
  const now = Date.now();
  app.store.sqlite.exec(`
    BEGIN;
    WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${N - 1})
    INSERT INTO addresses (address, first_seen, last_seen, messages, last_verify_at, family, product, version, smime, client_at, recommendation, reason, decided_until, key_changed)
    SELECT printf('user%07d@customer%03d.example', i, i % 997), ${now - 86_400_000}, ${now}, 1 + i % 7, ${now},
           CASE i % 4 WHEN 0 THEN 'thunderbird' WHEN 1 THEN 'apple-mail' WHEN 2 THEN 'gmail' ELSE 'outlook-windows' END,
           CASE i % 4 WHEN 0 THEN 'Thunderbird' WHEN 1 THEN 'Apple Mail' WHEN 2 THEN 'Gmail' ELSE 'Microsoft Outlook' END,
           '115.0', CASE i % 4 WHEN 2 THEN 'tolerate' ELSE 'verify' END, ${now},
           CASE i % 4 WHEN 2 THEN 'do-not-sign' ELSE 'sign' END,
           'all evidence of the last 180 days is from clients that verify S/MIME', ${now + 100 * 86_400_000}, 0
    FROM n;
    INSERT INTO address_clients (address, client_key, family, product, version, platform, smime, count, last_seen)
    SELECT address, family || char(31) || product, family, product, version, NULL, smime, messages, last_seen FROM addresses;
    COMMIT;
    PRAGMA wal_checkpoint(TRUNCATE);
  `);
  app.close();
}

/** Starts `smime-census`'s HTTP server on the database in a child process; resolves its URL. */
async function startServerProcess(db) {
  const script = `
    const { configSchema } = await import(${JSON.stringify(DIST + 'config/index.js')});
    const { openApp, createLogger } = await import(${JSON.stringify(DIST + 'app/index.js')});
    const { startServer, tokensFrom } = await import(${JSON.stringify(DIST + 'http/index.js')});
    const config = configSchema.parse({ db: ${JSON.stringify(db)}, logLevel: 'warn' });
    const app = openApp({ config, logger: createLogger('warn') });
    const { server, url } = await startServer({ app, tokens: tokensFrom({}), host: '127.0.0.1', port: 0, publicDir: null });
    process.stdout.write(url + '\\n');
    process.on('SIGTERM', async () => { await server.close(); app.close(); process.exit(0); });
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  while (!out.includes('\n')) {
    const [ev] = await Promise.race([once(child.stdout, 'data').then(() => ['data']), once(child, 'exit').then(() => ['exit'])]);
    if (ev === 'exit') throw new Error('server process exited');
  }
  return { url: out.trim(), stop: async () => { child.kill('SIGTERM'); await once(child, 'exit'); } };
}

function cannon(opts) {
  return new Promise((resolve, reject) => autocannon({ connections: 50, pipelining: 1, ...opts }, (err, r) => (err ? reject(err) : resolve(r))));
}

export default async function (ctx) {
  const N = ctx.quick ? 100_000 : 1_000_000;
  const duration = ctx.quick ? 2 : 5;
  const repeats = ctx.quick ? 3 : 5;
  const dir = ctx.tmp('http-');
  const db = join(dir, 'census.db');
  const t0 = performance.now();
  generate(db, N);
  ctx.log(`generated ${N} addresses in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  // A fixed pseudo-random sample of existing addresses (deterministic LCG), shared by all runs.
  const sample = [];
  let x = 12345;
  for (let i = 0; i < 20_000; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    const k = x % N;
    sample.push(`user${String(k).padStart(7, '0')}@customer${String(k % 997).padStart(3, '0')}.example`);
  }

  // --- in-process: recommend() vs a bare prepared point lookup on the same table --------------
  // The machine is shared and its load swings: every comparison is made round by round between
  // adjacent measurements, and the median of the per-round ratios is reported.
  const bare = new Database(db, { readonly: true });
  bare.pragma('mmap_size = 268435456');
  bare.pragma('cache_size = -65536');
  const point = bare.prepare('SELECT * FROM addresses WHERE address = ?');
  const census = openCensus({ db, policy: { mode: 'strict', windowDays: 180 } });
  const OPS = ctx.quick ? 50_000 : 200_000;
  const runBare = () => { let n = 0; for (let i = 0; i < OPS; i++) if (point.get(sample[i % sample.length])) n++; return n; };
  const runRecommend = async () => { let n = 0; for (let i = 0; i < OPS; i++) if ((await census.recommend(sample[i % sample.length])).recommendation === 'sign') n++; return n; };
  const runSync = () => { let n = 0; for (let i = 0; i < OPS; i++) if (census.recommendSync(sample[i % sample.length]).recommendation === 'sign') n++; return n; };
  const batches = [];
  for (let i = 0; i < 20; i++) batches.push(sample.slice(i * 1000, i * 1000 + 1000));
  const MANY_ROUNDS = ctx.quick ? 50 : 200;
  const runMany = async () => { let n = 0; for (let i = 0; i < MANY_ROUNDS; i++) n += (await census.recommendMany(batches[i % batches.length])).length; return n; };
  const rate = async (fn, ops) => ops / ((await ctx.timeMedian(fn, 1, { warmup: false })) / 1000);
  await runBare(); await runRecommend(); await runSync(); await runMany();
  const recRatios = [], syncRatios = [], bareRates = [], recRates = [], syncRates = [];
  for (let r = 0; r < (ctx.quick ? 5 : 9); r++) {
    const b = await rate(runBare, OPS);
    const a = await rate(runRecommend, OPS);
    const y = await rate(runSync, OPS);
    bareRates.push(b); recRates.push(a); syncRates.push(y);
    recRatios.push(a / b); syncRatios.push(y / b);
  }
  const m = ctx.median;
  ctx.log(`bare get ${m(bareRates).toFixed(0)}/s, recommend ${m(recRates).toFixed(0)}/s, recommendSync ${m(syncRates).toFixed(0)}/s`);

  // --- HTTP: server in a child process, autocannon here ----------------------------------------
  const server = await startServerProcess(db);
  const pings = [], gets = [], posts = [], manys = [];
  const getRatios = [], postRatios = [];
  const getP99 = [], pingP99 = [], postP99 = [];
  try {
    let gi = 0;
    let bi = 0;
    const bodies = batches.map((b) => JSON.stringify({ addresses: b }));
    // Both GET runs build their request the same way, so client-side cost is equal.
    const get = (d = duration) => cannon({ url: server.url, duration: d, requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: `/v1/recipients/${sample[gi++ % sample.length]}` }) }] });
    const ping = (d = duration) => cannon({ url: server.url, duration: d, requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: '/v1/ping' }) }] });
    const post = () => cannon({
      url: server.url,
      duration,
      requests: [{ method: 'POST', path: '/v1/recipients/lookup', headers: { 'content-type': 'application/json' }, setupRequest: (req) => ({ ...req, body: bodies[bi++ % bodies.length] }) }],
    });
    // Warm-up (JIT, page cache).
    await ping(1);
    await get(1);
    for (let r = 0; r < repeats; r++) {
      const p = await ping();
      const g = await get();
      const b = await post();
      const many = await rate(runMany, MANY_ROUNDS * 1000);
      for (const [res, name] of [[p, 'ping'], [g, 'get'], [b, 'post']]) {
        if (res.non2xx || res.errors) throw new Error(`${name}: ${res.non2xx} non-2xx, ${res.errors} errors`);
      }
      pings.push(p.requests.average); pingP99.push(p.latency.p99);
      gets.push(g.requests.average); getP99.push(g.latency.p99);
      posts.push(b.requests.average * 1000); postP99.push(b.latency.p99);
      manys.push(many);
      getRatios.push(g.requests.average / p.requests.average);
      postRatios.push((b.requests.average * 1000) / many);
      ctx.log(`round ${r + 1}: ping ${p.requests.average.toFixed(0)} req/s (p99 ${p.latency.p99} ms), lookup ${g.requests.average.toFixed(0)} req/s (p99 ${g.latency.p99} ms), batch ${(b.requests.average * 1000).toFixed(0)} addresses/s (p99 ${b.latency.p99} ms), in-process recommendMany ${many.toFixed(0)} addresses/s`);
    }
  } finally {
    await server.stop();
    census.close();
    bare.close();
  }
  const res = (name, value, unit, baseline, ratio, min) => ({ name, value, unit, baseline, ratio, target: `>= ${min}x (median of per-round ratios)`, pass: ratio >= min });
  return [
    res(`GET /v1/recipients/{address} (${N / 1000}k addresses, 50 conn) vs GET /v1/ping`, m(gets), 'req/s', m(pings), m(getRatios), 0.6),
    { name: 'GET /v1/recipients/{address} p99 (vs ping p99)', value: m(getP99), unit: 'ms', baseline: m(pingP99), ratio: m(getP99) / m(pingP99), target: 'reported' },
    res('POST /v1/recipients/lookup (1000/request) vs in-process recommendMany', m(posts), 'addresses/s', m(manys), m(postRatios), 0.7),
    { name: 'POST /v1/recipients/lookup p99 (50 batches in flight)', value: m(postP99), unit: 'ms', target: 'reported' },
    res('in-process recommend() vs bare prepared point lookup', m(recRates), 'lookups/s', m(bareRates), m(recRatios), 0.5),
    { name: 'in-process recommendSync() vs bare prepared point lookup', value: m(syncRates), unit: 'lookups/s', baseline: m(bareRates), ratio: m(syncRatios), target: 'reported' },
  ];
}
