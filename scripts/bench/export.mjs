// CSV export of 1M addresses (100k with --quick) vs the sqlite3 shell on the same database,
// both writing a real file. 2% of the stored decisions have expired: our export re-decides
// them (it must: the CSV is what marketing sends to) in its stream, without storing them. The
// shell can only print what is stored, so after our run (untimed) the same copy is refreshed
// with the app's refreshStale, checkpointed and written to disk, and the shell reads that: both
// files must hold the same data, which checks that the streamed decisions are the refreshed
// ones: same record count and SHA-256 of the decoded records (the shell quotes more fields than
// we do — any with a space — and both are valid RFC 4180). Each round starts from a fresh copy.
// Pairs alternate; the median of the per-round ratios is reported.
// Targets: <= 1.5x the sqlite3 shell's time, peak RSS <= 150 MB. The curve's 10M-row point is
// scale-export.mjs (--scale), which reuses pair() and digest() from here.
import { join } from 'node:path';
import { copyFileSync, createReadStream, fsyncSync, openSync, closeSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { configSchema } from '../../dist/config/index.js';
import { openApp, silentLogger, refreshStale } from '../../dist/app/index.js';
import { runMeasured } from './_proc.mjs';

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
// With a 180-day window about 0.6% of decisions expire per day; 2% is an export after a few
// days in which neither lookups nor ingest touched those addresses.
const STALE_SHARE = 0.02;

export function generate(db, N) {
  openApp({ config: configSchema.parse({ db }), logger: silentLogger() }).close();
  const d = new Database(db);
  d.pragma('journal_mode = WAL');
  const now = Date.now();
  d.exec(`
    BEGIN;
    WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${N - 1})
    INSERT INTO addresses (address, first_seen, last_seen, messages, last_verify_at, family, product, version, smime, client_at, recommendation, reason, decided_until)
    SELECT printf('user%07d@customer%03d.example', i, i % 997), 1700000000000, ${now} - (i % 400) * 86400000, 1 + i % 7,
           CASE WHEN i % 5 IN (0, 1, 3) THEN ${now} - (i % 400) * 86400000 END,
           CASE i % 5 WHEN 0 THEN 'thunderbird' WHEN 1 THEN 'apple-mail' WHEN 2 THEN 'gmail' WHEN 3 THEN 'outlook-windows' ELSE NULL END,
           CASE i % 5 WHEN 0 THEN 'Thunderbird' WHEN 1 THEN 'Apple Mail' WHEN 2 THEN 'Gmail' WHEN 3 THEN 'Microsoft Outlook' ELSE NULL END,
           CASE i % 3 WHEN 0 THEN '115.0' ELSE '16.0' END,
           CASE i % 5 WHEN 2 THEN 'tolerate' WHEN 4 THEN 'unknown' ELSE 'verify' END, ${now} - (i % 400) * 86400000,
           CASE i % 5 WHEN 2 THEN 'do-not-sign' WHEN 4 THEN 'unknown' ELSE 'sign' END,
           CASE i % 5 WHEN 2 THEN 'seen 2026-10-01 with Gmail, "webmail" (S/MIME: tolerate)' ELSE 'all evidence of the last 180 days is from clients that verify S/MIME' END,
           CASE WHEN (i * 7919) % 1000 < ${STALE_SHARE * 1000} THEN ${now} - 3600000 ELSE ${now} + 30 * 86400000 END
    FROM n;
    COMMIT;
    PRAGMA wal_checkpoint(TRUNCATE);`);
  d.close();
}

/**
 * Record count and SHA-256 of a CSV file's decoded records (fields joined by U+001F, records by
 * U+001E). The two writers quote differently and both are valid RFC 4180 (the shell also quotes
 * fields with spaces), so the bytes may differ while the data must not.
 */
export async function digest(file) {
  const h = createHash('sha256');
  let records = 0;
  let carry = '';
  // Decodes one record that starts at `text[i]`; returns [fields, next index] or null when the
  // record runs past the end of `text` (its rest is in the next chunk).
  const record = (text, i) => {
    const fields = [];
    for (;;) {
      if (text[i] === '"') {
        let v = '';
        let j = i + 1;
        for (;;) {
          const q = text.indexOf('"', j);
          if (q < 0 || q + 1 >= text.length) return null;
          v += text.slice(j, q);
          if (text[q + 1] === '"') {
            v += '"';
            j = q + 2;
          } else {
            j = q + 1;
            break;
          }
        }
        fields.push(v);
        i = j;
      } else {
        let j = i;
        while (j < text.length && text[j] !== ',' && text[j] !== '\r' && text[j] !== '\n') j++;
        if (j >= text.length) return null;
        fields.push(text.slice(i, j));
        i = j;
      }
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === '\r' && text[i + 1] === '\n') return [fields, i + 2];
      if (text[i] === '\r') return i + 1 >= text.length ? null : [fields, i + 1];
      if (text[i] === '\n') return [fields, i + 1];
      return null;
    }
  };
  for await (const chunk of createReadStream(file, { encoding: 'latin1', highWaterMark: 1 << 20 })) {
    const text = carry + chunk;
    let i = 0;
    for (;;) {
      // Fast path: a line without quotes is split as is.
      const nl = text.indexOf('\n', i);
      if (nl < 0) break;
      const line = text.slice(i, nl);
      if (!line.includes('"')) {
        h.update(line.replace(/\r$/, '').split(',').join('\x1f') + '\x1e', 'latin1');
        records++;
        i = nl + 1;
        continue;
      }
      const r = record(text, i);
      if (!r) break;
      h.update(r[0].join('\x1f') + '\x1e', 'latin1');
      records++;
      i = r[1];
    }
    carry = text.slice(i);
  }
  if (carry.length) {
    const r = record(carry + '\n', 0);
    if (r) {
      h.update(r[0].join('\x1f') + '\x1e', 'latin1');
      records++;
    }
  }
  return { sha256: h.digest('hex'), lines: records };
}

/** SHA-256 of a file's bytes. */
async function rawSha(file) {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) h.update(chunk);
  return h.digest('hex');
}

/** The first line where two (small enough) files differ, for the error message. */
function firstDifference(x, y) {
  const a = readFileSync(x, 'latin1').split('\n');
  const b = readFileSync(y, 'latin1').split('\n');
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) return `line ${i + 1}: ours ${JSON.stringify(a[i])} vs sqlite3 ${JSON.stringify(b[i])}`;
  return 'no line differs';
}

const SQL = `SELECT address, recommendation, family, product, version, smime, strftime('%Y-%m-%dT%H:%M:%SZ', last_seen/1000, 'unixepoch') AS last_seen, messages, reason, key_changed FROM addresses ORDER BY address`;

/** Writes a database file back to disk (setup, before a clock starts). */
function flush(file) {
  const w = openSync(file, 'r+');
  try {
    fsyncSync(w);
  } finally {
    closeSync(w);
  }
}

export const staleCount = (file) => {
  const d = new Database(file, { readonly: true });
  try {
    return d.prepare('SELECT count(*) FROM addresses WHERE decided_until <= ?').pluck().get(Date.now());
  } finally {
    d.close();
  }
};

/**
 * The stored decisions of `file` made current, as the shell must read them (untimed): the app's
 * refreshStale, then the WAL checkpointed into the file and the file written to disk, so the
 * shell reads a plain file as ours did.
 */
async function refreshForPeer(file) {
  const app = openApp({ config: configSchema.parse({ db: file }), logger: silentLogger() });
  try {
    await refreshStale(app.store, app.config.policy);
  } finally {
    await app.close();
  }
  const d = new Database(file);
  try {
    d.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    d.close();
  }
  flush(file);
}

/** One pair: ours on a fresh copy (stale decisions included), then the shell on that copy refreshed. */
export async function pair(pristine, work, outOurs, outPeer) {
  for (const s of ['-wal', '-shm']) rmSync(work + s, { force: true });
  copyFileSync(pristine, work);
  // The copy is setup, not export: written back to disk before the clock starts.
  flush(work);
  const ours = await runMeasured(process.execPath, [CLI, '--db', work, '--log-level', 'warn', 'export', '--out', outOurs]);
  const leftStale = staleCount(work);
  await refreshForPeer(work);
  const fd = openSync(outPeer, 'w');
  let peer;
  try {
    // RFC 4180 line ends (CRLF), as ours writes; the shell's default on Linux is LF.
    peer = await runMeasured('sqlite3', ['-csv', '-header', '-newline', '\r\n', work, SQL], { stdout: fd });
  } finally {
    closeSync(fd);
  }
  return { ours, peer, leftStale };
}

export default async function (ctx) {
  const N = ctx.quick ? 100_000 : 1_000_000;
  const ROUNDS = 3;
  const dir = ctx.tmp('export-');
  const pristine = join(dir, 'pristine.db');
  const work = join(dir, 'work.db');
  const outOurs = join(dir, 'ours.csv');
  const outPeer = join(dir, 'peer.csv');
  generate(pristine, N);
  ctx.size('addresses', N);
  ctx.size('staleDecisionShare', STALE_SHARE);
  ctx.log(`${N} addresses generated (${(statSync(pristine).size / 1e6).toFixed(0)} MB)`);
  const stale = staleCount(pristine);

  const rounds = [];
  // Warm-up: the shell reads the whole file once (page cache, both binaries are then warm: node
  // and dist/ were just used to generate the data).
  {
    const fd = openSync(outPeer, 'w');
    try {
      await runMeasured('sqlite3', ['-csv', '-header', pristine, SQL], { stdout: fd });
    } finally {
      closeSync(fd);
    }
  }
  let first = null;
  for (let r = 0; r < ROUNDS; r++) {
    const p = await pair(pristine, work, outOurs, outPeer);
    // The decoded records are compared once; every later round must write byte-identical files
    // (the same writers on the same data), which a native SHA-256 checks in a fraction of the time.
    const raw = await Promise.all([rawSha(outOurs), rawSha(outPeer)]);
    if (first === null) {
      const [a, b] = await Promise.all([digest(outOurs), digest(outPeer)]);
      if (a.lines !== N + 1 || a.lines !== b.lines || a.sha256 !== b.sha256) throw new Error(`export differs from sqlite3 -csv: ours ${a.lines} lines ${a.sha256.slice(0, 12)}, sqlite3 ${b.lines} lines ${b.sha256.slice(0, 12)}; ${firstDifference(outOurs, outPeer)}`);
      first = { raw, lines: a.lines };
    } else if (raw[0] !== first.raw[0] || raw[1] !== first.raw[1]) throw new Error(`round ${r + 1}: a file differs from round 1's (ours ${raw[0] === first.raw[0] ? 'same' : 'differs'}, sqlite3 ${raw[1] === first.raw[1] ? 'same' : 'differs'})`);
    rounds.push({ ...p, bytes: statSync(outOurs).size, lines: first.lines });
  }
  const refreshed = staleCount(work);
  ctx.log(`${stale} stale decisions; ${rounds[0].leftStale} still stored after our export (re-decided in the stream), ${refreshed} after the peer's refresh; files identical (${rounds[0].lines} lines, ${(rounds[0].bytes / 1e6).toFixed(0)} MB)`);
  const ratios = rounds.map((x) => x.ours.ms / x.peer.ms);
  const peak = Math.max(...rounds.map((x) => x.ours.peak));
  const m = ctx.median;
  const results = [
    { name: `export ${N} rows to a file (${(STALE_SHARE * 100).toFixed(0)}% stale) vs sqlite3 -csv (time; same SHA-256)`, value: m(rounds.map((x) => x.ours.ms)), unit: 'ms', baseline: m(rounds.map((x) => x.peer.ms)), ratio: m(ratios), samples: ratios, target: '<= 1.5x', pass: m(ratios) <= 1.5 },
    { name: 'export peak RSS', value: peak / 1048576, unit: 'MB', samples: rounds.map((x) => x.ours.peak / 1048576), target: '<= 150 MB', pass: peak <= 150 * 1048576 },
  ];
  for (const f of [work, outOurs, outPeer, pristine]) rmSync(f, { force: true });

  return results;
}
