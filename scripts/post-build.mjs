// After tsc: copy the SQL migrations next to the compiled store, precompile the shipped rules, bundle the CLI and make it executable,
// make the code cache of `import -`,
// so `npm ci` (which runs `prepare`) leaves `npx smime-census` working without further steps.
import { cpSync, chmodSync, existsSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
for (const d of ['sqlite', 'postgres']) cpSync(join(root, 'src/store', d, 'migrations'), join(root, 'dist/store', d, 'migrations'), { recursive: true });
if (existsSync(join(root, 'src/http/public'))) cpSync(join(root, 'src/http/public'), join(root, 'dist/http/public'), { recursive: true });

// The shipped rules, validated once here (a build with an invalid rule file fails): start-up of
// every command then reads JSON instead of parsing YAML (src/classify/load.ts, "Precompiled rules").
const { precompileRules, buildRuleSet } = await import(join(root, 'dist/classify/load.js'));
const pre = precompileRules(join(root, 'rules'));
writeFileSync(pre.file, pre.json);
// And the shipped folder's built rule set, keyed by its contents (src/classify/load.ts, "The built rule set"):
// a start-up with only the shipped rules reads one JSON file and compiles, without per-file or per-regex hashing.
const builtSet = buildRuleSet(join(root, 'rules'));
writeFileSync(builtSet.file, builtSet.json);

// The CLI as a few bundled files (scripts/bundle-cli.mjs says why: start-up of `import -`).
const { bundleCli } = await import('./bundle-cli.mjs');
const { stdinScript } = await bundleCli(root);
chmodSync(join(root, 'dist/cli/main.js'), 0o755);
chmodSync(join(root, 'dist/cli/bin.cjs'), 0o755);

// The V8 code cache of `import -`'s script (scripts/code-cache.mjs), made after a warm-up delivery.
const { makeCodeCache } = await import('./code-cache.mjs');
makeCodeCache(root, stdinScript);
