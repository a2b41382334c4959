import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { defaultRulesDir, lintRules, loadRules } from '../../src/classify/index.js';
import { generalisationProblems, variantsOf } from '../../src/classify/lint-generalise.js';

const fx = (p: string): string => fileURLToPath(new URL(`../fixtures/classify/${p}`, import.meta.url));

describe('rules lint: the generalisation check (issue 15)', () => {
  it('flags rules that match only their own examples\u2019 exact strings (a memorised version, a memorised Message-ID)', () => {
    const r = lintRules([fx('rules-bad-fitted')]);
    const flagged = r.problems.filter((p) => /exact strings/.test(p.message)).map((p) => p.ruleId);
    expect(flagged.sort()).toEqual(['fitted-message-id', 'fitted-supmailer']);
  });

  it('does not flag a rule written from the scheme (another version still matches)', () => {
    const problems = generalisationProblems(loadRules([fx('rules-bad-fitted')]));
    expect(problems.map((p) => p.ruleId)).not.toContain('general-supmailer');
  });

  it('every shipped rule generalises beyond its examples (or says why its value is a constant)', () => {
    expect(generalisationProblems(loadRules([defaultRulesDir()]))).toEqual([]);
  });

  it('varies one token at a time and keeps its class (hex stays hex, digits stay digits)', () => {
    expect(variantsOf('Supmailer 38.1.1')).toEqual(['Supmailer 39.1.1', 'Supmailer 38.2.1', 'Supmailer 38.1.2']);
    expect(variantsOf('81D086B4AC492E341F4076420370D3EC@faqrauwm')).toEqual(['81D086B4AC492E341F4076420370D3ED@faqrauwm']);
    expect(variantsOf('Mozilla Thunderbird')).toEqual([]);
  });
});
