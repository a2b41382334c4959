/** Compiled rule set: what loadRules builds once and classify reads. */
import type { Kind } from '../core/index.js';
import type { ExampleInput } from './rule-schema.js';
import type { SmimeFamily } from './smime.js';

export interface CompiledCondition {
  readonly field: string;
  readonly re: RegExp;
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
  readonly product: string | null;
  readonly version: string | null;
  readonly platform: string | null;
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
}

/** Per field: rules reachable by a literal prefix/suffix of the value, and rules always tried when the field is present. */
export interface FieldIndex {
  /** key length -> lower-cased literal prefix -> rule orders */
  readonly prefix: Map<number, Map<string, number[]>>;
  readonly suffix: Map<number, Map<string, number[]>>;
  readonly always: number[];
}

export interface RuleSet {
  /** Sorted by (priority, load order). */
  readonly rules: readonly CompiledRule[];
  readonly index: ReadonlyMap<string, FieldIndex>;
  /** Rules with only absent-conditions: tried for every input. */
  readonly unconditional: readonly number[];
  readonly smime: ReadonlyMap<string, SmimeFamily>;
  /** Files loaded, in order. */
  readonly files: readonly string[];
}
