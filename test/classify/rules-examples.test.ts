import { describe, expect, it } from 'vitest';
import { defaultRulesDir, loadRules, testRules, classify } from '../../src/classify/index.js';

// Data-driven: every example of every shipped rule is a test case.
const rules = loadRules([defaultRulesDir()]);

describe('shipped rule examples', () => {
  it('the shipped rule set loads and every rule has at least one example', () => {
    expect(rules.rules.length).toBeGreaterThan(150);
    for (const r of rules.rules) expect(r.examples.length, r.id).toBeGreaterThan(0);
  });

  const cases = rules.rules.flatMap((r) => r.examples.map((ex, i) => ({ name: `${r.id} #${i + 1}`, rule: r, ex })));
  it.each(cases)('$name classifies as its expectation says', ({ rule, ex }) => {
    const fp: Record<string, string[]> = {};
    for (const [k, v] of Object.entries(ex.headers)) (fp[k.toLowerCase()] ??= []).push(...(Array.isArray(v) ? v : [v]));
    const v = classify(rules, fp);
    expect(v.ruleId).toBe(ex.expect.ruleId ?? rule.id);
    for (const k of ['family', 'kind', 'product', 'version', 'platform'] as const) {
      if (ex.expect[k] !== undefined) expect(v[k], k).toBe(ex.expect[k]);
    }
    for (const w of ex.expect.warnings ?? []) expect(v.warnings.some((x) => x.startsWith(w)), `warning ${w} in ${v.warnings}`).toBe(true);
    if (ex.expect.lowConfidence === true) expect(v.confidence).toBeLessThan(0.5);
    if (ex.expect.lowConfidence === false) expect(v.confidence).toBeGreaterThanOrEqual(0.5);
  });

  it('testRules reports the same: no failing example', () => {
    const report = testRules(rules);
    expect(report.failures).toEqual([]);
    expect(report.passed).toBe(report.examples);
  });
});
