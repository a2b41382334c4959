/**
 * One table of error codes (see nodemailer's lib/errors.js). Every error a user can cause
 * carries one of these; adapters map codes to exit codes (cli/) and HTTP statuses (http/)
 * in exactly one place each.
 */
export const ERROR_CODES = {
  E_CONFIG: 'The configuration file, environment or flags are invalid',
  E_USAGE: 'The command line is invalid',
  E_INPUT: 'An input path or value is invalid or unreadable',
  E_DB: 'The database cannot be opened, migrated or written',
  E_LEASE_LOST: 'Another poller owns the folder now: this process must stop committing for it',
  E_COPY_MISMATCH: 'store copy: the copy does not match its source (row counts or export bytes)',
  E_RULE_INVALID: 'A rule file does not follow rules/schema.json',
  E_RULE_UNSAFE: 'A rule regex is unsafe (catastrophic backtracking) or does not compile',
  E_IMAP_CONNECT: 'The IMAP server cannot be reached',
  E_IMAP_TLS: 'The IMAP server certificate or TLS handshake failed',
  E_IMAP_AUTH: 'The IMAP server rejected the credentials',
  E_IMAP_FOLDER: 'The IMAP folder does not exist or cannot be selected',
  E_IMAP_PROTOCOL: 'The IMAP server answered in an unexpected way',
  E_SECRET: 'A secret (password, token, key passphrase) cannot be read',
  E_ADDRESS: 'An e-mail address is syntactically invalid',
  E_AUTH: 'Authentication required (no or unknown token)',
  E_FORBIDDEN: 'The token does not allow this operation',
  E_LIMIT: 'A request exceeds a configured limit',
  E_NOT_FOUND: 'The requested thing does not exist',
  E_CERT: 'A certificate or key cannot be used for signing',
  E_SIGN: 'Signing a message failed',
  E_INTERNAL: 'An unexpected internal error (a bug)',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The only error type thrown on purpose; `code` is stable, `message` is for people. */
export class AppError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AppError';
    this.code = code;
  }
}

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}
