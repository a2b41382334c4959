// Why bench import (3) (classify + store <= +50% on top of parse) is out of reach: the store's
// SQL replayed on its own, as floors, against parse of the same header blocks in the same run.
//
//   node scripts/import-store-floor.mjs [--quick]      (after npm run build)
//
// A census is imported by the app from the bench's mail (scripts/bench/_data.mjs, 20k messages;
// 5k with --quick); its rows are then written again, in batches of 2,000 (IMPORT_BATCH) in one
// IMMEDIATE transaction each, with the store's pragmas (WAL, synchronous=NORMAL, secure_delete,
// wal_autocheckpoint, mmap, cache) and its own DDL (read from the census file), close and its
// checkpoint included:
//   obs-table      the observation rows into the table alone (no index): the row's own cost;
//   obs-2-unique   + the two unique indexes the guarantees need (source key; Message-ID + address);
//   obs-3-indexes  + observations_address (subject access, erasure, recompute by address): the
//                  observation INSERT as SqliteStore runs it;
//   store-sql      + the address rows (read once per address and batch, then INSERT for a new
//                  address or UPDATE of the unindexed columns) and address_months upserts, as
//                  ingestInTransaction issues them; the address rows written are the census's
//                  final ones (same sizes, the same insert/update pattern, not each batch's state);
//   full ingest    openApp + ingestAll of the same items (parse, classify, enrich, store).
// Every row is CPU time of this process per message and its median ratio to parse over pairs
// (parse and the variants interleaved), so machine load affects both sides alike.
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import Database from 'better-sqlite3';
import { writeMbox } from './bench/_data.mjs';
import { configSchema } from '../dist/config/index.js';
import { openApp, silentLogger, ingestAll, fingerprintSelector, IMPORT_BATCH } from '../dist/app/index.js';
import { parseMessage } from '../dist/parse/index.js';
import { readMbox } from '../dist/source/file/index.js';

const quick = process.argv.includes('--quick');
const N = quick ? 5_000 : 20_000;
const ROUNDS = quick ? 3 : 7;
const dir = mkdtempSync(join(tmpdir(), 'store-floor-'));
try {
  const mbox = await writeMbox(join(dir, 'floor.mbox'), N);
  const items = [];
  for await (const it of readMbox(mbox.path, mbox.path)) items.push({ ...it, smimeBytes: undefined });
  let k = 0;
  const fresh = () => join(dir, `db-${k++}.db`);
  const drop = (db) => { for (const s of ['', '-wal', '-shm']) rmSync(db + s, { force: true }); };
  const ingest = async (db) => {
    const app = openApp({ config: configSchema.parse({ db }), logger: silentLogger() });
    const c = await ingestAll(app, items);
    app.close();
    if (c.stored !== N) throw new Error(`stored ${c.stored} of ${N}`);
  };
  const census = fresh();
  await ingest(census);
  const src = new Database(census, { readonly: true });
  const obsCols = src.prepare("SELECT name FROM pragma_table_info('observations') WHERE name <> 'id'").pluck().all();
  const obs = src.prepare(`SELECT ${obsCols.join(', ')} FROM observations ORDER BY id`).raw().all();
  const addrCols = src.prepare("SELECT name FROM pragma_table_info('addresses')").pluck().all();
  const addrRows = new Map(src.prepare(`SELECT ${addrCols.join(', ')} FROM addresses`).raw().all().map((r) => [r[0], r]));
  const indexed = src.prepare("SELECT DISTINCT ii.name FROM sqlite_master m, pragma_index_info(m.name) ii WHERE m.tbl_name = 'addresses' AND m.type = 'index' AND m.sql IS NOT NULL").pluck().all();
  const ddl = src.prepare("SELECT name, type, sql FROM sqlite_master WHERE sql IS NOT NULL AND tbl_name IN ('observations', 'addresses', 'address_months') ORDER BY type DESC").all();
  src.close();
  drop(census);
  const ai = obsCols.indexOf('address');
  const ei = obsCols.indexOf('effective_at');
  const unindexed = addrCols.filter((c) => c !== 'address' && !indexed.includes(c));
  const month = (t) => new Date(t).toISOString().slice(0, 7);
  const OBS_INDEXES = { 'obs-table': [], 'obs-2-unique': ['observations_source_key', 'observations_message_address'] };
  const replay = (variant) => {
    const path = fresh();
    const c0 = process.cpuUsage();
    const db = new Database(path);
    for (const p of ['journal_mode = WAL', 'synchronous = NORMAL', 'secure_delete = ON', 'wal_autocheckpoint = 10000', 'mmap_size = 268435456', 'cache_size = -65536']) db.pragma(p);
    const all = variant === 'store-sql';
    const want = OBS_INDEXES[variant];
    for (const d of ddl) if (d.type === 'table' || all || (d.name.startsWith('observations_') && (!want || want.includes(d.name)))) db.exec(d.sql);
    const ins = db.prepare(`INSERT OR IGNORE INTO observations (${obsCols.join(', ')}) VALUES (${obsCols.map(() => '?').join(', ')})`);
    const get = db.prepare(`SELECT ${addrCols.join(', ')} FROM addresses WHERE address = ?`);
    const put = db.prepare(`INSERT OR REPLACE INTO addresses (${addrCols.join(', ')}) VALUES (${addrCols.map(() => '?').join(', ')})`);
    const upd = db.prepare(`UPDATE addresses SET ${unindexed.map((c) => `${c} = ?`).join(', ')} WHERE address = ?`);
    const bump = db.prepare(`INSERT INTO address_months (month, address, messages, signable) VALUES (?, ?, ?, ?)
      ON CONFLICT (month, address) DO UPDATE SET messages = messages + excluded.messages, signable = max(signable, excluded.signable)`);
    const batch = db.transaction((rows) => {
      const seen = new Map();
      const months = new Map();
      for (const r of rows) {
        if (ins.run(r).changes !== 1) throw new Error('replayed row not inserted');
        if (!all) continue;
        const a = r[ai];
        if (!seen.has(a)) seen.set(a, get.get(a) !== undefined);
        const key = `${month(r[ei])}\u0000${a}`;
        months.set(key, (months.get(key) ?? 0) + 1);
      }
      for (const [key, n] of months) {
        const [m, a] = key.split('\u0000');
        bump.run(m, a, n, 0);
      }
      for (const [a, existed] of seen) {
        const row = addrRows.get(a);
        if (existed) upd.run(...unindexed.map((c) => row[addrCols.indexOf(c)]), a);
        else put.run(row);
      }
    });
    for (let i = 0; i < obs.length; i += IMPORT_BATCH) batch.immediate(obs.slice(i, i + IMPORT_BATCH));
    db.close();
    const c = process.cpuUsage(c0);
    drop(path);
    return (c.user + c.system) / N;
  };
  const sel = fingerprintSelector();
  const parse = () => {
    const c0 = process.cpuUsage();
    for (const it of items) if (!parseMessage(it.headerBytes, { fingerprint: sel }).ok) throw new Error('parse failed');
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / N;
  };
  const full = async () => {
    const db = fresh();
    const c0 = process.cpuUsage();
    await ingest(db);
    const c = process.cpuUsage(c0);
    drop(db);
    return (c.user + c.system) / N;
  };
  const variants = ['obs-table', 'obs-2-unique', 'obs-3-indexes', 'store-sql'];
  const times = { parse: [] };
  for (const v of variants) times[v] = [];
  times['full ingest'] = [];
  parse();
  for (const v of variants) replay(v);
  await full();
  const load0 = loadavg()[0];
  for (let r = 0; r < ROUNDS; r++) {
    times.parse.push(parse());
    for (const v of variants) times[v].push(replay(v));
    times['full ingest'].push(await full());
  }
  const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
  console.log(`${N} header blocks, ${ROUNDS} rounds, load average ${load0.toFixed(2)} -> ${loadavg()[0].toFixed(2)} (1 min)`);
  for (const [name, t] of Object.entries(times)) {
    const ratio = median(t.map((x, i) => x / times.parse[i]));
    // A floor is work on top of parse; the full ingest includes parse.
    const added = name === 'parse' ? '' : `   +${(100 * (name === 'full ingest' ? ratio - 1 : ratio)).toFixed(0)}% on top of parse`;
    console.log(`${name.padEnd(14)} ${median(t).toFixed(1).padStart(6)} us/msg CPU   ${ratio.toFixed(2)}x parse${added}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
