import { createRequire } from 'node:module';
import type { Logger, LevelWithSilent, pino as pinoFactory } from 'pino';

export type { Logger };

// pino is required on demand, not imported: `import -` runs once per message from an MTA and
// for plain mail writes no log line at all, and loading pino (with sonic-boom, its redaction
// compiler and thread-stream) was ~40 ms of each such start. A CommonJS require keeps the
// first log line synchronous, so no line is lost or reordered.
const requireHere = createRequire(import.meta.url);
let pinoModule: typeof pinoFactory | undefined;
function pino(): typeof pinoFactory {
  return (pinoModule ??= (requireHere('pino') as { pino: typeof pinoFactory }).pino);
}

/** pino's numeric levels; `silent` is above every level a line can have. */
const LEVEL_VALUES: Readonly<Record<LevelWithSilent, number>> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };
const LINE_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

function isLevel(level: string): level is LevelWithSilent {
  return Object.hasOwn(LEVEL_VALUES, level);
}

/**
 * The process logger: JSON lines on stderr (stdout carries command output). Customer addresses
 * are logged only at debug level, secrets never; redact paths guard the fields that could
 * carry them if a caller slipped.
 */
export function createLogger(level: string = 'info', destination: number = 2): Logger {
  const p = pino();
  return p(
    {
      level,
      base: { pid: process.pid },
      redact: { paths: ['password', 'accessToken', 'token', 'passphrase', 'auth.pass', 'auth.accessToken', '*.password', '*.accessToken', 'headers.authorization', 'req.headers.authorization'], censor: '[redacted]' },
    },
    p.destination({ dest: destination, sync: true }),
  );
}

/**
 * createLogger's logger, made when it first has a line to write: until then a call below
 * `level` is a no-op and `child()` returns another deferred logger holding its bindings. For a
 * short process (`import -`) that usually logs nothing; the lines it does write are
 * createLogger's, byte for byte (the same pino, options and destination). Anything else asked
 * of it (pino's own properties, a level change) makes the real logger first.
 */
export function deferredLogger(level: string = 'info', destination: number = 2): Logger {
  // An unknown level is pino's error to raise (as createLogger would), so it is made at once.
  if (!isLevel(level)) return createLogger(level, destination);
  return deferred(() => createLogger(level, destination), level);
}

function deferred(make: () => Logger, level: LevelWithSilent): Logger {
  let real: Logger | undefined;
  const threshold = LEVEL_VALUES[level];
  const made = (): Logger => (real ??= make());
  const noop = (): void => {};
  const own: Record<string | symbol, unknown> = {
    level,
    isLevelEnabled: (l: string) => isLevel(l) && LEVEL_VALUES[l] >= threshold,
    child: (bindings: Record<string, unknown>, options?: { level?: string }) => {
      const childLevel = options?.level ?? level;
      if (real !== undefined || !isLevel(childLevel)) return made().child(bindings, options);
      return deferred(() => made().child(bindings, options), childLevel);
    },
  };
  for (const l of LINE_LEVELS) own[l] = LEVEL_VALUES[l] >= threshold ? (...args: unknown[]) => (made()[l] as (...a: unknown[]) => void)(...args) : noop;
  return new Proxy({} as Logger, {
    get(_, prop) {
      if (real === undefined && Object.hasOwn(own, prop)) return own[prop];
      const target = made();
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
    set(_, prop, value) {
      return Reflect.set(made(), prop, value);
    },
  });
}

/** A logger that drops everything (tests, library use). */
export function silentLogger(): Logger {
  return pino()({ level: 'silent' });
}
