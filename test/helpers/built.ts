/**
 * The built package (dist/) that the CLI and library tests run as real processes. `npm test`
 * builds it before vitest starts; a missing or stale build makes those tests fail with the
 * command to run, instead of silently testing old code (or building from inside one test
 * worker while others race it).
 */
import { readFileSync, existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

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

/** The package's bin (package.json "bin", what `smime-census` and the README's MTA recipes run), checked as `built()` does. */
export function builtBin(): string {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  const rel = pkg.bin['smime-census'];
  if (!rel?.startsWith('dist/')) throw new Error(`package.json bin smime-census is ${rel}, not a file in dist/`);
  return built(rel.slice('dist/'.length));
}

/**
 * The first directory from the file system's root down to `path` that users other than its
 * owner cannot search (no `x` for others), or null. Postfix's pipe(8) and Dovecot's LDA run the
 * census as their own users, which must reach the checkout's dist/ and node_modules/.
 * Exported for its own test.
 */
export function unsearchableAncestor(path: string): string | null {
  const chain: string[] = [];
  for (let d = resolve(path); ; d = dirname(d)) {
    chain.unshift(d);
    if (dirname(d) === d) break;
  }
  for (const d of chain) if ((statSync(d).mode & 0o001) === 0) return d;
  return null;
}

/**
 * The built CLI, for tests where another user runs it (an MTA's pipe, Dovecot's LDA). A checkout
 * under a directory those users cannot search (e.g. `mktemp -d`, mode 700) fails here, naming
 * the directory and the fix, instead of the census failing inside the MTA as "unable to open".
 */
export function builtCliForOtherUsers(): string {
  const cli = builtCli();
  const closed = unsearchableAncestor(ROOT);
  if (closed !== null) {
    throw new Error(
      `${closed} is not searchable by other users (mode ${(statSync(closed).mode & 0o777).toString(8)}), so the mail system's users cannot run the census from ${ROOT}: ` +
        `chmod 755 ${closed}, or clone into a directory with mode 755`,
    );
  }
  return cli;
}
