/**
 * The rule engine: Fingerprint -> Verdict. Pure and total: hostile input yields kind 'unknown'
 * or a low confidence plus warnings, never an exception.
 *
 * Hot path (see scripts/bench/classify.mjs): no regex runs unless the dispatch index says the
 * rule can match (literal prefix/suffix of the value, or presence of a rarely-set field).
 */
import { MAX_FINGERPRINT_VALUE_CHARS, receivedHop, type Fingerprint, type SmimeMessageKind, type Verdict } from '../core/index.js';
import { addKey, addSuffixKey, emptyNode, ruleCapability } from './load.js';
import type { CompiledRule, CompiledTemplate, RuleSet, TrieNode } from './rule-types.js';
import { FINGERPRINT_FIELDS, PSEUDO_FIELDS, PSEUDO_SOURCES } from './fingerprint-fields.js';
import type { Capability } from './smime.js';

/** Confidence cap for a verdict whose genuineness check failed (the policy ignores < 0.5). */
const FORGED_CONFIDENCE = 0.3;
/** Control characters in a header value mean injection or a broken generator. */
const INJECTION_CONFIDENCE = 0.2;
// Tab is legal in unfolded values; every other C0 control and DEL is not.
const CONTROL_CHARS = /[\x00-\x08\x0a-\x1f\x7f]/;
const ANY_C0 = /[\x00-\x1f\x7f]/;
// Unfolding keeps the folding white space (RFC 5322 2.2.3), so a long User-Agent that Thunderbird
// folded reads "Gecko/20100101<TAB>Thunderbird/91.6.1": rules are written with one space, and a run
// of blanks with a tab in it is matched as one space (foldTabs).
// Through a constant, not v.charCodeAt: the values' strings have several representations (parse's
// slices, receivedHop's concatenations, one- and two-byte), and past four maps the property load
// of charCodeAt goes megamorphic, after which every character paid a generic load and an
// un-inlined call (scripts/bench/classify.mjs, the floor's bimodality).
const charCodeAt = String.prototype.charCodeAt;
const indexOf = String.prototype.indexOf;
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
 * `s` with every run of blanks that holds a tab replaced by one space (runs of spaces alone are
 * kept). Linear: each tab's run is widened once, left over the spaces not yet copied and right
 * over all blanks, and the next search starts after it. (A regex that must find the tab inside
 * the run backtracks over long runs of spaces quadratically; replace with a callback per run was
 * a tenth of classify's time on whole blocks, where a folded Content-Type is the rule.)
 */
function foldTabs(s: string): string {
  let i = indexOf.call(s, '\t');
  if (i < 0) return s;
  const len = s.length;
  let out = '';
  let from = 0;
  while (i >= 0) {
    let a = i;
    while (a > from && charCodeAt.call(s, a - 1) === 32) a--;
    let b = i + 1;
    while (b < len && isSpace(charCodeAt.call(s, b))) b++;
    out += s.slice(from, a) + ' ';
    from = b;
    i = b < len ? indexOf.call(s, '\t', b) : -1;
  }
  return out + s.slice(from);
}

/**
 * Field names as small integers. Every name a loaded rule set reads (conditions, checks, absent
 * lists, stamps, the dispatch index), the pseudo-fields and the fingerprint's fields get a slot;
 * classify then keeps a fingerprint's values in an array indexed by slot, where the engine read
 * them by a linear search of the names (names.indexOf for every lookup: the largest part of Fields'
 * cost on whole blocks). The registry grows with rule sets, which are trusted files, never with the
 * names a fingerprint brings: an unknown name is looked up, not added.
 */
const slotOf = new Map<string, number>();
let slotCount = 0;
function slotFor(name: string): number {
  let s = slotOf.get(name);
  if (s === undefined) slotOf.set(name, (s = slotCount++));
  return s;
}
for (const f of FINGERPRINT_FIELDS) slotFor(f);
const PSEUDO_SLOTS: readonly number[] = PSEUDO_NAMES.map(slotFor);
const S_MUA = slotFor('mua');
const S_MSGID = slotFor('msgid');
const S_MSGID_LOCAL = slotFor('msgid-local');
const S_MSGID_HOST = slotFor('msgid-host');
const S_BOUNDARY = slotFor('boundary');
const S_DKIM_D = slotFor('dkim-d');
const S_X_MAILER = slotFor('x-mailer');
const S_USER_AGENT = slotFor('user-agent');
const S_X_NEWSREADER = slotFor('x-newsreader');
const S_MESSAGE_ID = slotFor('message-id');
const S_MS_ORIGINAL_ID = slotFor('x-microsoft-original-message-id');
const S_ORIGIN_ID = slotFor('origin-messageid');
const S_CONTENT_TYPE = slotFor('content-type');
const S_DKIM_SIGNATURE = slotFor('dkim-signature');
const S_RECEIVED = slotFor('received');
const PSEUDO_SLOT_FLAGS = new Uint8Array(slotCount);
for (const s of PSEUDO_SLOTS) PSEUDO_SLOT_FLAGS[s] = 1;
/** Pseudo-field slots are the first registered after the fingerprint's fields, so the flags never need to grow. */
const isPseudoSlot = (s: number): boolean => PSEUDO_SLOT_FLAGS[s] === 1;

/** What classify derives once per rule set: the dispatch index and the folded fields, by slot. */
interface Plan {
  readonly dispatch: ReadonlyArray<DispatchField | undefined>;
  /** 1 where folding white space is normalised (textFields). */
  readonly folds: Uint8Array;
  /**
   * The provider stamps' dispatch, as the rules' (buildIndex): by the first condition with a literal
   * prefix or suffix, on a real header (hiding only ever removes a real header's values, so a stamp
   * not reachable before the first hide is not reachable after it); the rest are always tried.
   */
  readonly stampDispatch: ReadonlyArray<{ readonly slot: number; readonly prefix: FlatTrie | null; readonly suffix: FlatTrie | null }>;
  readonly stampAlways: readonly number[];
  /** Marks (see `cur`) by stamp position, and by rule order. */
  readonly stampMarks: Int32Array;
  readonly ruleMarks: Int32Array;
  /** By stamp position, and by rule order: the slots tryRule reads. */
  readonly stampSlots: readonly RuleSlots[];
  readonly ruleSlots: readonly RuleSlots[];
  /** The last generation of marks this plan handed out. */
  gen: number;
}

/** The next mark generation of a plan; after 2^31 - 1 calls the marks start again from zero. */
function nextGeneration(plan: Plan): number {
  if (plan.gen === 0x7fffffff) {
    plan.stampMarks.fill(0);
    plan.ruleMarks.fill(0);
    plan.gen = 0;
  }
  return ++plan.gen;
}

/**
 * Field values as classify sees them: real headers plus the pseudo-fields, by slot. One instance is
 * reused for every call (classify is synchronous and nothing here escapes into the verdict except
 * `warnings`, which is fresh per call): the hot path allocates little.
 */
class Fields {
  /** Values by slot (undefined: absent); only the slots in `present` are set. */
  readonly vals: Array<readonly string[] | undefined> = [];
  /** The slots that hold values, in the order they were set. */
  readonly present: number[] = [];
  /** fieldView only: fields no rule set names, which classify does not keep. */
  readonly extra: Map<string, readonly string[]> | null;
  warnings: string[] = [];
  /** Real fields whose every value a replacing stamp hid (stampReplaces: a check on them proves nothing). */
  readonly hidden: string[] = [];
  private readonly msgidBox: string[] = [''];
  private readonly localBox: string[] = [''];
  private readonly hostBox: string[] = [''];

  constructor(keepAll: boolean) {
    this.extra = keepAll ? new Map() : null;
  }

  private setSlot(s: number, values: readonly string[]): void {
    if (this.vals[s] === undefined) this.present.push(s);
    this.vals[s] = values;
  }

  private removeSlot(s: number): void {
    if (this.vals[s] === undefined) return;
    this.vals[s] = undefined;
    this.present.splice(this.present.indexOf(s), 1);
  }

  /**
   * `opts`: classify's own options (receivedReduced: the Received values are already parse's
   * `by <host> with <protocol>`). `plan`: the rule set's folded fields (null: fold all, for
   * fieldView). Folding is only observable where a regex reads the text (textFields): the
   * DKIM-Signature values of a block are most of its characters, folded with tabs, and only their
   * d= tag is read, which folding cannot change.
   */
  load(headers: Fingerprint, opts: ClassifyOptions, plan: Plan | null): this {
    const receivedReduced = opts.receivedReduced === true;
    const vals = this.vals;
    const present = this.present;
    for (let i = 0; i < present.length; i++) vals[present[i]!] = undefined;
    present.length = 0;
    while (vals.length < slotCount) vals.push(undefined);
    this.extra?.clear();
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
      let name = rawName;
      let s = slotOf.get(rawName);
      if (s === undefined && UPPER.test(rawName)) s = slotOf.get((name = rawName.toLowerCase()));
      let list: readonly string[];
      if (typeof raw === 'string') list = [raw];
      else if (Array.isArray(raw)) list = raw as string[];
      else {
        bad = true;
        continue;
      }
      // A name no rule reads is only checked (control characters, limits), not kept; a
      // caller-supplied pseudo-field is dropped (derive computes them).
      const keep = s !== undefined ? !isPseudoSlot(s) : this.extra !== null;
      if (!keep) {
        for (let i = 0; i < list.length; i++) {
          const v = list[i] as unknown;
          if (typeof v !== 'string') bad = true;
          else {
            if (v.length > MAX_FINGERPRINT_VALUE_CHARS) truncated = true;
            if (CONTROL_CHARS.test(v.length > MAX_FINGERPRINT_VALUE_CHARS ? v.slice(0, MAX_FINGERPRINT_VALUE_CHARS) : v)) injected = true;
          }
        }
        continue;
      }
      // Reuse the caller's array unless a value needs cleaning (the common case needs none).
      let clean: string[] | null = null;
      const folds = plan === null || (s !== undefined && plan.folds[s] === 1);
      for (let i = 0; i < list.length; i++) {
        const v = list[i] as unknown;
        if (typeof v !== 'string') {
          bad = true;
          clean ??= list.slice(0, i) as string[];
          continue;
        }
        let t = v;
        if (t.length > MAX_FINGERPRINT_VALUE_CHARS) {
          t = t.slice(0, MAX_FINGERPRINT_VALUE_CHARS);
          truncated = true;
        }
        const len = t.length;
        // One scan for both questions where folding applies (a tab is a C0 control): most values hold neither.
        if (folds ? ANY_C0.test(t) : CONTROL_CHARS.test(t)) {
          if (!folds || CONTROL_CHARS.test(t)) injected = true;
          if (folds) t = foldTabs(t);
        }
        if (len && (isSpace(charCodeAt.call(t, 0)) || isSpace(charCodeAt.call(t, len - 1)))) t = t.trim();
        if (t !== v) clean ??= list.slice(0, i) as string[];
        if (clean) clean.push(t);
      }
      let values: readonly string[] = clean ?? list;
      // A caller's raw Received headers are matched as parse stores them: `by <host> with <protocol>`.
      if (s === S_RECEIVED && !receivedReduced) values = reduceReceived(values);
      if (values.length === 0) continue;
      if (s === undefined) {
        const before = this.extra!.get(name);
        this.extra!.set(name, before ? [...before, ...values] : values);
        continue;
      }
      const before = vals[s];
      if (before !== undefined) vals[s] = [...before, ...values];
      else {
        vals[s] = values;
        present.push(s);
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
    // A fresh load has no pseudo-fields yet (load drops a caller-supplied one); hide() derives again.
    if (again) for (const p of PSEUDO_SLOTS) this.removeSlot(p);
    const vals = this.vals;
    const xm = vals[S_X_MAILER];
    const ua = vals[S_USER_AGENT];
    const nr = vals[S_X_NEWSREADER];
    const mua = xm && !ua && !nr ? xm : ua && !xm && !nr ? ua : xm || ua || nr ? [...(xm ?? EMPTY), ...(ua ?? EMPTY), ...(nr ?? EMPTY)] : null;
    if (mua && mua.length) this.setSlot(S_MUA, mua);
    // Outlook.com and Brevo's SMTP relay rewrite other programs' Message-IDs and keep the original
    // (X-Microsoft-Original-Message-ID, Origin-messageId): the original tells the program.
    const msgid = firstId(vals[S_MS_ORIGINAL_ID]) ?? firstId(vals[S_ORIGIN_ID]) ?? firstId(vals[S_MESSAGE_ID]);
    if (msgid !== null) {
      this.msgidBox[0] = msgid;
      this.setSlot(S_MSGID, this.msgidBox);
      const at = msgid.lastIndexOf('@');
      this.localBox[0] = at >= 0 ? msgid.slice(0, at) : msgid;
      this.setSlot(S_MSGID_LOCAL, this.localBox);
      if (at >= 0) {
        this.hostBox[0] = msgid.slice(at + 1);
        this.setSlot(S_MSGID_HOST, this.hostBox);
      }
    }
    // The top-level boundary: libraries and clients each have their own shape.
    const ct = vals[S_CONTENT_TYPE]?.[0];
    if (ct !== undefined && ct.length > 9) {
      const m = BOUNDARY.exec(ct);
      if (m) this.setSlot(S_BOUNDARY, [m[1] ?? m[2]!]);
    }
    const dkim = vals[S_DKIM_SIGNATURE];
    if (dkim) {
      const ds: string[] = [];
      for (const v of dkim) {
        const m = DKIM_D.exec(v);
        if (m) ds.push(m[1]!.toLowerCase());
      }
      if (ds.length) this.setSlot(S_DKIM_D, ds);
    }
  }

  /**
   * Drops the values of `field` that `re` matches (a provider's server wrote them, not the
   * client) and derives the pseudo-fields again, so the other signals decide.
   */
  hide(field: string, re: RegExp, replaced: boolean): void {
    const s = slotOf.get(field);
    const values = s === undefined ? undefined : this.vals[s];
    if (values === undefined) return;
    const kept = values.filter((v) => !re.test(v));
    if (kept.length) this.vals[s!] = kept;
    else {
      this.removeSlot(s!);
      if (replaced) this.hidden.push(field);
    }
    this.derive(true);
  }

  /** Whether `name` (a header, or a pseudo-field through its headers) lost all its values to a stamp. */
  wasHidden(name: string): boolean {
    if (this.hidden.length === 0) return false;
    if (this.hidden.includes(name)) return true;
    const src = PSEUDO_SOURCES[name];
    return src !== undefined && src.some((f) => this.hidden.includes(f)) && this.get(name).length === 0;
  }

  get(name: string): readonly string[] {
    const s = slotOf.get(name);
    return s === undefined ? (this.extra?.get(name) ?? EMPTY) : (this.vals[s] ?? EMPTY);
  }
}

const FIELDS = new Fields(false);

/** The pseudo-fields whose derivation reads a header's text as it stands (dkim-d reads only the d= tag, which folding cannot change). */
const TEXT_PSEUDO_SOURCES: Readonly<Record<string, readonly string[]>> = { ...PSEUDO_SOURCES, 'dkim-d': EMPTY };

/**
 * The header fields whose text a verdict can depend on: those a rule's condition, a check or a stamp
 * reads (a pseudo-field through the headers it is derived from), and the sources of the program
 * names, the Message-ID (verdictFrom reads its host) and the boundary. Only these are folded.
 */
function textFields(rules: RuleSet): Set<string> {
  const set = new Set<string>();
  const add = (f: string): void => {
    const src = TEXT_PSEUDO_SOURCES[f];
    if (src === undefined) set.add(f);
    else for (const x of src) set.add(x);
  };
  for (const list of [rules.rules, rules.stamps]) {
    for (const r of list) {
      for (const c of r.conditions) add(c.field);
      for (const c of r.checks) if (c.field !== null) add(c.field);
      if (r.stamp) add(r.stamp.field);
    }
  }
  for (const p of ['mua', 'msgid', 'boundary']) add(p);
  return set;
}

const planMemo = new WeakMap<RuleSet, Plan>();
let lastRules: RuleSet | null = null;
let lastPlan: Plan | null = null;

/** The rule set's plan, built on its first classify: every name it reads gets a slot. */
function planOf(rules: RuleSet): Plan {
  if (rules === lastRules) return lastPlan!;
  let plan = planMemo.get(rules);
  if (!plan) {
    for (const list of [rules.rules, rules.stamps]) {
      for (const r of list) {
        for (const c of r.conditions) slotFor(c.field);
        for (const c of r.checks) if (c.field !== null) slotFor(c.field);
        for (const f of r.absent) slotFor(f);
        if (r.stamp) slotFor(r.stamp.field);
      }
    }
    for (const f of rules.index.keys()) slotFor(f);
    const text = textFields(rules);
    for (const f of text) slotFor(f);
    const folds = new Uint8Array(slotCount);
    for (const f of text) folds[slotOf.get(f)!] = 1;
    const dispatch: Array<DispatchField | undefined> = new Array<DispatchField | undefined>(slotCount).fill(undefined);
    for (const [field, fi] of rules.index) dispatch[slotOf.get(field)!] = { prefix: flatTrie(fi.prefix), suffix: flatTrie(fi.suffix), byFirst: fi.byFirst, always: fi.always };
    planMemo.set(rules, (plan = { dispatch, folds, ...stampPlan(rules.stamps), ruleMarks: new Int32Array(rules.rules.length), stampSlots: rules.stamps.map(ruleSlots), ruleSlots: rules.rules.map(ruleSlots), gen: 0 }));
  }
  lastRules = rules;
  lastPlan = plan;
  return plan;
}

function stampPlan(stamps: readonly CompiledRule[]): Pick<Plan, 'stampDispatch' | 'stampAlways' | 'stampMarks'> {
  const tries = new Map<string, { prefix: TrieNode; suffix: TrieNode }>();
  const stampAlways: number[] = [];
  stamps.forEach((stamp, i) => {
    const c = stamp.conditions.find((x) => x.hints.prefixes !== null || x.hints.suffixes !== null);
    if (c === undefined || PSEUDO_NAMES.includes(c.field)) {
      stampAlways.push(i);
      return;
    }
    let t = tries.get(c.field);
    if (!t) tries.set(c.field, (t = { prefix: emptyNode(), suffix: emptyNode() }));
    if (c.hints.prefixes) for (const k of c.hints.prefixes) addKey(t.prefix, k, i);
    else for (const k of c.hints.suffixes!) addSuffixKey(t.suffix, k, i);
  });
  const stampDispatch = [...tries].map(([field, t]) => ({ slot: slotFor(field), prefix: flatTrie(t.prefix), suffix: flatTrie(t.suffix) }));
  return { stampDispatch, stampAlways, stampMarks: new Int32Array(stamps.length) };
}

/**
 * The field values classify sees for a fingerprint, pseudo-fields included (a copy: for tooling such
 * as `rules lint`, not the hot path).
 */
export function fieldView(headers: Fingerprint): Map<string, readonly string[]> {
  const f = new Fields(true).load(headers, NO_OPTIONS, null);
  const out = new Map<string, readonly string[]>();
  for (const s of f.present) out.set(slotName(s), [...f.vals[s]!]);
  for (const [n, v] of f.extra!) out.set(n, [...v]);
  return out;
}

function slotName(s: number): string {
  for (const [n, i] of slotOf) if (i === s) return n;
  throw new Error(`no field has slot ${s}`);
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

/** The slots of a rule's condition fields and of its absent fields (planOf registers every one). */
interface RuleSlots {
  readonly conditions: Int32Array;
  readonly absent: Int32Array;
}

function ruleSlots(rule: CompiledRule): RuleSlots {
  return { conditions: Int32Array.from(rule.conditions, (c) => slotFor(c.field)), absent: Int32Array.from(rule.absent, slotFor) };
}

function tryRule(rule: CompiledRule, slots: RuleSlots, fields: Fields): Record<string, string | undefined> | null {
  const vals = fields.vals;
  const absent = slots.absent;
  for (let i = 0; i < absent.length; i++) if (vals[absent[i]!] !== undefined) return null;
  if (rule.conditions.length === 1) {
    // Fast path (most rules): the match's own groups object, no copy.
    const c = rule.conditions[0]!;
    for (const v of vals[slots.conditions[0]!] ?? EMPTY) {
      const m = c.re.exec(v);
      if (m) return m.groups ?? NO_GROUPS;
    }
    return null;
  }
  let groups: Record<string, string | undefined> | null = null;
  for (let n = 0; n < rule.conditions.length; n++) {
    const c = rule.conditions[n]!;
    let hit = false;
    for (const v of vals[slots.conditions[n]!] ?? EMPTY) {
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
 * The running classification's mark: a rule is marked when its slot holds the current generation
 * (Plan.gen), so no call clears the marks it set, and an exception leaves none behind.
 */
let cur = 0;

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
  /** The root's child by ASCII code (-1: none): the root is the widest node, and every walk starts there. */
  readonly first: Int32Array;
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
  const first = new Int32Array(128).fill(-1);
  for (let e = edgeStart[0]!; e < edgeStart[1]!; e++) if (edgeCode[e]! < 128) first[edgeCode[e]!] = edgeChild[e]!;
  return { edgeStart, edgeCode, edgeChild, ruleStart, ruleList, first };
}

interface DispatchField {
  readonly prefix: FlatTrie | null;
  readonly suffix: FlatTrie | null;
  readonly byFirst: ReadonlyArray<readonly number[] | undefined>;
  readonly always: readonly number[];
}


/** Marks the rules reachable from a value's first (or last) characters, lower-cased on the fly. */
function walk(t: FlatTrie, v: string, marks: Int32Array, fromEnd: boolean): void {
  const len = v.length;
  const n = len < KEY_CHARS ? len : KEY_CHARS;
  const { edgeStart, edgeCode, edgeChild, ruleStart, ruleList, first } = t;
  let node = 0;
  for (let i = 0; i < n; i++) {
    let c: number = charCodeAt.call(v, fromEnd ? len - 1 - i : i);
    if (c >= 65 && c <= 90) c += 32;
    if (i === 0 && c < 128) {
      node = first[c]!;
      if (node < 0) return;
    } else {
      let e = edgeStart[node]!;
      const end = edgeStart[node + 1]!;
      while (e < end && edgeCode[e] !== c) e++;
      if (e === end) return;
      node = edgeChild[e]!;
    }
    const r = ruleStart[node]!;
    const rEnd = ruleStart[node + 1]!;
    for (let k = r; k < rEnd; k++) {
      const x = ruleList[k]!;
      marks[x] = cur;
      if (x < lo) lo = x;
      if (x > hi) hi = x;
    }
  }
}

function mark(list: readonly number[], marks: Int32Array): void {
  for (let i = 0; i < list.length; i++) {
    const x = list[i]!;
    marks[x] = cur;
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
    // A bug or an exotic input must not stop ingestion (the marks it set are of a past generation).
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
  const plan = planOf(rules);
  cur = nextGeneration(plan);
  const fields = FIELDS.load(headers, opts, plan);
  // Provider stamps first (rules/README.md "Provider stamps"): a value the provider's server wrote
  // (Yahoo/AOL SMTP X-Mailer, a Gmail-SMTP-assigned Message-ID) says nothing about the client, so
  // it is hidden and the other signals decide; the first stamp is the answer when nothing else matches.
  let stamp: CompiledRule | null = null;
  let stampGroups: Record<string, string | undefined> | null = null;
  const stamps = rules.stamps;
  if (stamps.length) {
    const sm = plan.stampMarks;
    mark(plan.stampAlways, sm);
    for (const d of plan.stampDispatch) {
      const values = fields.vals[d.slot];
      if (values === undefined) continue;
      for (let k = 0; k < values.length; k++) {
        const v = values[k]!;
        if (v.length === 0) continue;
        if (d.prefix !== null) walk(d.prefix, v, sm, false);
        if (d.suffix !== null) walk(d.suffix, v, sm, true);
      }
    }
    for (let s = 0; s < stamps.length; s++) {
      if (sm[s] !== cur) continue;
      const rule = stamps[s]!;
      const groups = tryRule(rule, plan.stampSlots[s]!, fields);
      if (!groups) continue;
      if (stamp === null) {
        stamp = rule;
        stampGroups = { ...groups };
      }
      for (const w of rule.warnings) fields.warnings.push(w);
      fields.hide(rule.stamp!.field, rule.stamp!.re, rule.stamp!.replaces);
    }
  }
  const marks = plan.ruleMarks;
  lo = marks.length;
  hi = -1;
  mark(rules.unconditional, marks);
  const present = fields.present;
  const vals = fields.vals;
  const dispatch = plan.dispatch;
  for (let f = 0; f < present.length; f++) {
    const s = present[f]!;
    const fi = dispatch[s];
    if (fi === undefined) continue;
    const values = vals[s]!;
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
    if (marks[i] !== cur) continue;
    const rule = rules.ruleAt(i);
    const groups = tryRule(rule, plan.ruleSlots[i]!, fields);
    if (!groups) continue;
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
  if (host === undefined) return false;
  const n = host.length;
  // The name itself, or a subdomain of it: the 11 characters before the end follow a dot.
  if (n < 11 || (n > 11 && charCodeAt.call(host, n - 12) !== 46)) return false;
  const tail = host.slice(n - 11).toLowerCase();
  return tail === 'example.com' || tail === 'example.net' || tail === 'example.org';
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
  if ((t.kind === 'client' || t.kind === 'webmail') && isReservedHost(fields.vals[S_MSGID_HOST]?.[0])) {
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
