// Scaling point (--scale only): CSV export of 10M addresses, time and peak RSS (issue 14's
// curve: 1M and 10M rows). The rows are export.mjs's shape (five client families and an unknown
// one, last seen over 400 days, 2% of decisions expired), built inside SQLite by the store's
// seedSynthetic, and each pair is export.mjs's own pair(): our `export --out FILE` on a fresh
// copy, then `sqlite3 -csv` on that copy after the app's refreshStale (untimed), both writing a
// real file, and the two files' decoded records must have the same count and SHA-256. The
// shell is the peer of the same moment: time is reported as the ratio to it, and its peak RSS
// beside ours.
import { join } from 'node:path';
import { rmSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { configSchema } from '../../dist/config/index.js';
import { openApp, silentLogger } from '../../dist/app/index.js';
import { seedSynthetic } from '../../dist/store/index.js';
import { digest, pair, staleCount } from './export.mjs';
import { dropSqlite, label, scaleSize, timed } from './_scale.mjs';

export default async function scaleExport(ctx) {
  if (!ctx.scale) throw new Error('scale-export runs only with --scale');
  const N = scaleSize(ctx);
  // One pair, as the curve's 10M point always had: each side is minutes at 10M on this machine,
  // and the ratio to the shell of the same minutes is the figure (the 1M point has the medians).
  const ROUNDS = 1;
  const dir = ctx.tmp('scale-export-');
  const pristine = join(dir, 'pristine.db');
  const work = join(dir, 'work.db');
  const outOurs = join(dir, 'ours.csv');
  const outPeer = join(dir, 'peer.csv');
  const app = openApp({ config: configSchema.parse({ db: pristine }), logger: silentLogger() });
  let seconds;
  try {
    [, seconds] = await timed(() => seedSynthetic(app.store, { shape: 'export', addresses: N, now: Date.now() }));
  } finally {
    await app.close();
  }
  ctx.log(`${N} addresses seeded in ${seconds.toFixed(0)} s (${(statSync(pristine).size / 1e9).toFixed(2)} GB; load ${loadavg()[0].toFixed(1)})`);
  ctx.size('addresses', N);
  ctx.size('seedSeconds', +seconds.toFixed(0));
  const stale = staleCount(pristine);
  const rounds = [];
  try {
    for (let r = 0; r < ROUNDS; r++) {
      const p = await pair(pristine, work, outOurs, outPeer);
      const [a, b] = await Promise.all([digest(outOurs), digest(outPeer)]);
      if (a.lines !== N + 1 || a.lines !== b.lines || a.sha256 !== b.sha256) throw new Error(`${label(N)} export differs from sqlite3 -csv: ours ${a.lines} lines ${a.sha256.slice(0, 12)}, sqlite3 ${b.lines} lines ${b.sha256.slice(0, 12)}`);
      const l = +loadavg()[0].toFixed(1);
      rounds.push({ ...p, bytes: statSync(outOurs).size, load: l });
      ctx.log(`pair ${r + 1}: ours ${(p.ours.ms / 1000).toFixed(1)} s, ${(p.ours.peak / 1048576).toFixed(0)} MB; sqlite3 ${(p.peer.ms / 1000).toFixed(1)} s, ${(p.peer.peak / 1048576).toFixed(0)} MB; ${stale} stale, ${p.leftStale} still stored after ours; same ${a.lines} records (load ${l})`);
    }
  } finally {
    for (const f of [outOurs, outPeer]) rmSync(f, { force: true });
    dropSqlite(work);
    dropSqlite(pristine);
  }
  const m = ctx.median;
  const ratios = rounds.map((x) => x.ours.ms / x.peer.ms);
  const peaks = rounds.map((x) => x.ours.peak / 1048576);
  const L = label(N);
  return [
    { name: `curve: export ${L} rows to a file (2% stale) vs sqlite3 -csv (time; same SHA-256)`, value: m(rounds.map((x) => x.ours.ms)), unit: 'ms', baseline: m(rounds.map((x) => x.peer.ms)), ratio: m(ratios), samples: ratios, target: 'reported (curve; 1M: <= 1.5x)', loads: rounds.map((x) => x.load), bytes: rounds[0].bytes },
    { name: `curve: export ${L} rows peak RSS (baseline: sqlite3's)`, value: Math.max(...peaks), unit: 'MB', baseline: Math.max(...rounds.map((x) => x.peer.peak / 1048576)), samples: peaks, target: 'reported (curve; 1M: <= 150 MB)' },
  ];
}
