/**
 * The rule engine: Fingerprint -> Verdict. Pure and total: hostile input yields kind 'unknown'
 * or a low confidence plus warnings, never an exception.
 *
 * Hot path (see scripts/bench/classify.mjs): no regex runs unless the dispatch index says the
 * rule can match (literal prefix/suffix of the value, or presence of a rarely-set field).
 */
import { MAX_FINGERPRINT_VALUE_CHARS, receivedHop, type Fingerprint, type SmimeMessageKind, type Verdict } from '../core/index.js';
import { ruleCapability } from './load.js';
import type { CompiledRule, CompiledTemplate, RuleSet, TrieNode } from './rule-types.js';
import { PSEUDO_FIELDS, PSEUDO_SOURCES } from './fingerprint-fields.js';
import type { Capability } from './smime.js';

/** Confidence cap for a verdict whose genuineness check failed (the policy ignores < 0.5). */
const FORGED_CONFIDENCE = 0.3;
/** Control characters in a header value mean injection or a broken generator. */
const INJECTION_CONFIDENCE = 0.2;
// Tab is legal in unfolded values; every other C0 control and DEL is not.
const CONTROL_CHARS = /[\x00-\x08\x0a-\x1f\x7f]/;
// Unfolding keeps the folding white space (RFC 5322 2.2.3), so a long User-Agent that Thunderbird
// folded reads "Gecko/20100101<TAB>Thunderbird/91.6.1": rules are written with one space, and a run
// of blanks with a tab in it is matched as one space. Linear: every blank run is matched once, greedily,
// and kept unless it holds a tab (a pattern that must find a tab inside the run backtracks over long
// space runs, quadratically).
const BLANK_RUN = /[ \t]+/g;
const foldBlankRun = (run: string): string => (run.indexOf('\t') >= 0 ? ' ' : run);
const UPPER = /[A-Z]/;
const EMPTY: readonly string[] = [];
/** Longest literal key the index holds (load.ts MAX_KEY_CHARS). */
const KEY_CHARS = 12;
/** Bounds the S/MIME memo: versions come from hostile input, so the key space is open. */
const CAPABILITY_CACHE_MAX = 4096;
const PSEUDO_NAMES: readonly string[] = PSEUDO_FIELDS;
// boundary="…" or boundary=token (RFC 2046 5.1.1: at most 70 characters; 200 tolerates sloppy generators).
const BOUNDARY = /;\s*boundary\s*=\s*(?:"([^"]{1,200})"|([^\s;"]{1,200}))/i;
// The d= tag of a DKIM-Signature (RFC 6376 3.5); the value is a domain, at most 253 characters.
const DKIM_D = /(?:^|;)\s*d\s*=\s*([^;\s]{1,253})/i;

export interface ClassifyOptions {
  smimeMessage?: SmimeMessageKind | null;
  /**
   * The fingerprint's Received values are parse's own reductions (`by <host> with <protocol>`,
   * core/received.ts), so they are matched as they are instead of being reduced a second time
   * (receivedHop is idempotent: the result is the same). Only for a fingerprint fresh from parse:
   * a caller's raw headers, or a stored fingerprint from a build before the reduction, leave it
   * unset.
   */
  receivedReduced?: boolean;
}

const NO_OPTIONS: ClassifyOptions = Object.freeze({});

function isSpace(c: number): boolean {
  return c === 32 || c === 9;
}

/**
 * Field values as classify sees them: real headers plus the pseudo-fields. One instance is reused
 * for every call (classify is synchronous and nothing here escapes into the verdict except
 * `warnings`, which is fresh per call): the hot path allocates little.
 */
class Fields {
  // Parallel arrays, not a Map: a fingerprint has a handful of fields.
  readonly names: string[] = [];
  readonly values: Array<readonly string[]> = [];
  warnings: string[] = [];
  /** Real fields whose every value a replacing stamp hid (stampReplaces: a check on them proves nothing). */
  readonly hidden: string[] = [];
  private readonly msgidBox: string[] = [''];
  private readonly localBox: string[] = [''];
  private readonly hostBox: string[] = [''];

  private set(name: string, values: readonly string[]): void {
    const i = this.names.indexOf(name);
    if (i >= 0) this.values[i] = values;
    else {
      this.names.push(name);
      this.values.push(values);
    }
  }

  /**
   * `opts`: classify's own options (receivedReduced: the Received values are already parse's
   * `by <host> with <protocol>`). `fold`: the fields whose folding white space is normalised (null:
   * all), a property of the rule set rather than of the call. Folding is only observable where a
   * regex reads the text (textFields): the DKIM-Signature values of a block are most of its
   * characters, folded with tabs, and only their d= tag is read, which folding cannot change.
   */
  load(headers: Fingerprint, opts: ClassifyOptions, fold: ReadonlySet<string> | null): this {
    const receivedReduced = opts.receivedReduced === true;
    this.names.length = 0;
    this.values.length = 0;
    this.hidden.length = 0;
    this.warnings = [];
    let injected = false;
    let truncated = false;
    let bad = false;
    const h = (typeof headers === 'object' && headers !== null ? headers : {}) as Record<string, unknown>;
    const keys = Object.keys(h);
    for (let n = 0; n < keys.length; n++) {
      const rawName = keys[n]!;
      const raw = h[rawName];
      const name = UPPER.test(rawName) ? rawName.toLowerCase() : rawName;
      let list: readonly string[];
      if (typeof raw === 'string') list = [raw];
      else if (Array.isArray(raw)) list = raw as string[];
      else {
        bad = true;
        continue;
      }
      // Reuse the caller's array unless a value needs cleaning (the common case needs none).
      let clean: string[] | null = null;
      const folds = fold === null || fold.has(name);
      for (let i = 0; i < list.length; i++) {
        const v = list[i] as unknown;
        if (typeof v !== 'string') {
          bad = true;
          clean ??= list.slice(0, i) as string[];
          continue;
        }
        let s = v;
        if (s.length > MAX_FINGERPRINT_VALUE_CHARS) {
          s = s.slice(0, MAX_FINGERPRINT_VALUE_CHARS);
          truncated = true;
        }
        if (CONTROL_CHARS.test(s)) injected = true;
        if (s.length && (isSpace(s.charCodeAt(0)) || isSpace(s.charCodeAt(s.length - 1)))) s = s.trim();
        if (folds && s.indexOf('\t') >= 0) s = s.replace(BLANK_RUN, foldBlankRun);
        if (s !== v) clean ??= list.slice(0, i) as string[];
        if (clean) clean.push(s);
      }
      let values: readonly string[] = clean ?? list;
      // A caller's raw Received headers are matched as parse stores them: `by <host> with <protocol>`.
      if (name === 'received' && !receivedReduced) values = reduceReceived(values);
      if (values.length === 0) continue;
      const i = this.names.indexOf(name);
      if (i >= 0) this.values[i] = [...this.values[i]!, ...values];
      else {
        this.names.push(name);
        this.values.push(values);
      }
    }
    if (injected) this.warnings.push('forged:header-injection');
    if (truncated) this.warnings.push('input:value-truncated');
    if (bad) this.warnings.push('input:non-string-value');
    this.derive(false);
    return this;
  }

  /** Pseudo-fields (rules/README.md): the program names, the effective Message-ID, the MIME boundary, DKIM d= domains. */
  private derive(again: boolean): void {
    // A fresh load has no pseudo-fields yet (a caller-supplied one is dropped here too); hide() derives again.
    for (const p of PSEUDO_NAMES) if (again || this.names.includes(p)) this.remove(p);
    const xm = this.find('x-mailer');
    const ua = this.find('user-agent');
    const nr = this.find('x-newsreader');
    const mua = xm && !ua && !nr ? xm : ua && !xm && !nr ? ua : xm || ua || nr ? [...(xm ?? EMPTY), ...(ua ?? EMPTY), ...(nr ?? EMPTY)] : null;
    if (mua && mua.length) this.set('mua', mua);
    // Outlook.com and Brevo's SMTP relay rewrite other programs' Message-IDs and keep the original
    // (X-Microsoft-Original-Message-ID, Origin-messageId): the original tells the program.
    const msgid = firstId(this.find('x-microsoft-original-message-id')) ?? firstId(this.find('origin-messageid')) ?? firstId(this.find('message-id'));
    if (msgid !== null) {
      this.msgidBox[0] = msgid;
      this.set('msgid', this.msgidBox);
      const at = msgid.lastIndexOf('@');
      this.localBox[0] = at >= 0 ? msgid.slice(0, at) : msgid;
      this.set('msgid-local', this.localBox);
      if (at >= 0) {
        this.hostBox[0] = msgid.slice(at + 1);
        this.set('msgid-host', this.hostBox);
      }
    }
    // The top-level boundary: libraries and clients each have their own shape.
    const ct = this.find('content-type')?.[0];
    if (ct !== undefined && ct.length > 9) {
      const m = BOUNDARY.exec(ct);
      if (m) this.set('boundary', [m[1] ?? m[2]!]);
    }
    const dkim = this.find('dkim-signature');
    if (dkim) {
      const ds: string[] = [];
      for (const v of dkim) {
        const m = DKIM_D.exec(v);
        if (m) ds.push(m[1]!.toLowerCase());
      }
      if (ds.length) this.set('dkim-d', ds);
    }
  }

  /**
   * Drops the values of `field` that `re` matches (a provider's server wrote them, not the
   * client) and derives the pseudo-fields again, so the other signals decide.
   */
  hide(field: string, re: RegExp, replaced: boolean): void {
    const i = this.names.indexOf(field);
    if (i < 0) return;
    const kept = this.values[i]!.filter((v) => !re.test(v));
    if (kept.length) this.values[i] = kept;
    else {
      this.remove(field);
      if (replaced) this.hidden.push(field);
    }
    this.derive(true);
  }

  private remove(name: string): void {
    const i = this.names.indexOf(name);
    if (i < 0) return;
    this.names.splice(i, 1);
    this.values.splice(i, 1);
  }

  private find(name: string): readonly string[] | undefined {
    const i = this.names.indexOf(name);
    return i >= 0 ? this.values[i] : undefined;
  }

  /** Whether `name` (a header, or a pseudo-field through its headers) lost all its values to a stamp. */
  wasHidden(name: string): boolean {
    if (this.hidden.length === 0) return false;
    if (this.hidden.includes(name)) return true;
    const src = PSEUDO_SOURCES[name];
    return src !== undefined && src.some((f) => this.hidden.includes(f)) && this.get(name).length === 0;
  }

  get(name: string): readonly string[] {
    const i = this.names.indexOf(name);
    return i >= 0 ? this.values[i]! : EMPTY;
  }
}

const FIELDS = new Fields();

/** The pseudo-fields whose derivation reads a header's text as it stands (dkim-d reads only the d= tag, which folding cannot change). */
const TEXT_PSEUDO_SOURCES: Readonly<Record<string, readonly string[]>> = { ...PSEUDO_SOURCES, 'dkim-d': EMPTY };
const textFieldsMemo = new WeakMap<RuleSet, ReadonlySet<string>>();

/**
 * The header fields whose text a verdict can depend on: those a rule's condition, a check or a stamp
 * reads (a pseudo-field through the headers it is derived from), and the sources of the program
 * names, the Message-ID (verdictFrom reads its host) and the boundary. Only these are folded.
 */
function textFields(rules: RuleSet): ReadonlySet<string> {
  let set = textFieldsMemo.get(rules) as Set<string> | undefined;
  if (set) return set;
  set = new Set<string>();
  const add = (f: string): void => {
    const src = TEXT_PSEUDO_SOURCES[f];
    if (src === undefined) set!.add(f);
    else for (const x of src) set!.add(x);
  };
  for (const list of [rules.rules, rules.stamps]) {
    for (const r of list) {
      for (const c of r.conditions) add(c.field);
      for (const c of r.checks) if (c.field !== null) add(c.field);
      if (r.stamp) add(r.stamp.field);
    }
  }
  for (const p of ['mua', 'msgid', 'boundary']) add(p);
  textFieldsMemo.set(rules, set);
  return set;
}

/**
 * The field values classify sees for a fingerprint, pseudo-fields included (a copy: for tooling such
 * as `rules lint`, not the hot path).
 */
export function fieldView(headers: Fingerprint): Map<string, readonly string[]> {
  const f = new Fields().load(headers, NO_OPTIONS, null);
  return new Map(f.names.map((n, i) => [n, [...f.values[i]!]]));
}

function reduceReceived(values: readonly string[]): string[] {
  const out: string[] = [];
  for (const v of values) {
    const hop = receivedHop(v);
    if (hop !== null) out.push(hop);
  }
  return out;
}

/** The id inside the first <…> of a Message-ID value (or the whole trimmed value without brackets). */
function firstId(values: readonly string[] | undefined): string | null {
  const v = values?.[0];
  if (v === undefined) return null;
  const open = v.indexOf('<');
  if (open >= 0) {
    const close = v.indexOf('>', open + 1);
    if (close > open + 1) {
      const id = v.slice(open + 1, close);
      if (id.indexOf(' ') < 0 && id.indexOf('<') < 0 && id.indexOf('\t') < 0) return id;
    }
  }
  const id = v.trim();
  return id === '' ? null : id;
}

const NO_GROUPS: Record<string, string | undefined> = Object.freeze({});

function tryRule(rule: CompiledRule, fields: Fields): Record<string, string | undefined> | null {
  for (const f of rule.absent) if (fields.get(f).length > 0) return null;
  if (rule.conditions.length === 1) {
    // Fast path (most rules): the match's own groups object, no copy.
    const c = rule.conditions[0]!;
    for (const v of fields.get(c.field)) {
      const m = c.re.exec(v);
      if (m) return m.groups ?? NO_GROUPS;
    }
    return null;
  }
  let groups: Record<string, string | undefined> | null = null;
  for (const c of rule.conditions) {
    let hit = false;
    for (const v of fields.get(c.field)) {
      const m = c.re.exec(v);
      if (m) {
        if (m.groups) {
          groups ??= {};
          for (const k in m.groups) if (m.groups[k] !== undefined) groups[k] = m.groups[k];
        }
        hit = true;
        break;
      }
    }
    if (!hit) return null;
  }
  return groups ?? {};
}

function failedChecks(rule: CompiledRule, fields: Fields, groups: Record<string, string | undefined>): string[] | null {
  let failed: string[] | null = null;
  for (const c of rule.checks) {
    let ok: boolean;
    if (c.group !== null) {
      const v = groups[c.group];
      ok = c.re ? v !== undefined && c.re.test(v) : (v === undefined) === (c.absent === true);
    } else {
      const vals = fields.get(c.field!);
      // A list replaced the program's own value (stampReplaces): its absence is not evidence of
      // forgery, so the check is not run. (An MTA that ADDED a missing id is: real clients write one.)
      if (vals.length === 0 && fields.wasHidden(c.field!)) continue;
      ok = c.re ? vals.some((v) => c.re!.test(v)) : (vals.length === 0) === (c.absent === true);
    }
    if (!ok) (failed ??= []).push(c.code);
  }
  return failed;
}

// Lowest/highest marked rule of the running classification (classify is synchronous).
let lo = 0;
let hi = -1;

/**
 * A dispatch trie (rule-types.ts TrieNode) laid out in typed arrays for the walk: node n's edges are
 * `edgeCode`/`edgeChild` [edgeStart[n], edgeStart[n + 1]), the rules ending at it `ruleList`
 * [ruleStart[n], ruleStart[n + 1]). The object trie cost a dependent load per step (node, then its
 * codes, its kids and its rules, each a separate heap object); the walk was the largest part of
 * classify's own time on whole blocks.
 */
interface FlatTrie {
  readonly edgeStart: Int32Array;
  readonly edgeCode: Uint16Array;
  readonly edgeChild: Int32Array;
  readonly ruleStart: Int32Array;
  readonly ruleList: Int32Array;
}

function flatTrie(root: TrieNode): FlatTrie | null {
  if (root.size === 0) return null;
  const nodes: TrieNode[] = [root];
  for (let i = 0; i < nodes.length; i++) for (const k of nodes[i]!.kids) nodes.push(k);
  const id = new Map(nodes.map((n, i) => [n, i]));
  const edgeStart = new Int32Array(nodes.length + 1);
  const ruleStart = new Int32Array(nodes.length + 1);
  let edges = 0;
  let ruleCount = 0;
  for (let i = 0; i < nodes.length; i++) {
    edgeStart[i] = edges;
    ruleStart[i] = ruleCount;
    edges += nodes[i]!.codes.length;
    ruleCount += nodes[i]!.rules?.length ?? 0;
  }
  edgeStart[nodes.length] = edges;
  ruleStart[nodes.length] = ruleCount;
  const edgeCode = new Uint16Array(edges);
  const edgeChild = new Int32Array(edges);
  const ruleList = new Int32Array(ruleCount);
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i]!;
    for (let j = 0; j < n.codes.length; j++) {
      edgeCode[edgeStart[i]! + j] = n.codes[j]!;
      edgeChild[edgeStart[i]! + j] = id.get(n.kids[j]!)!;
    }
    if (n.rules) ruleList.set(n.rules, ruleStart[i]!);
  }
  return { edgeStart, edgeCode, edgeChild, ruleStart, ruleList };
}

interface DispatchField {
  readonly prefix: FlatTrie | null;
  readonly suffix: FlatTrie | null;
  readonly byFirst: ReadonlyArray<readonly number[] | undefined>;
  readonly always: readonly number[];
}

const dispatchMemo = new WeakMap<RuleSet, ReadonlyMap<string, DispatchField>>();

/** The rule set's index (load.ts buildIndex) with flat tries, built on the first classify of a rule set. */
function dispatchIndex(rules: RuleSet): ReadonlyMap<string, DispatchField> {
  let d = dispatchMemo.get(rules);
  if (!d) {
    const m = new Map<string, DispatchField>();
    for (const [field, fi] of rules.index) m.set(field, { prefix: flatTrie(fi.prefix), suffix: flatTrie(fi.suffix), byFirst: fi.byFirst, always: fi.always });
    dispatchMemo.set(rules, (d = m));
  }
  return d;
}

// Through a constant, not v.charCodeAt: the values' strings have several representations (parse's
// slices, receivedHop's concatenations, one- and two-byte), and past four maps the property load
// of charCodeAt goes megamorphic, after which every character paid a generic load and an
// un-inlined call (scripts/bench/classify.mjs, the floor's bimodality).
const charCodeAt = String.prototype.charCodeAt;

/** Marks the rules reachable from a value's first (or last) characters, lower-cased on the fly. */
function walk(t: FlatTrie, v: string, marks: Uint8Array, fromEnd: boolean): void {
  const len = v.length;
  const n = len < KEY_CHARS ? len : KEY_CHARS;
  const { edgeStart, edgeCode, edgeChild, ruleStart, ruleList } = t;
  let node = 0;
  for (let i = 0; i < n; i++) {
    let c: number = charCodeAt.call(v, fromEnd ? len - 1 - i : i);
    if (c >= 65 && c <= 90) c += 32;
    let e = edgeStart[node]!;
    const end = edgeStart[node + 1]!;
    while (e < end && edgeCode[e] !== c) e++;
    if (e === end) return;
    node = edgeChild[e]!;
    const r = ruleStart[node]!;
    const rEnd = ruleStart[node + 1]!;
    for (let k = r; k < rEnd; k++) {
      const x = ruleList[k]!;
      marks[x] = 1;
      if (x < lo) lo = x;
      if (x > hi) hi = x;
    }
  }
}

function mark(list: readonly number[], marks: Uint8Array): void {
  for (let i = 0; i < list.length; i++) {
    const x = list[i]!;
    marks[x] = 1;
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
}

function emptyVerdict(warnings: string[]): Verdict {
  return { family: null, kind: 'unknown', product: null, version: null, platform: null, smime: 'unknown', confidence: 0, ruleId: null, warnings };
}

/**
 * Classifies a fingerprint (lower-case header name -> values) with the first matching rule by
 * priority. Never throws: hostile input gives kind 'unknown' plus warnings.
 */
export function classify(rules: RuleSet, headers: Fingerprint, opts: ClassifyOptions = NO_OPTIONS): Verdict {
  // A JavaScript caller may pass null.
  const o = opts ?? NO_OPTIONS;
  let verdict: Verdict;
  try {
    verdict = classifyInner(rules, headers, o);
  } catch {
    // A bug or an exotic input must not stop ingestion; the scratch marks must not leak into the next call.
    rules.marks.fill(0);
    verdict = emptyVerdict(['classify:internal-error']);
  }
  const sm = o.smimeMessage ?? null;
  if (sm) {
    verdict.smimeMessage = sm;
    if (sm === 'signed' || sm === 'opaque-signed') verdict.warnings.push('smime:signed-message-may-be-server-signed');
  }
  return verdict;
}

function classifyInner(rules: RuleSet, headers: Fingerprint, opts: ClassifyOptions): Verdict {
  const fields = FIELDS.load(headers, opts, textFields(rules));
  // Provider stamps first (rules/README.md "Provider stamps"): a value the provider's server wrote
  // (Yahoo/AOL SMTP X-Mailer, a Gmail-SMTP-assigned Message-ID) says nothing about the client, so
  // it is hidden and the other signals decide; the first stamp is the answer when nothing else matches.
  let stamp: CompiledRule | null = null;
  let stampGroups: Record<string, string | undefined> | null = null;
  for (let s = 0; s < rules.stamps.length; s++) {
    const rule = rules.stamps[s]!;
    const groups = tryRule(rule, fields);
    if (!groups) continue;
    if (stamp === null) {
      stamp = rule;
      stampGroups = { ...groups };
    }
    for (const w of rule.warnings) fields.warnings.push(w);
    fields.hide(rule.stamp!.field, rule.stamp!.re, rule.stamp!.replaces);
  }
  const marks = rules.marks;
  lo = marks.length;
  hi = -1;
  mark(rules.unconditional, marks);
  const names = fields.names;
  const index = dispatchIndex(rules);
  for (let f = 0; f < names.length; f++) {
    const fi = index.get(names[f]!);
    if (!fi) continue;
    const values = fields.values[f]!;
    if (fi.always.length) mark(fi.always, marks);
    const p = fi.prefix;
    const q = fi.suffix;
    for (let k = 0; k < values.length; k++) {
      const v = values[k]!;
      if (v.length === 0) continue;
      if (p !== null) walk(p, v, marks, false);
      if (q !== null) walk(q, v, marks, true);
      const c: number = charCodeAt.call(v, 0);
      const list = fi.byFirst[c < 128 ? c : 128];
      if (list) mark(list, marks);
    }
  }
  const end = hi;
  for (let i = lo; i <= end; i++) {
    if (marks[i] === 0) continue;
    marks[i] = 0;
    const rule = rules.ruleAt(i);
    const groups = tryRule(rule, fields);
    if (!groups) continue;
    marks.fill(0, i + 1, end + 1);
    return verdictFrom(rules, rule, fields, groups, true);
  }
  if (stamp !== null) return verdictFrom(rules, stamp, fields, stampGroups!, false);
  return emptyVerdict(fields.warnings);
}

/**
 * Whether a Message-ID host is example.com, example.net or example.org or one of their subdomains:
 * the second-level names RFC 2606 section 3 reserves for documentation. They have no mailboxes, so
 * no person's mail program mints ids there; spam kits and copied documentation samples do. (The
 * reserved TLDs .example/.test/.invalid are left alone: they are what synthetic test mail, this
 * project's included, is made of, and say the same less often about spam.)
 */
function isReservedHost(host: string | undefined): boolean {
  if (host === undefined || host.length < 11) return false;
  const h = host.toLowerCase();
  const dot = h.lastIndexOf('.');
  const tld = h.slice(dot + 1);
  if (tld !== 'com' && tld !== 'net' && tld !== 'org') return false;
  const second = h.lastIndexOf('.', dot - 1);
  return h.slice(second + 1, dot) === 'example';
}

function fill(t: CompiledTemplate, groups: Record<string, string | undefined>): string | null {
  return t === null || typeof t === 'string' ? t : t(groups);
}

/** Per rule: version -> platform -> capability (nested maps avoid building a key string per call). */
const capabilityMemo = new WeakMap<CompiledRule, Map<string | null, Map<string | null, Capability>>>();

function capabilityFor(rules: RuleSet, rule: CompiledRule, version: string | null, platform: string | null): Capability {
  if (rule.fixedSmime) return rule.fixedSmime;
  let byVersion = capabilityMemo.get(rule);
  if (!byVersion) capabilityMemo.set(rule, (byVersion = new Map()));
  let byPlatform = byVersion.get(version);
  if (!byPlatform) byVersion.set(version, (byPlatform = new Map()));
  let cap = byPlatform.get(platform);
  if (!cap) {
    // Versions come from hostile input: drop this rule's memo rather than let it grow without bound.
    if (byVersion.size > CAPABILITY_CACHE_MAX || byPlatform.size > CAPABILITY_CACHE_MAX) {
      byVersion.clear();
      byVersion.set(version, (byPlatform = new Map()));
    }
    cap = ruleCapability(rules.smime, rule, version, platform);
    Object.freeze(cap.references);
    byPlatform.set(platform, cap);
  }
  return cap;
}

function verdictFrom(rules: RuleSet, rule: CompiledRule, fields: Fields, groups: Record<string, string | undefined>, addWarnings: boolean): Verdict {
  const t = rule.client;
  const version = fill(t.version, groups);
  const platform = fill(t.platform, groups);
  const warnings = fields.warnings;
  let confidence = rule.confidence;
  if (addWarnings) for (const w of rule.warnings) warnings.push(w);
  if (rule.checks.length) {
    const failed = failedChecks(rule, fields, groups);
    if (failed) {
      for (const f of failed) warnings.push(f);
      confidence = Math.min(confidence, FORGED_CONFIDENCE);
    }
  }
  if ((t.kind === 'client' || t.kind === 'webmail') && isReservedHost(fields.get('msgid-host')[0])) {
    warnings.push('forged:reserved-domain-message-id');
    confidence = Math.min(confidence, FORGED_CONFIDENCE);
  }
  if (warnings.length && warnings.includes('forged:header-injection')) confidence = Math.min(confidence, INJECTION_CONFIDENCE);
  const smime = capabilityFor(rules, rule, version, platform);
  const verdict: Verdict = {
    family: t.family,
    kind: t.kind,
    product: fill(t.product, groups),
    version,
    platform,
    smime: smime.level,
    confidence,
    ruleId: rule.id,
    warnings,
  };
  // Shared, frozen arrays (load.ts / the memo): verdict consumers read them; warnings stay per-call.
  if (rule.candidates) verdict.candidates = rule.candidates as string[];
  if (smime.references.length) verdict.references = smime.references as string[];
  return verdict;
}
