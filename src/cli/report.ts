import { isAppError } from '../core/index.js';
import { EXIT_CODES } from './exit-codes.js';

/**
 * A failed command's one line on stderr and its exit code: an AppError's message and code, or
 * for a bug a short line (the stack only with CENSUS_DEBUG). Usage errors commander reports
 * itself (program.ts).
 */
export function report(e: unknown): number {
  if (isAppError(e)) {
    process.stderr.write(`smime-census: ${e.message} [${e.code}]\n`);
    if (process.env.CENSUS_DEBUG && e.cause) process.stderr.write(String((e.cause as Error)?.stack ?? e.cause) + '\n');
    return EXIT_CODES[e.code];
  }
  const err = e as Error;
  process.stderr.write(`smime-census: internal error: ${err?.message ?? String(e)} [E_INTERNAL]\n`);
  if (process.env.CENSUS_DEBUG) process.stderr.write(String(err?.stack) + '\n');
  return EXIT_CODES.E_INTERNAL;
}
