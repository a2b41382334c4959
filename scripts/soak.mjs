#!/usr/bin/env node
// Long soak of `smime-census serve` with an IMAP poller (issues 14 and 17.5): does memory level off?
//
//   node scripts/soak.mjs [--minutes 120] [--until ISO-TIME] [--backfill 2000] [--out /tmp/soak]
//                         [--reconnect-minutes 5] [--reconnect-mode alternate|kill|restart]
//                         [--lookup-seconds 3] [--append-ms 1000] [--sample-seconds 10]
//                         [--warmup-minutes 5] [--window-minutes 10] [--mid-snapshot]
//
// What it does, all on loopback:
//   1. copies the built app (dist/, rules/, drizzle/) to OUT/app, so rebuilding the worktree
//      during the soak cannot change the code under test;
//   2. starts a throwaway Dovecot (test/helpers/dovecot.ts, built here with esbuild) and delivers
//      a backfill of generated mail (test/source/imap/messages.ts: real client fingerprints);
//   3. starts `serve` (HTTP API + poller on INBOX) with --heapsnapshot-signal=SIGUSR2 and
//      scripts/soak-probe.mjs preloaded, which writes rss/heapUsed/heapTotal/fds every
//      SAMPLE_SECONDS to OUT/memory.csv;
//   4. once the backfill is stored: heap snapshot "start"; then one new message per APPEND_MS
//      by IMAP APPEND, every RECONNECT_MINUTES a forced reconnect (mode `kill`: every IMAP
//      session process killed; `restart`: Dovecot stopped and started again on the same port;
//      `alternate`, the default: kill, restart, kill, ...), an HTTP lookup every LOOKUP_SECONDS
//      (known and unknown addresses), progress every 30 s to OUT/progress.csv; heap snapshot
//      "mid" at half time only with --mid-snapshot (writing a snapshot raises RSS by tens of MB,
//      which would show as growth in the last window);
//   5. at the end: stops appending, waits until every message is stored, heap snapshot "end",
//      SIGTERM to serve (exit code recorded), counts rows with sqlite3, and writes
//      OUT/summary.json (RSS start/end/max, heapUsed per hour with its slope, fds, messages
//      stored vs appended, duplicates, lookups; `windows`: the medians of the first
//      WINDOW_MINUTES after WARMUP_MINUTES of steady state against the last WINDOW_MINUTES, with
//      the least-squares slope between them) and OUT/heap-diff.json (object counts and sizes
//      by constructor, start vs end).
//
// Run it detached so it outlives the shell that started it:
//   mkdir -p /tmp/soak && setsid nohup node scripts/soak.mjs > /tmp/soak/driver.log 2>&1 < /dev/null &
// SIGTERM/SIGINT to the driver ends the run early but still writes the summary.
import { build } from 'esbuild';
import { spawn, execFileSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

function parseArgs(argv) {
  const o = { minutes: 120, until: null, backfill: 2000, out: '/tmp/soak', reconnectMinutes: 5, reconnectMode: 'alternate', lookupSeconds: 3, appendMs: 1000, sampleSeconds: 10, warmupMinutes: 5, windowMinutes: 10, midSnapshot: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    const num = (name) => {
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}: a positive number is required, got "${v}"`);
      i++;
      return n;
    };
    if (a === '--minutes') o.minutes = num(a);
    else if (a === '--until') {
      const t = Date.parse(v ?? '');
      if (!Number.isFinite(t)) throw new Error(`--until: an ISO time is required, got "${v}"`);
      o.until = t;
      i++;
    } else if (a === '--backfill') o.backfill = Math.floor(num(a));
    else if (a === '--out') {
      if (!v) throw new Error('--out: a directory is required');
      o.out = v;
      i++;
    } else if (a === '--reconnect-minutes') o.reconnectMinutes = num(a);
    else if (a === '--reconnect-mode') {
      if (!['alternate', 'kill', 'restart'].includes(v)) throw new Error(`--reconnect-mode: alternate, kill or restart, got "${v}"`);
      o.reconnectMode = v;
      i++;
    } else if (a === '--lookup-seconds') o.lookupSeconds = num(a);
    else if (a === '--sample-seconds') o.sampleSeconds = num(a);
    else if (a === '--warmup-minutes') o.warmupMinutes = num(a);
    else if (a === '--window-minutes') o.windowMinutes = num(a);
    else if (a === '--mid-snapshot') o.midSnapshot = true;
    else if (a === '--append-ms') o.appendMs = num(a);
    else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

const opts = parseArgs(process.argv.slice(2));
/** The checkout's commit when the run starts, which is when its build is copied to OUT/app. */
const CODE_COMMIT = git('rev-parse', 'HEAD');
const OUT = opts.out;
mkdirSync(OUT, { recursive: true });
const log = (msg, extra = {}) => {
  const line = JSON.stringify({ t: new Date().toISOString(), msg, ...extra });
  console.log(line);
  appendFileSync(join(OUT, 'events.jsonl'), line + '\n');
};
process.on('unhandledRejection', (e) => log('unhandled rejection (continuing)', { error: String(e?.stack ?? e) }));
process.on('uncaughtException', (e) => log('uncaught exception (continuing)', { error: String(e?.stack ?? e) }));
process.on('SIGHUP', () => log('SIGHUP ignored'));
let stopRequested = false;
for (const s of ['SIGTERM', 'SIGINT']) process.on(s, () => { log(`${s}: ending the soak early`); stopRequested = true; });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function buildTs(entry, outDir) {
  const outfile = join(outDir, entry.replace(/[/.]/g, '_') + '.mjs');
  await build({ entryPoints: [join(ROOT, entry)], format: 'esm', platform: 'node', outfile, logLevel: 'warning' });
  return import(pathToFileURL(outfile).href);
}

/** First- and last-window medians of RssAnon, RssFile and RssShmem from progress.csv (the same windows as the probe's). */
function rssSplit(csv, warmEnd, winMs, median, MiB) {
  const rows = readFileSync(csv, 'utf8').trim().split('\n');
  const col = rows[0].split(',');
  const at = (name) => col.indexOf(name);
  const samples = rows
    .slice(1)
    .map((l) => l.split(','))
    .map((f) => ({ t: Date.parse(f[0]), anon: +f[at('rss_anon')], file: +f[at('rss_file')], shmem: +f[at('rss_shmem')] }))
    .filter((m) => m.t >= warmEnd && m.anon > 0);
  if (!samples.length) return null;
  const first = samples.filter((m) => m.t < warmEnd + winMs);
  const last = samples.filter((m) => m.t > samples[samples.length - 1].t - winMs);
  const out = {};
  for (const k of ['anon', 'file', 'shmem']) {
    const a = median(first.map((m) => m[k]));
    const b = median(last.map((m) => m[k]));
    out[k] = { firstMiB: MiB(a), lastMiB: MiB(b), deltaMiB: a == null || b == null ? null : MiB(b - a) };
  }
  return out;
}

function procStatus(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(s)?.[1] ?? 0) * 1024;
    // RssFile is file-backed pages (SQLite's mmap of the database, the code); RssAnon the heap's,
    // buffers' and native allocations': a growing census grows the first without any leak.
    return { rss: kb('VmRSS'), hwm: kb('VmHWM'), anon: kb('RssAnon'), file: kb('RssFile'), shmem: kb('RssShmem') };
  } catch {
    return { rss: 0, hwm: 0, anon: 0, file: 0, shmem: 0 };
  }
}

/** Sends SIGUSR2 and waits until the new snapshot is complete (the server answers again). */
async function heapSnapshot(pid, label, url) {
  const before = new Set(readdirSync(OUT).filter((f) => f.endsWith('.heapsnapshot')));
  const t0 = Date.now();
  process.kill(pid, 'SIGUSR2');
  let file = null;
  while (Date.now() - t0 < 300_000) {
    await sleep(500);
    file ??= readdirSync(OUT).find((f) => f.endsWith('.heapsnapshot') && !before.has(f) && f.startsWith('Heap.')) ?? null;
    if (!file) continue;
    // The snapshot is written synchronously on the main thread: once /v1/ping answers, it is done.
    try {
      const r = await fetch(`${url}/v1/ping`, { signal: AbortSignal.timeout(2000) });
      if (r.ok) break;
    } catch {
      // still writing
    }
  }
  if (!file) throw new Error(`heap snapshot ${label}: no file after 300 s`);
  const dest = join(OUT, `heap-${label}.heapsnapshot`);
  renameSync(join(OUT, file), dest);
  log('heap snapshot', { label, file: dest, bytes: statSync(dest).size, ms: Date.now() - t0 });
  return dest;
}

/** Object counts and self sizes per (type, constructor name) of a V8 heap snapshot. */
function heapAggregate(file) {
  const snap = JSON.parse(readFileSync(file, 'utf8'));
  const f = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const iType = f.indexOf('type');
  const iName = f.indexOf('name');
  const iSize = f.indexOf('self_size');
  const w = f.length;
  const agg = new Map();
  let total = 0;
  for (let i = 0; i < snap.nodes.length; i += w) {
    const type = types[snap.nodes[i + iType]];
    const name = type === 'object' || type === 'closure' || type === 'native' ? snap.strings[snap.nodes[i + iName]] : `(${type})`;
    const key = `${type}:${name}`;
    const size = snap.nodes[i + iSize];
    total += size;
    const a = agg.get(key);
    if (a) {
      a.count++;
      a.size += size;
    } else agg.set(key, { count: 1, size });
  }
  return { total, agg };
}

function heapDiff(startFile, endFile) {
  const s = heapAggregate(startFile);
  const e = heapAggregate(endFile);
  const keys = new Set([...s.agg.keys(), ...e.agg.keys()]);
  const rows = [];
  for (const k of keys) {
    const a = s.agg.get(k) ?? { count: 0, size: 0 };
    const b = e.agg.get(k) ?? { count: 0, size: 0 };
    rows.push({ key: k, countStart: a.count, countEnd: b.count, sizeStart: a.size, sizeEnd: b.size, dSize: b.size - a.size, dCount: b.count - a.count });
  }
  rows.sort((x, y) => Math.abs(y.dSize) - Math.abs(x.dSize));
  return { totalStart: s.total, totalEnd: e.total, dTotal: e.total - s.total, topBySizeChange: rows.slice(0, 40), topByCountChange: [...rows].sort((x, y) => Math.abs(y.dCount) - Math.abs(x.dCount)).slice(0, 25) };
}

/** Least-squares slope of y over x (units of y per unit of x). */
function slope(xs, ys) {
  const n = xs.length;
  if (n < 2) return null;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den ? num / den : null;
}

function pct(xs, p) {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

async function main() {
  const startedAt = Date.now();
  const hardEnd = Math.min(startedAt + opts.minutes * 60_000, opts.until ?? Infinity);
  log('soak starting', { opts, plannedEnd: new Date(hardEnd).toISOString(), node: process.version, commit: CODE_COMMIT });
  for (const f of readdirSync(OUT)) if (f.endsWith('.heapsnapshot') || f.endsWith('.csv')) rmSync(join(OUT, f));

  // 1. A frozen copy of the built app.
  const app = join(OUT, 'app');
  rmSync(app, { recursive: true, force: true });
  mkdirSync(app);
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: run npm run build first');
  for (const d of ['dist', 'rules', 'drizzle', 'package.json']) if (existsSync(join(ROOT, d))) cpSync(join(ROOT, d), join(app, d), { recursive: true });
  if (existsSync(join(ROOT, 'scripts', 'demo'))) cpSync(join(ROOT, 'scripts', 'demo'), join(app, 'scripts', 'demo'), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(app, 'node_modules'));
  const buildDir = join(OUT, 'build');
  mkdirSync(buildDir, { recursive: true });
  const { startDovecot } = await buildTs('test/helpers/dovecot.ts', buildDir);
  const { loadTemplates, makeMessage, fixturesDir } = await buildTs('test/source/imap/messages.ts', buildDir);
  const { ImapFlow } = await import('imapflow');
  const templates = loadTemplates(fixturesDir(ROOT));
  const USERS = 800;
  const gen = (i) => makeMessage(templates, i, { users: USERS, attachmentEvery: 7, attachmentSizes: [30_000, 120_000], htmlShare: 0.6, start: new Date(Date.now() - 30 * 86400_000) });

  // 2. Dovecot with the backfill.
  const server = await startDovecot();
  log('dovecot started', { version: server.version, port: server.port, dir: server.dir });
  await server.deliver('INBOX', Array.from({ length: opts.backfill }, (_, i) => gen(i)));
  log('backfill delivered', { messages: opts.backfill });

  // 3. serve.
  const pwFile = join(OUT, 'imap-password');
  writeFileSync(pwFile, server.password, { mode: 0o600 });
  const db = join(OUT, 'census.db');
  for (const f of [db, db + '-wal', db + '-shm']) rmSync(f, { force: true });
  const cfgFile = join(OUT, 'census.json');
  writeFileSync(cfgFile, JSON.stringify({ db, accounts: [{ name: 'soak', host: server.host, port: server.port, user: server.user, passwordFile: pwFile, caFile: server.caFile, folders: ['INBOX'] }] }, null, 2));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const memCsv = join(OUT, 'memory.csv');
  const serveLog = join(OUT, 'serve.log');
  const { openSync } = await import('node:fs');
  const logFd = openSync(serveLog, 'w');
  const child = spawn(
    process.execPath,
    ['--heapsnapshot-signal=SIGUSR2', '--import', pathToFileURL(join(ROOT, 'scripts', 'soak-probe.mjs')).href, join(app, 'dist', 'cli', 'main.js'), '--config', cfgFile, '--log-level', 'info', 'serve', '--port', String(port)],
    { cwd: OUT, env: { ...process.env, SOAK_CSV: memCsv, SOAK_SAMPLE_MS: String(Math.max(1000, Math.round(opts.sampleSeconds * 1000))) }, stdio: ['ignore', logFd, logFd] },
  );
  let childExit = null;
  child.once('exit', (code, signal) => {
    childExit = { code, signal, at: new Date().toISOString() };
    log('serve exited', childExit);
  });
  process.once('exit', () => child.exitCode === null && child.kill('SIGKILL'));
  log('serve started', { pid: child.pid, url });

  const getJson = async (path) => {
    const r = await fetch(url + path, { signal: AbortSignal.timeout(10_000) });
    if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
    return r.json();
  };
  const stored = async () => (await getJson('/v1/stats')).messages;
  const waitStored = async (n, ms) => {
    const t0 = Date.now();
    for (;;) {
      try {
        const s = await stored();
        if (s >= n) return s;
      } catch {
        // not up yet
      }
      if (Date.now() - t0 > ms || childExit) return null;
      await sleep(500);
    }
  };
  const tBackfill = Date.now();
  const back = await waitStored(opts.backfill, 15 * 60_000);
  if (back === null) throw new Error(`backfill not stored within 15 min (serve exit ${JSON.stringify(childExit)})`);
  // Taken before the first heap snapshot: writing a snapshot itself raises RSS by tens of MB.
  const atBackfill = procStatus(child.pid);
  log('backfill stored', { stored: back, ms: Date.now() - tBackfill, ...atBackfill });
  await sleep(5_000);
  const snapshots = { start: await heapSnapshot(child.pid, 'start', url) };

  // 4. Steady state.
  let appended = 0;
  let appendErrors = 0;
  let nextIndex = opts.backfill;
  let appender = null;
  const connectAppender = async () => {
    const c = new ImapFlow({ host: server.host, port: server.port, secure: true, auth: { user: server.user, pass: server.password }, tls: { ca: readFileSync(server.caFile) }, logger: false, disableAutoIdle: true });
    c.on('error', () => undefined);
    c.on('close', () => {
      if (appender === c) appender = null;
    });
    await c.connect();
    return c;
  };
  let appendBusy = false;
  const appendTimer = setInterval(async () => {
    if (appendBusy) return;
    appendBusy = true;
    try {
      appender ??= await connectAppender();
      const r = await appender.append('INBOX', gen(nextIndex));
      if (!r) throw new Error('APPEND returned nothing');
      nextIndex++;
      appended++;
    } catch (e) {
      appendErrors++;
      try {
        appender?.close();
      } catch {
        // already closed
      }
      appender = null;
      if (appendErrors % 10 === 1) log('append failed (will reconnect)', { error: String(e?.message ?? e), appendErrors });
    } finally {
      appendBusy = false;
    }
  }, opts.appendMs);

  let reconnects = 0;
  let restarting = null;
  const reconnectTimer = setInterval(() => {
    if (restarting) return;
    const restart = opts.reconnectMode === 'restart' || (opts.reconnectMode === 'alternate' && reconnects % 2 === 1);
    reconnects++;
    if (restart) {
      const t0 = Date.now();
      restarting = server
        .restart()
        .then(
          () => log('forced reconnect: Dovecot restarted', { reconnects, ms: Date.now() - t0 }),
          (e) => log('forced reconnect: Dovecot restart failed', { reconnects, error: String(e?.stack ?? e) }),
        )
        .finally(() => {
          restarting = null;
        });
      return;
    }
    const pids = server.sessions();
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    log('forced reconnect: killed IMAP sessions', { reconnects, sessions: pids.length });
  }, opts.reconnectMinutes * 60_000);

  const lookups = { ok: 0, notFound: 0, failed: 0, ms: [] };
  let lookupN = 0;
  const lookupTimer = setInterval(async () => {
    lookupN++;
    // 9 of 10 known senders (spread over all users seen so far), 1 in 10 an address never seen.
    const u = Math.floor(Math.random() * USERS);
    const addr = lookupN % 10 === 0 ? `nobody${lookupN}@unknown.example` : `user${u}@customer${u % 97}.example`;
    const t0 = performance.now();
    try {
      const r = await fetch(`${url}/v1/recipients/${encodeURIComponent(addr)}`, { signal: AbortSignal.timeout(10_000) });
      await r.arrayBuffer();
      lookups.ms.push(performance.now() - t0);
      if (r.status === 200) lookups.ok++;
      else if (r.status === 404) lookups.notFound++;
      else {
        lookups.failed++;
        log('lookup status', { status: r.status });
      }
    } catch (e) {
      lookups.failed++;
      log('lookup failed', { error: String(e?.message ?? e) });
    }
  }, opts.lookupSeconds * 1000);

  const progressCsv = join(OUT, 'progress.csv');
  writeFileSync(progressCsv, 'time,elapsed_s,appended,append_errors,stored,lag,poller_state,reconnects,lookups_ok,lookups_404,lookups_failed,vm_rss,vm_hwm,rss_anon,rss_file,rss_shmem\n');
  const progressTimer = setInterval(async () => {
    let s = '';
    let lag = '';
    let state = '';
    try {
      s = await stored();
      const p = await getJson('/v1/pollers');
      lag = p.pollers?.[0]?.lag ?? '';
      state = p.pollers?.[0]?.state ?? '';
    } catch (e) {
      state = 'http-error:' + String(e?.message ?? e).replace(/,/g, ';');
    }
    const ps = procStatus(child.pid);
    appendFileSync(progressCsv, `${new Date().toISOString()},${((Date.now() - startedAt) / 1000).toFixed(0)},${appended},${appendErrors},${s},${lag},${state},${reconnects},${lookups.ok},${lookups.notFound},${lookups.failed},${ps.rss},${ps.hwm},${ps.anon},${ps.file},${ps.shmem}\n`);
  }, 30_000);

  const steadyStart = Date.now();
  // Leave up to 10 minutes for the drain, the end snapshot and the heap diff before the hard end.
  const steadyEnd = hardEnd - Math.min(10 * 60_000, (hardEnd - steadyStart) * 0.2);
  const midAt = steadyStart + (steadyEnd - steadyStart) / 2;
  while (!stopRequested && !childExit && Date.now() < steadyEnd) {
    await sleep(1000);
    if (opts.midSnapshot && !snapshots.mid && Date.now() >= midAt) {
      try {
        snapshots.mid = await heapSnapshot(child.pid, 'mid', url);
      } catch (e) {
        log('mid snapshot failed', { error: String(e) });
        snapshots.mid = 'failed';
      }
    }
  }
  // Decided before serve is stopped below (its exit then is the planned end, not an early one).
  const endedEarly = stopRequested || !!childExit;
  for (const t of [appendTimer, reconnectTimer, lookupTimer, progressTimer]) clearInterval(t);
  await restarting;
  while (appendBusy) await sleep(100);
  try {
    await appender?.logout();
  } catch {
    // closed
  }
  const expected = opts.backfill + appended;
  log('steady phase over; waiting for the poller to store everything', { appended, expected });
  const finalStored = childExit ? null : await waitStored(expected, 120_000);
  let pollers = null;
  try {
    pollers = await getJson('/v1/pollers');
  } catch {
    // serve gone
  }
  if (!childExit) {
    try {
      snapshots.end = await heapSnapshot(child.pid, 'end', url);
    } catch (e) {
      log('end snapshot failed', { error: String(e) });
    }
  }
  const endStatus = procStatus(child.pid);
  if (!childExit) {
    child.kill('SIGTERM');
    for (let i = 0; i < 600 && !childExit; i++) await sleep(100);
    if (!childExit) child.kill('SIGKILL');
  }
  await server.stop();

  let rows = null;
  try {
    const [total, distinct] = execFileSync('sqlite3', [db, 'SELECT count(*), count(DISTINCT message_id) FROM observations'], { encoding: 'utf8' }).trim().split('|').map(Number);
    rows = { observations: total, distinctMessageIds: distinct };
  } catch (e) {
    rows = { error: String(e) };
  }

  // 5. Summary.
  const mem = readFileSync(memCsv, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split(','))
    .map(([time, up, rss, heapUsed, heapTotal, external, ab, fds]) => ({ time, t: Date.parse(time), rss: +rss, heapUsed: +heapUsed, heapTotal: +heapTotal, external: +external, arrayBuffers: +ab, fds: +fds }));
  const steady = mem.filter((m) => m.t >= steadyStart);
  const hours = [];
  for (let h = 0; steady.length && steadyStart + h * 3600_000 <= steady[steady.length - 1].t; h++) {
    const w = steady.filter((m) => m.t >= steadyStart + h * 3600_000 && m.t < steadyStart + (h + 1) * 3600_000);
    if (!w.length) break;
    const xs = w.map((m) => (m.t - steadyStart) / 3600_000);
    hours.push({
      hour: h + 1,
      samples: w.length,
      heapUsedMeanMiB: +(w.reduce((a, m) => a + m.heapUsed, 0) / w.length / 1048576).toFixed(2),
      heapUsedMinMiB: +(Math.min(...w.map((m) => m.heapUsed)) / 1048576).toFixed(2),
      heapUsedSlopeMiBPerHour: +((slope(xs, w.map((m) => m.heapUsed)) ?? 0) / 1048576).toFixed(2),
      rssMeanMiB: +(w.reduce((a, m) => a + m.rss, 0) / w.length / 1048576).toFixed(1),
      rssSlopeMiBPerHour: +((slope(xs, w.map((m) => m.rss)) ?? 0) / 1048576).toFixed(2),
      fdsMin: Math.min(...w.map((m) => m.fds)),
      fdsMax: Math.max(...w.map((m) => m.fds)),
    });
  }
  const MiB = (b) => (b == null ? null : +(b / 1048576).toFixed(1));
  // The leak question: after warm-up, is the last window above the first? Medians, so one GC
  // cycle or a reconnect's buffers at a window's edge cannot decide it.
  const median = (xs) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] : null);
  const warmEnd = steadyStart + opts.warmupMinutes * 60_000;
  const measured = steady.filter((m) => m.t >= warmEnd);
  const winMs = opts.windowMinutes * 60_000;
  const firstWin = measured.filter((m) => m.t < warmEnd + winMs);
  const lastWin = measured.length ? measured.filter((m) => m.t > measured[measured.length - 1].t - winMs) : [];
  const hoursOf = (m) => (m.t - warmEnd) / 3600_000;
  const win = (key) => {
    const a = median(firstWin.map((m) => m[key]));
    const b = median(lastWin.map((m) => m[key]));
    return { firstMiB: MiB(a), lastMiB: MiB(b), deltaMiB: a == null || b == null ? null : MiB(b - a), slopeMiBPerHour: measured.length > 1 ? MiB(slope(measured.map(hoursOf), measured.map((m) => m[key]))) : null };
  };
  const windows = {
    warmupMinutes: opts.warmupMinutes,
    windowMinutes: opts.windowMinutes,
    samples: { first: firstWin.length, last: lastWin.length, measured: measured.length },
    // Overlapping windows (a run shorter than warm-up + 2 windows) answer nothing.
    overlapping: !!(firstWin.length && lastWin.length && lastWin[0].t < firstWin[firstWin.length - 1].t),
    rss: win('rss'),
    heapUsed: win('heapUsed'),
    external: win('external'),
    fds: { first: median(firstWin.map((m) => m.fds)), last: median(lastWin.map((m) => m.fds)) },
    // The same windows over the 30-second /proc samples: which kind of page the RSS change is.
    rssSplit: rssSplit(progressCsv, warmEnd, winMs, median, MiB),
  };
  const first = steady[0];
  const last = steady[steady.length - 1];
  const summary = {
    // The code under test: the commit whose build was copied at the start (HEAD may have moved since).
    commit: CODE_COMMIT,
    node: process.version,
    dovecot: server.version,
    startedAt: new Date(startedAt).toISOString(),
    steadyStartedAt: new Date(steadyStart).toISOString(),
    endedAt: new Date().toISOString(),
    steadyMinutes: +((Date.now() - steadyStart) / 60_000).toFixed(1),
    endedEarly,
    serveExit: childExit,
    messages: { backfill: opts.backfill, appended, appendErrors, expected, storedPerStats: finalStored, ...rows, allStoredOnce: rows?.observations === expected && rows?.distinctMessageIds === expected },
    reconnects,
    reconnectMode: opts.reconnectMode,
    pollerAtEnd: pollers?.pollers?.[0] ?? null,
    lookups: { ok: lookups.ok, notFound: lookups.notFound, failed: lookups.failed, p50Ms: pct(lookups.ms, 50), p99Ms: pct(lookups.ms, 99), maxMs: pct(lookups.ms, 100) },
    rssMiB: { beforeStartSnapshot: MiB(atBackfill.rss), peakDuringBackfill: MiB(atBackfill.hwm), afterBackfill: MiB(first?.rss), end: MiB(last?.rss), max: MiB(Math.max(...mem.map((m) => m.rss))), peakHwmAtEnd: MiB(endStatus.hwm) },
    windows,
    heapUsedMiB: { afterBackfill: MiB(first?.heapUsed), end: MiB(last?.heapUsed), slopeWholeRunMiBPerHour: steady.length > 1 ? MiB(slope(steady.map((m) => (m.t - steadyStart) / 3600_000), steady.map((m) => m.heapUsed))) : null },
    fds: { afterBackfill: first?.fds ?? null, end: last?.fds ?? null, max: mem.length ? Math.max(...mem.map((m) => m.fds)) : null },
    perHour: hours,
    files: { memoryCsv: memCsv, progressCsv, events: join(OUT, 'events.jsonl'), serveLog, snapshots },
  };
  writeFileSync(join(OUT, 'summary.json'), JSON.stringify(summary, null, 2));
  log('summary written', { file: join(OUT, 'summary.json') });
  if (snapshots.start && snapshots.end) {
    try {
      const diff = heapDiff(snapshots.start, snapshots.end);
      writeFileSync(join(OUT, 'heap-diff.json'), JSON.stringify(diff, null, 2));
      summary.heapSnapshotSelfSizeMiB = { start: MiB(diff.totalStart), end: MiB(diff.totalEnd), delta: MiB(diff.dTotal) };
      writeFileSync(join(OUT, 'summary.json'), JSON.stringify(summary, null, 2));
      log('heap diff written', { file: join(OUT, 'heap-diff.json'), deltaMiB: MiB(diff.dTotal) });
    } catch (e) {
      log('heap diff failed', { error: String(e) });
    }
  }
}

function git(...args) {
  try {
    return execFileSync('git', ['-C', ROOT, ...args], { encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    log('soak failed', { error: String(e?.stack ?? e) });
    process.exit(1);
  },
);
