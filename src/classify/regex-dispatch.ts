/**
 * The rule-regex dialect and the dispatch hints drawn from it. Rules use a subset of JS regex
 * syntax (no backreferences, no lookbehind: portable, as uap-core's rules); `parse` reads that
 * subset and `literalAnchors`/`firstCharSet` tell the engine which values a rule can match at
 * all, so most rules are never tried. ReDoS safety is recheck's job (regex-safety.ts).
 */

type Node =
  | { t: 'atom'; src: string; zeroWidth: boolean; literal: string | null }
  | { t: 'seq'; items: Node[] }
  | { t: 'alt'; alts: Node[] }
  | { t: 'group'; body: Node; lookaround: boolean }
  | { t: 'quant'; node: Node; min: number; max: number };

class ParseFail extends Error {}

/** Parses the subset of JS regex syntax rules may use; throws ParseFail on anything it does not know. */
function parse(src: string): Node {
  let i = 0;
  const peek = (): string | undefined => src[i];
  function parseAlt(): Node {
    const alts: Node[] = [parseSeq()];
    while (peek() === '|') {
      i++;
      alts.push(parseSeq());
    }
    return alts.length === 1 ? alts[0]! : { t: 'alt', alts };
  }
  function parseSeq(): Node {
    const items: Node[] = [];
    while (i < src.length && peek() !== '|' && peek() !== ')') {
      let atom = parseAtom();
      atom = parseQuant(atom);
      items.push(atom);
    }
    return { t: 'seq', items };
  }
  function parseQuant(node: Node): Node {
    const c = peek();
    let min = -1;
    let max = -1;
    if (c === '*') [min, max] = [0, Infinity];
    else if (c === '+') [min, max] = [1, Infinity];
    else if (c === '?') [min, max] = [0, 1];
    else if (c === '{') {
      const m = /^\{(\d+)(?:(,)(\d*))?\}/.exec(src.slice(i));
      if (!m) return node; // a literal '{'
      min = Number(m[1]);
      max = m[2] ? (m[3] ? Number(m[3]) : Infinity) : min;
      i += m[0].length - 1;
    } else return node;
    i++;
    if (peek() === '?') i++; // lazy: same backtracking behaviour
    if (node.t === 'atom' && node.zeroWidth) throw new ParseFail('quantified assertion');
    return { t: 'quant', node, min, max };
  }
  function parseAtom(): Node {
    const c = src[i]!;
    if (c === '(') {
      i++;
      let lookaround = false;
      if (src.startsWith('?:', i)) i += 2;
      else if (src.startsWith('?=', i) || src.startsWith('?!', i)) {
        i += 2;
        lookaround = true;
      } else if (src.startsWith('?<=', i) || src.startsWith('?<!', i)) throw new ParseFail('lookbehind is not allowed');
      else if (src.startsWith('?<', i)) {
        const end = src.indexOf('>', i);
        if (end < 0) throw new ParseFail('bad group name');
        i = end + 1;
      } else if (src[i] === '?') throw new ParseFail('unknown group syntax');
      const body = parseAlt();
      if (src[i] !== ')') throw new ParseFail('unbalanced parenthesis');
      i++;
      return { t: 'group', body, lookaround };
    }
    if (c === '[') {
      let j = i + 1;
      if (src[j] === '^') j++;
      if (src[j] === ']') j++;
      while (j < src.length && src[j] !== ']') j += src[j] === '\\' ? 2 : 1;
      if (j >= src.length) throw new ParseFail('unterminated class');
      const s = src.slice(i, j + 1);
      i = j + 1;
      return { t: 'atom', src: s, zeroWidth: false, literal: null };
    }
    if (c === '\\') {
      const d = src[i + 1];
      if (d === undefined) throw new ParseFail('trailing backslash');
      if (/[1-9]/.test(d) || d === 'k') throw new ParseFail('backreferences are not allowed');
      let s = src.slice(i, i + 2);
      if (d === 'x') s = src.slice(i, i + 4);
      else if (d === 'u') s = src.slice(i, i + 6);
      i += s.length;
      const zeroWidth = d === 'b' || d === 'B';
      const literal = /[dDwWsSbBnrtfv0xu]/.test(d) ? null : d;
      return { t: 'atom', src: s, zeroWidth, literal };
    }
    if (c === ')' || c === '*' || c === '+' || c === '?') throw new ParseFail(`unexpected '${c}'`);
    i++;
    if (c === '^' || c === '$') return { t: 'atom', src: c, zeroWidth: true, literal: null };
    if (c === '.') return { t: 'atom', src: c, zeroWidth: false, literal: null };
    return { t: 'atom', src: c, zeroWidth: false, literal: c };
  }
  const root = parseAlt();
  if (i !== src.length) throw new ParseFail(`unexpected '${src[i]}'`);
  return root;
}

/** The rule dialect's syntax check: a reason when `source` uses what rules may not (backreferences, lookbehind, unknown groups), else null. */
export function regexSyntaxProblem(source: string): string | null {
  try {
    parse(source);
    return null;
  } catch (e) {
    return e instanceof ParseFail ? e.message : String(e);
  }
}

/** The atom (literal or class) every match of `node` must start with, if there is one. */
function leadingAtom(node: Node): (Node & { t: 'atom' }) | null {
  switch (node.t) {
    case 'atom':
      return node.zeroWidth ? null : node;
    case 'group':
      return node.lookaround ? null : leadingAtom(node.body);
    case 'quant':
      return node.min >= 1 ? leadingAtom(node.node) : null;
    case 'alt':
      return null;
    case 'seq':
      for (const n of node.items) {
        if (n.t === 'atom' && n.zeroWidth) continue;
        return leadingAtom(n);
      }
      return null;
  }
}

const MAX_EXPANSIONS = 16;

function literalOf(node: Node): string[] | null {
  // All the literal strings a node can match, when it is a plain literal (or an alternation of them).
  switch (node.t) {
    case 'atom':
      return node.literal !== null ? [node.literal] : null;
    case 'group':
      return node.lookaround ? null : literalOf(node.body);
    case 'alt': {
      const out: string[] = [];
      for (const a of node.alts) {
        const l = literalOf(a);
        if (!l) return null;
        out.push(...l);
      }
      return out.length <= MAX_EXPANSIONS ? out : null;
    }
    case 'seq': {
      let acc = [''];
      for (const it of node.items) {
        const l = literalOf(it);
        if (!l) return null;
        acc = acc.flatMap((a) => l.map((b) => a + b));
        if (acc.length > MAX_EXPANSIONS) return null;
      }
      return acc;
    }
    case 'quant':
      return null;
  }
}

/** Max distinct literal keys one regex may put in the index (a long alternation of names is fine). */
const MAX_KEYS = 256;

/**
 * Literal strings a match of `items` must start with (or, with `backwards`, end with), and whether
 * the items were literal all the way through (so a caller may keep concatenating).
 */
function collect(items: Node[], backwards = false): { strs: string[]; complete: boolean } {
  let acc = [''];
  const join = (a: string, b: string): string => (backwards ? b + a : a + b);
  for (const it of items) {
    const l = literalOf(it);
    if (l) {
      const next = acc.flatMap((a) => l.map((b) => join(a, b)));
      if (next.length > MAX_KEYS) return { strs: acc, complete: false };
      acc = next;
      continue;
    }
    // An optional literal (`<?` before a Message-ID, `>?` after it): both strings go on.
    if (it.t === 'quant' && it.min === 0 && it.max === 1) {
      const opt = literalOf(it.node);
      if (opt) {
        const next = acc.flatMap((a) => [a, ...opt.map((b) => join(a, b))]);
        if (next.length > MAX_KEYS) return { strs: acc, complete: false };
        acc = next;
        continue;
      }
    }
    // A group of alternatives that each start (end) with literal text: branch, then stop.
    const body = it.t === 'group' && !it.lookaround ? it.body : it.t === 'quant' && it.min >= 1 && it.node.t === 'group' && !it.node.lookaround ? it.node.body : null;
    if (body) {
      const alts = body.t === 'alt' ? body.alts : [body];
      const parts: string[] = [];
      for (const a of alts) {
        const seq = a.t === 'seq' ? a.items : [a];
        parts.push(...collect(backwards ? [...seq].reverse() : seq, backwards).strs);
      }
      const next = acc.flatMap((a) => parts.map((b) => join(a, b)));
      if (next.length <= MAX_KEYS) acc = next;
      return { strs: acc, complete: false };
    }
    if (it.t === 'quant' && it.min >= 1) {
      const inner = literalOf(it.node);
      if (inner) {
        const next = acc.flatMap((a) => inner.map((b) => join(a, b)));
        if (next.length <= MAX_KEYS) acc = next;
      }
    }
    return { strs: acc, complete: false };
  }
  return { strs: acc, complete: true };
}

/**
 * Literal text every match must start with (`^lit…`) or end with (`…lit$`), lower-cased, for
 * dispatch: the engine only tries a rule when the value starts/ends with one of these.
 */
export function literalAnchors(source: string): { prefixes: string[] | null; suffixes: string[] | null } {
  let tree: Node;
  try {
    tree = parse(source);
  } catch {
    return { prefixes: null, suffixes: null };
  }
  return anchorsOf(tree);
}

/**
 * The part of a literal a dispatch key may hold. The engine's walk reads a value's UTF-16 units and
 * lower-cases A-Z only, so a key with a non-ASCII character (lower-cased by toLowerCase, or a
 * surrogate pair) might never be reached and its rule never tried: a prefix is cut before its
 * first non-ASCII character, a suffix after its last. A shorter key only makes more rules tried.
 */
function asciiHead(s: string): string {
  let i = 0;
  while (i < s.length && s.charCodeAt(i) < 128) i++;
  return s.slice(0, i);
}

function asciiTail(s: string): string {
  let i = s.length;
  while (i > 0 && s.charCodeAt(i - 1) < 128) i--;
  return s.slice(i);
}

function anchorsOf(tree: Node): { prefixes: string[] | null; suffixes: string[] | null } {
  const branches = tree.t === 'alt' ? tree.alts : [tree];
  const prefixes: string[] = [];
  const suffixes: string[] = [];
  let prefixOk = true;
  let suffixOk = true;
  for (const b of branches) {
    const items = b.t === 'seq' ? b.items : [b];
    const first = items[0];
    if (prefixOk && first && first.t === 'atom' && first.src === '^') {
      const p = collect(items.slice(1)).strs.map(asciiHead);
      if (p.some((s) => s.length < 2)) prefixOk = false;
      else prefixes.push(...p.map((s) => s.toLowerCase()));
    } else prefixOk = false;
    const last = items[items.length - 1];
    if (suffixOk && last && last.t === 'atom' && last.src === '$') {
      const s = collect(items.slice(0, -1).reverse(), true).strs.map(asciiTail);
      if (s.some((x) => x.length < 2)) suffixOk = false;
      else suffixes.push(...s.map((x) => x.toLowerCase()));
    } else suffixOk = false;
  }
  return { prefixes: prefixOk && prefixes.length ? [...new Set(prefixes)] : null, suffixes: suffixOk && suffixes.length ? [...new Set(suffixes)] : null };
}

/** Non-ASCII samples: a lead atom matching any of them may start a non-ASCII value. */
const NON_ASCII_SAMPLES = ['\u00e9', '\u00a0', '\u4e2d', '\ud83d', '\u0430'];

/**
 * Whether an atom's text may match a non-ASCII character that the samples miss: it holds one
 * (`П`, `[äöü]`), or an escape or class that may stand for one (`\p{L}`, `\u0411`, `\xe4`, `\W`,
 * `[^…]`, `.`). Only ever true too often, which tries the rule on more values, never too rarely.
 */
function mayMatchNonAscii(src: string): boolean {
  for (let i = 0; i < src.length; i++) if (src.charCodeAt(i) >= 128) return true;
  return /\\[pPuxcWSD]|\[\^|\./.test(src);
}

/** Which first characters a match may start with: ASCII codes, and whether a non-ASCII character may. */
export interface FirstChars {
  readonly ascii: readonly number[];
  readonly nonAscii: boolean;
}

/**
 * For a `^`-anchored regex: which first characters a match can start with, for dispatch when
 * there is no literal prefix. Null when not anchored or unknown.
 */
export function firstCharSet(source: string, flags: string): FirstChars | null {
  let tree: Node;
  try {
    tree = parse(source);
  } catch {
    return null;
  }
  return firstCharsOf(tree, flags);
}

function firstCharsOf(tree: Node, flags: string): FirstChars | null {
  const branches = tree.t === 'alt' ? tree.alts : [tree];
  const ascii = new Set<number>();
  let nonAscii = false;
  for (const b of branches) {
    const items = b.t === 'seq' ? b.items : [b];
    const first = items[0];
    if (!first || first.t !== 'atom' || first.src !== '^') return null;
    let lead: (Node & { t: 'atom' }) | null = null;
    for (const n of items.slice(1)) {
      if (n.t === 'atom' && n.zeroWidth) continue;
      if (n.t === 'group' && n.lookaround) continue;
      lead = leadingAtom(n);
      break;
    }
    if (!lead) return null;
    let re: RegExp;
    try {
      re = new RegExp(`^(?:${lead.src})`, flags);
    } catch {
      return null;
    }
    for (let c = 0; c < 128; c++) if (re.test(String.fromCharCode(c))) ascii.add(c);
    if (NON_ASCII_SAMPLES.some((x) => re.test(x)) || mayMatchNonAscii(lead.src)) nonAscii = true;
  }
  return { ascii: [...ascii].sort((a, b) => a - b), nonAscii };
}

/**
 * What the rule loader learns from one regex's text: the dialect check and the dispatch hints,
 * from one parse. A pure function of source and flags, plain JSON, so the build computes it for
 * the shipped rules once (load.ts, "Precompiled rules") and a start-up looks it up instead of
 * parsing ~300 regexes again (~19% of `import -`'s start-up).
 */
export interface RegexHints {
  /** regexSyntaxProblem's answer: null when rules may use this regex. */
  readonly syntax: string | null;
  readonly prefixes: readonly string[] | null;
  readonly suffixes: readonly string[] | null;
  readonly firstChars: FirstChars | null;
}

/** The syntax check, literalAnchors and firstCharSet of one regex at once. */
export function regexHints(source: string, flags: string): RegexHints {
  let tree: Node;
  try {
    tree = parse(source);
  } catch (e) {
    return { syntax: e instanceof ParseFail ? e.message : String(e), prefixes: null, suffixes: null, firstChars: null };
  }
  return { syntax: null, ...anchorsOf(tree), firstChars: firstCharsOf(tree, flags) };
}
