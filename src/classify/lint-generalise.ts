/**
 * The generalisation check of `rules lint` (issue 15): a rule written from one header value tends to
 * match exactly that value — its version, its random Message-ID — and nothing else the same program
 * writes. For every match regex, each example value it matches is varied one token at a time (a digit
 * run, a random-looking alphanumeric run: another version, another id); if the regex matches none of
 * the variants of any of its example values, it only knows its examples' exact strings.
 *
 * Kept apart from lint.ts (regex safety) on purpose: the two change for different reasons.
 */
import type { Fingerprint } from '../core/index.js';
import { fieldView } from './engine.js';
import type { CompiledRule, RuleSet } from './rule-types.js';

export interface GeneraliseProblem {
  readonly file: string;
  readonly ruleId: string;
  readonly message: string;
}

// Digit runs, and alphanumeric runs of 6+ that mix letters and digits (ids, hashes, builds).
const TOKEN = /[A-Za-z0-9]{6,}|\d+/g;
const HAS_DIGIT = /\d/;
const HAS_LETTER = /[A-Za-z]/;
/** Variants per value are capped: a 1 KiB value has at most this many tokens worth varying. */
const MAX_VARIANTS = 64;

function bump(c: string): string {
  const code = c.charCodeAt(0);
  if (c >= '0' && c <= '9') return String((code - 48 + 1) % 10);
  // Stay inside the same class (hex stays hex, case stays case) so only the value changes, not its shape.
  if (c >= 'a' && c <= 'f') return c === 'f' ? 'a' : String.fromCharCode(code + 1);
  if (c >= 'A' && c <= 'F') return c === 'F' ? 'A' : String.fromCharCode(code + 1);
  if (c >= 'g' && c <= 'z') return c === 'z' ? 'g' : String.fromCharCode(code + 1);
  if (c >= 'G' && c <= 'Z') return c === 'Z' ? 'G' : String.fromCharCode(code + 1);
  return c;
}

/** One variant per varying token: its last character bumped within its class. */
export function variantsOf(value: string): string[] {
  const out: string[] = [];
  for (const m of value.matchAll(TOKEN)) {
    const t = m[0];
    if (!HAS_DIGIT.test(t) && !(t.length >= 6 && HAS_LETTER.test(t) && HAS_DIGIT.test(t))) continue;
    const i = m.index + t.length - 1;
    out.push(value.slice(0, i) + bump(value[i]!) + value.slice(i + 1));
    if (out.length >= MAX_VARIANTS) break;
  }
  return out;
}

function lowerKeys(h: Record<string, string | string[]>): Fingerprint {
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(h)) (out[k.toLowerCase()] ??= []).push(...(Array.isArray(v) ? v : [v]));
  return out;
}

function ruleProblems(rule: CompiledRule): GeneraliseProblem[] {
  const problems: GeneraliseProblem[] = [];
  if (rule.fixedValue !== null) return problems;
  const views = rule.examples.map((ex) => fieldView(lowerKeys(ex.headers)));
  for (const c of rule.conditions) {
    let variable = false;
    let general = false;
    let sample = '';
    for (const view of views) {
      for (const v of view.get(c.field) ?? []) {
        if (!c.re.test(v)) continue;
        const variants = variantsOf(v);
        if (variants.length === 0) continue;
        variable = true;
        sample ||= v;
        if (variants.some((x) => c.re.test(x))) general = true;
      }
    }
    if (variable && !general) {
      problems.push({
        file: rule.file,
        ruleId: rule.id,
        message: `match.${c.field} /${c.re.source}/ matches only its examples' exact strings: no variant of ${JSON.stringify(sample.slice(0, 80))} with another version or id matches (write the program's scheme, not the value; a true constant says why in fixedValue)`,
      });
    }
  }
  return problems;
}

/** Rules (and provider stamps) whose match regexes match nothing but their own examples' exact values. */
export function generalisationProblems(rules: RuleSet): GeneraliseProblem[] {
  return [...rules.rules, ...rules.stamps].flatMap(ruleProblems);
}
