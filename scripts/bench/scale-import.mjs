// Scaling point (--scale only): import throughput into a census that already holds 10M
// observations (issue 14's curve: empty, 1M, 10M). As import.mjs's 1M point: the big census is
// a real one grown by copies — 25k messages of the mailbox skew (_data.mjs, 5% really signed)
// imported through the ordinary pipeline, then copied inside the database under renamed
// addresses (the store's growByCopies: observations, address state, clients and monthly
// activity, so every index is as large as ingest would have made it) — and the measured import
// is the next 25k messages of the same mailbox: new one-off senders, and the regular and
// frequent senders of the first 25k again, so inserts and updates are both measured.
// In the same run, the same 25k messages are imported into the 25k-observation template (the
// same senders present, only the size differs), into the census grown to 1M and to 10M, and
// into an empty census before and after (the baseline): every ratio has a peer taken
// minutes, not hours, apart, and the load average is recorded beside each step.
import { join } from 'node:path';
import { copyFileSync, rmSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { writeMbox } from './_data.mjs';
import { smimePool } from './_smime.mjs';
import { configSchema } from '../../dist/config/index.js';
import { openApp, silentLogger, importPaths } from '../../dist/app/index.js';
import { growByCopies } from '../../dist/store/index.js';
import { dropSqlite, label, scaleSize, timed } from './_scale.mjs';

const load1 = () => +loadavg()[0].toFixed(1);

export default async function scaleImport(ctx) {
  if (!ctx.scale) throw new Error('scale-import runs only with --scale');
  const N = ctx.quick ? 10_000 : 25_000;
  const TOP = scaleSize(ctx);
  const sizes = ctx.quick ? [TOP] : [1_000_000, TOP];
  const dir = ctx.tmp('scale-import-');
  const pool = smimePool(ctx.cacheDir ?? ctx.tmp('pki-'), { signers: ctx.quick ? 40 : 80 });
  const first = await writeMbox(join(dir, 'first.mbox'), N, { pool });
  const again = await writeMbox(join(dir, 'again.mbox'), N, { pool, total: N, offset: N });
  ctx.size('messages', N);
  ctx.size('addressesInTemplate', first.addresses);
  const config = (db) => configSchema.parse({ db, sign: { trustedCaFiles: [pool.rootCertFile] } });

  /** Imports `mbox` into the census at `db`; returns msg/s, after checking every message was stored. */
  const importInto = async (db, mbox) => {
    const app = openApp({ config: config(db), logger: silentLogger() });
    try {
      const [c, s] = await timed(() => importPaths(app, [mbox.path]));
      if (c.read !== N || c.stored !== N) throw new Error(`${db}: read ${c.read}, stored ${c.stored} of ${N}: ${JSON.stringify(c)}`);
      return N / s;
    } finally {
      await app.close();
    }
  };
  const observations = async (db) => {
    const app = openApp({ config: config(db), logger: silentLogger() });
    try {
      return await app.store.countRows('observations');
    } finally {
      await app.close();
    }
  };
  const steps = [];
  const step = (what, rate) => {
    steps.push({ what, rate, load: load1() });
    ctx.log(`${what}: ${rate.toFixed(0)} msg/s (load ${load1()})`);
  };

  // The template: the first 25k messages into an empty census (also the first empty-census figure).
  const template = join(dir, 'template.db');
  step(`empty census, the first ${N} messages (before)`, await importInto(template, first));
  const emptyRates = [steps[0].rate];
  {
    const work = join(dir, 'work.db');
    copyFileSync(template, work);
    step(`census of ${N} observations (the template), the next ${N}`, await importInto(work, again));
    dropSqlite(work);
  }
  const templateRate = steps[1].rate;

  const base = join(dir, 'grown.db');
  copyFileSync(template, base);
  const results = [];
  for (const S of sizes) {
    const app = openApp({ config: config(base), logger: silentLogger() });
    let reached;
    let seconds;
    try {
      [reached, seconds] = await timed(() => growByCopies(app.store, S));
    } finally {
      await app.close();
    }
    ctx.log(`grown to ${reached} observations in ${seconds.toFixed(0)} s (${(statSync(base).size / 1e9).toFixed(1)} GB; load ${load1()})`);
    ctx.size(`growSeconds${label(S)}`, +seconds.toFixed(0));
    // The largest point imports into the grown file itself; a smaller one into a copy, so the
    // next growth starts from copies only.
    const work = S === sizes[sizes.length - 1] ? base : join(dir, 'work.db');
    if (work !== base) copyFileSync(base, work);
    const rate = await importInto(work, again);
    const stored = await observations(work);
    if (stored !== reached + N) throw new Error(`after the import ${stored} observations, expected ${reached + N}`);
    step(`census of ${label(S)} observations, the next ${N}`, rate);
    if (work !== base) dropSqlite(work);
    results.push({ S, rate, load: load1() });
  }
  dropSqlite(base);
  {
    const empty = join(dir, 'empty-after.db');
    step(`empty census, the first ${N} messages (after)`, await importInto(empty, first));
    emptyRates.push(steps[steps.length - 1].rate);
    dropSqlite(empty);
  }
  dropSqlite(template);
  rmSync(first.path, { force: true });
  rmSync(again.path, { force: true });

  const emptyRate = ctx.median(emptyRates);
  const rows = [
    { name: `import ${N} msgs into an empty census (before and after the curve; the baseline)`, value: emptyRate, unit: 'msg/s', samples: emptyRates, target: 'reported (curve)', loads: steps.filter((s) => s.what.startsWith('empty')).map((s) => s.load) },
    { name: `import ${N} msgs into the ${N}-observation template (same senders present) vs empty`, value: templateRate, unit: 'msg/s', baseline: emptyRate, ratio: templateRate / emptyRate, target: 'reported (curve)', load: steps[1].load },
  ];
  for (const r of results) {
    rows.push({ name: `curve: import ${N} msgs into a census of ${label(r.S)} observations (grown by copies) vs empty`, value: r.rate, unit: 'msg/s', baseline: emptyRate, ratio: r.rate / emptyRate, target: 'reported (curve; 1M in import.mjs: 0.781x)', load: r.load });
    rows.push({ name: `curve: import into ${label(r.S)} observations vs into the ${N}-observation template`, value: r.rate, unit: 'msg/s', baseline: templateRate, ratio: r.rate / templateRate, target: 'reported (curve)', load: r.load });
  }
  return rows;
}
