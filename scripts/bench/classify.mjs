// Classification throughput vs a floor, over realistic fingerprints generated from the dev
// corpus with variations. The floor does only what any classifier must do: read every character
// of every value of the fields the loaded rules look at, once (a rolling hash, so the JIT cannot
// drop the loop) — no splitting, no lower-casing, no fields the rules never read (e.g. a
// Content-Type no rule matches on). Floor and classify alternate round by round; the median of
// the per-round ratios is reported. Target: classify costs <= 4x the floor per input.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { loadRules, classify, defaultRulesDir, fingerprintFromFields } = await import(join(root, 'dist/classify/index.js'));
const { parseHeaderBlock } = await import(join(root, 'dist/parse/index.js'));

const corpusDir = existsSync(join(root, '..', 'shared', 'corpus')) ? join(root, '..', 'shared', 'corpus') : join(root, 'test', 'fixtures', 'classify', 'corpus');

/** Deterministic PRNG so runs compare. */
function rng(seed) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

function seeds() {
  const out = [];
  const lines = readFileSync(join(corpusDir, 'headers.tsv'), 'utf8').split('\n').slice(1);
  for (const line of lines) {
    const f = line.split('\t');
    if (f.length < 4) continue;
    const fp = { [f[0].toLowerCase()]: [f[1]] };
    if (f[2] && f[0].toLowerCase() !== 'message-id') fp['message-id'] = [f[2]];
    out.push(fp);
  }
  const mdir = join(corpusDir, 'messages');
  for (const file of readdirSync(mdir).filter((x) => x.endsWith('.eml'))) {
    const p = parseHeaderBlock(readFileSync(join(mdir, file)));
    if (p.ok) out.push(fingerprintFromFields(p.fields));
  }
  return out;
}

const CONTENT_TYPES = [
  'text/plain; charset=utf-8',
  'text/plain; charset="UTF-8"; format=flowed',
  'multipart/alternative; boundary="000000000000#"',
  'multipart/mixed; boundary="----=_NextPart_000_0010_#"',
  'multipart/alternative; boundary="Apple-Mail=_#"',
  'multipart/signed; micalg=sha-256; protocol="application/pkcs7-signature"; boundary="#"',
];

/** Varies digits and hex so the engine cannot win by memoising identical strings. */
function vary(fp, r) {
  const out = {};
  for (const [k, vs] of Object.entries(fp)) {
    out[k] = vs.map((v) => v.replace(/\d/g, (d) => (r() < 0.3 ? String((Number(d) + 1) % 10) : d)).replace(/[a-f](?=[0-9a-f]{3})/g, (c) => (r() < 0.2 ? 'abcdef'[Math.floor(r() * 6)] : c)));
  }
  // A real message always has these and parse keeps them in the fingerprint (FINGERPRINT_FIELDS).
  out['mime-version'] ??= ['1.0'];
  out['content-type'] ??= [CONTENT_TYPES[Math.floor(r() * CONTENT_TYPES.length)].replace('#', Math.floor(r() * 1e9).toString(16))];
  out['message-id'] ??= [`<${Math.floor(r() * 1e12).toString(36)}.${Math.floor(r() * 1e6)}@mail.example.org>`];
  return out;
}

/** The fields any rule reads: the rule index's fields, plus the raw fields behind the pseudo-fields. */
function ruleFields(rules) {
  const set = new Set(rules.index.keys());
  for (const f of ['x-mailer', 'user-agent', 'x-newsreader', 'message-id']) set.add(f);
  return set;
}

function floor(fields, inputs) {
  let h = 0;
  for (const fp of inputs) {
    for (const k in fp) {
      if (!fields.has(k)) continue;
      const vs = fp[k];
      for (let j = 0; j < vs.length; j++) {
        const v = vs[j];
        for (let i = 0; i < v.length; i++) h = (Math.imul(h, 31) + v.charCodeAt(i)) | 0;
      }
    }
  }
  return h;
}

function run(rules, inputs) {
  let known = 0;
  for (const fp of inputs) if (classify(rules, fp).ruleId !== null) known++;
  return known;
}

export default async function (ctx) {
  const rules = loadRules([defaultRulesDir()]);
  const base = seeds();
  // 100k inputs: each round takes seconds, so a round is long against timer and GC noise; more
  // inputs only lengthen the run (the per-input cost is flat from 50k up).
  const n = ctx.quick ? 50_000 : 100_000;
  const r = rng(42);
  const inputs = Array.from({ length: n }, (_, i) => vary(base[i % base.length], r));
  ctx.log(`${rules.rules.length} rules, ${n} fingerprints from ${base.length} corpus seeds`);
  // Interleave floor and classify runs and take the median of the per-pair ratios: the machine is
  // shared, and load that shifts between two separate timing loops would skew a ratio of medians.
  const repeats = ctx.quick ? 3 : 7;
  const fields = ruleFields(rules);
  ctx.size('fingerprints', n);
  ctx.size('rules', rules.rules.length);
  const p = await ctx.pairs(() => { run(rules, inputs); }, () => { floor(fields, inputs); }, repeats);
  const tFloor = p.medianB;
  const tClassify = p.medianA;
  const ratio = p.ratio;
  const matched = run(rules, inputs);
  ctx.log(`floor ${tFloor.toFixed(1)} ms, classify ${tClassify.toFixed(1)} ms, ${((100 * matched) / n).toFixed(1)}% matched a rule`);
  return [
    { name: 'classify throughput', value: n / (tClassify / 1000), unit: 'inputs/s', baseline: n / (tFloor / 1000), ratio, samples: p.ratios, target: '<= 4x floor cost', pass: ratio <= 4 },
    { name: 'classify cost per input (vs reading the rule fields once)', value: (tClassify * 1000) / n, unit: 'us', baseline: (tFloor * 1000) / n, ratio, samples: p.ratios, target: '<= 4x floor', pass: ratio <= 4 },
  ];
}
