/**
 * Evaluates the rule set against a labelled corpus: the single-value corpus (headers.tsv +
 * messages/*.eml with .json labels) and the whole-block corpus (blocks/*.hdr + blocks/labels.tsv),
 * each fed the way production feeds it. Family accuracy, automated recall in both directions,
 * forged rows given a confident verify, verify claims for families known not to verify, confusions.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppError, type Verdict } from '../core/index.js';
import { capabilityOf, classify, compileRuleSet, fingerprintFromFields, readRuleInputs, type RuleSet } from '../classify/index.js';
import { parseHeaderBlock, smimeKindOf } from '../parse/index.js';

/** One labelled input and what the rules made of it. */
export interface EvalCase {
  readonly source: 'headers.tsv' | 'messages' | 'blocks';
  /** Line number in headers.tsv or the .eml file name. */
  readonly where: string;
  /** The label as written: `a|b|UNKNOWN`, `AUTOMATED`, `FORGED`, `OTHER:x`. */
  readonly expected: string;
  readonly input: string;
  readonly verdict: Verdict;
  readonly correct: boolean;
}

export interface EvalGroup {
  readonly label: string;
  readonly total: number;
  readonly correct: number;
  readonly accuracy: number;
}

/** Scores of one corpus part (the single-value rows + messages, or the whole blocks). */
export interface EvalScore {
  /** Rows with a family list or AUTOMATED (the accuracy base). */
  readonly total: number;
  readonly correct: number;
  readonly accuracy: number;
  /** Family rows only (no AUTOMATED). */
  readonly familyTotal: number;
  readonly familyCorrect: number;
  readonly familyAccuracy: number;
  /** AUTOMATED rows that got kind automated. */
  readonly automated: { readonly total: number; readonly recalled: number; readonly recall: number };
  /** The other direction: person (family-labelled) rows that got kind automated — must be 0. */
  readonly personCalledAutomated: { readonly total: number; readonly count: number };
  /** FORGED rows that still got a confident (>= 0.5) person-client verdict: lower is better. */
  readonly forged: { readonly total: number; readonly confidentPersonVerdicts: number; readonly confidentVerify: number };
  /** Verdicts claiming `verify` (confidence >= 0.5) on rows whose labelled families are all known NOT to verify (tolerate/broken). */
  readonly verifyForNonVerifying: number;
  /** OTHER:* rows (families outside the list): correct when family is null or an added id. */
  readonly other: { readonly total: number; readonly correct: number };
  /** The 20 most common labels. */
  readonly byLabel: EvalGroup[];
  /** Wrong verdicts grouped as expected -> got (family or kind), most frequent first. */
  readonly confusions: ReadonlyArray<{ readonly expected: string; readonly got: string; readonly count: number }>;
  readonly failures: EvalCase[];
}

export interface EvalReport extends EvalScore {
  readonly sources: { readonly headersRows: number; readonly messages: number; readonly blocks: number };
  /** The whole-block corpus (blocks/), scored on its own; null when the folder has none. */
  readonly blocks: EvalScore | null;
}

/** Splits one TSV line; fields wrapped in double quotes may contain tabs and "" escapes. */
function splitTsv(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let j = i + 1;
      let v = '';
      while (j < line.length) {
        if (line[j] === '"' && line[j + 1] === '"') {
          v += '"';
          j += 2;
        } else if (line[j] === '"') break;
        else v += line[j++];
      }
      out.push(v);
      i = j + 2; // closing quote + tab
    } else {
      const t = line.indexOf('\t', i);
      const end = t < 0 ? line.length : t;
      out.push(line.slice(i, end));
      i = end + 1;
    }
  }
  return out;
}

function knownFamilies(dir: string): Set<string> {
  const f = join(dir, 'families.tsv');
  if (!existsSync(f)) return new Set();
  return new Set(
    readFileSync(f, 'utf8')
      .split('\n')
      .slice(1)
      .map((l) => l.split('\t')[0]!)
      .filter(Boolean),
  );
}

const PERSON_KINDS = new Set(['client', 'webmail']);

/** Whether a verdict satisfies a corpus label (see the corpus README). */
export function labelAccepts(label: string, v: Verdict, known: ReadonlySet<string>): boolean {
  if (label === 'AUTOMATED') return v.kind === 'automated';
  if (label === 'FORGED') return !(v.confidence >= 0.5 && PERSON_KINDS.has(v.kind) && v.family !== null);
  if (label.startsWith('OTHER:')) return v.family === null || !known.has(v.family);
  const ids = label.split('|');
  if (v.kind === 'automated') return ids.includes('UNKNOWN');
  if (v.family === null) return ids.includes('UNKNOWN');
  return ids.includes(v.family);
}


/** One labelled corpus input, parsed once, classifiable by any rule set. */
interface CorpusItem {
  /** Stable key (`headers.tsv:<line>`, `messages:<file>`, `blocks:<file>`) for cross-validation folds. */
  readonly key: string;
  readonly source: EvalCase['source'];
  readonly where: string;
  readonly expected: string;
  readonly input: string;
  readonly fingerprint: Record<string, string[]>;
  readonly smime: ReturnType<typeof smimeKindOf>;
}

/** Reads `<dir>/headers.tsv`, `<dir>/messages/*.eml` (+ .json) and `<dir>/blocks/*.hdr` (+ labels.tsv). */
function readCorpus(dir: string): { items: CorpusItem[]; known: Set<string> } {
  const tsv = join(dir, 'headers.tsv');
  if (!existsSync(tsv)) throw new AppError('E_INPUT', `${tsv} does not exist (expected a corpus folder with headers.tsv)`);
  const known = knownFamilies(dir);
  const items: CorpusItem[] = [];
  const lines = readFileSync(tsv, 'utf8').split('\n');
  const header = splitTsv(lines[0] ?? '');
  const col = (name: string): number => {
    const i = header.indexOf(name);
    if (i < 0) throw new AppError('E_INPUT', `${tsv}: no column ${name}`);
    return i;
  };
  const [cName, cValue, cId, cFamily] = [col('header_name'), col('header_value'), col('message_id'), col('family')];
  for (let n = 1; n < lines.length; n++) {
    const line = lines[n]!;
    if (!line.trim()) continue;
    const f = splitTsv(line);
    const name = (f[cName] ?? '').toLowerCase();
    const value = f[cValue] ?? '';
    const id = f[cId] ?? '';
    const fp: Record<string, string[]> = { [name]: [value] };
    if (id && name !== 'message-id') fp['message-id'] = [id];
    const input = `${f[cName]}: ${value}${id && name !== 'message-id' ? `  [${id}]` : ''}`;
    items.push({ key: `headers.tsv:${n + 1}`, source: 'headers.tsv', where: `line ${n + 1}`, expected: f[cFamily] ?? '', input, fingerprint: fp, smime: null });
  }
  const mdir = join(dir, 'messages');
  if (existsSync(mdir)) {
    for (const file of readdirSync(mdir).filter((x) => x.endsWith('.eml')).sort()) {
      const labelFile = join(mdir, file.replace(/\.eml$/, '.json'));
      if (!existsSync(labelFile)) continue;
      const label = JSON.parse(readFileSync(labelFile, 'utf8')) as { family?: string };
      const raw = rawFingerprint(readFileSync(join(mdir, file)));
      if (!raw) continue;
      items.push({ key: `messages:${file}`, source: 'messages', where: file, expected: label.family ?? '', input: file, ...raw });
    }
  }
  const bdir = join(dir, 'blocks');
  const labels = join(bdir, 'labels.tsv');
  if (existsSync(labels)) {
    const bl = readFileSync(labels, 'utf8').split('\n');
    const bh = splitTsv(bl[0] ?? '');
    const cFile = bh.indexOf('file');
    const cFam = bh.indexOf('family');
    if (cFile < 0 || cFam < 0) throw new AppError('E_INPUT', `${labels}: needs the columns file and family`);
    for (let n = 1; n < bl.length; n++) {
      const line = bl[n]!;
      if (!line.trim()) continue;
      const f = splitTsv(line);
      const file = f[cFile] ?? '';
      const path = join(bdir, file);
      if (!file || !existsSync(path)) throw new AppError('E_INPUT', `${labels} line ${n + 1}: block ${file} does not exist`);
      const raw = rawFingerprint(readFileSync(path));
      if (!raw) throw new AppError('E_INPUT', `${path}: not a header block`);
      items.push({ key: `blocks:${file}`, source: 'blocks', where: file, expected: f[cFam] ?? '', input: file, ...raw });
    }
  }
  return { items, known };
}

/** A raw header block as `classify` with {"raw": …} sees it; null when parse rejects it. */
function rawFingerprint(bytes: Uint8Array): { fingerprint: Record<string, string[]>; smime: ReturnType<typeof smimeKindOf> } | null {
  const parsed = parseHeaderBlock(bytes);
  if (!parsed.ok) return null;
  const ct = parsed.fields.find((x) => x.name === 'content-type')?.value;
  return { fingerprint: fingerprintFromFields(parsed.fields), smime: smimeKindOf(ct) };
}

function run(rules: RuleSet, item: CorpusItem, known: ReadonlySet<string>): EvalCase {
  const verdict = classify(rules, item.fingerprint, item.smime ? { smimeMessage: item.smime } : {});
  return { source: item.source, where: item.where, expected: item.expected, input: item.input, verdict, correct: labelAccepts(item.expected, verdict, known) };
}

function report(rules: RuleSet, cases: EvalCase[]): EvalReport {
  const single = cases.filter((c) => c.source !== 'blocks');
  const blocks = cases.filter((c) => c.source === 'blocks');
  return {
    ...score(rules, single),
    sources: { headersRows: cases.filter((c) => c.source === 'headers.tsv').length, messages: cases.filter((c) => c.source === 'messages').length, blocks: blocks.length },
    blocks: blocks.length ? score(rules, blocks) : null,
  };
}

/** Runs the rules over `<dir>/headers.tsv`, `<dir>/messages/*.eml` and `<dir>/blocks/*.hdr` and scores them. */
export function evaluateCorpus(rules: RuleSet, dir: string): EvalReport {
  const { items, known } = readCorpus(dir);
  return report(rules, items.map((it) => run(rules, it, known)));
}

export interface CrossValidation extends EvalReport {
  readonly folds: number;
  /** Rules dropped per fold because every corpus item they were written from (cite) is held out. */
  readonly removedPerFold: readonly number[];
}

// FNV-1a: a stable fold for every corpus item, independent of file order.
function fold(key: string, k: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193) >>> 0;
  return h % k;
}

const BLOCK_REF = /\b(\d{3})\.hdr\b/g;

/**
 * k-fold cross-validation of rules written from the corpus: an item "prompted" a rule when the
 * rule's examples copy one of the item's header values or its references name the block. In fold
 * f, every rule whose cited items ALL lie in f is dropped (it could not have been written without
 * them), and f's items are scored with what remains. Rules citing no corpus item, or also citing an
 * item outside f, stay. An estimate of accuracy on mail the rules were not written from.
 */
export function crossValidate(dirs: readonly string[], dir: string, k: number): CrossValidation {
  if (!Number.isInteger(k) || k < 2 || k > 50) throw new AppError('E_INPUT', `--cv: folds must be an integer from 2 to 50, got ${k}`);
  const { items, known } = readCorpus(dir);
  const byValue = new Map<string, Set<string>>();
  const cite = (v: string, key: string): void => {
    const t = v.trim();
    if (t.length < 4) return; // "1.0", "no": too common to say an item prompted the rule
    let set = byValue.get(t);
    if (!set) byValue.set(t, (set = new Set()));
    set.add(key);
  };
  for (const it of items) for (const vs of Object.values(it.fingerprint)) for (const v of vs) cite(v, it.key);
  const inputs = readRuleInputs(dirs);
  const cited = inputs.rules.map((r) => {
    const keys = new Set<string>();
    for (const ex of r.input.examples ?? []) {
      for (const v of Object.values(ex.headers)) for (const x of Array.isArray(v) ? v : [v]) for (const key of byValue.get(x.trim()) ?? []) keys.add(key);
      for (const m of (ex.source ?? '').matchAll(BLOCK_REF)) keys.add(`blocks:${m[1]}.hdr`);
    }
    for (const ref of r.input.references ?? []) for (const m of ref.matchAll(BLOCK_REF)) keys.add(`blocks:${m[1]}.hdr`);
    return keys;
  });
  const cases: EvalCase[] = [];
  const removedPerFold: number[] = [];
  for (let f = 0; f < k; f++) {
    const keep = inputs.rules.filter((_, i) => {
      const keys = cited[i]!;
      if (keys.size === 0) return true;
      for (const key of keys) if (fold(key, k) !== f) return true;
      return false;
    });
    removedPerFold.push(inputs.rules.length - keep.length);
    const rules = compileRuleSet({ ...inputs, rules: keep });
    for (const it of items) if (fold(it.key, k) === f) cases.push(run(rules, it, known));
  }
  const full = compileRuleSet(inputs);
  return { ...report(full, cases), folds: k, removedPerFold };
}

/** Whether every labelled family is known (sourced) NOT to verify: a `verify` verdict for it is a false claim. */
function knownNotToVerify(rules: RuleSet, label: string): boolean {
  const ids = label.split('|').filter((x) => x !== 'UNKNOWN');
  return ids.length > 0 && ids.every((id) => {
    const level = capabilityOf(rules.smime, id, null, null).level;
    return level === 'tolerate' || level === 'broken';
  });
}

function score(rules: RuleSet, cases: EvalCase[]): EvalScore {
  const base = cases.filter((c) => c.expected !== 'FORGED' && !c.expected.startsWith('OTHER:'));
  const fam = base.filter((c) => c.expected !== 'AUTOMATED');
  const auto = base.filter((c) => c.expected === 'AUTOMATED');
  const forged = cases.filter((c) => c.expected === 'FORGED');
  const other = cases.filter((c) => c.expected.startsWith('OTHER:'));
  const ok = (xs: EvalCase[]): number => xs.filter((c) => c.correct).length;
  const ratio = (a: number, b: number): number => (b === 0 ? 1 : a / b);
  const groups = new Map<string, EvalCase[]>();
  for (const c of base) groups.set(c.expected, [...(groups.get(c.expected) ?? []), c]);
  const byLabel = [...groups.entries()]
    .sort((a, b) => b[1].length - a[1].length || a[0].localeCompare(b[0]))
    .slice(0, 20)
    .map(([label, xs]) => ({ label, total: xs.length, correct: ok(xs), accuracy: ratio(ok(xs), xs.length) }));
  const confident = (c: EvalCase): boolean => c.verdict.confidence >= 0.5;
  const failures = cases.filter((c) => !c.correct);
  const confusion = new Map<string, number>();
  for (const c of failures) {
    const got = c.verdict.kind === 'automated' ? 'AUTOMATED' : (c.verdict.family ?? `(none:${c.verdict.kind})`);
    const key = `${c.expected}\t${got}`;
    confusion.set(key, (confusion.get(key) ?? 0) + 1);
  }
  return {
    total: base.length,
    correct: ok(base),
    accuracy: ratio(ok(base), base.length),
    familyTotal: fam.length,
    familyCorrect: ok(fam),
    familyAccuracy: ratio(ok(fam), fam.length),
    automated: { total: auto.length, recalled: ok(auto), recall: ratio(ok(auto), auto.length) },
    personCalledAutomated: { total: fam.length, count: fam.filter((c) => c.verdict.kind === 'automated').length },
    forged: {
      total: forged.length,
      confidentPersonVerdicts: forged.length - ok(forged),
      confidentVerify: forged.filter((c) => confident(c) && c.verdict.smime === 'verify').length,
    },
    verifyForNonVerifying: fam.filter((c) => confident(c) && c.verdict.smime === 'verify' && knownNotToVerify(rules, c.expected)).length,
    other: { total: other.length, correct: ok(other) },
    byLabel,
    confusions: [...confusion.entries()]
      .map(([k, count]) => {
        const [expected, got] = k.split('\t') as [string, string];
        return { expected, got, count };
      })
      .sort((a, b) => b.count - a.count || a.expected.localeCompare(b.expected)),
    failures,
  };
}
