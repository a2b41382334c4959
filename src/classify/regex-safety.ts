/**
 * ReDoS safety of the regexes that see mail, decided by recheck (a maintained checker: automata
 * theory where it applies, fuzzing where it does not) instead of a hand-made analyser — ours let
 * `(\d+)\s*(\d+)\s*\d+x$` through, which then took ~100 s on one 1,024-character value.
 *
 * A verdict costs 50 ms to several seconds, so verdicts are cached by a hash of flags and source:
 * in memory for the life of the process, and for the shipped rules in rules/regex-verdicts.json
 * (written by `rules lint --write-verdicts`, checked against the rules by the test suite), so
 * start-up with the shipped rules runs no check at all; only an operator's own regexes are checked
 * when they load.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** The verdict file next to the shipped rules (rules/regex-verdicts.json). */
export const VERDICT_FILE = 'regex-verdicts.json';

/**
 * recheck's own time limit for one regex. Past it the verdict is `unknown`, and a regex that
 * recheck cannot prove safe in this time is refused: a rule can always be written more simply.
 */
export const RECHECK_TIMEOUT_MS = 10_000;

const require = createRequire(import.meta.url);

/** The checker whose verdicts the file holds; verdicts of another version are not reused. */
export const CHECKER = `recheck ${(require('recheck/package.json') as { version: string }).version}`;

// recheck's bundle is large (~0.5 s to load): loaded on the first cache miss, never at a start-up with shipped rules.
let recheck: typeof import('recheck') | null = null;

export type RegexVerdict =
  | { readonly status: 'safe'; readonly detail: string }
  | { readonly status: 'vulnerable' | 'unknown'; readonly detail: string };

export interface VerdictFile {
  readonly checker: string;
  /** key -> verdict, with the pattern itself for the reader of a diff. */
  readonly verdicts: Record<string, RegexVerdict & { readonly flags: string; readonly source: string }>;
}

/** Cache key of one regex: flags and source, hashed (sorted flags; g/y do not change matching cost). */
export function regexKey(source: string, flags: string): string {
  const f = [...flags.replace(/[gy]/g, '')].sort().join('');
  return createHash('sha256').update(`${f}/${source}`).digest('hex').slice(0, 32);
}

const memo = new Map<string, RegexVerdict>();
const trustedFiles = new Set<string>();
let checks = 0;

/** How many times recheck itself ran in this process (cache misses): start-up with shipped rules runs none. */
export function recheckRuns(): number {
  return checks;
}

/** Reads a verdict file; null when absent or written by another checker version. */
export function readVerdictFile(file: string): VerdictFile | null {
  if (!existsSync(file)) return null;
  const data = JSON.parse(readFileSync(file, 'utf8')) as VerdictFile;
  return data.checker === CHECKER ? data : null;
}

/** Seeds the in-memory cache from the shipped verdict file (once per file per process). */
export function trustVerdictFile(file: string): void {
  if (trustedFiles.has(file)) return;
  trustedFiles.add(file);
  const data = readVerdictFile(file);
  if (!data) return;
  // Only decided verdicts: an `unknown` on file is checked again.
  for (const [key, v] of Object.entries(data.verdicts)) if (v.status !== 'unknown') memo.set(key, { status: v.status, detail: v.detail });
}

/** recheck's limit when writing the verdict file: a maintainer can wait, and an `unknown` on file would refuse a shipped rule. */
const WRITE_TIMEOUT_MS = 60_000;

/** Writes the verdicts of `patterns` (checking what the cache does not know yet). */
export function writeVerdictFile(file: string, patterns: ReadonlyArray<{ source: string; flags: string }>): VerdictFile {
  const verdicts: Record<string, VerdictFile['verdicts'][string]> = {};
  const sorted = [...patterns].sort((a, b) => a.source.localeCompare(b.source) || a.flags.localeCompare(b.flags));
  for (const p of sorted) verdicts[regexKey(p.source, p.flags)] = { ...checkRegex(p.source, p.flags, { timeoutMs: WRITE_TIMEOUT_MS }), flags: p.flags, source: p.source };
  const data: VerdictFile = { checker: CHECKER, verdicts };
  writeFileSync(file, JSON.stringify(data, null, 2) + '\n');
  return data;
}

/**
 * recheck's verdict on one regex, from the cache when known. `fresh` ignores the cache (and
 * refreshes it); `timeoutMs` raises recheck's limit for a caller that can wait (CI).
 */
export function checkRegex(source: string, flags: string, opts: { fresh?: boolean; timeoutMs?: number } = {}): RegexVerdict {
  const key = regexKey(source, flags);
  const known = opts.fresh ? undefined : memo.get(key);
  if (known) return known;
  checks++;
  const d = (recheck ??= require('recheck') as typeof import('recheck')).checkSync(source, flags.replace(/[gy]/g, ''), { timeout: opts.timeoutMs ?? RECHECK_TIMEOUT_MS });
  let v: RegexVerdict;
  if (d.status === 'safe') v = { status: 'safe', detail: d.complexity.summary };
  else if (d.status === 'vulnerable') v = { status: 'vulnerable', detail: `${d.complexity.summary} backtracking (attack: ${d.attack.pattern.slice(0, 60)})` };
  else v = { status: 'unknown', detail: d.error.kind === 'timeout' ? `recheck could not decide within ${(opts.timeoutMs ?? RECHECK_TIMEOUT_MS) / 1000} s` : `recheck: ${d.error.kind}` };
  // A timeout may be the machine's load, not the regex: remember only decided verdicts.
  if (v.status !== 'unknown') memo.set(key, v);
  return v;
}

/** A reason when recheck does not find `source` safe (vulnerable, or undecidable in time), else null. */
export function redosProblem(source: string, flags: string, opts: { fresh?: boolean } = {}): string | null {
  const v = checkRegex(source, flags, opts);
  if (v.status === 'safe') return null;
  return v.status === 'vulnerable' ? `can backtrack catastrophically: ${v.detail}` : `not proven safe: ${v.detail}; simplify it`;
}
