/**
 * Rule loading refuses what recheck does not find safe, also in an operator's own folder (issue 11:
 * `(\d+)\s*(\d+)\s*\d+x$` passed the old load-time check and then took ~100 s on a 1,024-char value).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultRulesDir, loadRules } from '../../src/classify/index.js';
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
