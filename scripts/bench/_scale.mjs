// Shared by the scaling points (scale-*.mjs, run only with --scale): the throwaway PostgreSQL
// server of the tests, and the sizes. The data are built inside the database by the store's own
// bulk seeding (src/store/seed.ts), in the shapes the curves' smaller points use, so a 10M point
// takes minutes to prepare instead of the hours that ingest or row-by-row generation would.
import { build } from 'esbuild';
import { join, dirname } from 'node:path';
import { rmSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The curves' last point (10M), or 100k with --quick (a smoke run of the same code). */
export const scaleSize = (ctx) => (ctx.quick ? 100_000 : 10_000_000);

/** "10M", "100k". */
export const label = (n) => (n >= 1e6 ? `${n / 1e6}M` : `${n / 1e3}k`);

/** test/helpers/postgres.ts's startPostgres, built with esbuild into `dir`. */
export async function postgresHelper(dir) {
  const outfile = join(dir, 'postgres-helper.mjs');
  await build({ entryPoints: [join(ROOT, 'test', 'helpers', 'postgres.ts')], format: 'esm', platform: 'node', outfile, logLevel: 'warning' });
  return (await import(pathToFileURL(outfile).href)).startPostgres;
}

/** Deletes a SQLite database file and its WAL and shared-memory files. */
export function dropSqlite(file) {
  for (const s of ['', '-wal', '-shm']) rmSync(file + s, { force: true });
}

/** Runs fn, returns [its result, seconds]. */
export async function timed(fn) {
  const t0 = performance.now();
  const r = await fn();
  return [r, (performance.now() - t0) / 1000];
}
