/**
 * Sealed fingerprints (issue 15, core/sealed-fingerprint.ts): parse and fingerprintFromFields seal
 * the fingerprint they build with what classify's cleaning would find in it, and classify then
 * skips cleaning value by value. A sealed fingerprint and an unsealed copy of it (what a library
 * caller, the HTTP API or recompute's JSON hands classify) must get the same verdict, warnings
 * included, on the corpus and on hostile values; and no copy can carry a seal.
 */
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { classify, defaultRulesDir, fingerprintFromFields, loadRules } from '../../src/classify/index.js';
import { parseHeaderBlock, parseMessage } from '../../src/parse/index.js';
import { fingerprintSelector } from '../../src/app/index.js';
import { fingerprintFacts, MAX_FINGERPRINT_VALUE_CHARS, type Fingerprint } from '../../src/core/index.js';

// source: copies of /work/shared/corpus/blocks and messages (their sources: blocks/labels.tsv, messages/*.json).
const corpus = fileURLToPath(new URL('../fixtures/classify/corpus', import.meta.url));
const rules = loadRules([defaultRulesDir()]);
const selector = fingerprintSelector();

/** An unsealed copy, as recompute reads a stored fingerprint back. */
const unsealed = (fp: Fingerprint): Fingerprint => JSON.parse(JSON.stringify(fp)) as Fingerprint;

function corpusFiles(): string[] {
  return ['blocks', 'messages'].flatMap((d) => readdirSync(join(corpus, d)).filter((f) => /\.(hdr|eml)$/.test(f)).map((f) => join(corpus, d, f)));
}

const THUNDERBIRD_UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:102.0) Gecko/20100101 Thunderbird/102.10.0';

/** Both paths of one set of header fields: fingerprintFromFields (sealed) and a plain copy. */
function both(fields: Array<{ name: string; value: string }>) {
  const fp = fingerprintFromFields(fields);
  expect(fingerprintFacts(fp)).toBeDefined();
  const sealed = classify(rules, fp);
  const plain = classify(rules, unsealed(fp));
  expect(sealed).toEqual(plain);
  return sealed;
}

describe('sealed fingerprints: classify trusts the builder and gives the same verdict', () => {
  it('gives a sealed fingerprint and its unsealed copy the same verdict on every corpus block and message', () => {
    let sealed = 0;
    for (const file of corpusFiles()) {
      const bytes = readFileSync(file);
      const block = parseHeaderBlock(bytes);
      if (!block.ok) throw new Error(`${file}: ${block.detail}`);
      const parsed = parseMessage(bytes, { fingerprint: selector });
      for (const fp of [fingerprintFromFields(block.fields), ...(parsed.ok ? [parsed.message.fingerprint] : [])]) {
        expect(fingerprintFacts(fp), file).toBeDefined();
        sealed++;
        expect(classify(rules, fp, { receivedReduced: true }), file).toEqual(classify(rules, unsealed(fp)));
      }
    }
    expect(sealed).toBeGreaterThan(150);
  });

  it('gives the same warnings through both paths for control characters, over-long values, tabs and blanks', () => {
    const injected = both([{ name: 'user-agent', value: THUNDERBIRD_UA + '\u001b[0m' }, { name: 'message-id', value: '<a@b.test>' }]);
    expect(injected.warnings).toContain('forged:header-injection');
    expect(injected.confidence).toBeLessThanOrEqual(0.2);
    const del = both([{ name: 'x-mailer', value: 'Microsoft Outlook 16.0\u007f' }]);
    expect(del.warnings).toContain('forged:header-injection');
    const long = both([{ name: 'user-agent', value: THUNDERBIRD_UA + ' ' + 'x'.repeat(2 * MAX_FINGERPRINT_VALUE_CHARS) }]);
    expect(long.warnings).toContain('input:value-truncated');
    expect(long.family).toBe('thunderbird');
    // A control character past the cut is not seen by either path (the value is cut first).
    const pastCut = both([{ name: 'user-agent', value: THUNDERBIRD_UA + ' ' + 'x'.repeat(MAX_FINGERPRINT_VALUE_CHARS) + '\u0000' }]);
    expect(pastCut.warnings).toContain('input:value-truncated');
    expect(pastCut.warnings).not.toContain('forged:header-injection');
    // Folding white space with a tab reads as one space; blanks at the ends are trimmed.
    const folded = both([{ name: 'user-agent', value: THUNDERBIRD_UA.replace('Gecko/20100101 ', 'Gecko/20100101 \t ') }]);
    expect(folded.family).toBe('thunderbird');
    const blanks = both([{ name: 'x-mailer', value: ' \tApple Mail (2.3654.120.0.1.13)  ' }]);
    expect(blanks.family).toBe('apple-mail');
    const clean = both([{ name: 'user-agent', value: THUNDERBIRD_UA }]);
    expect(clean.warnings).not.toContain('forged:header-injection');
    expect(clean.warnings).not.toContain('input:value-truncated');
  });

  it('gives the same verdicts on every corpus block with hostile values mixed in', () => {
    const hostile = [(v: string) => v + '\u0000', (v: string) => '\t' + v.replace(' ', ' \t ') + ' ', (v: string) => v + ' ' + 'y'.repeat(1100), (v: string) => v.replace(' ', '\r\n\t')];
    let warned = 0;
    for (const file of corpusFiles()) {
      const block = parseHeaderBlock(readFileSync(file));
      if (!block.ok) continue;
      for (const h of hostile) {
        const v = both(block.fields.map((f, i) => (i % 2 === 0 ? { name: f.name, value: h(f.value) } : f)));
        if (v.warnings.some((w) => w === 'forged:header-injection' || w === 'input:value-truncated')) warned++;
      }
    }
    expect(warned).toBeGreaterThan(100);
  });

  it('seals only what its builders built: copies and hand-made objects are not sealed, and a sealed fingerprint cannot change', () => {
    const fp = fingerprintFromFields([{ name: 'user-agent', value: THUNDERBIRD_UA }]);
    expect(fingerprintFacts(fp)).toEqual({ injected: false, untidy: [], tabbed: [] });
    expect(fingerprintFacts(unsealed(fp))).toBeUndefined();
    expect(fingerprintFacts({ ...fp })).toBeUndefined();
    expect(fingerprintFacts({ 'user-agent': [THUNDERBIRD_UA] })).toBeUndefined();
    expect(Object.isFrozen(fp) && Object.isFrozen(fp['user-agent'])).toBe(true);
    expect(() => (fp['user-agent'] as string[]).push('\u0000')).toThrow(TypeError);
    expect(() => {
      (fp as Record<string, readonly string[]>)['x-mailer'] = ['\u0000'];
    }).toThrow(TypeError);
  });

  it('leaves a caller\'s raw Received headers reduced on the unsealed path and parse\'s as they are on the sealed one', () => {
    const raw = 'from [192.0.2.1] (helo) by smtp.gmail.com with ESMTPSA id x1 for <a@b.test>; Mon, 1 Jan 2024 00:00:00 +0000';
    const fp = fingerprintFromFields([{ name: 'received', value: raw }, { name: 'user-agent', value: THUNDERBIRD_UA }]);
    expect(fp['received']).toEqual(['by smtp.gmail.com with ESMTPSA']);
    const plain = { received: [raw], 'user-agent': [THUNDERBIRD_UA] };
    expect(classify(rules, fp)).toEqual(classify(rules, plain));
  });
});
