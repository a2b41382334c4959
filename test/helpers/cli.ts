/**
 * Checks shared by the tests that run the built CLI as a process: an expected failure is one
 * clear line on stderr, never a stack trace, unless CENSUS_DEBUG asks for one; and the one way
 * to run the built CLI with mail on its standard input, as an MTA does.
 */
import { spawn } from 'node:child_process';
import { builtCli, ROOT } from './built.js';

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

/** What a run of the CLI gave back. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built CLI (dist/cli/main.js, or `entry`: the package's bin) with `args`, writing `input` to its standard input, in an
 * environment of PATH only (as pipe(8) gives) plus `env`, with `nodeArgs` for node itself (e.g. --import).
 */
export function runBuiltCli(args: string[], input: Buffer | string | undefined, nodeArgs: string[] = [], env: Record<string, string> = {}, entry: string = builtCli()): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, entry, ...args], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}
