// The sha256 of classify's verdicts over the corpus and the held-out set, for checking that a
// change to the engine or to how parse builds fingerprints leaves every verdict as it was.
// `node scripts/verdict-hash.mjs [build root]` (default: this checkout; run `npm run build` first):
// run it on the old and the new build and compare the hashes. Inputs, each through the build's own
// parse path: every block and message under the corpus and test/fixtures/heldout (parseHeaderBlock +
// fingerprintFromFields, as `classify`/`eval` see them; parseMessage, as ingest sees them, with
// receivedReduced), every headers.tsv row, and variants of every block with hostile values (control
// characters, tabs, blanks at the ends, over-long values) and with digits varied.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(process.argv[2] ?? join(fileURLToPath(import.meta.url), '..', '..'));
const here = join(fileURLToPath(import.meta.url), '..', '..');
const { loadRules, classify, defaultRulesDir, fingerprintFromFields } = await import(join(root, 'dist/classify/index.js'));
const { parseHeaderBlock, parseMessage } = await import(join(root, 'dist/parse/index.js'));
const { fingerprintSelector } = await import(join(root, 'dist/app/index.js'));

const rules = loadRules([defaultRulesDir()]);
const selector = fingerprintSelector();
// The corpus beside the checkout, as the benchmarks find it (/work/wt/shared is /work/shared), else the test copy.
const corpusDir = existsSync(join(here, '..', 'shared', 'corpus')) ? join(here, '..', 'shared', 'corpus') : join(here, 'test', 'fixtures', 'classify', 'corpus');
// Keys name an input by its set and its path in it, so a hash does not depend on where the checkout lies.
const dirs = [['corpus', corpusDir], ['heldout', join(here, 'test/fixtures/heldout')]];
const verdicts = [];
const add = (key, v) => verdicts.push([key, v]);

let s = 7;
const r = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
const HOSTILE = [
  (v) => v + '\x00',
  (v) => '\x1b[31m' + v,
  (v) => v.replace(' ', '\r\n\t'),
  (v) => v.replace(' ', ' \t '),
  (v) => '\t' + v + '  ',
  (v) => v + ' ' + 'x'.repeat(1100),
  (v) => 'y'.repeat(1030) + '\x07' + v,
  (v) => v + '\x7f',
  (v) => v.replace(/\d/g, (d) => (r() < 0.3 ? String((+d + 1) % 10) : d)),
];

function fromFields(key, fields, smime) {
  add(key, classify(rules, fingerprintFromFields(fields), smime ? { smimeMessage: smime } : {}));
}

for (const [set, dir] of dirs) {
  const tsv = join(dir, 'headers.tsv');
  if (existsSync(tsv)) {
    const lines = readFileSync(tsv, 'utf8').split('\n');
    for (let n = 1; n < lines.length; n++) {
      const f = lines[n].split('\t');
      if (f.length < 2 || !f[0]) continue;
      const fields = [{ name: f[0].toLowerCase(), value: f[1] }];
      if (f[2] && f[0].toLowerCase() !== 'message-id') fields.push({ name: 'message-id', value: f[2] });
      fromFields(`${set}/headers.tsv:${n}`, fields);
      // A caller's own fingerprint (library, HTTP): the untrusted path.
      add(`${set}/headers.tsv:${n}:plain`, classify(rules, Object.fromEntries(fields.map((x) => [x.name, [x.value]]))));
    }
  }
  for (const sub of ['blocks', 'messages']) {
    const d = join(dir, sub);
    if (!existsSync(d)) continue;
    for (const file of readdirSync(d).sort()) {
      const bytes = readFileSync(join(d, file));
      const key = `${set}/${sub}/${file}`;
      const p = parseHeaderBlock(bytes);
      if (!p.ok) continue;
      fromFields(key, p.fields);
      const m = parseMessage(bytes, { fingerprint: selector });
      if (m.ok) add(`${key}:ingest`, classify(rules, m.message.fingerprint, { receivedReduced: true, smimeMessage: m.message.smime }));
      // A stored fingerprint read back (recompute): JSON, untrusted.
      if (m.ok) add(`${key}:stored`, classify(rules, JSON.parse(JSON.stringify(m.message.fingerprint))));
      for (let h = 0; h < HOSTILE.length; h++) {
        const fields = p.fields.map((f) => (r() < 0.5 ? { name: f.name, value: HOSTILE[h](f.value) } : f));
        fromFields(`${key}:hostile${h}`, fields);
        const text = fields.map((f) => `${f.name}: ${f.value.replace(/\r?\n(?![ \t])/g, '\n ')}`).join('\r\n') + '\r\n\r\n';
        const mh = parseMessage(Buffer.from(text), { fingerprint: selector });
        if (mh.ok) add(`${key}:hostile${h}:ingest`, classify(rules, mh.message.fingerprint, { receivedReduced: true }));
      }
    }
  }
}
const hash = createHash('sha256').update(JSON.stringify(verdicts)).digest('hex');
const warned = verdicts.filter(([, v]) => v.warnings.length).length;
console.log(`${verdicts.length} verdicts (${warned} with warnings), sha256 ${hash}`);
