import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { classify, defaultRulesDir, fingerprintFromFields, loadRules } from '../../src/classify/index.js';
import { parseHeaderBlock, smimeKindOf } from '../../src/parse/index.js';
import { evaluateCorpus } from '../../src/app/evaluate.js';

// source: test/fixtures/classify/corpus is a copy of /work/shared/corpus (see ../fixtures/classify/SOURCES.md)
const corpus = fileURLToPath(new URL('../fixtures/classify/corpus', import.meta.url));
const rules = loadRules([defaultRulesDir()]);
const report = evaluateCorpus(rules, corpus);

describe('dev corpus', () => {
  it('reads every header row and every labelled message', () => {
    expect(report.sources.headersRows).toBe(399);
    expect(report.sources.messages).toBe(40);
  });

  it('family accuracy is at least 97% and automated recall at least 95%', () => {
    expect(report.familyAccuracy).toBeGreaterThanOrEqual(0.97);
    expect(report.automated.recall).toBeGreaterThanOrEqual(0.95);
  });

  it('each family row classifies to one of its labelled families', () => {
    const wrong = report.failures.filter((f) => f.expected !== 'FORGED' && !f.expected.startsWith('OTHER:')).map((f) => `${f.where}: ${f.expected} got ${f.verdict.family}/${f.verdict.kind} (${f.input})`);
    expect(wrong).toEqual([]);
  });

  it('almost no forged row gets a confident person-client verdict', () => {
    expect(report.forged.total).toBeGreaterThanOrEqual(26);
    expect(report.forged.confidentPersonVerdicts).toBeLessThanOrEqual(3);
  });

  it('OTHER rows (families outside the list) mostly get no family', () => {
    expect(report.other.correct).toBeGreaterThanOrEqual(report.other.total - 1);
  });

  it('an S/MIME-signed message is noted in the verdict, with the server-signing warning', () => {
    const bytes = readFileSync(join(corpus, 'messages', '35-smime-signed-apple-mail.eml'));
    const parsed = parseHeaderBlock(bytes);
    if (!parsed.ok) throw new Error(parsed.detail);
    const ct = parsed.fields.find((f) => f.name === 'content-type')?.value;
    const v = classify(rules, fingerprintFromFields(parsed.fields), { smimeMessage: smimeKindOf(ct) });
    expect(v.family).toBe('apple-mail');
    expect(v.smimeMessage).toBe('signed');
    expect(v.warnings).toContain('smime:signed-message-may-be-server-signed');
  });
});
