/**
 * The capability census of the loaded rule set, behind `rules capability`: every entry of
 * rules/smime/*.yaml is one cell (a family at a version range and platform); the count of
 * `unknown` cells is how issue 15 measures what the sources have not answered yet.
 */
import type { SmimeLevel } from '../core/index.js';
import type { RuleSet } from './rule-types.js';

export interface CapabilityCell {
  readonly family: string;
  readonly since: string | null;
  readonly until: string | null;
  readonly platform: string | null;
  readonly level: SmimeLevel;
  readonly references: number;
}

export interface CapabilityReport {
  readonly families: number;
  readonly cells: number;
  readonly byLevel: Readonly<Record<SmimeLevel, number>>;
  readonly list: readonly CapabilityCell[];
}

/** Every capability cell of `rules`, by family then entry order, with the count per level. */
export function capabilityReport(rules: RuleSet): CapabilityReport {
  const byLevel: Record<SmimeLevel, number> = { verify: 0, tolerate: 0, broken: 0, unknown: 0 };
  const list: CapabilityCell[] = [];
  const families = [...rules.smime.values()].sort((a, b) => a.family.localeCompare(b.family));
  for (const fam of families) {
    for (const e of fam.entries) {
      byLevel[e.level]++;
      list.push({ family: fam.family, since: e.since, until: e.until, platform: e.platform, level: e.level, references: e.references.length });
    }
  }
  return { families: families.length, cells: list.length, byLevel, list };
}
