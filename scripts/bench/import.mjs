// Issue #2 benchmarks: import end to end vs a naive pipeline; classify+store overhead vs parse.
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { simpleParser } from 'mailparser';
import { writeMbox, templates, message } from './_data.mjs';
import { configSchema } from '../../dist/config/index.js';
import { openApp, silentLogger, importPaths, fingerprintSelector } from '../../dist/app/index.js';
import { parseMessage } from '../../dist/parse/index.js';
import { readMbox } from '../../dist/source/file/index.js';

export default async function (ctx) {
  const N = ctx.quick ? 10_000 : 100_000;
  const NAIVE = ctx.quick ? 1_000 : 5_000;
  const dir = ctx.tmp('import-');
  const mbox = await writeMbox(join(dir, 'bench.mbox'), N);
  // The naive peer is ~20x slower: it runs on the first NAIVE messages of the same data (same generator).
  const naiveMbox = await writeMbox(join(dir, 'naive.mbox'), NAIVE, { addresses: Math.ceil(N / 3) });
  ctx.log(`mbox of ${N} messages written`);
  const results = [];

  // (1) our import, end to end into a fresh SQLite file
  let run = 0;
  const ours = await ctx.timeMedian(async () => {
    const config = configSchema.parse({ db: join(dir, `ours-${run++}.db`) });
    const app = openApp({ config, logger: silentLogger() });
    const c = await importPaths(app, [mbox]);
    app.close();
    if (c.read !== N) throw new Error(`read ${c.read}`);
  }, 3);
  const oursRate = N / (ours / 1000);

  // (2) naive: whole message through simpleParser, one INSERT per row, autocommit
  const naiveMs = await ctx.timeMedian(async () => {
    const db = new Database(join(dir, `naive-${run++}.db`));
    db.exec('CREATE TABLE obs (address TEXT, message_id TEXT, xmailer TEXT, ua TEXT, date INTEGER)');
    const ins = db.prepare('INSERT INTO obs VALUES (?, ?, ?, ?, ?)');
    const text = readFileSync(naiveMbox, 'latin1');
    let start = 0, n = 0;
    while (n < NAIVE) {
      const next = text.indexOf('\nFrom ', start + 1);
      const raw = text.slice(text.indexOf('\n', start) + 1, next < 0 ? text.length : next + 1);
      const m = await simpleParser(raw);
      ins.run(m.from?.value?.[0]?.address ?? null, m.messageId ?? null, m.headers.get('x-mailer') ?? null, m.headers.get('user-agent') ?? null, m.date?.getTime() ?? null);
      n++;
      if (next < 0) break;
      start = next + 1;
    }
    db.close();
  }, 3, { warmup: false });
  const naiveRate = NAIVE / (naiveMs / 1000);
  results.push({ name: 'import: ours vs naive (msgs/s)', value: oursRate, unit: 'msg/s', baseline: naiveRate, ratio: oursRate / naiveRate, target: '>= 5x', pass: oursRate / naiveRate >= 5 });

  // (3) classify + store overhead vs parse alone, same header blocks, in memory
  const items = [];
  for await (const it of readMbox(mbox, mbox)) { items.push(it); if (items.length >= 20_000) break; }
  const sel = fingerprintSelector();
  const parseMs = await ctx.timeMedian(() => { for (const it of items) parseMessage(it.headerBytes, { fingerprint: sel }); }, 5);
  const fullMs = await ctx.timeMedian(() => {
    const config = configSchema.parse({ db: join(dir, `full-${run++}.db`) });
    const app = openApp({ config, logger: silentLogger() });
    for (let i = 0; i < items.length; i += 2000) app.pipeline.ingestBatch(items.slice(i, i + 2000));
    app.close();
  }, 3);
  const added = (fullMs - parseMs) / parseMs;
  results.push({ name: 'classify+store added to parse', value: added * 100, unit: '% of parse', baseline: parseMs / items.length * 1000, ratio: fullMs / parseMs, target: '<= 50%', pass: added <= 0.5 });
  return results;
}
