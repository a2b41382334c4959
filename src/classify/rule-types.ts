/** Compiled rule set: what loadRules builds once and classify reads. */
import type { Kind } from '../core/index.js';
import type { ExampleInput } from './rule-schema.js';
import type { SmimeFamily } from './smime.js';
import type { RegexHints } from './regex-dispatch.js';

export interface CompiledCondition {
  readonly field: string;
  readonly re: RegExp;
  /** What the dispatch index reads of `re`'s text (regex-dispatch.ts). */
  readonly hints: RegexHints;
}

export interface CompiledCheck {
  readonly code: string;
  /** A field/pseudo-field name, or null when `group` is used. */
  readonly field: string | null;
  /** A named group captured by the rule's match. */
  readonly group: string | null;
  readonly re: RegExp | null;
  readonly absent: boolean | null;
}

export interface ClientTemplate {
  readonly family: string | null;
  readonly kind: Kind;
  readonly product: CompiledTemplate;
  readonly version: CompiledTemplate;
  readonly platform: CompiledTemplate;
}

export interface CompiledRule {
  readonly id: string;
  readonly priority: number;
  /** Position in the sorted rule list: the dispatch index stores these. */
  readonly order: number;
  readonly file: string;
  readonly conditions: readonly CompiledCondition[];
  readonly absent: readonly string[];
  readonly client: ClientTemplate;
  readonly confidence: number;
  readonly candidates: readonly string[] | null;
  readonly warnings: readonly string[];
  readonly checks: readonly CompiledCheck[];
  readonly references: readonly string[];
  readonly examples: readonly ExampleInput[];
  /** A provider stamp (rules/README.md): the field whose matching values the provider wrote, hidden before the other rules run. */
  readonly stamp: { readonly field: string; readonly re: RegExp; readonly replaces: boolean } | null;
  /** Why the rule matches a constant value (exempt from the generalisation check), or null. */
  readonly fixedValue: string | null;
  /**
   * The S/MIME answer when version and platform are constants (most Message-ID and marker rules),
   * computed once after the S/MIME files are loaded; null when it depends on captured groups.
   */
  fixedSmime: import('./smime.js').Capability | null;
}

/**
 * A character trie over lower-cased literal prefixes (or reversed suffixes); `rules` end at this node.
 * Children are kept compact: `codes[i]` (a lower-cased UTF-16 code unit) leads to `kids[i]`, scanned
 * linearly. Nearly every node has one child (2418 of 3095 in the shipped rules; 510 leaves, the
 * widest 27), and an array indexed by code unit had V8 allocate up to the highest code per node
 * (264k slots in all): the heap kept after loading the shipped rules was 4.9 MB, now 1.7 MB.
 */
export interface TrieNode {
  codes: number[];
  kids: TrieNode[];
  /** The number of children (an empty trie is skipped without walking). */
  size: number;
  rules: number[] | null;
}

/** Per field: rules reachable by a literal prefix/suffix of the value, and rules always tried when the field is present. */
export interface FieldIndex {
  readonly prefix: TrieNode;
  readonly suffix: TrieNode;
  /** For ^-anchored rules without a literal prefix: rules by first character code (index 128 = non-ASCII). */
  readonly byFirst: Array<number[] | undefined>;
  readonly always: number[];
}

/** A product/version/platform template compiled at load: constant text or parts joined at match time. */
export type CompiledTemplate = null | string | ((groups: Readonly<Record<string, string | undefined>>) => string | null);

export interface RuleSet {
  /** Sorted by (priority, load order). */
  readonly rules: readonly CompiledRule[];
  /** `rules[order]`, which a rule set from the build's built rule set compiles on first use (load.ts): what classify reads. */
  ruleAt(order: number): CompiledRule;
  /** Provider-stamp rules, by priority: run on every input before the dispatch (not in `rules` or the index). */
  readonly stamps: readonly CompiledRule[];
  readonly index: ReadonlyMap<string, FieldIndex>;
  /** Rules with only absent-conditions: tried for every input. */
  readonly unconditional: readonly number[];
  readonly smime: ReadonlyMap<string, SmimeFamily>;
  /** Files loaded, in order. */
  readonly files: readonly string[];
}
