#!/usr/bin/env node
// Benchmark harness shared by every benchmark in scripts/bench/*.mjs.
//
//   npm run bench [-- NAME ...] [--json FILE] [--quick] [--scale]
//
// Registering a benchmark: drop scripts/bench/NAME.mjs exporting `default async (ctx) => rows`.
// A row is { name, value, unit, baseline?, ratio?, target?, pass?, samples? }, where `samples`
// holds the per-round figures behind the row (per-round *ratios* when the row has a ratio, else
// per-round values); the harness adds `bench`, `n`, `min`, `max`, `median` (of the samples) and
// `commit` to every row. Files starting with `_` are helpers, not benchmarks.
//
// Why it is built this way (the machine is shared and noisy, 2 cores):
// - every benchmark runs in a fresh Node process, so one benchmark's heap, JIT state, page cache
//   warm-up or leaked handles cannot flatter or penalise the next; a crash (or a hang past its
//   time limit) becomes an error row `{ pass: false, error }`, never a silent gap;
// - comparisons are made round by round between adjacent measurements (ctx.pairs) and the
//   median of the per-round ratios is reported, so load that shifts between two separate timing
//   loops cannot skew a ratio;
// - each benchmark's temp data (ctx.tmp) lives under one directory that is deleted as soon as
//   that benchmark ends, whether it passed, failed or crashed;
// - the JSON file records the commit, node/SQLite/PostgreSQL versions, the data sizes each
//   benchmark used and the machine's load average before and after it.
import { readdirSync, writeFileSync, mkdirSync, mkdtempSync, rmSync, readFileSync, existsSync, chmodSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join, basename } from 'node:path';
import { performance } from 'node:perf_hooks';
import { tmpdir, loadavg, cpus } from 'node:os';
import { spawn, execFileSync } from 'node:child_process';

const here = dirname(fileURLToPath(import.meta.url));
const ROOT = join(here, '..');
const dir = join(here, 'bench');

/** Median of numbers. */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function parseArgs(args) {
  const o = { jsonFile: null, names: [], quick: false, scale: false, child: null, timeoutMin: 30, timeoutGiven: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--json') o.jsonFile = args[++i];
    else if (a === '--quick') o.quick = true;
    else if (a === '--scale') o.scale = true;
    else if (a === '--child') o.child = args[++i];
    else if (a === '--timeout-min') {
      o.timeoutMin = Number(args[++i]);
      o.timeoutGiven = true;
      if (!Number.isFinite(o.timeoutMin) || o.timeoutMin <= 0) throw new Error('--timeout-min: a positive number of minutes is required');
    } else if (a === '--help' || a === '-h') {
      console.log('usage: npm run bench -- [NAME...] [--json FILE] [--quick] [--scale] [--timeout-min M]\n  --quick  small sizes (smoke run)\n  --scale  the issue sizes, and the 10M-row points of the scaling curves (scale-*); long: a 120-minute limit each');
      process.exit(0);
    } else if (a.startsWith('-')) throw new Error(`unknown option ${a}`);
    else o.names.push(a);
  }
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const all = readdirSync(dir).filter((f) => f.endsWith('.mjs') && !f.startsWith('_')).map((f) => basename(f, '.mjs')).sort();
// The 10M-row points of the scaling curves (scripts/bench/scale-*.mjs): only with --scale, where
// each builds its data and then measures for most of an hour on this machine, so each gets its
// own longer limit (--timeout-min still overrides it).
const isScale = (name) => name.startsWith('scale-');
const SCALE_TIMEOUT_MIN = 120;

function git(...a) {
  try {
    return execFileSync('git', ['-C', ROOT, ...a], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

if (opts.child) await runChild(opts.child);
else await runParent();

// ---------------------------------------------------------------------------------------------
// Child: runs one benchmark module in this (fresh) process.

async function runChild(name) {
  const tmpRoot = process.env.BENCH_TMP;
  const resultFile = process.env.BENCH_RESULT;
  if (!tmpRoot || !resultFile) throw new Error('--child is internal to the harness');
  const sizes = {};
  const ctx = {
    quick: opts.quick,
    scale: opts.scale,
    median,
    /** Shared across the benchmarks of one run (e.g. a generated PKI); deleted at the run's end. */
    cacheDir: process.env.BENCH_CACHE,
    /** Records a data size this benchmark used (goes into the JSON file's meta). */
    size(key, value) {
      sizes[key] = value;
    },
    /** Runs fn `n` times (after one warm-up unless warmup=false); returns the median wall time in ms. */
    async timeMedian(fn, n = 5, { warmup = true } = {}) {
      if (warmup) await fn();
      const ts = [];
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        await fn();
        ts.push(performance.now() - t0);
      }
      return median(ts);
    },
    /**
     * Times `a` (the subject) and `b` (its floor or peer) alternately `rounds` times (after one
     * warm-up of each unless warmup=false); returns the per-round times and ratios a/b. Each fn
     * may return `{ ms }` to use instead of its wall time (e.g. when it times a child process).
     */
    async pairs(a, b, rounds, { warmup = true } = {}) {
      const time = async (fn) => {
        const t0 = performance.now();
        const r = await fn();
        return r !== null && typeof r === 'object' && typeof r.ms === 'number' ? r.ms : performance.now() - t0;
      };
      if (warmup) {
        await a();
        await b();
      }
      const as = [];
      const bs = [];
      const ratios = [];
      for (let i = 0; i < rounds; i++) {
        // Alternate which one goes first, so a trend in load hits both alike.
        let ta, tb;
        if (i % 2 === 0) {
          ta = await time(a);
          tb = await time(b);
        } else {
          tb = await time(b);
          ta = await time(a);
        }
        as.push(ta);
        bs.push(tb);
        ratios.push(ta / tb);
      }
      return { a: as, b: bs, ratios, medianA: median(as), medianB: median(bs), ratio: median(ratios) };
    },
    tmp(prefix = 'bench-') {
      return mkdtempSync(join(tmpRoot, prefix));
    },
    log: (...m) => console.error('  ', ...m),
  };
  const mod = await import(pathToFileURL(join(dir, name + '.mjs')).href);
  const rows = await mod.default(ctx);
  if (!Array.isArray(rows)) throw new Error(`benchmark ${name} returned ${typeof rows}, not an array of rows`);
  writeFileSync(resultFile, JSON.stringify({ rows, sizes }));
  // Benchmarks may leave handles (servers, pools) open: the result is written, so end here.
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------
// Parent: one child process per benchmark, rows normalised, JSON written.

function versions() {
  const v = { node: process.version };
  try {
    v.sqliteCli = execFileSync('sqlite3', ['--version'], { encoding: 'utf8' }).split(' ')[0];
  } catch {
    v.sqliteCli = null;
  }
  for (const bin of ['/usr/lib/postgresql/15/bin/postgres', 'postgres']) {
    try {
      v.postgresql = execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim();
      break;
    } catch {
      v.postgresql = null;
    }
  }
  try {
    v.dovecot = execFileSync('dovecot', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    v.dovecot = null;
  }
  return v;
}

async function sqliteLibVersion() {
  try {
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(':memory:');
    const r = db.prepare('SELECT sqlite_version() AS v').get();
    db.close();
    const pkg = JSON.parse(readFileSync(join(ROOT, 'node_modules', 'better-sqlite3', 'package.json'), 'utf8'));
    return { sqlite: r.v, betterSqlite3: pkg.version };
  } catch (e) {
    return { sqlite: null, error: String(e) };
  }
}

function fmt(x) {
  return typeof x === 'number' ? (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toPrecision(3)) : String(x ?? '');
}

function printTable(rs) {
  const rows = [
    ['name', 'value', 'unit', 'baseline', 'ratio', 'n', 'min', 'max', 'target', 'pass'],
    ...rs.map((r) => [r.name, fmt(r.value), r.unit ?? '', fmt(r.baseline), fmt(r.ratio), r.n ?? '', fmt(r.min), fmt(r.max), r.target ?? '', r.pass === undefined ? '' : r.pass ? 'yes' : 'NO']),
  ];
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  for (const r of rows) console.log(r.map((c, i) => String(c).padEnd(w[i])).join('  '));
}

/** Adds bench, n, min, max, median, commit; the figure summarised is the ratio when there is one. */
function normalise(bench, row, commit) {
  const { samples, ...rest } = row;
  const main = typeof row.ratio === 'number' ? row.ratio : row.value;
  const xs = Array.isArray(samples) && samples.length ? samples.filter((x) => typeof x === 'number' && Number.isFinite(x)) : typeof main === 'number' ? [main] : [];
  return {
    bench,
    ...rest,
    n: xs.length,
    min: xs.length ? Math.min(...xs) : null,
    max: xs.length ? Math.max(...xs) : null,
    median: xs.length ? median(xs) : null,
    samples: Array.isArray(samples) ? samples : undefined,
    commit,
  };
}

function runOne(name, cacheDir, timeoutMs) {
  const tmpRoot = mkdtempSync(join(tmpdir(), `smime-census-bench-${name}-`));
  // Searchable by other users: a Dovecot started by a benchmark reads mail below it as `mail`.
  chmodSync(tmpRoot, 0o755);
  const resultFile = join(tmpRoot, '.result.json');
  const args = [fileURLToPath(import.meta.url), '--child', name, ...(opts.quick ? ['--quick'] : []), ...(opts.scale ? ['--scale'] : [])];
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, ['--max-old-space-size=4096', ...args], {
      stdio: ['ignore', 'inherit', 'pipe'],
      // TMPDIR too, so whatever the benchmark's helpers make with os.tmpdir() (a Dovecot's
      // directory, a PKI) is deleted with the rest even when the benchmark crashes.
      env: { ...process.env, TMPDIR: tmpRoot, BENCH_TMP: tmpRoot, BENCH_RESULT: resultFile, BENCH_CACHE: cacheDir },
      // Its own process group, so a hung benchmark can be stopped with everything it started.
      detached: true,
    });
    let stderrTail = '';
    child.stderr.on('data', (d) => {
      process.stderr.write(d);
      stderrTail = (stderrTail + d).slice(-4000);
    });
    const timer = setTimeout(() => {
      stderrTail += `\n[harness] timed out after ${timeoutMs / 60000} min`;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }, timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      // Whatever it started in its process group (servers, Dovecot) goes with it.
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // none left
      }
      let out = null;
      try {
        out = JSON.parse(readFileSync(resultFile, 'utf8'));
      } catch {
        // crashed before writing
      }
      rmSync(tmpRoot, { recursive: true, force: true });
      resolve({ code, signal, out, stderrTail, seconds: (performance.now() - t0) / 1000 });
    });
  });
}

async function runParent() {
  const selected = opts.names.length ? opts.names : all.filter((n) => opts.scale || !isScale(n));
  for (const n of selected) {
    if (!all.includes(n)) {
      console.error(`unknown benchmark "${n}"; known: ${all.join(', ')}`);
      process.exit(2);
    }
    if (isScale(n) && !opts.scale) {
      console.error(`benchmark "${n}" is a scaling point: run it with --scale`);
      process.exit(2);
    }
  }
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) {
    console.error('dist/ is missing: run `npm run build` first');
    process.exit(2);
  }
  const commit = git('rev-parse', 'HEAD');
  const dirty = git('status', '--porcelain', '--untracked-files=no');
  const meta = {
    commit,
    dirty: !!dirty,
    startedAt: new Date().toISOString(),
    quick: opts.quick,
    scale: opts.scale,
    versions: { ...versions(), ...(await sqliteLibVersion()) },
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? null, tasksetAvailable: hasTaskset() },
    benchmarks: {},
  };
  const cacheDir = mkdtempSync(join(tmpdir(), 'smime-census-bench-cache-'));
  const results = [];
  let failed = false;
  try {
    for (const n of selected) {
      console.log(`\n== ${n}`);
      const loadBefore = loadavg();
      // --scale also grows the ordinary benchmarks to the issues' sizes (oauth: 12 polls of 100k
      // messages, ~28 min at load 8-14, then minutes to delete the 100k-file maildir): they get
      // the scaling points' limit too, or the harness kills them before their result is written.
      const timeoutMin = (isScale(n) || opts.scale) && !opts.timeoutGiven ? SCALE_TIMEOUT_MIN : opts.timeoutMin;
      const r = await runOne(n, cacheDir, timeoutMin * 60_000);
      const loadAfter = loadavg();
      meta.benchmarks[n] = { seconds: +r.seconds.toFixed(1), sizes: r.out?.sizes ?? {}, loadavgBefore: loadBefore.map((x) => +x.toFixed(2)), loadavgAfter: loadAfter.map((x) => +x.toFixed(2)), exit: r.code, signal: r.signal };
      if (r.code !== 0 || !r.out) {
        failed = true;
        const error = (r.stderrTail.trim().split('\n').slice(-12).join('\n') || `exit ${r.code} signal ${r.signal}`).slice(-2000);
        const row = normalise(n, { name: `${n}: benchmark crashed`, value: null, unit: '', pass: false, error }, commit);
        results.push(row);
        console.error(`benchmark ${n} failed (exit ${r.code}${r.signal ? ', ' + r.signal : ''})`);
        printTable([row]);
        continue;
      }
      const rows = r.out.rows.map((row) => normalise(n, row, commit));
      results.push(...rows);
      printTable(rows);
      console.log(`(${n}: ${r.seconds.toFixed(0)} s)`);
    }
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
  meta.endedAt = new Date().toISOString();
  meta.seconds = +((Date.parse(meta.endedAt) - Date.parse(meta.startedAt)) / 1000).toFixed(0);
  console.log(`\nwhole run: ${(meta.seconds / 60).toFixed(1)} min (${Object.entries(meta.benchmarks).map(([k, v]) => `${k} ${v.seconds.toFixed(0)} s`).join(', ')})`);
  if (opts.jsonFile) {
    mkdirSync(dirname(opts.jsonFile), { recursive: true });
    writeFileSync(opts.jsonFile, JSON.stringify({ meta, results }, null, 2));
    console.log(`\nwrote ${opts.jsonFile}`);
  }
  const missed = results.filter((r) => r.pass === false);
  if (missed.length) console.log(`\n${missed.length} row(s) missed their target or failed: ${missed.map((r) => `${r.bench}: ${r.name}`).join('; ')}`);
  process.exit(failed ? 1 : 0);
}

function hasTaskset() {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
