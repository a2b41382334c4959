// What the per-message observation row costs, and what the schema split issue 14 suggests
// (fingerprints stored once per distinct value, verdicts in their own table, the row reduced to
// keys, time and ids) would save. Rows come from a real import of skewed mail
// (scripts/bench/_data.mjs) into a census made by the app; each variant then writes exactly
// those rows in batches of 1,000, one IMMEDIATE transaction each, WAL + synchronous=NORMAL and
// the three observation indexes, as SqliteStore does:
//  (a) today's row: fingerprint JSON and every verdict column on each row;
//  (b) the verdict in a deduplicated `verdicts` table (one INSERT per distinct verdict, an
//      in-process id cache), the row holding its id;
//  (c) (b) without the fingerprint on the row: a lower bound for any fingerprint layout — the
//      fingerprints cannot be shared (see `distinct fingerprints`: every one is different, they
//      hold the Message-ID, the Received hop, DKIM tags and MIME boundaries), so a separate table
//      only moves the bytes.
// Reported against the whole ingest of the same mail (parse + classify + store) in the same run,
// so the share of the per-message row in ingest time is visible.
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { writeMbox } from './_data.mjs';
import { configSchema } from '../../dist/config/index.js';
import { openApp, silentLogger, ingestAll } from '../../dist/app/index.js';
import { readMbox } from '../../dist/source/file/index.js';

const OBS = ['source_key', 'address', 'message_id', 'effective_at', 'received_at', 'fingerprint', 'family', 'kind', 'product', 'version', 'platform', 'smime', 'confidence', 'rule_id', 'warnings', 'candidates', 'smime_message', 'authenticated', 'evidence', 'created_at'];
const VERDICT = ['family', 'kind', 'product', 'version', 'platform', 'smime', 'confidence', 'rule_id', 'warnings', 'candidates'];
const SLIM = ['source_key', 'address', 'message_id', 'effective_at', 'received_at', 'fingerprint', 'verdict_id', 'smime_message', 'authenticated', 'evidence', 'created_at'];
const INDEXES = `CREATE UNIQUE INDEX observations_source_key ON observations (source_key);
  CREATE UNIQUE INDEX observations_message_address ON observations (message_id, address);
  CREATE INDEX observations_address ON observations (address, effective_at);`;
// The cheapest unambiguous key of a verdict (as clientKeyOf builds a client's): U+001F never
// occurs unescaped in these columns (warnings and candidates are JSON), and no text column is ''.
const verdictKey = (r) => `${r.family ?? ''}\u001f${r.kind}\u001f${r.product ?? ''}\u001f${r.version ?? ''}\u001f${r.platform ?? ''}\u001f${r.smime}\u001f${r.confidence}\u001f${r.rule_id ?? ''}\u001f${r.warnings}\u001f${r.candidates ?? ''}`;

export default async function (ctx) {
  const N = ctx.quick ? 5_000 : 20_000;
  // 5 pairs: every row is reported, not a target, and 7 in a quiet run spread 0.78-0.91 (b/a).
  const ROUNDS = ctx.quick ? 3 : 5;
  const dir = ctx.tmp('obsrow-');
  const mbox = await writeMbox(join(dir, 'rows.mbox'), N);
  const items = [];
  for await (const it of readMbox(mbox.path, mbox.path)) items.push(it);
  let k = 0;
  const ingest = async () => {
    const db = join(dir, `census-${k++}.db`);
    const app = openApp({ config: configSchema.parse({ db }), logger: silentLogger() });
    const c = await ingestAll(app, items);
    app.close();
    if (c.stored !== N) throw new Error(`stored ${c.stored} of ${N}`);
    return db;
  };
  const census = await ingest();
  const src = new Database(census, { readonly: true });
  const rows = src.prepare('SELECT * FROM observations ORDER BY id').all();
  src.close();
  if (rows.length !== N) throw new Error(`${rows.length} rows for ${N} messages`);
  const fingerprints = new Set(rows.map((r) => r.fingerprint)).size;
  const verdicts = new Set(rows.map(verdictKey)).size;
  ctx.size('messages', N);
  ctx.size('distinctFingerprints', fingerprints);
  ctx.size('distinctVerdicts', verdicts);
  ctx.log(`${N} rows: ${fingerprints} distinct fingerprints, ${verdicts} distinct verdicts`);

  const bytes = {};
  const write = (variant) => {
    const path = join(dir, `${variant}.db`);
    for (const s of ['', '-wal', '-shm']) rmSync(path + s, { force: true });
    const d = new Database(path);
    d.pragma('journal_mode = WAL');
    d.pragma('synchronous = NORMAL');
    const cols = variant === 'today' ? OBS : SLIM;
    d.exec(`CREATE TABLE observations (id INTEGER PRIMARY KEY AUTOINCREMENT, ${cols.join(', ')}); ${INDEXES}`);
    d.exec(`CREATE TABLE verdicts (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, ${VERDICT.join(', ')})`);
    const insert = d.prepare(`INSERT OR IGNORE INTO observations (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`);
    const insertVerdict = d.prepare(`INSERT INTO verdicts (key, ${VERDICT.join(', ')}) VALUES (${['key', ...VERDICT].map(() => '?').join(', ')})`);
    const ids = new Map();
    const batch = d.transaction((part) => {
      for (const r of part) {
        if (variant === 'today') {
          insert.run(OBS.map((c) => r[c]));
          continue;
        }
        const key = verdictKey(r);
        let id = ids.get(key);
        if (id === undefined) {
          id = Number(insertVerdict.run(key, ...VERDICT.map((c) => r[c])).lastInsertRowid);
          ids.set(key, id);
        }
        insert.run(r.source_key, r.address, r.message_id, r.effective_at, r.received_at, variant === 'slim' ? null : r.fingerprint, id, r.smime_message, r.authenticated, r.evidence, r.created_at);
      }
    });
    const t0 = performance.now();
    for (let i = 0; i < rows.length; i += 1000) batch.immediate(rows.slice(i, i + 1000));
    const ms = performance.now() - t0;
    bytes[variant] = (d.pragma('page_count', { simple: true }) * d.pragma('page_size', { simple: true })) / N;
    d.close();
    for (const s of ['', '-wal', '-shm']) rmSync(path + s, { force: true });
    return { ms };
  };
  const results = [];
  const ingestTimes = [];
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    const db = await ingest();
    ingestTimes.push(performance.now() - t0);
    for (const s of ['', '-wal', '-shm']) rmSync(db + s, { force: true });
  }
  const ingestUs = (ctx.median(ingestTimes) * 1000) / N;
  results.push({ name: `ingest of the same ${N} msgs (parse + classify + store), per message`, value: ingestUs, unit: 'us', samples: ingestTimes.map((t) => (t * 1000) / N), target: 'reported' });
  const today = await ctx.pairs(() => write('today'), () => write('split'), ROUNDS);
  const todayUs = (today.medianA * 1000) / N;
  results.push({ name: `observation row as today: INSERT per message (${N} msgs)`, value: todayUs, unit: 'us', samples: today.a.map((t) => (t * 1000) / N), note: `${bytes.today.toFixed(0)} B/msg in the file; ${((100 * todayUs) / ingestUs).toFixed(0)}% of ingest`, target: 'reported' });
  results.push({ name: 'verdict in a deduplicated table, row holds its id: time vs today', value: (today.medianB * 1000) / N, unit: 'us', baseline: todayUs, ratio: 1 / today.ratio, samples: today.ratios.map((x) => 1 / x), note: `${bytes.split.toFixed(0)} B/msg`, target: 'reported' });
  const slim = await ctx.pairs(() => write('today'), () => write('slim'), ROUNDS);
  results.push({ name: 'same without the fingerprint on the row (lower bound of any fingerprint layout): time vs today', value: (slim.medianB * 1000) / N, unit: 'us', baseline: (slim.medianA * 1000) / N, ratio: 1 / slim.ratio, samples: slim.ratios.map((x) => 1 / x), note: `${bytes.slim.toFixed(0)} B/msg`, target: 'reported' });
  return results;
}
