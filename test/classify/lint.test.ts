import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { defaultRulesDir, lintRules, ruleFileJsonSchema } from '../../src/classify/index.js';
import { literalAnchors, regexSyntaxProblem } from '../../src/classify/regex-dispatch.js';
import { redosProblem } from '../../src/classify/regex-safety.js';

const fx = (p: string): string => fileURLToPath(new URL(`../fixtures/classify/${p}`, import.meta.url));

describe('rules lint', () => {
  it('the shipped rules lint clean (schema, ids, examples, references, fields, regex safety)', () => {
    const r = lintRules([defaultRulesDir()]);
    expect(r.problems).toEqual([]);
    expect(r.rules).toBeGreaterThan(150);
  });

  it('catches an unsafe regex, one line naming file and rule id', () => {
    const r = lintRules([fx('rules-bad-unsafe')]);
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toMatchObject({ ruleId: 'nested-quantifier' });
    expect(r.problems[0]!.file).toMatch(/bad\.yaml$/);
    expect(r.problems[0]!.message).toMatch(/can backtrack catastrophically: exponential/);
  });

  it('catches a capability claim without a reference, and a rule without examples or references', () => {
    const r = lintRules([fx('rules-bad-reference')]);
    const msgs = r.problems.map((p) => `${p.file.split('/').pop()} ${p.ruleId ?? '-'} ${p.message}`);
    expect(msgs.some((m) => /delta\.yaml .*reference/.test(m))).toBe(true);
    expect(msgs.some((m) => /ok\.yaml no-example no examples/.test(m))).toBe(true);
    expect(msgs.some((m) => /ok\.yaml no-example no references/.test(m))).toBe(true);
  });

  it('rules/schema.json is the schema generated from the runtime validator', () => {
    const onDisk = JSON.parse(readFileSync(join(defaultRulesDir(), 'schema.json'), 'utf8'));
    expect(onDisk).toEqual(JSON.parse(JSON.stringify(ruleFileJsonSchema())));
  });
});

describe('regex safety (recheck) and the rule dialect', () => {
  it.each(['^(a+)+$', '(\\w+\\s?)*$', '^(?:a|a)*$', '^(.*)*x', '(\\d+)*\\.', '^(?:[a-z]+-?)+$', '^[a-z]*[a-z]*[a-z]*[a-z]*!$', '(\\d+)\\s*(\\d+)\\s*\\d+x$'])('recheck refuses %s', (src) => {
    expect(redosProblem(src, 'i')).toMatch(/backtrack catastrophically/);
  });

  it.each(['\\1', '(?<a>x)\\k<a>', '(?<=a)b', '(?<!a)b'])('the rule dialect refuses backreferences and lookbehind: %s', (src) => {
    expect(regexSyntaxProblem(src)).not.toBeNull();
  });

  it.each([
    '^Thunderbird/(?<version>\\d+(?:\\.\\d+)*)',
    '^Foxmail (?<version>\\d{1,2}(?:[,.] {0,2}\\d{1,5}){0,4})',
    '^(?:Alpine|Pine) \\d+',
    '\\.prod\\.outlook\\.com$',
    '^(?=[^@]{0,15}[A-Z])[A-Za-z0-9]{16}$',
  ])('accepts the safe idiom %s', (src) => {
    expect(regexSyntaxProblem(src)).toBeNull();
    expect(redosProblem(src, 'i')).toBeNull();
  });

  it('finds literal prefixes and suffixes for dispatch', () => {
    // An optional literal branches: both texts are keys (and the literal after it still counts).
    expect(literalAnchors('^Microsoft (?:Office )?Outlook').prefixes).toEqual(['microsoft outlook', 'microsoft office outlook']);
    expect(literalAnchors('^<?E1[0-9A-Za-z]{5,6}-').prefixes).toEqual(['e1', '<e1']);
    expect(literalAnchors('@mx\\.google\\.com>?$').suffixes).toEqual(['@mx.google.com', '@mx.google.com>']);
    // An optional atom that is not a literal ends the key, as any non-literal does.
    expect(literalAnchors('^<?\\d{14}\\.').prefixes).toBeNull();
    expect(literalAnchors('^(?:RainLoop|SnappyMail)/\\d').prefixes).toEqual(['rainloop/', 'snappymail/']);
    expect(literalAnchors('\\.prod\\.outlook\\.com$').suffixes).toEqual(['.prod.outlook.com']);
    expect(literalAnchors('\\bThunderbird\\b')).toEqual({ prefixes: null, suffixes: null });
  });
});
