/**
 * The build's precompiled rules (issue 13: start-up of `import -`): the shipped rule files load
 * from JSON written at build time, the result equals parsing their YAML, and a file whose bytes
 * differ from the build's (an edited rule) is parsed from its YAML, never taken from the cache.
 * Runs the built module (dist/, built by `npm test` before vitest), where the cache sits.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultRulesDir, readRuleInputs } from '../../src/classify/index.js';

type ClassifyModule = typeof import('../../src/classify/index.js');
const built = (await import(pathToFileURL(join(import.meta.dirname, '..', '..', 'dist', 'classify', 'index.js')).href)) as ClassifyModule;

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('precompiled shipped rules', () => {
  it('loads every shipped rule file from the precompiled JSON, equal to what parsing the YAML gives', () => {
    const shipped = defaultRulesDir();
    const fromYaml = readRuleInputs([shipped]);
    const fromBuild = built.readRuleInputs([shipped]);
    expect(fromYaml.precompiled).toBe(0);
    expect(fromBuild.precompiled).toBe(fromBuild.files.length);
    expect(fromBuild.rules.length).toBeGreaterThan(100);
    expect(fromBuild.rules).toEqual(fromYaml.rules);
  });

  it('parses an edited rule file from its YAML instead of the cache, and the edit takes effect', () => {
    const dir = mkdtempSync(join(tmpdir(), 'census-precompiled-'));
    dirs.push(dir);
    cpSync(defaultRulesDir(), dir, { recursive: true });
    const clients = join(dir, 'clients');
    const file = join(clients, readdirSync(clients).filter((f) => f.endsWith('.yaml')).sort()[0]!);
    const text = readFileSync(file, 'utf8');
    const m = /^ {2}client: \{ family: ([a-z0-9-]+), kind: ([a-z]+), product: ([^,}]+)/m.exec(text);
    expect(m, `a rule with a product in ${file}`).not.toBeNull();
    writeFileSync(file, text.replace(m![0], `  client: { family: ${m![1]}, kind: ${m![2]}, product: Edited After The Build`));
    const inputs = built.readRuleInputs([dir]);
    expect(inputs.precompiled).toBe(inputs.files.length - 1);
    const set = built.loadRules([dir]);
    expect(set.rules.some((r) => r.client.product === 'Edited After The Build')).toBe(true);
  });
});

describe('precompiled regex hints', () => {
  it('holds the hints of every shipped regex, each equal to parsing the regex now', async () => {
    const { regexHints } = await import('../../src/classify/regex-dispatch.js');
    const file = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'dist', 'classify', 'precompiled-rules.json'), 'utf8')) as { hints: Record<string, unknown> };
    let n = 0;
    for (const { input: r } of readRuleInputs([defaultRulesDir()]).rules) {
      const flags = r.caseSensitive ? '' : 'i';
      for (const source of [...Object.values(r.match ?? {}), ...(r.checks ?? []).flatMap((c) => (c.pattern !== undefined ? [c.pattern] : []))]) {
        expect(file.hints[`${flags}/${source}`], `${r.id}: /${source}/${flags}`).toEqual(regexHints(source, flags));
        n++;
      }
    }
    expect(n).toBeGreaterThan(250);
  });

  it('builds the same dispatch index from the build\'s hints as from parsing every regex', async () => {
    const { loadRules } = await import('../../src/classify/index.js');
    const fromSource = loadRules([defaultRulesDir()]);
    const fromBuild = built.loadRules([defaultRulesDir()]);
    expect(fromBuild.index).toEqual(fromSource.index);
    expect(fromBuild.unconditional).toEqual(fromSource.unconditional);
  });
});

type LoadModule = typeof import('../../src/classify/load.js');
const load = (await import(pathToFileURL(join(import.meta.dirname, '..', '..', 'dist', 'classify', 'load.js')).href)) as LoadModule;

describe('built rule set', () => {
  /** What classify reads of a rule set, without the closures (compiled templates) that differ per load. */
  const shape = (s: ReturnType<LoadModule['loadRules']>) => ({
    rules: s.rules.map((r) => ({ ...r, client: { ...r.client, product: typeof r.client.product, version: typeof r.client.version, platform: typeof r.client.platform } })),
    stamps: s.stamps.map((r) => ({ id: r.id, file: r.file, order: r.order, conditions: r.conditions, stamp: r.stamp })),
    index: s.index,
    unconditional: s.unconditional,
    smime: s.smime,
    files: s.files,
  });

  function copyOfShipped(): string {
    const dir = mkdtempSync(join(tmpdir(), 'census-built-'));
    dirs.push(dir);
    cpSync(defaultRulesDir(), dir, { recursive: true });
    return dir;
  }

  it('loads the shipped folder alone from the built rule set, equal to the full load', () => {
    const before = load.builtRuleSetUses();
    const fromBuilt = load.loadRules([defaultRulesDir()]);
    expect(load.builtRuleSetUses()).toBe(before + 1);
    const full = load.compileRuleSet(load.readRuleInputs([defaultRulesDir()]));
    expect(shape(fromBuilt)).toEqual(shape(full));
    expect(fromBuilt.rules.length).toBeGreaterThan(100);
  });

  it('classifies every example of the shipped rules as the full load does, from a built set whose rules compile on first use', async () => {
    const engine = (await import(pathToFileURL(join(import.meta.dirname, '..', '..', 'dist', 'classify', 'engine.js')).href)) as typeof import('../../src/classify/engine.js');
    const full = load.compileRuleSet(load.readRuleInputs([defaultRulesDir()]));
    const inputs = [...full.rules, ...full.stamps].flatMap((r) =>
      r.examples.map((ex) => {
        const fp: Record<string, string[]> = {};
        for (const [k, v] of Object.entries(ex.headers)) (fp[k.toLowerCase()] ??= []).push(...(Array.isArray(v) ? v : [v]));
        return fp;
      }),
    );
    expect(inputs.length).toBeGreaterThan(500);
    // A fresh built set, classified before anything reads its rules list (which compiles them all).
    const before = load.builtRuleSetUses();
    const fromBuilt = load.loadRules([defaultRulesDir()]);
    expect(load.builtRuleSetUses()).toBe(before + 1);
    const verdicts = inputs.map((fp) => engine.classify(fromBuilt, fp));
    expect(verdicts).toEqual(inputs.map((fp) => engine.classify(full, fp)));
    expect(verdicts.filter((v) => v.ruleId !== null).length).toBeGreaterThan(500);
  });

    it('is not used with an operator folder beside the shipped one', () => {
    const op = mkdtempSync(join(tmpdir(), 'census-built-op-'));
    dirs.push(op);
    const before = load.builtRuleSetUses();
    load.loadRules([defaultRulesDir(), op]);
    expect(load.builtRuleSetUses()).toBe(before);
  });

  it('matches an unchanged copy of the folder, and no folder whose rule files, S/MIME files or verdicts differ from the build', () => {
    expect(load.builtRuleSet(copyOfShipped())).not.toBeNull();
    const edits: Array<(dir: string) => void> = [
      // one byte of a rule file
      (dir) => {
        const f = join(dir, 'clients', readdirSync(join(dir, 'clients')).filter((n) => n.endsWith('.yaml')).sort()[0]!);
        writeFileSync(f, readFileSync(f, 'utf8') + '\n');
      },
      // a rule file added
      (dir) => writeFileSync(join(dir, 'clients', 'zz-extra.yaml'), '[]\n'),
      // an S/MIME file removed
      (dir) => rmSync(join(dir, 'smime', readdirSync(join(dir, 'smime')).filter((n) => n.endsWith('.yaml')).sort()[0]!)),
      // the verdict file changed
      (dir) => writeFileSync(join(dir, 'regex-verdicts.json'), readFileSync(join(dir, 'regex-verdicts.json'), 'utf8') + ' '),
    ];
    for (const edit of edits) {
      const dir = copyOfShipped();
      edit(dir);
      expect(load.builtRuleSet(dir), edit.toString()).toBeNull();
    }
  });

  it('an edited shipped rule takes effect through loadRules of that folder (the full load)', () => {
    const dir = copyOfShipped();
    const clients = join(dir, 'clients');
    const file = join(clients, readdirSync(clients).filter((f) => f.endsWith('.yaml')).sort()[0]!);
    const text = readFileSync(file, 'utf8');
    const m = /^ {2}client: \{ family: ([a-z0-9-]+), kind: ([a-z]+), product: ([^,}]+)/m.exec(text)!;
    writeFileSync(file, text.replace(m[0], `  client: { family: ${m[1]}, kind: ${m[2]}, product: Edited After The Build`));
    expect(load.builtRuleSet(dir)).toBeNull();
    expect(load.loadRules([dir]).rules.some((r) => r.client.product === 'Edited After The Build')).toBe(true);
  });
});
