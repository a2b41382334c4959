import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Verdict } from '../../src/core/index.js';
import { classify, defaultRulesDir, fingerprintFromFields, loadRules } from '../../src/classify/index.js';
import { parseHeaderBlock, smimeKindOf } from '../../src/parse/index.js';
import { crossValidate, evaluateCorpus, labelAccepts } from '../../src/app/evaluate.js';

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

  it('OTHER rows (families outside the list) get no family', () => {
    expect(report.other.correct).toBe(report.other.total);
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

describe('whole-block corpus (blocks/, each block fed as {"raw": …})', () => {
  const b = report.blocks!;

  it('reads every labelled block', () => {
    expect(report.sources.blocks).toBe(104);
    expect(b.total + b.forged.total + b.other.total).toBe(104);
  });

  it('family accuracy is at least 98% and automated recall at least 95%', () => {
    expect(b.familyAccuracy).toBeGreaterThanOrEqual(0.98);
    expect(b.automated.recall).toBeGreaterThanOrEqual(0.95);
  });

  it("no person's mail is called automated, and no forged block gets a confident verify", () => {
    expect(b.personCalledAutomated.count).toBe(0);
    expect(b.forged.confidentVerify).toBe(0);
    expect(b.verifyForNonVerifying).toBe(0);
  });

  it('the single-value corpus calls no person automated and claims no verify for families known not to verify', () => {
    expect(report.personCalledAutomated.count).toBe(0);
    expect(report.verifyForNonVerifying).toBe(0);
  });
});

describe('cross-validation (eval --cv): rules scored on corpus items they were not written from', () => {
  const cv = crossValidate([defaultRulesDir()], corpus, 5);

  it('drops, per fold, the rules written only from that fold and scores every item once', () => {
    expect(cv.folds).toBe(5);
    expect(cv.removedPerFold.every((n) => n > 0)).toBe(true);
    expect(cv.sources).toEqual(report.sources);
  });

  it("even without the rules written from them, no person's mail is called automated and no forged block gets a confident verify", () => {
    expect(cv.personCalledAutomated.count).toBe(0);
    expect(cv.blocks!.personCalledAutomated.count).toBe(0);
    expect(cv.blocks!.forged.confidentVerify).toBe(0);
    expect(cv.verifyForNonVerifying + cv.blocks!.verifyForNonVerifying).toBe(0);
  });

  it('the held-out estimate stays above a floor (a drop means rules fit their examples more than the clients)', () => {
    expect(cv.familyAccuracy).toBeGreaterThanOrEqual(0.8);
    expect(cv.blocks!.familyAccuracy).toBeGreaterThanOrEqual(0.9);
    expect(cv.blocks!.automated.recall).toBeGreaterThanOrEqual(0.85);
  });
});

describe('labelAccepts: a label that names people programs and UNKNOWN', () => {
  const known = new Set(['mutt', 'neomutt']);
  const verdict = (kind: Verdict['kind'], family: string | null): Verdict => ({ family, kind, product: null, version: null, platform: null, smime: 'unknown', confidence: 0.9, ruleId: null, warnings: [] });

  it('accepts one of the families or an unknown verdict, but not an automated one (it would block a person)', () => {
    expect(labelAccepts('neomutt|mutt|UNKNOWN', verdict('client', 'mutt'), known)).toBe(true);
    expect(labelAccepts('neomutt|mutt|UNKNOWN', verdict('unknown', null), known)).toBe(true);
    expect(labelAccepts('neomutt|mutt|UNKNOWN', verdict('automated', null), known)).toBe(false);
    expect(labelAccepts('neomutt|mutt|UNKNOWN', verdict('automated', 'mutt'), known)).toBe(false);
    // A bare UNKNOWN says nothing about the sender: any verdict without a family is right.
    expect(labelAccepts('UNKNOWN', verdict('automated', null), known)).toBe(true);
  });
});
