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
