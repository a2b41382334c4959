/**
 * The built package (dist/) that the CLI and library tests run as real processes. `npm test`
 * builds it before vitest starts; a missing or stale build makes those tests fail with the
 * command to run, instead of silently testing old code (or building from inside one test
 * worker while others race it).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..', '..');

/** The most recently modified file under `dir` (recursive). */
function newest(dir: string): { file: string; mtimeMs: number } | null {
  let best: { file: string; mtimeMs: number } | null = null;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    const n = e.isDirectory() ? newest(p) : e.isFile() ? { file: p, mtimeMs: statSync(p).mtimeMs } : null;
    if (n && (!best || n.mtimeMs > best.mtimeMs)) best = n;
  }
  return best;
}

/**
 * Why the build under `root` cannot be tested (missing, or older than a file in src/), or null.
 * Exported for its own test.
 */
export function buildProblem(root: string): string | null {
  const dist = join(root, 'dist');
  if (!existsSync(join(dist, 'cli', 'main.js'))) return 'dist/ is missing: run `npm run build` first (npm test does)';
  const src = newest(join(root, 'src'));
  const out = newest(dist);
  if (src && out && src.mtimeMs > out.mtimeMs) {
    return `dist/ is older than src/ (${relative(root, src.file)} changed after the last build): run \`npm run build\``;
  }
  return null;
}

let verdict: string | null | undefined;

/** The absolute path of a built file (e.g. `cli/main.js`); throws when the build is missing or stale. */
export function built(rel: string): string {
  verdict ??= buildProblem(ROOT);
  if (verdict) throw new Error(verdict);
  const p = join(ROOT, 'dist', rel);
  if (!existsSync(p)) throw new Error(`dist/${rel} is missing: run \`npm run build\``);
  return p;
}

/** The built CLI entry point, checked as `built()` does. */
export function builtCli(): string {
  return built('cli/main.js');
}
