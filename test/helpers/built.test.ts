/** The guard of the built-CLI tests: a missing or stale dist/ fails them, naming the fix. */
import { describe, it, expect, afterAll } from 'vitest';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildProblem, builtCli, unsearchableAncestor } from './built.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function project(): string {
  const root = mkdtempSync(join(tmpdir(), 'smime-census-built-'));
  dirs.push(root);
  mkdirSync(join(root, 'src', 'cli'), { recursive: true });
  writeFileSync(join(root, 'src', 'cli', 'main.ts'), '');
  return root;
}

describe('built-CLI guard', () => {
  it('a missing dist/ is a failure that says to build', () => {
    expect(buildProblem(project())).toMatch(/dist\/ is missing: run `npm run build`/);
  });

  it('a dist/ older than a source file is a failure naming that file; a fresh one passes', () => {
    const root = project();
    mkdirSync(join(root, 'dist', 'cli'), { recursive: true });
    writeFileSync(join(root, 'dist', 'cli', 'main.js'), '');
    const past = new Date(Date.now() - 60_000);
    utimesSync(join(root, 'dist', 'cli', 'main.js'), past, past);
    expect(buildProblem(root)).toMatch(/dist\/ is older than src\/ \(src\/cli\/main\.ts changed after the last build\)/);
    const now = new Date();
    utimesSync(join(root, 'dist', 'cli', 'main.js'), now, now);
    utimesSync(join(root, 'src', 'cli', 'main.ts'), past, past);
    expect(buildProblem(root)).toBeNull();
  });

  it('this checkout is built and fresh (npm test builds first)', () => {
    expect(builtCli()).toMatch(/dist\/cli\/main\.js$/);
  });

  it('names the first directory above a path that other users cannot search, and none for an open chain', () => {
    const root = project();
    const inner = join(root, 'a', 'b');
    mkdirSync(inner, { recursive: true });
    for (const d of [root, join(root, 'a'), inner]) chmodSync(d, 0o755);
    expect(unsearchableAncestor(inner)).toBe(null);
    chmodSync(join(root, 'a'), 0o700);
    expect(unsearchableAncestor(inner)).toBe(join(root, 'a'));
    chmodSync(join(root, 'a'), 0o755);
  });
});
