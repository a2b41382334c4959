/**
 * Loads rule files from the shipped rules/ folder and operator folders, validates them, checks
 * every regex for catastrophic backtracking, compiles each regex once and builds the dispatch index.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppError } from '../core/index.js';
import { parseYaml } from './yaml.js';
import { ruleSchemas, type ExampleInput, type RuleFileInput, type RuleInput, type SmimeFileInput } from './rule-schema.js';
import { regexHints, type RegexHints } from './regex-dispatch.js';
import { CHECKER, redosProblem, trustVerdictFile, VERDICT_FILE } from './regex-safety.js';
import { PSEUDO_FIELDS } from './fingerprint-fields.js';
import { templateRefs, compileTemplateParts, FILTERS } from './filters.js';
import { capabilityOf, type Capability } from './smime.js';
import { weakerSmime } from '../core/index.js';
import type { CompiledCheck, CompiledRule, CompiledTemplate, FieldIndex, RuleSet, TrieNode } from './rule-types.js';
import type { SmimeEntry, SmimeFamily } from './smime.js';

/** Rule files larger than this are not rule files (bounds YAML parse time). */
const MAX_RULE_FILE_BYTES = 2 * 1024 * 1024;
/** Dispatch keys longer than this add nothing (values are compared by this many leading/trailing chars). */
const MAX_KEY_CHARS = 12;
const DEFAULT_CONFIDENCE = 0.9;

/** The package's own rules/ folder (works from src/ under vitest and from dist/). */
export function defaultRulesDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'rules');
    if (existsSync(join(candidate, 'clients')) && existsSync(join(dir, 'package.json'))) return candidate;
    dir = dirname(dir);
  }
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'rules');
}

export interface SourcedRule {
  readonly input: RuleInput;
  readonly file: string;
}

function yamlFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  // A plain name from readdir under a folder path: join's normalising of each (~170 per start) adds nothing.
  const base = dir.endsWith(sep) ? dir : dir + sep;
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort()
    .map((f) => base + f);
}

function readBytes(file: string): Buffer {
  try {
    if (statSync(file).size > MAX_RULE_FILE_BYTES) throw new AppError('E_RULE_INVALID', `${file}: larger than ${MAX_RULE_FILE_BYTES} bytes`);
    return readFileSync(file);
  } catch (e) {
    if (e instanceof AppError) throw e;
    throw new AppError('E_RULE_INVALID', `${file}: cannot be read`, { cause: e });
  }
}

function parseYamlText(file: string, text: string): unknown {
  try {
    // YAML 1.2 core schema: yes/no/on/off stay strings.
    return parseYaml(text, { version: '1.2', uniqueKeys: true, maxAliasCount: 50 });
  } catch (e) {
    throw new AppError('E_RULE_INVALID', `${file}: not valid YAML: ${(e as Error).message}`, { cause: e });
  }
}

function readYaml(file: string): unknown {
  return parseYamlText(file, readBytes(file).toString('utf8'));
}

/*
 * Precompiled rules. Parsing YAML and validating it with zod was ~45% of the start-up of
 * `import -` (one process per message from an MTA). The build (scripts/post-build.mjs) writes
 * the validated contents of the shipped rule files next to this module as JSON, keyed by a hash
 * of the file's bytes, its kind and the schema module: a file whose bytes differ from what was
 * built (an edited rule, an operator's folder) misses and is parsed and validated as usual, so
 * a stale cache can never change what loads. Nothing is written at run time: a read-only
 * install works, and there is no cache to corrupt or to race on.
 *
 * The same file holds the regex hints (regex-dispatch.ts) of every shipped regex, keyed by
 * flags and source and valid for the regex-dispatch module they were built with: parsing each
 * regex for its dialect check and dispatch anchors was another ~19% of that start-up. A regex
 * the build did not see (an operator's) is parsed as before.
 */
const PRECOMPILED_FILE = 'precompiled-rules.json';
const PRECOMPILED_FORMAT = 2;
type RuleFileKind = 'clients' | 'smime';

/** Hash of a sibling module's text (.js in dist/, .ts under vitest); '' when neither is there. */
function moduleHash(name: string): string {
  const h = createHash('sha256');
  for (const ext of ['.js', '.ts']) {
    const f = fileURLToPath(new URL(`./${name}${ext}`, import.meta.url));
    if (existsSync(f)) {
      h.update(readFileSync(f));
      break;
    }
  }
  return h.digest('hex');
}

let schemaHash: string | undefined;
/** Hash of the rule schema's module text: a cache built against another schema never matches. */
function ruleSchemaHash(): string {
  return (schemaHash ??= moduleHash('rule-schema'));
}

function cacheKey(kind: RuleFileKind, bytes: Buffer): string {
  return createHash('sha256').update(`${PRECOMPILED_FORMAT}\0${ruleSchemaHash()}\0${kind}\0`).update(bytes).digest('hex');
}

function hintsKey(source: string, flags: string): string {
  return `${flags}/${source}`;
}

interface PrecompiledFile {
  readonly format: number;
  /** cacheKey -> the file's validated contents, as JSON text. */
  readonly entries: Record<string, string>;
  /** The hash of regex-dispatch's module the hints were computed with. */
  readonly hintsBy: string;
  /** hintsKey -> regexHints(source, flags). */
  readonly hints: Record<string, RegexHints>;
}

// Entries stay JSON text until used: each load gets its own objects, as a YAML parse gives.
let precompiled: { entries: ReadonlyMap<string, string>; hints: ReadonlyMap<string, RegexHints> } | undefined;
let precompiledHits = 0;
function precompiledData(): NonNullable<typeof precompiled> {
  if (precompiled === undefined) {
    precompiled = { entries: new Map(), hints: new Map() };
    const f = fileURLToPath(new URL(`./${PRECOMPILED_FILE}`, import.meta.url));
    if (existsSync(f)) {
      try {
        const j = JSON.parse(readFileSync(f, 'utf8')) as Partial<PrecompiledFile>;
        if (j.format === PRECOMPILED_FORMAT && j.entries && typeof j.entries === 'object') {
          const entries = new Map(Object.entries(j.entries).filter((e): e is [string, string] => typeof e[1] === 'string'));
          // Hints from another regex-dispatch module (a tsc run without the post-build step) are not used.
          const hints = j.hints && typeof j.hints === 'object' && j.hintsBy === moduleHash('regex-dispatch') ? new Map(Object.entries(j.hints)) : new Map<string, RegexHints>();
          precompiled = { entries, hints };
        }
      } catch {
        // An unreadable cache is no cache: every file is parsed from YAML.
      }
    }
  }
  return precompiled;
}

/** A rule or S/MIME file's validated contents: from the build's precompiled entry when its bytes match, else parsed and validated. */
function readValidated<T>(file: string, kind: RuleFileKind, validate: (data: unknown) => T): T {
  const bytes = readBytes(file);
  const hit = precompiledData().entries.get(cacheKey(kind, bytes));
  if (hit !== undefined) {
    precompiledHits++;
    return JSON.parse(hit) as T;
  }
  return validate(parseYamlText(file, bytes.toString('utf8')));
}

/** regexHints of a rule regex: the build's when it saw this regex, else computed now. */
function hintsOf(source: string, flags: string): RegexHints {
  return precompiledData().hints.get(hintsKey(source, flags)) ?? regexHints(source, flags);
}

/**
 * The precompiled entries of the shipped rules (for scripts/post-build.mjs): every rule and
 * S/MIME file of `dir`, validated exactly as loadRules validates it, and the hints of every
 * regex in them. Throws on an invalid file, so a build with broken rules fails.
 */
export function precompileRules(dir: string = defaultRulesDir()): { file: string; json: string } {
  const entries: Record<string, string> = {};
  const hints: Record<string, RegexHints> = {};
  for (const file of yamlFiles(join(dir, 'clients'))) {
    const rules = validateRuleFile(file, readYaml(file));
    entries[cacheKey('clients', readBytes(file))] = JSON.stringify(rules);
    for (const r of rules) {
      if ('disabled' in r && r.disabled === true) continue;
      const flags = ruleFlags(r);
      for (const source of [...Object.values(r.match ?? {}), ...(r.checks ?? []).flatMap((c) => (c.pattern !== undefined ? [c.pattern] : []))]) {
        hints[hintsKey(source, flags)] = regexHints(source, flags);
      }
    }
  }
  for (const file of yamlFiles(join(dir, 'smime'))) entries[cacheKey('smime', readBytes(file))] = JSON.stringify(validateSmimeFile(file, readYaml(file)));
  const data: PrecompiledFile = { format: PRECOMPILED_FORMAT, entries, hintsBy: moduleHash('regex-dispatch'), hints };
  return { file: fileURLToPath(new URL(`./${PRECOMPILED_FILE}`, import.meta.url)), json: JSON.stringify(data) };
}

function issuesText(err: { issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }> }, data: unknown): string {
  return err.issues
    .slice(0, 5)
    .map((i) => {
      const idx = typeof i.path[0] === 'number' ? i.path[0] : null;
      const id = idx !== null && Array.isArray(data) ? (data[idx] as { id?: unknown } | undefined)?.id : undefined;
      return `${typeof id === 'string' ? `rule ${id}: ` : ''}${i.path.join('.') || '(root)'}: ${i.message}`;
    })
    .join('; ');
}

let shippedVerdicts: string | undefined;

/** Compiles one regex of a rule, refusing the syntax rules may not use and what recheck does not find safe. */
export function compileRuleRegex(source: string, flags: string, where: string): RegExp {
  return compileWithHints(source, flags, where).re;
}

function compileWithHints(source: string, flags: string, where: string, built?: BuiltRegexes): { re: RegExp; hints: RegexHints } {
  const builtHints = built?.hints.get(hintsKey(source, flags));
  const hints = builtHints ?? hintsOf(source, flags);
  if (hints.syntax) throw new AppError('E_RULE_UNSAFE', `${where}: unsafe regex /${source}/: ${hints.syntax}`);
  let re: RegExp;
  try {
    re = new RegExp(source, flags);
  } catch (e) {
    throw new AppError('E_RULE_UNSAFE', `${where}: regex /${source}/ does not compile: ${(e as Error).message}`, { cause: e });
  }
  // A regex of the built rule set was checked by the build, against the verdict file it was built with.
  if (builtHints !== undefined) return { re, hints };
  // The shipped rules' verdicts are on file: only an operator's own regexes are checked here.
  trustVerdictFile((shippedVerdicts ??= join(defaultRulesDir(), VERDICT_FILE)));
  const redos = redosProblem(source, flags);
  if (redos) throw new AppError('E_RULE_UNSAFE', `${where}: unsafe regex /${source}/: ${redos}`);
  return { re, hints };
}

/** A rule's regex flags: case-insensitive unless it says otherwise. */
function ruleFlags(r: { readonly caseSensitive?: boolean | undefined }): string {
  return r.caseSensitive ? '' : 'i';
}

function compileRule(r: RuleInput, file: string, order: number, built?: BuiltRegexes, examples?: () => readonly ExampleInput[]): CompiledRule {
  const where = `${file}: rule ${r.id}`;
  const flags = ruleFlags(r);
  const conditions = Object.entries(r.match ?? {}).map(([field, src]) => ({ field, ...compileWithHints(src, flags, `${where}: match.${field}`, built) }));
  const groups = new Set<string>();
  for (const c of conditions) for (const m of c.re.source.matchAll(/\(\?<([a-zA-Z][a-zA-Z0-9]*)>/g)) groups.add(m[1]!);
  const client = {
    family: r.client.family,
    kind: r.client.kind,
    product: r.client.product ?? null,
    version: r.client.version ?? null,
    platform: r.client.platform ?? null,
  };
  for (const t of [client.product, client.version, client.platform]) {
    if (t === null) continue;
    for (const ref of templateRefs(t)) {
      if (!groups.has(ref.name)) throw new AppError('E_RULE_INVALID', `${where}: template ${t} names group ${ref.name}, which no match regex captures`);
      if (ref.filter && !FILTERS[ref.filter]) throw new AppError('E_RULE_INVALID', `${where}: unknown filter ${ref.filter} (known: ${Object.keys(FILTERS).join(', ')})`);
    }
  }
  const checks: CompiledCheck[] = (r.checks ?? []).map((c, i) => {
    const group = c.field.startsWith('$') ? c.field.slice(1) : null;
    if (group !== null && !groups.has(group)) throw new AppError('E_RULE_INVALID', `${where}: check ${c.code} names group ${group}, which no match regex captures`);
    return {
      code: c.code,
      field: group === null ? c.field.toLowerCase() : null,
      group,
      re: c.pattern !== undefined ? compileWithHints(c.pattern, flags, `${where}: checks[${i}]`, built).re : null,
      absent: c.absent ?? null,
    };
  });
  if (r.candidates && r.client.family !== null && !r.candidates.includes(r.client.family)) {
    throw new AppError('E_RULE_INVALID', `${where}: candidates must include the rule's own family ${r.client.family}`);
  }
  const rule: CompiledRule = {
    id: r.id,
    priority: r.priority,
    order,
    file,
    conditions,
    absent: r.absent ?? [],
    client: { family: client.family, kind: client.kind, product: compileTemplate(client.product), version: compileTemplate(client.version), platform: compileTemplate(client.platform) },
    confidence: r.confidence ?? DEFAULT_CONFIDENCE,
    candidates: r.candidates ? Object.freeze([...r.candidates]) : null,
    warnings: r.warnings ?? [],
    checks,
    references: r.references ?? [],
    examples: r.examples ?? [],
    fixedValue: r.fixedValue ?? null,
    stamp: r.stamp !== undefined ? { field: r.stamp, re: conditions.find((c) => c.field === r.stamp)!.re, replaces: r.stampReplaces === true } : null,
    fixedSmime: null,
  };
  // The built rule set keeps examples as text, parsed when first read (rules test, lint): classify never reads them.
  if (examples) {
    let own: readonly ExampleInput[] | undefined;
    Object.defineProperty(rule, 'examples', { get: () => (own ??= examples()), enumerable: true });
  }
  return rule;
}

/**
 * The S/MIME answer of a rule: its family's level at the given version/platform, and with
 * candidates the weakest of theirs (never the strongest). Shared by load (constant rules) and classify.
 */
export function ruleCapability(smime: ReadonlyMap<string, SmimeFamily>, rule: CompiledRule, version: string | null, platform: string | null): Capability {
  const family = rule.client.kind === 'automated' ? null : rule.client.family;
  const own = capabilityOf(smime, family, version, platform);
  if (!rule.candidates) return own;
  let level = own.level;
  let refs = [...own.references];
  for (const c of rule.candidates) {
    if (c === family) continue;
    const cap = capabilityOf(smime, c, null, null);
    const next = weakerSmime(level, cap.level);
    if (next !== level) refs = [...cap.references];
    else if (cap.level === level) refs.push(...cap.references);
    level = next;
  }
  return { level, references: [...new Set(refs)] };
}

/** An empty dispatch trie node (also the engine's, for the provider stamps). */
export function emptyNode(): TrieNode {
  return { codes: [], kids: [], size: 0, rules: null };
}

/** Adds a literal prefix key (lower-cased, at most MAX_KEY_CHARS of it) ending in `order`. */
export function addKey(root: TrieNode, key: string, order: number): void {
  let node = root;
  const k = key.slice(0, MAX_KEY_CHARS).toLowerCase();
  for (let i = 0; i < k.length; i++) {
    const ch = k.charCodeAt(i);
    const j = node.codes.indexOf(ch);
    let next: TrieNode;
    if (j >= 0) next = node.kids[j]!;
    else {
      next = emptyNode();
      // concat allocates the exact length; a push (or a spread) gives even a one-child node 17 slots per array.
      node.codes = node.codes.concat(ch);
      node.kids = node.kids.concat(next);
      node.size++;
    }
    node = next;
  }
  node.rules = node.rules ? node.rules.concat(order) : [order];
}

/** Adds a literal suffix key, reversed, as addKey does a prefix. */
export function addSuffixKey(root: TrieNode, key: string, order: number): void {
  addKey(root, [...key].reverse().join(''), order);
}

/** Compiles `$<group|filter>` templates once: constants stay strings, others become a closure. */
function compileTemplate(t: string | null): CompiledTemplate {
  if (t === null) return null;
  if (templateRefs(t).length === 0) return t.trim() === '' ? null : t.trim();
  return compileTemplateParts(t);
}

function buildIndex(rules: readonly CompiledRule[]): { index: Map<string, FieldIndex>; unconditional: number[] } {
  const index = new Map<string, FieldIndex>();
  const unconditional: number[] = [];
  const fieldIndex = (f: string): FieldIndex => {
    let fi = index.get(f);
    if (!fi) index.set(f, (fi = { prefix: emptyNode(), suffix: emptyNode(), byFirst: new Array(129).fill(undefined), always: [] }));
    return fi;
  };
  for (const r of rules) {
    if (r.conditions.length === 0) {
      unconditional.push(r.order);
      continue;
    }
    // Dispatch on the first condition with a literal anchor; otherwise on the presence of the first field.
    let placed = false;
    for (const c of r.conditions) {
      const a = c.hints;
      if (a.prefixes) {
        for (const p of a.prefixes) addKey(fieldIndex(c.field).prefix, p, r.order);
        placed = true;
        break;
      }
      if (a.suffixes) {
        for (const s of a.suffixes) addSuffixKey(fieldIndex(c.field).suffix, s, r.order);
        placed = true;
        break;
      }
    }
    if (!placed) {
      for (const c of r.conditions) {
        const fc = c.hints.firstChars;
        if (!fc) continue;
        const fi = fieldIndex(c.field);
        for (const code of fc.ascii) (fi.byFirst[code] ??= []).push(r.order);
        if (fc.nonAscii) (fi.byFirst[128] ??= []).push(r.order);
        placed = true;
        break;
      }
    }
    if (!placed) fieldIndex(r.conditions[0]!.field).always.push(r.order);
  }
  return { index, unconditional };
}

function validateSmimeFile(file: string, data: unknown): SmimeFileInput {
  const parsed = ruleSchemas().SmimeFileSchema.safeParse(data);
  if (!parsed.success) throw new AppError('E_RULE_INVALID', `${file}: ${issuesText(parsed.error, null)}`);
  return parsed.data;
}

function validateRuleFile(file: string, data: unknown): RuleFileInput {
  const parsed = ruleSchemas().RuleFileSchema.safeParse(data ?? []);
  if (!parsed.success) throw new AppError('E_RULE_INVALID', `${file}: ${issuesText(parsed.error, data)}`);
  return parsed.data;
}

/** What a rule set keeps of an S/MIME file (loadSmime): the built rule set stores only this. */
type SmimeLoaded = { readonly family: string; readonly entries: ReadonlyArray<Pick<SmimeFileInput['entries'][number], 'since' | 'until' | 'platform' | 'level' | 'references'>> };

function loadSmime(file: string, built?: SmimeLoaded): SmimeFamily {
  const parsed: { data: SmimeLoaded } = { data: built ?? readValidated(file, 'smime', (d) => validateSmimeFile(file, d)) };
  const entries: SmimeEntry[] = parsed.data.entries.map((e) => ({
    since: e.since ?? null,
    until: e.until ?? null,
    platform: e.platform ?? null,
    level: e.level,
    references: e.references ?? [],
  }));
  return { family: parsed.data.family, file, entries };
}

/*
 * The built rule set. Even from the precompiled entries above, loading the shipped rules cost
 * `import -` (one process per message) ~20% of its CPU: a sha256 per file for its cache key, the
 * 0.5 MB precompiled file parsed twice over (entries are JSON text inside JSON), a sha256 per
 * regex for its ReDoS verdict key and the 53 KB verdict file parsed to find verdicts that are
 * all "safe". The build (scripts/post-build.mjs) therefore also writes what loading the shipped
 * folder alone yields before compilation — the rules after overrides, what a rule set keeps of
 * the validated S/MIME files, the dispatch hints of every regex and the dispatch index built
 * from them — once the full load has run on it (so every regex was proven safe and every
 * template checked, or the build failed). A set loaded from it compiles each rule when the
 * dispatch first tries it (compileInputs).
 *
 * It is used only when the rule folders are exactly the shipped one (no operator folder: those
 * load as before) and only when its key equals the key of what is on disk now: one sha256 over
 * every rule and S/MIME file of the folder (name, length, bytes, in load order), the verdict
 * file, the checker's version and the text of the modules that validate, override, hint and
 * check (load, rule-schema, regex-dispatch, regex-safety). An edited, added or removed rule
 * file, another verdict file or a tsc run without this step misses and loads as usual: a stale
 * built set is never used. Nothing is written at run time.
 */
const BUILT_FILE = 'built-rules.json';
const BUILT_FORMAT = 2;

/** A built rule set's checked regexes: hintsKey -> hints (present = proven safe by the build). */
interface BuiltRegexes {
  readonly hints: ReadonlyMap<string, RegexHints>;
}
interface BuiltInputs extends BuiltRegexes {
  /** S/MIME file (absolute) -> what the rule set keeps of its validated contents. */
  readonly smime: ReadonlyMap<string, SmimeLoaded>;
  /** The examples of the rule at a position of the input rules (parsed on first call). */
  readonly examples: (i: number) => readonly ExampleInput[];
  /** The dispatch index the build computed from these rules (buildIndex's result). */
  readonly index: { index: ReadonlyMap<string, FieldIndex>; unconditional: readonly number[] };
}

/** A FieldIndex as the built rule set stores it: byFirst without its empty slots (JSON has no holes). */
interface BuiltFieldIndex {
  readonly prefix: TrieNode;
  readonly suffix: TrieNode;
  readonly byFirst: Record<string, number[]>;
  readonly always: number[];
}

interface BuiltFile {
  readonly format: number;
  readonly key: string;
  /**
   * Rules after overrides, in load order; `file` relative to the rules folder, '/'-separated.
   * Without `description` (no compiled rule keeps it) and `examples` (in `examples` below).
   */
  readonly rules: ReadonlyArray<{ readonly input: RuleInput; readonly file: string }>;
  /**
   * JSON text of each rule's examples, same order: a string is scanned at load, not built into
   * ~1,000 objects that one delivery never reads (they were a quarter of this file).
   */
  readonly examples: string;
  readonly files: readonly string[];
  readonly smimeFiles: readonly string[];
  /** What loadSmime keeps of each of smimeFiles (same order): the notes and test records were a third of this file. */
  readonly smime: readonly SmimeLoaded[];
  readonly hints: Record<string, RegexHints>;
  /**
   * The dispatch index of `rules` (buildIndex), by field: JSON.parse makes its ~3,000 trie nodes
   * in native code, where building them ran in the interpreter at every start (~5 ms of a delivery).
   * The build's test (precompiled-rules) holds it equal to the index built from the YAML.
   */
  readonly index: Record<string, BuiltFieldIndex>;
  readonly unconditional: readonly number[];
}

/** The key of the rules folder `dir` as it is now (see above). */
function builtKey(dir: string): string {
  const h = createHash('sha256');
  h.update(`built-rules ${BUILT_FORMAT}\0${CHECKER}\0`);
  for (const m of ['load', 'rule-schema', 'regex-dispatch', 'regex-safety']) h.update(`${m}\0${moduleHash(m)}\0`);
  for (const kind of ['clients', 'smime'] as const) {
    for (const file of yamlFiles(join(dir, kind))) {
      const bytes = readBytes(file);
      h.update(`${kind}/${basename(file)}\0${bytes.length}\0`).update(bytes);
    }
  }
  const verdicts = join(dir, VERDICT_FILE);
  const v = existsSync(verdicts) ? readFileSync(verdicts) : Buffer.alloc(0);
  h.update(`${VERDICT_FILE}\0${v.length}\0`).update(v);
  return h.digest('hex');
}

function builtPath(): string {
  return fileURLToPath(new URL(`./${BUILT_FILE}`, import.meta.url));
}

function relativeName(dir: string, file: string): string {
  return relative(dir, file).split(sep).join('/');
}

let builtUses = 0;
/** How many rule loads in this process came from the built rule set (for tests). */
export function builtRuleSetUses(): number {
  return builtUses;
}

/** The rules folder `dir` from the built rule set, or null when there is none or it does not match what is on disk (loadRules asks for the shipped folder only; exported for tests, which ask for copies). */
export function builtRuleSet(dir: string): RuleSet | null {
  const f = builtPath();
  if (!existsSync(f)) return null;
  let data: Partial<BuiltFile>;
  try {
    data = JSON.parse(readFileSync(f, 'utf8')) as Partial<BuiltFile>;
  } catch {
    return null; // an unreadable built set is none: the folder loads as usual
  }
  if (data.format !== BUILT_FORMAT || typeof data.key !== 'string' || !Array.isArray(data.rules) || typeof data.examples !== 'string' || !Array.isArray(data.files) || !Array.isArray(data.smimeFiles) || !Array.isArray(data.smime) || data.smime.length !== data.smimeFiles.length || !data.hints || !data.index || !Array.isArray(data.unconditional)) return null;
  if (builtKey(dir) !== data.key) return null;
  // 283 rules name ~80 files: join each once.
  const absolute = new Map<string, string>();
  const abs = (rel: string): string => {
    let f = absolute.get(rel);
    if (f === undefined) absolute.set(rel, (f = join(dir, ...rel.split('/'))));
    return f;
  };
  const smimeFiles = data.smimeFiles.map(abs);
  const smime = new Map(smimeFiles.map((file, i) => [file, data.smime![i]!]));
  const examplesText = data.examples;
  const index = new Map<string, FieldIndex>();
  for (const [field, fi] of Object.entries(data.index)) {
    const byFirst = new Array<number[] | undefined>(129).fill(undefined);
    for (const [code, list] of Object.entries(fi.byFirst)) byFirst[Number(code)] = list;
    index.set(field, { prefix: fi.prefix, suffix: fi.suffix, byFirst, always: fi.always });
  }
  let examples: ReadonlyArray<readonly ExampleInput[]> | undefined;
  const set = compileInputs(
    { rules: data.rules.map((r) => ({ input: r.input, file: abs(r.file) })), files: data.files.map(abs), smimeFiles },
    { hints: new Map(Object.entries(data.hints)), smime, examples: (i) => (examples ??= JSON.parse(examplesText) as Array<readonly ExampleInput[]>)[i] ?? [], index: { index, unconditional: data.unconditional } },
  );
  builtUses++;
  return set;
}

/**
 * The built rule set of the shipped folder `dir` (for scripts/post-build.mjs): loads it in full
 * first (every check loadRules makes, recheck included for a regex without a verdict), so a build
 * with a rule loadRules would refuse fails. Returns where to write it and its text.
 */
export function buildRuleSet(dir: string = defaultRulesDir()): { file: string; json: string } {
  const inputs = readRuleInputs([dir]);
  const set = compileInputs(inputs);
  const index: Record<string, BuiltFieldIndex> = {};
  for (const [field, fi] of set.index) {
    const byFirst: Record<string, number[]> = {};
    fi.byFirst.forEach((list, code) => {
      if (list) byFirst[code] = list;
    });
    index[field] = { prefix: fi.prefix, suffix: fi.suffix, byFirst, always: fi.always };
  }
  const hints: Record<string, RegexHints> = {};
  for (const { input: r } of inputs.rules) {
    const flags = ruleFlags(r);
    for (const source of [...Object.values(r.match ?? {}), ...(r.checks ?? []).flatMap((c) => (c.pattern !== undefined ? [c.pattern] : []))]) hints[hintsKey(source, flags)] = hintsOf(source, flags);
  }
  const data: BuiltFile = {
    format: BUILT_FORMAT,
    key: builtKey(dir),
    rules: inputs.rules.map((r) => {
      const { description: _description, examples: _examples, ...input } = r.input;
      return { input: input as RuleInput, file: relativeName(dir, r.file) };
    }),
    examples: JSON.stringify(inputs.rules.map((r) => r.input.examples ?? [])),
    files: inputs.files.map((f) => relativeName(dir, f)),
    smimeFiles: inputs.smimeFiles.map((f) => relativeName(dir, f)),
    smime: inputs.smimeFiles.map((f) => {
      const { family, entries } = readValidated(f, 'smime', (d) => validateSmimeFile(f, d));
      return { family, entries: entries.map(({ since, until, platform, level, references }) => ({ since, until, platform, level, references })) };
    }),
    hints,
    index,
    unconditional: set.unconditional,
  };
  return { file: builtPath(), json: JSON.stringify(data) };
}

/**
 * Raw (validated, uncompiled) rules of the given folders after overrides, with their files;
 * `precompiled` counts the rule files taken from the build's precompiled entries instead of YAML.
 */
export function readRuleInputs(dirs: readonly string[]): { rules: SourcedRule[]; files: string[]; smimeFiles: string[]; precompiled: number } {
  const before = precompiledHits;
  const byId = new Map<string, SourcedRule>();
  const files: string[] = [];
  const smimeFiles: string[] = [];
  for (const dir of dirs) {
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new AppError('E_RULE_INVALID', `rules folder ${dir} does not exist`);
    const seenHere = new Map<string, string>();
    for (const file of yamlFiles(join(dir, 'clients'))) {
      files.push(file);
      for (const r of readValidated(file, 'clients', (d) => validateRuleFile(file, d))) {
        const prev = seenHere.get(r.id);
        if (prev) throw new AppError('E_RULE_INVALID', `${file}: rule ${r.id}: id already used in ${prev}`);
        seenHere.set(r.id, file);
        if ('disabled' in r && r.disabled === true) {
          // An operator folder removes a shipped rule by id.
          byId.delete(r.id);
          continue;
        }
        byId.delete(r.id); // re-insert so an override takes the later folder's load order
        byId.set(r.id, { input: r as RuleInput, file });
      }
    }
    smimeFiles.push(...yamlFiles(join(dir, 'smime')));
  }
  return { rules: [...byId.values()], files, smimeFiles, precompiled: precompiledHits - before };
}

/**
 * Loads `<dir>/clients/*.yaml` and `<dir>/smime/*.yaml` of each folder in order; later folders
 * override rules (and S/MIME families) with the same id. Throws AppError naming file and rule id.
 */
export function loadRules(dirs: readonly string[]): RuleSet {
  if (dirs.length === 1 && resolve(dirs[0]!) === resolve(defaultRulesDir())) {
    const built = builtRuleSet(dirs[0]!);
    if (built) return built;
  }
  return compileRuleSet(readRuleInputs(dirs));
}

/** Compiles rule inputs (readRuleInputs, possibly filtered: `eval --cv` drops rules per fold) into a RuleSet. */
export function compileRuleSet(input: RuleInputs): RuleSet {
  return compileInputs(input);
}

type RuleInputs = { readonly rules: readonly SourcedRule[]; readonly files: readonly string[]; readonly smimeFiles: readonly string[] };

/** compileRuleSet, with the built rule set's checked regexes and validated S/MIME files when `built` is given. */
function compileInputs(input: RuleInputs, built?: BuiltInputs): RuleSet {
  const { rules: inputs, files, smimeFiles } = input;
  const sorted = inputs
    .map((s, i) => ({ ...s, i }))
    .sort((a, b) => a.input.priority - b.input.priority || a.i - b.i);
  const examples = built ? (i: number) => () => built.examples(i) : () => undefined;
  const ruleSources = sorted.filter((s) => s.input.stamp === undefined);
  const compileAt = (order: number): CompiledRule => {
    const s = ruleSources[order]!;
    return compileRule(s.input, s.file, order, built, examples(s.i));
  };
  // The built set's rules were compiled (and so checked) by the build: each compiles when the dispatch first tries it (below).
  const eager = built ? null : ruleSources.map((_, order) => compileAt(order));
  const stamps = sorted.filter((s) => s.input.stamp !== undefined).map((s, order) => compileRule(s.input, s.file, order, built, examples(s.i)));
  for (const st of stamps) {
    if (PSEUDO_FIELDS.includes(st.stamp!.field)) throw new AppError('E_RULE_INVALID', `${st.file}: rule ${st.id}: stamp names ${st.stamp!.field}, a pseudo-field; name the header the provider wrote`);
  }
  const { index, unconditional } = built?.index ?? buildIndex(eager!);
  const smime = new Map<string, SmimeFamily>();
  for (const f of smimeFiles) {
    const fam = loadSmime(f, built?.smime.get(f));
    smime.set(fam.family, fam);
  }
  // A family whose answer cannot depend on version or platform (no file, or one unconditional entry).
  const invariant = (family: string | null): boolean => {
    const fam = family === null ? undefined : smime.get(family);
    if (!fam) return true;
    const e = fam.entries;
    return e.length === 0 || (e.length === 1 && !e[0]!.since && !e[0]!.until && !e[0]!.platform);
  };
  const finish = (r: CompiledRule): CompiledRule => {
    const { version, platform } = r.client;
    if (r.client.kind === 'automated' || invariant(r.client.family)) {
      r.fixedSmime = ruleCapability(smime, r, null, null);
      Object.freeze(r.fixedSmime.references);
    } else if ((version === null || typeof version === 'string') && (platform === null || typeof platform === 'string')) {
      r.fixedSmime = ruleCapability(smime, r, version, platform);
      Object.freeze(r.fixedSmime.references);
    }
    return r;
  };
  for (const r of stamps) finish(r);
  const base = { stamps, index, unconditional, smime, files: [...files, ...smimeFiles] };
  if (eager) {
    for (const r of eager) finish(r);
    return Object.freeze({ ...base, rules: eager, ruleAt: (order: number) => eager[order]! });
  }
  /*
   * Rules of the built set compile on first use: one delivery of `import -` (a process per
   * message) tries a few of the 283, and compiling all of them was ~5 ms of its CPU. Whoever
   * reads `rules` (lint, rules test, eval) gets every rule, compiled then, the same objects.
   */
  const compiled: Array<CompiledRule | undefined> = new Array<CompiledRule | undefined>(ruleSources.length).fill(undefined);
  const ruleAt = (order: number): CompiledRule => compiled[order] ?? (compiled[order] = finish(compileAt(order)));
  let all: readonly CompiledRule[] | undefined;
  return Object.freeze({
    ...base,
    get rules(): readonly CompiledRule[] {
      return (all ??= ruleSources.map((_, order) => ruleAt(order)));
    },
    ruleAt,
  });
}
