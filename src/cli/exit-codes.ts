import type { ErrorCode } from '../core/index.js';

/** The one place error codes become process exit codes (documented in the README). */
export const EXIT_CODES: Record<ErrorCode, number> = {
  E_USAGE: 2,
  E_CONFIG: 3,
  E_INPUT: 4,
  E_DB: 5,
  E_LEASE_LOST: 5,
  E_COPY_MISMATCH: 9,
  E_RULE_INVALID: 6,
  E_RULE_UNSAFE: 6,
  E_IMAP_CONNECT: 10,
  E_IMAP_TLS: 11,
  E_IMAP_AUTH: 12,
  E_IMAP_FOLDER: 13,
  E_IMAP_PROTOCOL: 14,
  E_SECRET: 3,
  E_ADDRESS: 4,
  E_AUTH: 20,
  E_FORBIDDEN: 20,
  E_LIMIT: 4,
  E_NOT_FOUND: 4,
  E_CERT: 7,
  E_SIGN: 7,
  E_INTERNAL: 70,
};

/**
 * sysexits.h EX_TEMPFAIL. `import -` runs under an MTA (Postfix pipe(8), Sieve vnd.dovecot.pipe,
 * procmail): any failure of ours — database busy, down or unwritable, a bad config — must make
 * the MTA keep the message and retry, never bounce it to the customer. So that command exits
 * 0 or 75 only.
 */
export const EX_TEMPFAIL = 75;
