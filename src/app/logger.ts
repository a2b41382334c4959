import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * The process logger: JSON lines on stderr (stdout carries command output). Customer addresses
 * are logged only at debug level, secrets never; redact paths guard the fields that could
 * carry them if a caller slipped.
 */
export function createLogger(level: string = 'info', destination: number = 2): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      redact: { paths: ['password', 'accessToken', 'token', 'passphrase', 'auth.pass', 'auth.accessToken', '*.password', '*.accessToken', 'headers.authorization', 'req.headers.authorization'], censor: '[redacted]' },
    },
    pino.destination({ dest: destination, sync: true }),
  );
}

/** A logger that drops everything (tests, library use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
