/**
 * `import -`: one message (or with --mbox an mbox) from standard input, as an MTA delivers it
 * (Postfix pipe(8), Sieve vnd.dovecot.pipe, procmail): one process per message. This module is
 * the whole of that command, for both ways in — the commander program, and main.ts's direct
 * path for the argument lists MTA recipes use (stdin-import-args.ts), which loads neither
 * commander nor the other commands. It imports only what a delivery needs: the app's context
 * and import use case, not its index (lookups, exports, copies); pino only for a line to write.
 */
import { openApp } from '../app/context.js';
import { importStream } from '../app/import.js';
import { deferredLogger } from '../app/logger.js';
import type { IngestCounts } from '../app/ingest.js';
import { configFrom, out } from './light.js';
import { formatCounts } from './format.js';
import type { GlobalOptions } from './options.js';
import type { StdinImportOptions } from './stdin-import-args.js';

export { report } from './report.js';

/** Largest message `import -` reads whole (for S/MIME harvesting); the header block of a larger one is still read. */
export const MAX_STDIN_MESSAGE_BYTES = 64 * 1024 * 1024;

/** Reads standard input into the census and prints the counts (human, or JSON with `json`). */
export async function importStdin(g: GlobalOptions, opts: StdinImportOptions): Promise<void> {
  const config = configFrom(g);
  const ctx = openApp({ config, logger: deferredLogger(config.logLevel) });
  let counts: IngestCounts;
  try {
    // A PostgreSQL store connects and migrates here: an unreachable database fails at once.
    await ctx.store.ready();
    counts = await importStream(ctx, process.stdin, { mbox: opts.mbox, maxMessageBytes: MAX_STDIN_MESSAGE_BYTES });
  } finally {
    await ctx.close();
  }
  await out(opts.json ? JSON.stringify(counts) + '\n' : formatCounts(counts));
}
