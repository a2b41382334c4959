/**
 * The rule engine: Fingerprint -> Verdict. Pure and total: hostile input yields kind 'unknown'
 * or a low confidence plus warnings, never an exception.
 */
import { MAX_FINGERPRINT_VALUE_CHARS, weakerSmime, type Fingerprint, type SmimeMessageKind, type Verdict } from '../core/index.js';
import { expandTemplate } from './filters.js';
import { capabilityOf } from './smime.js';
import type { CompiledRule, RuleSet } from './rule-types.js';

/** Confidence cap for a verdict whose genuineness check failed (the policy ignores < 0.5). */
const FORGED_CONFIDENCE = 0.3;
/** Control characters in a header value mean injection or a broken generator. */
const INJECTION_CONFIDENCE = 0.2;
// Tab is legal in unfolded values; every other C0 control and DEL is not.
const CONTROL_CHARS = /[\x00-\x08\x0a-\x1f\x7f]/;
const EMPTY: readonly string[] = [];

export interface ClassifyOptions {
  smimeMessage?: SmimeMessageKind | null;
}

/** Field values as classify sees them: real headers plus the pseudo-fields. */
class Fields {
  private readonly map = new Map<string, readonly string[]>();
  readonly warnings: string[] = [];

  constructor(headers: Fingerprint) {
    let injected = false;
    let truncated = false;
    let bad = false;
    for (const rawName of Object.keys(headers ?? {})) {
      const raw = (headers as Record<string, unknown>)[rawName];
      const list = typeof raw === 'string' ? [raw] : Array.isArray(raw) ? raw : null;
      if (!list) {
        bad = true;
        continue;
      }
      const name = rawName.toLowerCase();
      const out: string[] = (this.map.get(name) as string[] | undefined)?.slice() ?? [];
      for (const v of list) {
        if (typeof v !== 'string') {
          bad = true;
          continue;
        }
        let s = v;
        if (s.length > MAX_FINGERPRINT_VALUE_CHARS) {
          s = s.slice(0, MAX_FINGERPRINT_VALUE_CHARS);
          truncated = true;
        }
        if (CONTROL_CHARS.test(s)) injected = true;
        out.push(s.trim());
      }
      this.map.set(name, out);
    }
    if (injected) this.warnings.push('forged:header-injection');
    if (truncated) this.warnings.push('input:value-truncated');
    if (bad) this.warnings.push('input:non-string-value');
    // Pseudo-fields (rules/README.md): the program names, and the effective Message-ID.
    const mua = [...(this.map.get('x-mailer') ?? EMPTY), ...(this.map.get('user-agent') ?? EMPTY), ...(this.map.get('x-newsreader') ?? EMPTY)];
    if (mua.length) this.map.set('mua', mua);
    // Outlook.com rewrites other clients' Message-IDs and keeps the original: the original tells the client.
    const original = firstId(this.map.get('x-microsoft-original-message-id'));
    const msgid = original ?? firstId(this.map.get('message-id'));
    if (msgid !== null) {
      this.map.set('msgid', [msgid]);
      const at = msgid.lastIndexOf('@');
      if (at >= 0) {
        this.map.set('msgid-local', [msgid.slice(0, at)]);
        this.map.set('msgid-host', [msgid.slice(at + 1)]);
      } else this.map.set('msgid-local', [msgid]);
    }
  }

  get(name: string): readonly string[] {
    return this.map.get(name) ?? EMPTY;
  }

  names(): IterableIterator<string> {
    return this.map.keys();
  }
}

function firstId(values: readonly string[] | undefined): string | null {
  const v = values?.[0];
  if (v === undefined) return null;
  const m = /<([^<>\s]{1,998})>/.exec(v);
  const id = m ? m[1]! : v.trim();
  return id === '' ? null : id;
}

interface Match {
  groups: Record<string, string | undefined>;
}

function tryRule(rule: CompiledRule, fields: Fields): Match | null {
  for (const f of rule.absent) if (fields.get(f).length > 0) return null;
  const groups: Record<string, string | undefined> = {};
  for (const c of rule.conditions) {
    let hit = false;
    for (const v of fields.get(c.field)) {
      const m = c.re.exec(v);
      if (m) {
        if (m.groups) for (const k of Object.keys(m.groups)) if (m.groups[k] !== undefined) groups[k] = m.groups[k];
        hit = true;
        break;
      }
    }
    if (!hit) return null;
  }
  return { groups };
}

function failedChecks(rule: CompiledRule, fields: Fields, groups: Record<string, string | undefined>): string[] {
  const failed: string[] = [];
  for (const c of rule.checks) {
    let ok: boolean;
    if (c.group !== null) {
      const v = groups[c.group];
      ok = c.re ? v !== undefined && c.re.test(v) : (v === undefined) === (c.absent === true);
    } else {
      const vals = fields.get(c.field!);
      ok = c.re ? vals.some((v) => c.re!.test(v)) : (vals.length === 0) === (c.absent === true);
    }
    if (!ok) failed.push(c.code);
  }
  return failed;
}

function pushAll(out: number[], list: readonly number[] | undefined): void {
  if (list) for (const x of list) out.push(x);
}

/** Rule orders worth trying for these fields, ascending (= priority order). */
function candidatesFor(rules: RuleSet, fields: Fields): number[] {
  const out: number[] = [...rules.unconditional];
  for (const name of fields.names()) {
    const fi = rules.index.get(name);
    if (!fi) continue;
    const values = fields.get(name);
    if (values.length === 0) continue;
    pushAll(out, fi.always);
    for (const v of values) {
      for (const [len, keys] of fi.prefix) {
        if (v.length >= len) pushAll(out, keys.get(v.slice(0, len).toLowerCase()));
      }
      for (const [len, keys] of fi.suffix) {
        if (v.length >= len) pushAll(out, keys.get(v.slice(v.length - len).toLowerCase()));
      }
    }
  }
  out.sort((a, b) => a - b);
  return out;
}

function emptyVerdict(warnings: string[]): Verdict {
  return { family: null, kind: 'unknown', product: null, version: null, platform: null, smime: 'unknown', confidence: 0, ruleId: null, warnings };
}

/**
 * Classifies a fingerprint (lower-case header name -> values) with the first matching rule by
 * priority. Never throws: hostile input gives kind 'unknown' plus warnings.
 */
export function classify(rules: RuleSet, headers: Fingerprint, opts: ClassifyOptions = {}): Verdict {
  let verdict: Verdict;
  try {
    verdict = classifyInner(rules, headers);
  } catch (e) {
    // A bug or an exotic input must not stop ingestion.
    verdict = emptyVerdict([`classify:internal-error`]);
    void e;
  }
  const sm = opts.smimeMessage ?? null;
  if (sm) {
    verdict.smimeMessage = sm;
    if (sm === 'signed' || sm === 'opaque-signed') verdict.warnings.push('smime:signed-message-may-be-server-signed');
  }
  return verdict;
}

function classifyInner(rules: RuleSet, headers: Fingerprint): Verdict {
  const fields = new Fields(headers);
  const warnings = fields.warnings;
  let prev = -1;
  for (const order of candidatesFor(rules, fields)) {
    if (order === prev) continue;
    prev = order;
    const rule = rules.rules[order]!;
    const m = tryRule(rule, fields);
    if (!m) continue;
    return verdictFrom(rules, rule, fields, m, warnings);
  }
  return emptyVerdict(warnings);
}

function verdictFrom(rules: RuleSet, rule: CompiledRule, fields: Fields, m: Match, warnings: string[]): Verdict {
  const t = rule.client;
  const product = t.product === null ? null : expandTemplate(t.product, m.groups);
  const version = t.version === null ? null : expandTemplate(t.version, m.groups);
  const platform = t.platform === null ? null : expandTemplate(t.platform, m.groups);
  let confidence = rule.confidence;
  for (const w of rule.warnings) warnings.push(w);
  const failed = failedChecks(rule, fields, m.groups);
  if (failed.length) {
    for (const f of failed) warnings.push(f);
    confidence = Math.min(confidence, FORGED_CONFIDENCE);
  }
  if (warnings.includes('forged:header-injection')) confidence = Math.min(confidence, INJECTION_CONFIDENCE);

  const automated = t.kind === 'automated';
  let smime = capabilityOf(rules.smime, automated ? null : t.family, version, platform);
  const verdict: Verdict = {
    family: t.family,
    kind: t.kind,
    product,
    version,
    platform,
    smime: smime.level,
    confidence,
    ruleId: rule.id,
    warnings,
  };
  if (rule.candidates) {
    verdict.candidates = [...rule.candidates];
    // Ambiguous: never claim more than the weakest candidate supports.
    let level = smime.level;
    const refs = new Set(smime.references);
    for (const c of rule.candidates) {
      if (c === t.family) continue;
      const cap = capabilityOf(rules.smime, c, null, null);
      const next = weakerSmime(level, cap.level);
      if (next !== level || cap.level === level) for (const r of cap.references) refs.add(r);
      level = next;
    }
    smime = { level, references: [...refs] };
    verdict.smime = level;
  }
  if (smime.references.length) verdict.references = smime.references;
  return verdict;
}
