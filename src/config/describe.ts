/**
 * The configuration table as documentation: the rows of CONFIG_KEYS with each key's default and
 * allowed values read from the zod schema (the one place defaults live), and the README's
 * Markdown table made from them (`npm run docs:config`; a test checks the README matches).
 * Not loaded at start-up: only the docs script, `config` tooling and tests import it.
 */
import type { z } from 'zod';
import { configSchema } from './index.js';
import { CONFIG_KEYS, OTHER_ENV, type ConfigKey } from './keys.js';

/** What the schema says about one leaf key. */
export interface SchemaLeaf {
  readonly kind: 'string' | 'integer' | 'number' | 'boolean' | 'enum' | 'list' | 'other';
  /** Allowed values of an enum (or literal) key. */
  readonly values?: readonly string[];
  readonly hasDefault: boolean;
  readonly default?: unknown;
}

interface Def {
  type: string;
  innerType?: z.ZodType;
  defaultValue?: unknown;
  in?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  options?: z.ZodType[];
  entries?: Record<string, string>;
  values?: unknown[];
}
const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/**
 * Every leaf key of the schema (`accounts[].auth.tokenFile` style) with its kind, allowed values
 * and default. Objects are walked, lists of objects become `name[]`, the variants of a union are
 * merged (an enum's values, e.g. `auth.type`, are the union of theirs).
 */
export function schemaLeaves(schema: z.ZodType = configSchema): Map<string, SchemaLeaf> {
  const out = new Map<string, SchemaLeaf>();
  const leaf = (key: string, l: SchemaLeaf): void => {
    const prev = out.get(key);
    if (prev?.values && l.values) out.set(key, { ...prev, values: [...new Set([...prev.values, ...l.values])] });
    else out.set(key, prev ?? l);
  };
  const visit = (s: z.ZodType, key: string, dflt: { has: boolean; value?: unknown }): void => {
    const d = defOf(s);
    switch (d.type) {
      case 'default':
        // The innermost default wins: an object's default holds the same values as its fields'.
        return visit(d.innerType!, key, { has: true, value: d.defaultValue });
      case 'optional':
        return visit(d.innerType!, key, dflt);
      case 'pipe':
        return visit(d.in!, key, dflt);
      case 'object':
        for (const [name, field] of Object.entries(d.shape!)) visit(field, key ? `${key}.${name}` : name, { has: false });
        return;
      case 'union':
        for (const o of d.options!) visit(o, key, { has: false });
        return;
      case 'array': {
        const el = defOf(d.element!);
        if (el.type === 'object' || el.type === 'union') return visit(d.element!, `${key}[]`, { has: false });
        return leaf(key, { kind: 'list', hasDefault: dflt.has, default: dflt.value });
      }
      case 'string':
      case 'boolean':
        return leaf(key, { kind: d.type, hasDefault: dflt.has, default: dflt.value });
      case 'number':
        return leaf(key, { kind: (s as z.ZodNumber).isInt ? 'integer' : 'number', hasDefault: dflt.has, default: dflt.value });
      case 'enum':
        return leaf(key, { kind: 'enum', values: Object.values(d.entries!), hasDefault: dflt.has, default: dflt.value });
      case 'literal':
        return leaf(key, { kind: 'enum', values: d.values!.map(String), hasDefault: dflt.has, default: dflt.value });
      default:
        return leaf(key, { kind: 'other', hasDefault: dflt.has, default: dflt.value });
    }
  };
  visit(schema, '', { has: false });
  return out;
}

/** One row of the README's configuration table. */
export interface ConfigRow extends ConfigKey {
  readonly values?: readonly string[];
  /** The default as the README shows it; '' for none. */
  readonly defaultText: string;
}

function showDefault(v: unknown): string {
  if (v === undefined) return '';
  if (Array.isArray(v)) return `\`[${v.join(', ')}]\``;
  return `\`${String(v)}\``;
}

/** The table rows: CONFIG_KEYS with their defaults and allowed values from the schema. */
export function configRows(): ConfigRow[] {
  const leaves = schemaLeaves();
  return CONFIG_KEYS.map((k) => {
    const l = leaves.get(k.key);
    return { ...k, ...(l?.values ? { values: l.values } : {}), defaultText: l?.hasDefault ? showDefault(l.default) : '' };
  });
}

/** Markdown cells must not contain a bare `|`. */
const cell = (s: string): string => s.replace(/\|/g, '\\|');

/** The README's configuration tables (config keys, then the other environment variables), as Markdown. */
export function configTableMarkdown(): string {
  const lines = ['| key | type | default | environment / flag | what it is |', '|---|---|---|---|---|'];
  for (const r of configRows()) {
    const type = r.values ? r.values.map((v) => `\`${v}\``).join(', ') : r.type;
    const set = [r.env ? `\`${r.env}\`` : '', r.flag ? `\`${r.flag.command ? `${r.flag.command} ` : ''}${r.flag.name}\`` : ''].filter(Boolean).join(', ');
    lines.push(`| \`${r.key}\` | ${cell(type)} | ${cell(r.defaultText)} | ${set} | ${cell(r.description)} |`);
  }
  lines.push('', '| environment variable | what it is |', '|---|---|');
  for (const e of OTHER_ENV) lines.push(`| \`${e.env}\` | ${cell(e.description)} |`);
  return lines.join('\n') + '\n';
}

export const README_TABLE_START = '<!-- config-table: generated by `npm run docs:config` from src/config/keys.ts; do not edit -->';
export const README_TABLE_END = '<!-- /config-table -->';

/** The README text with its configuration table replaced by the generated one. */
export function withConfigTable(readme: string): string {
  const start = readme.indexOf(README_TABLE_START);
  const end = readme.indexOf(README_TABLE_END);
  if (start < 0 || end < start) throw new Error(`README: the markers ${README_TABLE_START} … ${README_TABLE_END} are missing`);
  return readme.slice(0, start + README_TABLE_START.length) + '\n' + configTableMarkdown() + readme.slice(end);
}
