/**
 * Rule loading refuses what recheck does not find safe, also in an operator's own folder (issue 11:
 * `(\d+)\s*(\d+)\s*\d+x$` passed the old load-time check and then took ~100 s on a 1,024-char value).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { classify, defaultRulesDir, loadRules } from '../../src/classify/index.js';
import { isAppError } from '../../src/core/index.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** An operator rules folder holding one rule whose x-mailer regex is `pattern`. */
function operatorFolder(pattern: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'census-rules-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'clients'));
  const yaml = [
    '- id: operator-mailer',
    '  priority: 100',
    '  match:',
    `    x-mailer: '${pattern.replace(/'/g, "''")}'`,
    '  client: { family: operator-mailer, kind: client }',
    "  references: ['operator note']",
    '  examples:',
    "    - headers: { x-mailer: '12 34 56x' }",
    '      expect: { family: operator-mailer }',
    '',
  ].join('\n');
  writeFileSync(join(dir, 'clients', 'local.yaml'), yaml);
  return dir;
}

describe('loading operator rules: ReDoS check', () => {
  it('refuses the polynomial operator rule (\\d+)\\s*(\\d+)\\s*\\d+x$ at load with E_RULE_UNSAFE naming file and rule', () => {
    const dir = operatorFolder('(\\d+)\\s*(\\d+)\\s*\\d+x$');
    let err: unknown;
    try {
      loadRules([defaultRulesDir(), dir]);
    } catch (e) {
      err = e;
    }
    expect(isAppError(err) && err.code).toBe('E_RULE_UNSAFE');
    expect((err as Error).message).toMatch(/local\.yaml: rule operator-mailer: match\.x-mailer: unsafe regex/);
  });

  it('loads a safe operator rule next to the shipped ones', () => {
    const rs = loadRules([defaultRulesDir(), operatorFolder('^(?<a>\\d+) (?<b>\\d+) \\d+x$')]);
    expect(rs.rules.some((r) => r.id === 'operator-mailer')).toBe(true);
  });
});

/** An operator rules folder with one rule per x-mailer pattern (family operator-<i>). */
function operatorRules(patterns: readonly string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'census-rules-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'clients'));
  const yaml = patterns.flatMap((p, i) => [
    `- id: operator-${i}`,
    '  priority: 100',
    '  match:',
    `    x-mailer: '${p.replace(/'/g, "''")}'`,
    `  client: { family: operator-${i}, kind: client }`,
    "  references: ['operator note']",
  ]);
  writeFileSync(join(dir, 'clients', 'local.yaml'), yaml.join('\n') + '\n');
  return dir;
}

describe('dispatch of literal anchors with non-ASCII text (operator rules)', () => {
  // The index walks a value's first (last) UTF-16 units, lower-casing A-Z only; a key lower-cased
  // by toLowerCase() or reversed by code point would never be reached, and the rule never tried.
  const rs = loadRules([operatorRules(['^Почта Mail', '^äbc mailer', 'Mailer \u{1F600}$', 'Agent Ä$'])]);
  const family = (v: string): string | null => classify(rs, { 'x-mailer': [v] }).family;

  it('an upper-case non-ASCII prefix is reached (the regex is case-insensitive, the key is not lower-cased past ASCII)', () => {
    expect(family('Почта Mail.Ru 3.1')).toBe('operator-0');
    expect(family('ÄBC Mailer 2')).toBe('operator-1');
    expect(family('äbc mailer 2')).toBe('operator-1');
  });

  it('a suffix that ends in a character outside the BMP, or in an upper-case non-ASCII letter, is reached', () => {
    expect(family('My Mailer \u{1F600}')).toBe('operator-2');
    expect(family('User Agent Ä')).toBe('operator-3');
    expect(family('User Agent ä')).toBe('operator-3');
  });
});

describe('folding white space, normalised only where a rule reads the text', () => {
  // classify folds a blank run holding a tab into one space, but only in the fields whose text a rule,
  // check or stamp reads (engine.ts textFields): a whole block's tab-folded DKIM-Signatures are read
  // for their d= tag only, unless a rule matches the header itself.
  const folded = 'v=1; a=rsa-sha256;\td=operator.example; s=sel;\t bh=x; b=y';

  it('a rule on the DKIM-Signature text itself still sees the folded value', () => {
    const dir = mkdtempSync(join(tmpdir(), 'census-rules-'));
    dirs.push(dir);
    mkdirSync(join(dir, 'clients'));
    const yaml = ['- id: operator-dkim', '  priority: 100', '  match:', "    dkim-signature: 'rsa-sha256; d=operator\\.example; s=sel; bh='", '  client: { family: operator-dkim, kind: client }', "  references: ['operator note']"];
    writeFileSync(join(dir, 'clients', 'local.yaml'), yaml.join('\n') + '\n');
    const rs = loadRules([dir]);
    expect(classify(rs, { 'dkim-signature': [folded] }).family).toBe('operator-dkim');
  });

  it('the shipped rules give a tab-folded DKIM-Signature the verdict of its one-space form (dkim-d)', () => {
    const rs = loadRules([defaultRulesDir()]);
    const fp = (dkim: string) => ({ 'message-id': ['<CAJJ9bXy@mail.gmail.com>'], 'dkim-signature': [dkim] });
    const tabbed = classify(rs, fp('v=1; a=rsa-sha256;\td=gmail.com;\ts=20230601; bh=x; b=y'));
    expect(tabbed).toEqual(classify(rs, fp('v=1; a=rsa-sha256; d=gmail.com; s=20230601; bh=x; b=y')));
    expect(tabbed.family).toBe('gmail');
  });
});
