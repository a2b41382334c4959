/**
 * The configuration table (src/config/keys.ts), the zod schema and the README agree: every
 * schema key has a table row and the other way round, with a matching type; the README's table
 * is exactly the one generated from them (`npm run docs:config`); every CENSUS_* variable the
 * code reads is in one of the tables.
 */
import { describe, it, expect } from 'vitest';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_KEYS, OTHER_ENV, type ConfigValueType } from '../../src/config/index.js';
import { schemaLeaves, withConfigTable, configRows, README_TABLE_START, README_TABLE_END } from '../../src/config/describe.js';

const ROOT = join(import.meta.dirname, '..', '..');

/** The schema kinds each table type may describe. */
const KINDS: Record<ConfigValueType, readonly string[]> = {
  string: ['string'],
  path: ['string'],
  integer: ['integer'],
  boolean: ['boolean'],
  enum: ['enum'],
  list: ['list'],
  'path list': ['list'],
};

describe('configuration table', () => {
  it('has one row per schema key, each with a type the schema agrees with', () => {
    const leaves = schemaLeaves();
    const keys = CONFIG_KEYS.map((k) => k.key);
    expect(new Set(keys).size).toBe(keys.length);
    expect([...keys].sort()).toEqual([...leaves.keys()].sort());
    for (const k of CONFIG_KEYS) expect(KINDS[k.type], `${k.key}: table says ${k.type}, schema says ${leaves.get(k.key)?.kind}`).toContain(leaves.get(k.key)!.kind);
  });

  it('takes its defaults from the schema', () => {
    const row = (key: string) => configRows().find((r) => r.key === key)!;
    expect(row('db').defaultText).toBe('`./data/census.db`');
    expect(row('http.port').defaultText).toBe('`8025`');
    expect(row('serve.poll').defaultText).toBe('`true`');
    expect(row('accounts[].folders').defaultText).toBe('`[INBOX]`');
    expect(row('trustedAuthservId').defaultText).toBe('');
  });

  it('names each environment variable once', () => {
    const names = [...CONFIG_KEYS.flatMap((k) => (k.env ? [k.env] : [])), ...OTHER_ENV.map((e) => e.env)];
    expect(new Set(names).size).toBe(names.length);
  });

  it('the README configuration table is the generated one (run `npm run docs:config` after changing keys.ts)', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(readme).toContain(README_TABLE_START);
    expect(readme).toContain(README_TABLE_END);
    expect(withConfigTable(readme)).toBe(readme);
  });

  it('documents every CENSUS_* environment variable the code reads', () => {
    const documented = new Set([...CONFIG_KEYS.flatMap((k) => (k.env ? [k.env] : [])), ...OTHER_ENV.map((e) => e.env)]);
    // Set by us for a child openssl process (`-passin env:`), never read from the user's environment.
    const internal = new Set(['CENSUS_P12_PASS']);
    const found = new Set<string>();
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const p = join(dir, name);
        if (statSync(p).isDirectory()) walk(p);
        else if (name.endsWith('.ts')) for (const m of readFileSync(p, 'utf8').matchAll(/\bCENSUS_[A-Z0-9_]*[A-Z0-9]\b/g)) found.add(m[0]);
      }
    };
    walk(join(ROOT, 'src'));
    expect(found.size).toBeGreaterThan(10);
    const undocumented = [...found].filter((v) => !documented.has(v) && !internal.has(v));
    expect(undocumented).toEqual([]);
  });
});
