#!/usr/bin/env node
// Benchmark harness shared by every benchmark in scripts/bench/*.mjs.
// Usage: npm run bench [-- NAME ...] [-- --json FILE] [--quick]
// Each benchmark module exports `default async (ctx) => BenchResult[]`, where a result is
// { name, value, unit, baseline, ratio, target, pass } (target is a human-readable string such as
// ">= 5x"). Benchmarks compare against a floor or a peer *in the same run* and report medians of
// repeats, because this machine is shared and noisy: absolute timings mean little, ratios do.
import { readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join, basename } from 'node:path';
import { performance } from 'node:perf_hooks';
import { tmpdir } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
let jsonFile = null;
const names = [];
let quick = false;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--json') jsonFile = args[++i];
  else if (a === '--quick') quick = true;
  else if (a === '--help' || a === '-h') {
    console.log('usage: npm run bench -- [NAME...] [--json FILE] [--quick]');
    process.exit(0);
  } else names.push(a);
}

const dir = join(here, 'bench');
const all = readdirSync(dir).filter((f) => f.endsWith('.mjs') && !f.startsWith('_')).map((f) => basename(f, '.mjs')).sort();
const selected = names.length ? names : all;
for (const n of selected) if (!all.includes(n)) { console.error(`unknown benchmark "${n}"; known: ${all.join(', ')}`); process.exit(2); }

/** Median of numbers. */
export function median(xs) { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; }

const ctx = {
  quick,
  median,
  /** Runs fn `n` times (after one warm-up unless warmup=false) and returns the median wall time in ms. */
  async timeMedian(fn, n = 5, { warmup = true } = {}) {
    if (warmup) await fn();
    const ts = [];
    for (let i = 0; i < n; i++) { const t0 = performance.now(); await fn(); ts.push(performance.now() - t0); }
    return median(ts);
  },
  tmp(prefix = 'bench-') { const d = mkdtempSync(join(tmpdir(), 'smime-census-' + prefix)); cleanup.push(d); return d; },
  log: (...m) => console.error('  ', ...m),
};
const cleanup = [];

const results = [];
let failed = false;
for (const n of selected) {
  console.log(`\n== ${n}`);
  const mod = await import(pathToFileURL(join(dir, n + '.mjs')).href);
  try {
    const rs = await mod.default(ctx);
    for (const r of rs) results.push({ bench: n, ...r });
    printTable(rs);
  } catch (e) {
    failed = true;
    console.error(`benchmark ${n} failed:`, e);
  }
}
for (const d of cleanup) rmSync(d, { recursive: true, force: true });

function fmt(x) { return typeof x === 'number' ? (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toPrecision(3)) : String(x ?? ''); }
function printTable(rs) {
  const rows = [['name', 'value', 'unit', 'baseline', 'ratio', 'target', 'pass'], ...rs.map((r) => [r.name, fmt(r.value), r.unit, fmt(r.baseline), fmt(r.ratio), r.target ?? '', r.pass === undefined ? '' : r.pass ? 'yes' : 'NO'])];
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  for (const r of rows) console.log(r.map((c, i) => String(c).padEnd(w[i])).join('  '));
}
if (jsonFile) { mkdirSync(dirname(jsonFile), { recursive: true }); writeFileSync(jsonFile, JSON.stringify(results.map(({ bench, ...r }) => r), null, 2)); console.log(`\nwrote ${jsonFile}`); }
process.exit(failed ? 1 : 0);
