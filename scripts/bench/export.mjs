// Issue #2 benchmark: CSV export of 1M addresses vs the sqlite3 shell on the same database.
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { configSchema } from '../../dist/config/index.js';
import { openApp, silentLogger } from '../../dist/app/index.js';

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

/** Runs a command with stdout to /dev/null; returns wall ms and peak RSS (polled from /proc). */
async function runMeasured(cmd, args) {
  const t0 = performance.now();
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  let peak = 0;
  const poll = () => { try { const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8')); if (m) peak = Math.max(peak, +m[1] * 1024); } catch {} };
  const timer = setInterval(poll, 10);
  const [code] = await once(child, 'exit');
  clearInterval(timer);
  if (code !== 0) throw new Error(`${cmd} exited ${code}`);
  return { ms: performance.now() - t0, peak };
}

export default async function (ctx) {
  const N = ctx.quick ? 100_000 : 1_000_000;
  const dir = ctx.tmp('export-');
  const db = join(dir, 'export.db');
  const app = openApp({ config: configSchema.parse({ db }), logger: silentLogger() });
  // Bulk-generate address state rows (the export reads only this table).
  app.store.sqlite.exec(`
    WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${N - 1})
    INSERT INTO addresses (address, first_seen, last_seen, messages, family, product, version, smime, recommendation, reason, decided_until)
    SELECT printf('user%07d@customer%03d.example', i, i % 997), 1700000000000, 1790000000000 + i, 1 + i % 7,
           CASE i % 5 WHEN 0 THEN 'thunderbird' WHEN 1 THEN 'apple-mail' WHEN 2 THEN 'gmail' WHEN 3 THEN 'outlook-windows' ELSE NULL END,
           CASE i % 5 WHEN 0 THEN 'Thunderbird' WHEN 1 THEN 'Apple Mail' WHEN 2 THEN 'Gmail' WHEN 3 THEN 'Microsoft Outlook' ELSE NULL END,
           CASE i % 3 WHEN 0 THEN '115.0' ELSE '16.0' END,
           CASE i % 5 WHEN 2 THEN 'tolerate' WHEN 4 THEN 'unknown' ELSE 'verify' END,
           CASE i % 5 WHEN 2 THEN 'do-not-sign' WHEN 4 THEN 'unknown' ELSE 'sign' END,
           CASE i % 5 WHEN 2 THEN 'seen 2026-10-01 with Gmail, "webmail" (S/MIME: tolerate)' ELSE 'all evidence of the last 180 days is from clients that verify S/MIME' END,
           NULL
    FROM n;`);
  app.close();
  ctx.log(`${N} addresses generated`);
  const sql = `SELECT address, recommendation, family, product, version, smime, strftime('%Y-%m-%dT%H:%M:%SZ', last_seen/1000, 'unixepoch') AS last_seen, messages, reason, key_changed FROM addresses ORDER BY address`;
  const peer = [], ours = [];
  for (let r = 0; r < 3; r++) {
    peer.push(await runMeasured('sqlite3', ['-csv', '-header', db, sql]));
    ours.push(await runMeasured(process.execPath, [CLI, '--db', db, '--log-level', 'warn', 'export', '--out', '/dev/null']));
  }
  const oursMs = ctx.median(ours.map((x) => x.ms)), peerMs = ctx.median(peer.map((x) => x.ms));
  const peak = Math.max(...ours.map((x) => x.peak));
  return [
    { name: `export ${N} rows: ours vs sqlite3 -csv (time)`, value: oursMs, unit: 'ms', baseline: peerMs, ratio: oursMs / peerMs, target: '<= 1.5x', pass: oursMs / peerMs <= 1.5 },
    { name: 'export peak RSS', value: peak / 1048576, unit: 'MB', baseline: 150, ratio: peak / 1048576 / 150, target: '<= 150 MB', pass: peak <= 150 * 1048576 },
  ];
}
