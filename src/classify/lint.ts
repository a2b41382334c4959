/**
 * Rule tooling behind `rules lint` and `rules test`: lint collects every problem (one line per
 * problem, naming file and rule id) instead of stopping at the first like loadRules does.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readdirSync, readFileSync } from 'node:fs';
import { parseYaml } from './yaml.js';
import { isAppError, type Fingerprint, type Verdict } from '../core/index.js';
import { ruleSchemas, type RuleInput } from './rule-schema.js';
import { regexSyntaxProblem } from './regex-dispatch.js';
import { redosProblem, trustVerdictFile, VERDICT_FILE, writeVerdictFile, type VerdictFile } from './regex-safety.js';
import { FINGERPRINT_FIELDS, PSEUDO_FIELDS } from './fingerprint-fields.js';
import { defaultRulesDir, loadRules, readRuleInputs } from './load.js';
import { classify } from './engine.js';
import type { RuleSet } from './rule-types.js';
import { generalisationProblems } from './lint-generalise.js';

export interface LintProblem {
  readonly file: string;
  readonly ruleId: string | null;
  readonly message: string;
}

export interface LintReport {
  readonly files: number;
  readonly rules: number;
  readonly problems: LintProblem[];
}

export interface TestFailure {
  readonly file: string;
  readonly ruleId: string;
  readonly example: number;
  readonly message: string;
}

export interface TestReport {
  readonly examples: number;
  readonly passed: number;
  readonly failures: TestFailure[];
}

function list(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort()
    .map((f) => join(dir, f));
}

const KNOWN_FIELDS = new Set([...FINGERPRINT_FIELDS, ...PSEUDO_FIELDS]);

function lintRegex(src: string, flags: string, file: string, id: string, where: string, out: LintProblem[], fresh: boolean): void {
  const p = regexSyntaxProblem(src);
  if (p) {
    out.push({ file, ruleId: id, message: `${where}: unsafe regex /${src}/: ${p}` });
    return;
  }
  try {
    new RegExp(src, flags);
  } catch (e) {
    out.push({ file, ruleId: id, message: `${where}: regex /${src}/ does not compile: ${(e as Error).message}` });
    return;
  }
  const r = redosProblem(src, flags, { fresh });
  if (r) out.push({ file, ruleId: id, message: `${where}: unsafe regex /${src}/: ${r}` });
}

/**
 * Lints rule folders: schema, unique ids, examples, references, field names, regex syntax and
 * ReDoS safety (recheck; cached verdicts unless `fresh`, which rechecks every regex).
 */
export function lintRules(dirs: readonly string[], opts: { fresh?: boolean } = {}): LintReport {
  const fresh = opts.fresh ?? false;
  if (!fresh) trustVerdictFile(join(defaultRulesDir(), VERDICT_FILE));
  const problems: LintProblem[] = [];
  let files = 0;
  let rules = 0;
  for (const dir of dirs) {
    if (!existsSync(dir)) {
      problems.push({ file: dir, ruleId: null, message: 'rules folder does not exist' });
      continue;
    }
    const ids = new Map<string, string>();
    for (const file of list(join(dir, 'clients'))) {
      files++;
      let data: unknown;
      try {
        data = parseYaml(readFileSync(file, 'utf8'), { version: '1.2', uniqueKeys: true, maxAliasCount: 50 });
      } catch (e) {
        problems.push({ file, ruleId: null, message: `not valid YAML: ${(e as Error).message}` });
        continue;
      }
      if (!Array.isArray(data)) {
        problems.push({ file, ruleId: null, message: 'a rule file is a YAML list of rules' });
        continue;
      }
      for (const [i, item] of data.entries()) {
        const idGuess = typeof (item as { id?: unknown })?.id === 'string' ? (item as { id: string }).id : `#${i}`;
        const parsed = ruleSchemas().RuleFileSchema.element.safeParse(item);
        if (!parsed.success) {
          for (const iss of parsed.error.issues.slice(0, 5)) problems.push({ file, ruleId: idGuess, message: `schema: ${iss.path.join('.') || '(rule)'}: ${iss.message}` });
          continue;
        }
        const r = parsed.data;
        rules++;
        const prev = ids.get(r.id);
        if (prev) problems.push({ file, ruleId: r.id, message: `duplicate id (also in ${prev})` });
        ids.set(r.id, file);
        if ('disabled' in r && r.disabled === true) continue;
        const rule = r as RuleInput;
        if (!rule.examples || rule.examples.length === 0) problems.push({ file, ruleId: rule.id, message: 'no examples: every rule needs at least one example that the test suite runs' });
        if (!rule.references || rule.references.length === 0) problems.push({ file, ruleId: rule.id, message: 'no references: cite where these header values were seen' });
        const flags = rule.caseSensitive ? '' : 'i';
        for (const [field, src] of Object.entries(rule.match ?? {})) {
          if (!KNOWN_FIELDS.has(field)) problems.push({ file, ruleId: rule.id, message: `match.${field}: not in FINGERPRINT_FIELDS, so parse and the IMAP fetch never keep it` });
          lintRegex(src, flags, file, rule.id, `match.${field}`, problems, fresh);
        }
        for (const field of rule.absent ?? []) if (!KNOWN_FIELDS.has(field)) problems.push({ file, ruleId: rule.id, message: `absent: ${field} is not in FINGERPRINT_FIELDS` });
        for (const [j, c] of (rule.checks ?? []).entries()) {
          if (!c.field.startsWith('$') && !KNOWN_FIELDS.has(c.field)) problems.push({ file, ruleId: rule.id, message: `checks[${j}]: ${c.field} is not in FINGERPRINT_FIELDS` });
          if (c.pattern !== undefined) lintRegex(c.pattern, flags, file, rule.id, `checks[${j}]`, problems, fresh);
        }
        if (rule.client.kind === 'automated' && rule.candidates) problems.push({ file, ruleId: rule.id, message: 'an automated rule has no candidates' });
      }
    }
    for (const file of list(join(dir, 'smime'))) {
      files++;
      let data: unknown;
      try {
        data = parseYaml(readFileSync(file, 'utf8'), { version: '1.2', uniqueKeys: true });
      } catch (e) {
        problems.push({ file, ruleId: null, message: `not valid YAML: ${(e as Error).message}` });
        continue;
      }
      const parsed = ruleSchemas().SmimeFileSchema.safeParse(data);
      if (!parsed.success) {
        for (const iss of parsed.error.issues.slice(0, 10)) problems.push({ file, ruleId: null, message: `schema: ${iss.path.join('.') || '(root)'}: ${iss.message}` });
      }
    }
  }
  // Whatever loadRules would still refuse (templates naming missing groups, candidates, overrides),
  // then the generalisation check on the compiled rules (lint-generalise.ts).
  if (problems.length === 0) {
    try {
      const set = loadRules(dirs);
      for (const p of generalisationProblems(set)) problems.push(p);
    } catch (e) {
      problems.push({ file: '(load)', ruleId: null, message: isAppError(e) ? e.message : String(e) });
    }
  }
  return { files, rules, problems };
}

/** One regex of a rule (a `match` value or a `checks` pattern) with the flags it runs with. */
export interface RuleRegex {
  readonly source: string;
  readonly flags: string;
  readonly file: string;
  readonly ruleId: string;
}

/** Every regex of the enabled rules in `dirs`. */
export function ruleRegexes(dirs: readonly string[]): RuleRegex[] {
  const out: RuleRegex[] = [];
  for (const { input: r, file } of readRuleInputs(dirs).rules) {
    const flags = r.caseSensitive ? '' : 'i';
    for (const source of Object.values(r.match ?? {})) out.push({ source, flags, file, ruleId: r.id });
    for (const c of r.checks ?? []) if (c.pattern !== undefined) out.push({ source: c.pattern, flags, file, ruleId: r.id });
  }
  return out;
}

/** Rewrites rules/regex-verdicts.json from the shipped rules (recheck runs for regexes not yet on file). */
export function writeShippedVerdicts(): { file: string; data: VerdictFile } {
  const file = join(defaultRulesDir(), VERDICT_FILE);
  trustVerdictFile(file);
  return { file, data: writeVerdictFile(file, ruleRegexes([defaultRulesDir()])) };
}

function lowerKeys(h: Record<string, string | string[]>): Fingerprint {
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(h)) (out[k.toLowerCase()] ??= []).push(...(Array.isArray(v) ? v : [v]));
  return out;
}

function compare(v: Verdict, expect: NonNullable<RuleInput['examples']>[number]['expect'], ruleId: string): string | null {
  const wantRule = expect.ruleId ?? ruleId;
  if (v.ruleId !== wantRule) return `matched rule ${v.ruleId ?? '(none)'}, expected ${wantRule}`;
  for (const k of ['family', 'kind', 'product', 'version', 'platform'] as const) {
    if (expect[k] !== undefined && v[k] !== expect[k]) return `${k} is ${JSON.stringify(v[k])}, expected ${JSON.stringify(expect[k])}`;
  }
  if (expect.candidates && JSON.stringify([...(v.candidates ?? [])].sort()) !== JSON.stringify([...expect.candidates].sort())) {
    return `candidates are ${JSON.stringify(v.candidates ?? [])}, expected ${JSON.stringify(expect.candidates)}`;
  }
  for (const w of expect.warnings ?? []) if (!v.warnings.some((x) => x.startsWith(w))) return `warning ${w} missing (got ${JSON.stringify(v.warnings)})`;
  if (expect.lowConfidence === true && v.confidence >= 0.5) return `confidence ${v.confidence}, expected < 0.5`;
  if (expect.lowConfidence === false && v.confidence < 0.5) return `confidence ${v.confidence}, expected >= 0.5`;
  return null;
}

/** Runs every rule's examples through classify with the whole rule set loaded. */
export function testRules(rules: RuleSet): TestReport {
  const failures: TestFailure[] = [];
  let examples = 0;
  for (const rule of [...rules.rules, ...rules.stamps]) {
    rule.examples.forEach((ex, i) => {
      examples++;
      const v = classify(rules, lowerKeys(ex.headers));
      const problem = compare(v, ex.expect, rule.id);
      if (problem) failures.push({ file: rule.file, ruleId: rule.id, example: i, message: problem });
    });
  }
  return { examples, passed: examples - failures.length, failures };
}
