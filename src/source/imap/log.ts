/**
 * The logger handed to imapflow: a filter between imapflow and our pino child.
 *
 * imapflow logs every command at debug, and every socket or server failure at error with the
 * whole Error object (stack included). Those failures reach us anyway as a rejected command or
 * a closed connection, which the poller reports once per attempt as one warn line with its code
 * (see app/poll.ts). So imapflow's own lines are detail: one level quieter for the chatter, debug
 * for its warnings and errors, and an `err` is cut to its code and message (as `error`). With CENSUS_DEBUG
 * set, everything passes at imapflow's own levels with the full error, for bug hunting.
 * imapflow masks credentials in what it logs; our redact paths guard the rest.
 */
import type { ImapFlowOptions } from 'imapflow';
import type { Logger } from 'pino';

type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

const QUIET: Record<Level, Level> = { trace: 'trace', debug: 'trace', info: 'debug', warn: 'debug', error: 'debug', fatal: 'debug' };
const DEBUG: Record<Level, Level> = { trace: 'trace', debug: 'trace', info: 'debug', warn: 'warn', error: 'error', fatal: 'fatal' };

/** Code, message and server response of an error: what an operator can act on, never a stack. */
export function errorSummary(e: unknown): Record<string, unknown> {
  if (!e || typeof e !== 'object') return { message: String(e) };
  const x = e as { code?: unknown; message?: unknown; responseText?: unknown; serverResponseCode?: unknown };
  const out: Record<string, unknown> = { message: typeof x.message === 'string' ? x.message : String(e) };
  if (typeof x.code === 'string' || typeof x.code === 'number') out.code = x.code;
  if (typeof x.serverResponseCode === 'string') out.serverResponseCode = x.serverResponseCode;
  if (typeof x.responseText === 'string') out.responseText = x.responseText;
  return out;
}

/** imapflow's `logger` option over a pino child (see the module comment for the levels). */
export function imapflowLogger(logger: Logger, debug: boolean = !!process.env.CENSUS_DEBUG): NonNullable<ImapFlowOptions['logger']> {
  const lib = logger.child({ lib: 'imapflow' });
  const map = debug ? DEBUG : QUIET;
  const at = (level: Level) => (obj: unknown) => {
    const to = map[level];
    if (!lib.isLevelEnabled(to)) return;
    if (!debug && obj && typeof obj === 'object' && 'err' in obj) {
      const o = obj as Record<string, unknown>;
      // Under another key: pino's `err` serializer would add a (possibly empty) stack field.
      const { err, ...rest } = o;
      lib[to]({ ...rest, error: errorSummary(err), imapflowLevel: level });
    } else lib[to](obj as object);
  };
  return {
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    fatal: at('fatal'),
    // Without this imapflow serializes every FETCH response for the log whether or not it is
    // written: measured at ~40% of the poller's CPU on a header backfill.
    isLevelEnabled: (level: string) => level in map && lib.isLevelEnabled(map[level as Level]),
  } as NonNullable<ImapFlowOptions['logger']> & { isLevelEnabled(level: string): boolean };
}
