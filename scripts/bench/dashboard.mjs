// Issue #7 benchmark: the dashboard must not slow down with a database of 1M addresses.
// The page draws server-side aggregates only, so (1) the time until it is fully drawn on the big
// database should be close to its floor: the API calls it makes (fetched from Node in the same run)
// plus the fixed cost of loading the page itself (measured on a 100-address database), and (2) the
// browser's own work after the data arrived should not grow with the database.
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { configSchema } from '../../dist/config/index.js';
import { openApp, silentLogger } from '../../dist/app/index.js';
import { chromium } from 'playwright-core';
import Database from 'better-sqlite3';

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];
/** The API calls the page makes on load (in parallel). */
const PAGE_CALLS = ['/v1/stats', '/v1/pollers', '/v1/unknown-headers?top=20'];

/** Fills a database with n addresses and one observation each over 24 months and ~40 families. */
function seed(ctx, n, name) {
  const db = join(ctx.tmp('dashboard-'), name);
  // The app creates and migrates the file (its public API); the rows are bulk-written through
  // the benchmark's own connection, as the http and export benchmarks do: ingesting 1M messages
  // through the pipeline would take minutes and is what the import benchmark measures.
  openApp({ config: configSchema.parse({ db }), logger: silentLogger() }).close();
  const d = new Database(db);
  d.pragma('journal_mode = WAL');
  const start = Date.UTC(2024, 11, 1);
  const month = 30.4 * 86_400_000;
  d.exec(`
    BEGIN;
    WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${n - 1})
    INSERT INTO observations (source_key, address, message_id, effective_at, received_at, fingerprint, family, kind, product, version, platform,
                              smime, confidence, rule_id, warnings, smime_message, evidence, created_at)
    SELECT 'bench:' || i, printf('user%07d@customer%03d.example', i, i % 997), printf('<bench-%d@client.example>', i),
           ${start} + (i % 24) * ${month} + (i % 1000) * 1000, NULL,
           CASE WHEN i % 10 = 9 THEN json_object('x-mailer', json_array(printf('Unknown Mailer %d.%d', i % 37, i % 5))) ELSE '{}' END,
           CASE WHEN i % 10 = 9 THEN NULL ELSE printf('family-%02d', i % 40) END, 'person', NULL, NULL, NULL,
           CASE i % 4 WHEN 0 THEN 'verify' WHEN 1 THEN 'tolerate' WHEN 2 THEN 'broken' ELSE 'unknown' END, 0.9, NULL, '[]', NULL, 1, ${start}
    FROM n;
    INSERT INTO addresses (address, first_seen, last_seen, messages, family, product, version, smime, recommendation, reason, decided_until)
    SELECT address, effective_at, effective_at, 1, family, NULL, NULL, smime,
           CASE smime WHEN 'verify' THEN 'sign' WHEN 'unknown' THEN 'unknown' ELSE 'do-not-sign' END, 'bench', NULL
    FROM observations;
    COMMIT;
    PRAGMA wal_checkpoint(TRUNCATE);`);
  d.close();
  return db;
}

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

/** `smime-census serve` in its own process (as in production, and apart from the browser driver); resolves its URL. */
async function serve(db) {
  const child = spawn(process.execPath, [CLI, '--db', db, '--log-level', 'info', 'serve', '--no-poll', '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const lines = createInterface({ input: child.stderr });
  for await (const line of lines) {
    let rec;
    try {
      rec = JSON.parse(line);
    } catch {
      continue;
    }
    if (rec.url) {
      lines.removeAllListeners();
      child.stderr.resume();
      return { url: rec.url, stop: async () => { child.kill('SIGTERM'); await once(child, 'exit'); } };
    }
  }
  throw new Error('serve exited before listening');
}

/**
 * One page load: ms from navigation start until everything is drawn, and browser work after the
 * last API response. The tab is reused (navigated again): a new renderer process would compete
 * with the server for this machine's CPUs, which a user's browser on another machine does not.
 */
async function pageLoad(page, url) {
  await page.goto('about:blank');
  await page.goto(url + '/');
  await page.waitForSelector('body[data-rendered-at]', { timeout: 600_000 });
  return page.evaluate(() => {
    const ready = Number(document.body.dataset.renderedAt);
    const apiEnd = Math.max(...performance.getEntriesByType('resource').filter((e) => e.name.includes('/v1/')).map((e) => e.responseEnd));
    return { ready, render: ready - apiEnd };
  });
}

/** The API calls of one page load, from Node, in parallel as the page makes them; ms. */
async function apiCalls(url) {
  const t0 = performance.now();
  await Promise.all(
    PAGE_CALLS.map(async (p) => {
      const res = await fetch(url + p);
      if (!res.ok) throw new Error(`${p}: ${res.status}`);
      await res.arrayBuffer();
    }),
  );
  return performance.now() - t0;
}

export default async function (ctx) {
  const N = ctx.quick ? 100_000 : 1_000_000;
  const repeats = ctx.quick ? 3 : 5;
  const big = seed(ctx, N, 'big.db');
  const tiny = seed(ctx, 100, 'tiny.db');
  ctx.log(`${N} addresses generated`);
  const sBig = await serve(big);
  const sTiny = await serve(tiny);

  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  try {
    const tab = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    // Interleaved (API, page, API, page …) so the shared machine's drift hits both sides alike.
    const m = { apiBig: [], apiTiny: [], pageBig: [], pageTiny: [] };
    for (let r = 0; r <= repeats; r++) {
      const a = await apiCalls(sBig.url);
      const b = await pageLoad(tab, sBig.url);
      const c = await apiCalls(sTiny.url);
      const d = await pageLoad(tab, sTiny.url);
      if (r === 0) continue; // warm-up
      m.apiBig.push(a);
      m.pageBig.push(b);
      m.apiTiny.push(c);
      m.pageTiny.push(d);
    }
    const apiBig = ctx.median(m.apiBig);
    const apiTiny = ctx.median(m.apiTiny);
    const pageBig = { ready: ctx.median(m.pageBig.map((x) => x.ready)), render: ctx.median(m.pageBig.map((x) => x.render)) };
    const pageTiny = { ready: ctx.median(m.pageTiny.map((x) => x.ready)), render: ctx.median(m.pageTiny.map((x) => x.render)) };
    // Fixed page cost (navigation, HTML/CSS/JS, drawing) = page ready minus its API time, on the tiny DB.
    const floor = apiBig + Math.max(0, pageTiny.ready - apiTiny);
    ctx.log(`API calls ${apiBig.toFixed(0)} ms (tiny DB ${apiTiny.toFixed(0)} ms); page ready ${pageBig.ready} ms (tiny DB ${pageTiny.ready} ms); browser work after data ${pageBig.render.toFixed(1)} ms (tiny DB ${pageTiny.render.toFixed(1)} ms)`);
    const renderRatio = pageBig.render / Math.max(1, pageTiny.render);
    return [
      { name: `dashboard ready, ${N} addresses: page vs its API calls + fixed page cost`, value: pageBig.ready, unit: 'ms', baseline: floor, ratio: pageBig.ready / floor, target: '<= 1.25x', pass: pageBig.ready / floor <= 1.25 },
      { name: `dashboard browser work after data, ${N} vs 100 addresses`, value: pageBig.render, unit: 'ms', baseline: pageTiny.render, ratio: renderRatio, target: '<= 2x or <= 50 ms', pass: renderRatio <= 2 || pageBig.render <= 50 },
    ];
  } finally {
    await browser.close();
    await sBig.stop();
    await sTiny.stop();
  }
}
