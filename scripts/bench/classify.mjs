// Classification throughput vs a floor, over realistic fingerprints generated from the dev
// corpus with variations: single header values (headers.tsv, messages/) and whole header blocks
// (messages/ and blocks/, the form parse hands to classify in production). The floor does only
// what any classifier must do: read every character of every value of the fields the loaded rules
// look at, once (a rolling hash, so the JIT cannot drop the loop) — no splitting, no lower-casing,
// no fields the rules never read (e.g. a Content-Type no rule matches on). Floor and classify
// alternate round by round; the median of the per-round ratios is reported. Target: classify costs
// <= 4x the floor per input.
//
// What the floor leaves out: classify must look at every character of every fingerprint value for
// control characters (the forged:header-injection warning covers all fields), and the floor reads
// only the fields a rule reads. On the corpus's whole blocks that was 1,044 characters per block
// against 294 until round 12, when parse began to drop a DKIM-Signature's b= and bh= where it builds
// the fingerprint (src/core/dkim.ts; ingest already dropped them before storing): 671 against 294,
// then 553 once X-YMail-OSG (2-3 KB in the 6 blocks that have it, read by no rule but for its
// presence) was kept as presence only (src/core/fingerprint-value.ts); DKIM-Signature is 246.
// Moving the control scan into parse instead (a sealed fingerprint classify trusts) took one --quick
// run of this ratio on blocks to 4.98 (then 9.2-9.5) and made parse + classify slower, 1.11x in
// interleaved pairs (5ec0c08, reverted in 3f4ffef). Round 12's profile of classify on blocks, by
// cutting the engine short in copies of the build: Fields.load 44% (its control scan a third of
// that), provider stamps 8%, the dispatch walk 21%, tried rules and the verdict 27% (at 671
// characters per block). The spread of
// the per-round ratios comes from both sides: no deopt in the timed rounds (--trace-deopt), and the
// floor alone, with no classify in the process, varied 24-48 ms CPU per round of 20k blocks at load ~1.1.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { loadRules, classify, defaultRulesDir, fingerprintFromFields } = await import(join(root, 'dist/classify/index.js'));
const { parseHeaderBlock } = await import(join(root, 'dist/parse/index.js'));

const corpusDir = existsSync(join(root, '..', 'shared', 'corpus')) ? join(root, '..', 'shared', 'corpus') : join(root, 'test', 'fixtures', 'classify', 'corpus');

/** Deterministic PRNG so runs compare. */
function rng(seed) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

/** Single header values as headers.tsv holds them (with the row's Message-ID). */
function valueSeeds() {
  const out = [];
  const lines = readFileSync(join(corpusDir, 'headers.tsv'), 'utf8').split('\n').slice(1);
  for (const line of lines) {
    const f = line.split('\t');
    if (f.length < 4) continue;
    const fp = { [f[0].toLowerCase()]: [f[1]] };
    if (f[2] && f[0].toLowerCase() !== 'message-id') fp['message-id'] = [f[2]];
    out.push(fp);
  }
  return out;
}

/** Whole header blocks of one corpus folder, parsed as production parses them. */
function blockSeeds(sub, ext) {
  const dir = join(corpusDir, sub);
  if (!existsSync(dir)) return [];
  const out = [];
  for (const file of readdirSync(dir).filter((x) => x.endsWith(ext)).sort()) {
    const p = parseHeaderBlock(readFileSync(join(dir, file)));
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

/** A string as parse hands it: a slice of a flat string (V8 copies strings under 13 characters). */
function asParsed(s) {
  return (' ' + s).slice(1);
}

/** Varies digits and hex so the engine cannot win by memoising identical strings. */
function vary(fp, r) {
  const out = {};
  for (const [k, vs] of Object.entries(fp)) {
    out[k] = vs.map((v) => v.replace(/\d/g, (d) => (r() < 0.3 ? String((Number(d) + 1) % 10) : d)).replace(/[a-f](?=[0-9a-f]{3})/g, (c) => (r() < 0.2 ? 'abcdef'[Math.floor(r() * 6)] : c)));
  }
  // A real message always has these and parse keeps them in the fingerprint (FINGERPRINT_FIELDS).
  // As parse hands them: slices of the decoded block (asParsed), not the cons strings that
  // concatenation here would make (classify's regexes would flatten those on first use).
  out['mime-version'] ??= ['1.0'];
  out['content-type'] ??= [asParsed(CONTENT_TYPES[Math.floor(r() * CONTENT_TYPES.length)].replace('#', Math.floor(r() * 1e9).toString(16)))];
  out['message-id'] ??= [asParsed(`<${Math.floor(r() * 1e12).toString(36)}.${Math.floor(r() * 1e6)}@mail.example.org>`)];
  return out;
}

/** The fields any rule reads: the rule index's fields, plus the raw fields behind the pseudo-fields. */
function ruleFields(rules) {
  const set = new Set(rules.index.keys());
  for (const f of ['x-mailer', 'user-agent', 'x-newsreader', 'message-id']) set.add(f);
  return set;
}

// The floor walks each fingerprint's own keys with Object.keys, as the engine does (Fields.load).
// Until round 10 its time was bimodal between processes (~0.8 or ~2.5-4.5 us of CPU per single
// value, the same compiled tiers in both: --trace-opt/--trace-deopt showed one OSR deopt, "wrong
// map", and identical recompiles). The cause was `v.charCodeAt(i)`: the load of `charCodeAt` is an
// inline cache keyed by the receiver's map, and the inputs' strings have six maps (sequential,
// internalized, cons and sliced one-byte; sequential and cons two-byte: parse hands slices of the
// decoded block, receivedHop concatenates). Past four maps the cache goes megamorphic, and whether
// it had when TurboFan compiled the loop depended on GC and compile timing; megamorphic, every
// character paid a generic property load and an un-inlined builtin call. The floor now calls the
// builtin through a constant (`charCodeAt.call`), which TurboFan inlines whatever the string's
// representation, and reads each value's length once: the fast mode, in every process (12 of 12
// processes at 0.6-1.6 us of CPU per single value; the old loop was slow in 4 of 12).
const charCodeAt = String.prototype.charCodeAt;
function floor(fields, inputs) {
  let h = 0;
  for (let n = 0; n < inputs.length; n++) {
    const fp = inputs[n];
    const keys = Object.keys(fp);
    for (let m = 0; m < keys.length; m++) {
      const k = keys[m];
      if (!fields.has(k)) continue;
      const vs = fp[k];
      for (let j = 0; j < vs.length; j++) {
        const v = vs[j];
        const len = v.length;
        for (let i = 0; i < len; i++) h = (Math.imul(h, 31) + charCodeAt.call(v, i)) | 0;
      }
    }
  }
  return h;
}

// As ingest calls it (app/ingest.ts FROM_PARSE): the inputs' Received values are parse's reductions
// already (fingerprintFromFields), so classify is not charged for reducing them a second time, which
// ingest never does.
const FROM_PARSE = { receivedReduced: true };
function run(rules, inputs) {
  let known = 0;
  for (const fp of inputs) if (classify(rules, fp, FROM_PARSE).ruleId !== null) known++;
  return known;
}

// A full collection between timed runs (the harness starts benchmarks without --expose-gc).
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');

/** Classify vs floor over n varied copies of the seeds, as pairs; one result per input set. */
async function measure(ctx, rules, fields, seedsOf, n, seed) {
  const r = rng(seed);
  const inputs = Array.from({ length: n }, (_, i) => vary(seedsOf[i % seedsOf.length], r));
  // Warm both loops on these inputs before timing (ctx.pairs runs each once more): the first
  // optimised version of each then already saw every shape of fingerprint in the set.
  for (let w = 0; w < 2; w++) {
    floor(fields, inputs);
    run(rules, inputs);
  }
  const repeats = ctx.quick ? 3 : 7;
  // Each timed run starts from a collected heap: classify leaves garbage behind, and without this
  // the floor run after it paid for collecting it (the floor's time then varied 4x between runs).
  const timed = (fn) => () => {
    gc();
    const t0 = performance.now();
    fn();
    return { ms: performance.now() - t0 };
  };
  const p = await ctx.pairs(timed(() => run(rules, inputs)), timed(() => floor(fields, inputs)), repeats);
  return { p, matched: run(rules, inputs), inputs: inputs.length };
}

export default async function (ctx) {
  const rules = loadRules([defaultRulesDir()]);
  const messages = blockSeeds('messages', '.eml');
  const values = [...valueSeeds(), ...messages];
  const blocks = [...messages, ...blockSeeds('blocks', '.hdr')];
  // 100k inputs: each round takes seconds, so a round is long against timer and GC noise; more
  // inputs only lengthen the run (the per-input cost is flat from 50k up). Whole blocks carry
  // about ten times the characters of a single value, so 20k of them take as long.
  const n = ctx.quick ? 50_000 : 100_000;
  const nBlocks = ctx.quick ? 10_000 : 20_000;
  ctx.log(`${rules.rules.length} rules, ${n} fingerprints from ${values.length} corpus seeds, ${nBlocks} whole blocks from ${blocks.length}`);
  // Interleave floor and classify runs and take the median of the per-pair ratios: the machine is
  // shared, and load that shifts between two separate timing loops would skew a ratio of medians.
  const fields = ruleFields(rules);
  ctx.size('fingerprints', n);
  ctx.size('blocks', nBlocks);
  ctx.size('rules', rules.rules.length);
  const single = await measure(ctx, rules, fields, values, n, 42);
  const whole = await measure(ctx, rules, fields, blocks, nBlocks, 43);
  const rows = [];
  for (const [what, m] of [['', single], [' (whole header blocks)', whole]]) {
    const { p, matched, inputs } = m;
    ctx.log(`${what || 'single values'}: floor ${p.medianB.toFixed(1)} ms, classify ${p.medianA.toFixed(1)} ms, ratio ${p.ratio.toFixed(2)} [${p.ratios.map((x) => x.toFixed(2)).join(' ')}], ${((100 * matched) / inputs).toFixed(1)}% matched a rule`);
    // The per-round times, so a wide spread of ratios shows which side moved.
    ctx.log(`  per round: classify ${p.a.map((x) => x.toFixed(0)).join(' ')} ms; floor ${p.b.map((x) => x.toFixed(1)).join(' ')} ms`);
    rows.push(
      { name: `classify throughput${what}`, value: inputs / (p.medianA / 1000), unit: 'inputs/s', baseline: inputs / (p.medianB / 1000), ratio: p.ratio, samples: p.ratios, target: '<= 4x floor cost', pass: p.ratio <= 4 },
      { name: `classify cost per input (vs reading the rule fields once)${what}`, value: (p.medianA * 1000) / inputs, unit: 'us', baseline: (p.medianB * 1000) / inputs, ratio: p.ratio, samples: p.ratios, target: '<= 4x floor', pass: p.ratio <= 4 },
    );
  }
  return rows;
}
