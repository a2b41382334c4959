/**
 * Checks shared by the tests that run the built CLI as a process: an expected failure is one
 * clear line on stderr, never a stack trace, unless CENSUS_DEBUG asks for one.
 */

/** A stack line, printed raw or inside a JSON log line ("\n    at fn (file:1:2)"). */
export const STACK = /(?:^|\\n|\n)\s+at [^\n]*:\d+:\d+/m;

/**
 * Throws when a run that failed (non-zero exit) wrote a stack trace to stderr without
 * CENSUS_DEBUG in its environment. Returns the run, so helpers can wrap their result.
 */
export function noStackOnFailure<R extends { status?: number | null; code?: number | null; stderr: string | Buffer }>(
  r: R,
  env: Record<string, string | undefined> = {},
): R {
  const code = r.code !== undefined ? r.code : r.status;
  if (code === 0 || code === null || code === undefined || env.CENSUS_DEBUG) return r;
  const stderr = String(r.stderr);
  const m = STACK.exec(stderr);
  if (m) throw new Error(`the CLI failed (exit ${code}) with a stack trace on stderr (without CENSUS_DEBUG):\n${stderr.slice(0, 2_000)}`);
  return r;
}
