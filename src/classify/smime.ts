/**
 * S/MIME capability lookup over rules/smime/*.yaml: first entry whose version range and platform
 * fit wins; an unknown version takes the weakest level among the entries that could apply.
 */
import { weakerSmime, type SmimeLevel } from '../core/index.js';

export interface SmimeEntry {
  readonly since: string | null;
  readonly until: string | null;
  readonly platform: string | null;
  readonly level: SmimeLevel;
  readonly references: readonly string[];
}

export interface SmimeFamily {
  readonly family: string;
  readonly file: string;
  readonly entries: readonly SmimeEntry[];
}

export interface Capability {
  level: SmimeLevel;
  references: readonly string[];
}

/** Dotted-numeric comparison; non-numeric parts compare by their leading digits ("1.13.1r5676"). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.,]/);
  const pb = b.split(/[.,]/);
  const n = Math.max(pa.length, pb.length);
  for (let i = 0; i < n; i++) {
    const x = parseInt(pa[i] ?? '0', 10);
    const y = parseInt(pb[i] ?? '0', 10);
    const xv = Number.isNaN(x) ? 0 : x;
    const yv = Number.isNaN(y) ? 0 : y;
    if (xv !== yv) return xv < yv ? -1 : 1;
  }
  return 0;
}

function platformFits(entry: SmimeEntry, platform: string | null): boolean | 'maybe' {
  if (entry.platform === null) return true;
  if (platform === null) return 'maybe';
  return platform.toLowerCase().startsWith(entry.platform.toLowerCase()) || entry.platform.toLowerCase().startsWith(platform.toLowerCase());
}

function versionFits(entry: SmimeEntry, version: string): boolean {
  if (entry.since && compareVersions(version, entry.since) < 0) return false;
  if (entry.until && compareVersions(version, entry.until) >= 0) return false;
  return true;
}

/** The capability of `family` at `version` on `platform`; 'unknown' without a file or a fitting entry. */
export function capabilityOf(smime: ReadonlyMap<string, SmimeFamily>, family: string | null, version: string | null, platform: string | null): Capability {
  if (!family) return { level: 'unknown', references: [] };
  const fam = smime.get(family);
  if (!fam || fam.entries.length === 0) return { level: 'unknown', references: [] };
  const numeric = version !== null && /^\d/.test(version) ? version : null;
  if (numeric !== null) {
    let sure: SmimeEntry | null = null;
    const maybes: SmimeEntry[] = [];
    for (const e of fam.entries) {
      if (!versionFits(e, numeric)) continue;
      const p = platformFits(e, platform);
      if (p === true) {
        sure = e;
        break;
      }
      if (p === 'maybe') maybes.push(e);
    }
    if (sure && maybes.length === 0) return { level: sure.level, references: [...sure.references] };
    const pool = sure ? [...maybes, sure] : maybes;
    if (pool.length > 0) return weakest(pool);
    return { level: 'unknown', references: [] };
  }
  // Version unknown: every platform-compatible entry could apply, so take the weakest.
  const pool = fam.entries.filter((e) => platformFits(e, platform) !== false);
  return pool.length > 0 ? weakest(pool) : { level: 'unknown', references: [] };
}

function weakest(entries: readonly SmimeEntry[]): Capability {
  let level: SmimeLevel = entries[0]!.level;
  for (const e of entries) level = weakerSmime(level, e.level);
  const refs = new Set<string>();
  for (const e of entries) if (e.level === level) for (const r of e.references) refs.add(r);
  return { level, references: [...refs] };
}
