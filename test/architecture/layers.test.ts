/**
 * The layers of STYLE.md, held against every import in src/: arrows point down (adapters ->
 * app -> stages -> core), stages never import each other and meet only in app/, and store/ is
 * the only home of SQL and driver handles. Type-only imports count less (they vanish at run
 * time) but are still listed where a layer may take only types from another.
 *
 * A dependency outside the table fails, and so does an exception that no import needs any
 * more: the list below is the whole truth about where the layers bend, each with its reason.
 */
import { relative, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importEdges, SRC, tsFiles } from '../helpers/import-graph.js';

type Layer = 'core' | 'config' | 'parse' | 'classify' | 'policy' | 'sign' | 'source' | 'store' | 'app' | 'cli' | 'http' | 'library' | 'relay' | 'index';

const STAGES: readonly Layer[] = ['parse', 'classify', 'policy', 'sign', 'source'];
const ADAPTERS: readonly Layer[] = ['cli', 'http', 'library', 'relay'];

/** What each layer may import at run time (itself always). */
const MAY_IMPORT: Record<Layer, readonly Layer[]> = {
  core: [],
  config: ['core'],
  // Stages take their configuration explicitly (config's types and its validated values).
  parse: ['core', 'config'],
  classify: ['core', 'config'],
  policy: ['core', 'config'],
  sign: ['core', 'config'],
  source: ['core', 'config'],
  store: ['core'],
  app: ['core', 'config', ...STAGES, 'store'],
  cli: ['core', 'config', 'app'],
  http: ['core', 'config', 'app'],
  library: ['core', 'config', 'app'],
  relay: ['core', 'config', 'app'],
  // The package's public entry re-exports the faces.
  index: ['core', 'config', 'app', 'http', 'library', 'policy', 'sign', 'relay'],
};

/** What a layer may import for types only, beyond MAY_IMPORT. */
const MAY_IMPORT_TYPES: Partial<Record<Layer, readonly Layer[]>> = {
  // The contract speaks in the policy's per-address state and decision types.
  store: ['policy'],
  // Adapters name the shapes their use cases take and return.
  cli: ['store', 'sign', 'relay'],
  http: ['store', 'policy'],
  library: ['store', 'policy'],
  relay: ['sign'],
};

/**
 * Run-time imports across the table, each by module and with the reason it stays. `from -> to`
 * as paths under src/.
 */
const EXCEPTIONS = new Map<string, string>([
  ['cli/commands/eval.ts -> classify/index.ts', 'eval scores the rule set itself: the classify stage is its subject, not a step of a pipeline'],
  ['cli/commands/rules.ts -> classify/index.ts', '`rules lint/test` are the rule engine\'s own tooling'],
  ['cli/rule-dirs.ts -> classify/index.ts', 'where the shipped rules live, for `rules` and `eval`'],
  ['cli/commands/sign.ts -> sign/index.ts', '`sign` is the signing stage\'s own command (key + message in, signed message out); no census involved'],
  ['cli/configured-signer.ts -> sign/index.ts', 'builds the signer from config for `sign` and the relay'],
  ['cli/commands/serve.ts -> http/index.ts', '`serve` composes the HTTP face'],
  ['cli/commands/serve.ts -> relay/index.ts', '`serve` composes the signing relay'],
  ['cli/commands/relay.ts -> relay/index.ts', '`relay` starts the signing relay'],
]);

function layerOf(file: string): Layer {
  const top = relative(SRC, file).split(sep)[0]!.replace(/\.ts$/, '');
  if (!(top in MAY_IMPORT)) throw new Error(`src/${top}: a folder the layer table does not know (add it to test/architecture/layers.test.ts)`);
  return top as Layer;
}

describe('layers of src/ (STYLE.md: arrows point down, stages meet only in app/)', () => {
  const graph = importEdges(tsFiles(SRC));
  const edges = [...graph].flatMap(([from, es]) => es.map((e) => ({ from, ...e })));
  const rel = (f: string): string => relative(SRC, f).split(sep).join('/');

  it('sees type-only and run-time imports apart', () => {
    const contract = [...graph].find(([f]) => rel(f) === 'store/contract.ts')![1];
    expect(contract.some((e) => rel(e.to).startsWith('policy/') && e.typeOnly)).toBe(true);
    const ingest = [...graph].find(([f]) => rel(f) === 'app/ingest.ts')![1];
    expect(ingest.some((e) => rel(e.to).startsWith('parse/') && !e.typeOnly)).toBe(true);
  });

  it('every import goes down the table, or is a named exception', () => {
    const wrong: string[] = [];
    for (const e of edges) {
      const a = layerOf(e.from);
      const b = layerOf(e.to);
      if (a === b || MAY_IMPORT[a].includes(b)) continue;
      if (e.typeOnly && MAY_IMPORT_TYPES[a]?.includes(b)) continue;
      const key = `${rel(e.from)} -> ${rel(e.to)}`;
      if (!EXCEPTIONS.has(key)) wrong.push(`${key}${e.typeOnly ? ' (types)' : ''}`);
    }
    expect(wrong).toEqual([]);
  });

  it('no exception is stale (each is still an import that needs it)', () => {
    const present = new Set(edges.map((e) => `${rel(e.from)} -> ${rel(e.to)}`));
    expect([...EXCEPTIONS.keys()].filter((k) => !present.has(k))).toEqual([]);
  });

  it('stages never import each other, not even for types (they meet in app/)', () => {
    const across = edges.filter((e) => {
      const a = layerOf(e.from);
      const b = layerOf(e.to);
      return a !== b && STAGES.includes(a) && STAGES.includes(b);
    });
    expect(across.map((e) => `${rel(e.from)} -> ${rel(e.to)}`)).toEqual([]);
  });

  it('nothing outside store/ imports a database driver', async () => {
    const { readFileSync } = await import('node:fs');
    const DRIVERS = /from '(?:better-sqlite3|pg|pg-[a-z-]+|postgres|drizzle-orm(?:\/[a-z0-9-]+)*)'/;
    const outside = tsFiles(SRC).filter((f) => !rel(f).startsWith('store/') && DRIVERS.test(readFileSync(f, 'utf8')));
    expect(outside.map(rel)).toEqual([]);
  });

  it('adapters reach the census only through app/ (no store/ at run time)', () => {
    const direct = edges.filter((e) => ADAPTERS.includes(layerOf(e.from)) && layerOf(e.to) === 'store' && !e.typeOnly);
    expect(direct.map((e) => `${rel(e.from)} -> ${rel(e.to)}`)).toEqual([]);
  });
});
