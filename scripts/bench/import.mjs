// Import benchmarks on mail with the skew of a real support mailbox and 5% really signed
// messages (scripts/bench/_data.mjs, _smime.mjs):
//  (1) `import` end to end (read mbox, parse, harvest + verify S/MIME, classify, store) vs a
//      naive peer: the whole message through mailparser's simpleParser, one INSERT per row in
//      autocommit mode, with the same pragmas as ours (WAL, synchronous=NORMAL) and warmed up
//      like ours. Target >= 5x. Asserts read/stored counts, the observation row count and that
//      every signer's certificate was harvested.
//  (2) harvesting on its own: verification + certificate parsing of the signed messages, per
//      signed message and as a share of the import's time (reported).
//  (3) classify + store on top of parse (20k of the same header blocks, no S/MIME bytes): <= +50%.
//  (4) scaling (--scale only: a curve, no target; the 1M point's set-up alone took 46 s of the
//      default budget): import of the same mail into a database that already holds 1M
//      observations vs into an empty one (reported; 10M: scale-import.mjs).
import { join } from 'node:path';
import { copyFileSync, readFileSync, rmSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { simpleParser } from 'mailparser';
import { writeMbox } from './_data.mjs';
import { smimePool } from './_smime.mjs';
import { configSchema } from '../../dist/config/index.js';
import { openApp, silentLogger, importPaths, ingestAll, fingerprintSelector } from '../../dist/app/index.js';
import { parseMessage } from '../../dist/parse/index.js';
import { readMbox } from '../../dist/source/file/index.js';
import { harvestFromMessage } from '../../dist/sign/index.js';

/** Rows of a table, read with a plain connection (the bench checks the store's result from outside). */
function count(db, sql) {
  const d = new Database(db, { readonly: true });
  try {
    return d.prepare(sql).pluck().get();
  } finally {
    d.close();
  }
}

/**
 * Grows a database to `target` observations (and their addresses) by copying its rows under new
 * keys, doubling per step: a step copies every row there is (earlier copies included, under a
 * new prefix), so 1M rows from 25k take six steps, each one sequential scan.
 */
function grow(db, target) {
  const d = new Database(db);
  d.pragma('journal_mode = WAL');
  d.pragma('synchronous = OFF');
  const have = () => d.prepare('SELECT count(*) FROM observations').pluck().get();
  const cols = d.prepare("SELECT group_concat(name, ', ') FROM pragma_table_info('observations') WHERE name <> 'id'").pluck().get();
  const acols = d.prepare("SELECT group_concat(name, ', ') FROM pragma_table_info('addresses')").pluck().get();
  for (let k = 1; have() < target; k++) {
    const need = target - have();
    const sel = cols
      .split(', ')
      .map((c) => (c === 'source_key' ? `'grow${k}:' || source_key` : c === 'address' ? `'g${k}.' || address` : c))
      .join(', ');
    const asel = acols
      .split(', ')
      .map((c) => (c === 'address' ? `'g${k}.' || address` : c))
      .join(', ');
    // The addresses of the copied rows: the copy takes the first `need` rows by id, and an
    // address's state comes along when any of its rows does.
    d.exec(`BEGIN;
      CREATE TEMP TABLE copied AS SELECT DISTINCT address FROM (SELECT address FROM observations ORDER BY id LIMIT ${need});
      INSERT INTO observations (${cols}) SELECT ${sel} FROM observations ORDER BY id LIMIT ${need};
      INSERT OR IGNORE INTO addresses (${acols}) SELECT ${asel} FROM addresses WHERE address IN (SELECT address FROM copied);
      DROP TABLE copied;
      COMMIT;`);
  }
  d.pragma('wal_checkpoint(TRUNCATE)');
  d.close();
}

export default async function (ctx) {
  // 25k messages (~14k addresses): ten batches, with the regular and frequent senders updated
  // many times; per-message cost is flat with size here (the curve (4) shows it against a 1M
  // database), so 100k only made the default run four times longer.
  const N = ctx.quick ? 10_000 : 25_000;
  const NAIVE = ctx.quick ? 1_000 : 2_500;
  const ROUNDS = ctx.quick ? 2 : 3;
  // (3) on 20k header blocks: each round opens the app (rules, migrations) as an import does,
  // and that fixed cost weighs twice as much on 10k: 10k only looked worse, for no saved minute.
  const ITEMS = ctx.quick ? 5_000 : 20_000;
  const began = performance.now();
  const at = () => `${((performance.now() - began) / 1000).toFixed(0)} s in`;
  const dir = ctx.tmp('import-');
  const pool = smimePool(ctx.cacheDir ?? ctx.tmp('pki-'), { signers: ctx.quick ? 40 : 80 });
  const mbox = await writeMbox(join(dir, 'bench.mbox'), N, { pool });
  // The naive peer is much slower: it runs on the first NAIVE messages of the same mailbox.
  const naiveMbox = await writeMbox(join(dir, 'naive.mbox'), NAIVE, { pool, total: N });
  ctx.size('messages', N);
  ctx.size('naiveMessages', NAIVE);
  ctx.size('addresses', mbox.addresses);
  ctx.size('signedMessages', mbox.signed);
  ctx.size('signers', pool.signers.length);
  ctx.size('mboxBytes', statSync(mbox.path).size);
  ctx.log(`mbox of ${N} messages (${mbox.addresses} addresses, ${mbox.signed} signed by ${pool.signers.length} signers) written (${at()})`);
  const config = (db) => configSchema.parse({ db, sign: { trustedCaFiles: [pool.rootCertFile] } });
  const validSigners = [...mbox.validSigners];
  const results = [];

  // (1) ours vs the naive peer.
  let run = 0;
  let lastDb = null;
  const ours = async () => {
    if (lastDb) for (const s of ['', '-wal', '-shm']) rmSync(lastDb + s, { force: true });
    const db = join(dir, `ours-${run++}.db`);
    const app = openApp({ config: config(db), logger: silentLogger() });
    const c = await importPaths(app, [mbox.path]);
    app.close();
    if (c.read !== N || c.stored !== N) throw new Error(`ours: read ${c.read}, stored ${c.stored} of ${N}: ${JSON.stringify(c)}`);
    lastDb = db;
  };
  const naiveText = readFileSync(naiveMbox.path, 'latin1');
  const naive = async () => {
    const path = join(dir, `naive-${run++}.db`);
    const db = new Database(path);
    // The same durability settings as ours: the comparison is about work, not fsyncs.
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec('CREATE TABLE obs (address TEXT, message_id TEXT, xmailer TEXT, ua TEXT, date INTEGER)');
    const ins = db.prepare('INSERT INTO obs VALUES (?, ?, ?, ?, ?)');
    let start = 0;
    let n = 0;
    while (n < NAIVE) {
      const next = naiveText.indexOf('\n\nFrom ', start);
      const raw = naiveText.slice(naiveText.indexOf('\n', start) + 1, next < 0 ? naiveText.length : next + 1);
      const m = await simpleParser(raw);
      ins.run(m.from?.value?.[0]?.address ?? null, m.messageId ?? null, m.headers.get('x-mailer') ?? null, m.headers.get('user-agent') ?? null, m.date?.getTime() ?? null);
      n++;
      if (next < 0) break;
      start = next + 2;
    }
    db.close();
    for (const s of ['', '-wal', '-shm']) rmSync(path + s, { force: true });
    if (n !== NAIVE) throw new Error(`naive parsed ${n} of ${NAIVE}`);
  };
  const p = await ctx.pairs(ours, naive, ROUNDS);
  // Checks on the last database of ours: every message one row, every valid signer's certificate.
  const rows = count(lastDb, 'SELECT count(*) FROM observations');
  const certAddrs = new Set(new Database(lastDb, { readonly: true }).prepare('SELECT DISTINCT address FROM certificates').pluck().all());
  if (rows !== N) throw new Error(`ours stored ${rows} observation rows for ${N} messages`);
  // Every signature in the data is cryptographically good (expired/untrusted ones are stored with
  // warnings), so every signer that occurs must have its certificate.
  const missing = [...mbox.signers].filter((a) => !certAddrs.has(a));
  if (missing.length || certAddrs.size !== mbox.signers.size) throw new Error(`certificates: ${missing.length} of ${mbox.signers.size} signers missing, ${certAddrs.size} stored`);
  const rateRatios = p.a.map((ta, i) => (N / ta) / (NAIVE / p.b[i]));
  const oursRate = N / (p.medianA / 1000);
  const naiveRate = NAIVE / (p.medianB / 1000);
  ctx.log(`ours ${oursRate.toFixed(0)} msg/s, naive ${naiveRate.toFixed(0)} msg/s; ${certAddrs.size} certificates harvested (${mbox.signers.size} signers in the data, ${validSigners.length} with valid, trusted certificates) (${at()})`);
  results.push({ name: `import ${N} msgs (5% signed) vs naive simpleParser + INSERT per row (WAL, NORMAL)`, value: oursRate, unit: 'msg/s', baseline: naiveRate, ratio: ctx.median(rateRatios), samples: rateRatios, target: '>= 5x', pass: ctx.median(rateRatios) >= 5 });

  // (2) harvesting on its own, on the signed messages of the same mailbox.
  const signedItems = [];
  const items = [];
  for await (const it of readMbox(mbox.path, mbox.path)) {
    if (it.smimeBytes) signedItems.push(it.smimeBytes.message);
    if (items.length < ITEMS) items.push({ ...it, smimeBytes: undefined });
  }
  const ca = [readFileSync(pool.rootCertFile, 'utf8')];
  const harvestAll = async () => {
    let ok = 0;
    for (const m of signedItems) if ((await harvestFromMessage(m, { trustedCaPems: ca, useSystemTrust: true })).certificate) ok++;
    return ok;
  };
  await harvestAll();
  const hs = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    await harvestAll();
    hs.push(performance.now() - t0);
  }
  const harvestMs = ctx.median(hs);
  const perSigned = (harvestMs * 1000) / signedItems.length;
  results.push({ name: `harvest: verify + parse certificates, per signed message (${signedItems.length} signed)`, value: perSigned, unit: 'us', samples: hs.map((h) => (h * 1000) / signedItems.length), target: 'reported' });
  results.push({ name: 'harvest share of import time', value: (100 * harvestMs) / p.medianA, unit: '% of import', target: 'reported' });

  // (3) classify + store on top of parse: the first ITEMS header blocks, S/MIME bytes left out (timed in (2)).
  const sel = fingerprintSelector();
  const parseOnly = () => {
    let ok = 0;
    for (const it of items) if (parseMessage(it.headerBytes, { fingerprint: sel }).ok) ok++;
    if (ok !== items.length) throw new Error(`parse: ${ok} of ${items.length}`);
  };
  let fullDb = null;
  // Where the added time goes: the store's share (its ingestBatch: the one transaction per batch,
  // SQL and commit) is timed inside each full round; the rest of it is classify + enrich.
  const storeShares = [];
  const full = async () => {
    if (fullDb) for (const s of ['', '-wal', '-shm']) rmSync(fullDb + s, { force: true });
    fullDb = join(dir, `full-${run++}.db`);
    const app = openApp({ config: config(fullDb), logger: silentLogger() });
    const store = app.store;
    const ingestBatch = store.ingestBatch.bind(store);
    let storeMs = 0;
    store.ingestBatch = async (b, f) => {
      const t0 = performance.now();
      try {
        return await ingestBatch(b, f);
      } finally {
        storeMs += performance.now() - t0;
      }
    };
    const t0 = performance.now();
    const c = await ingestAll(app, items);
    storeShares.push(storeMs / (performance.now() - t0));
    app.close();
    if (c.stored !== items.length) throw new Error(`full: stored ${c.stored} of ${items.length}`);
  };
  const q = await ctx.pairs(full, parseOnly, ctx.quick ? 3 : 5);
  const added = q.ratios.map((r) => (r - 1) * 100);
  ctx.log(`classify+store: full ${q.medianA.toFixed(0)} ms, parse ${q.medianB.toFixed(0)} ms (${at()})`);
  results.push({ name: `classify+store added to parse (${items.length} msgs)`, value: ctx.median(added), unit: '% of parse', baseline: (q.medianB * 1000) / items.length, ratio: q.ratio, samples: q.ratios, target: '<= +50% (ratio <= 1.5)', pass: q.ratio <= 1.5 });
  // The warm-up round is left out: the pairs' rounds only.
  const shares = storeShares.slice(1).map((x) => 100 * x);
  results.push({ name: `store share of the full ingest in (3) (ingestBatch: SQL + commit)`, value: ctx.median(shares), unit: '% of full', samples: shares, target: 'reported' });

  // (4) scaling (--scale): into a database that already holds 1M observations (10M: scale-import.mjs).
  const sizes = ctx.quick ? [100_000] : ctx.scale ? [1_000_000] : [];
  const emptyRate = oursRate;
  for (const S of sizes) {
    const base = join(dir, `base-${S}.db`);
    // The log's figure is the whole preparation (the grow, then the copy), not only the copy.
    const t0 = performance.now();
    copyFileSync(lastDb, base);
    grow(base, S);
    const work = join(dir, `prefilled-${S}.db`);
    copyFileSync(base, work);
    rmSync(base, { force: true });
    ctx.log(`database with ${S} observations made in ${((performance.now() - t0) / 1000).toFixed(0)} s (${at()})`);
    // The next N messages of the same mailbox: new one-off senders, the regular and frequent ones again.
    const again = await writeMbox(join(dir, `again-${S}.mbox`), N, { pool, total: N, offset: N });
    const app = openApp({ config: config(work), logger: silentLogger() });
    const t1 = performance.now();
    const c = await importPaths(app, [again.path]);
    const ms = performance.now() - t1;
    app.close();
    for (const s of ['', '-wal', '-shm']) rmSync(work + s, { force: true });
    rmSync(again.path, { force: true });
    const rate = N / (ms / 1000);
    ctx.size(`prefilledObservations${S}`, S);
    results.push({ name: `import ${N} msgs into a database of ${S / 1e6}M observations (vs empty)`, value: rate, unit: 'msg/s', baseline: emptyRate, ratio: rate / emptyRate, target: 'reported (curve)', note: `read ${c.read}, duplicates ${c.duplicates}` });
  }
  return results;
}
