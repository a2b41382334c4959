/**
 * Which driver errors mean "the database cannot do this now" (E_DB, exit code 5, HTTP 503) and
 * which of those are worth retrying at once, as sqlite/store.ts does for SQLITE_BUSY and kin.
 * PostgreSQL errors carry a SQLSTATE (`code`, e.g. 57P01); the driver's own connection errors
 * carry a Node code (ECONNREFUSED, ECONNRESET, ...) or CONNECTION_CLOSED (driver.ts: node-postgres's
 * own connection errors, which have none).
 */
import { AppError } from '../../core/index.js';

/** The connection went away or could not be made; the server may be restarting. A retry reconnects. */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN',
  'CONNECTION_CLOSED',
]);

/**
 * SQLSTATEs of a temporary failure: connection exceptions (08), too many connections or out of
 * memory (53), the server shutting down or starting (57P01-57P03), a serialization failure or a
 * deadlock (40001, 40P01: the transaction was rolled back and can be run again), a lock timeout (55P03).
 */
const TEMPORARY_SQLSTATE = /^(08...|53...|57P0[1-3]|40001|40P01|55P03)$/;

/** SQLSTATE classes of a programming error (bad data, a constraint, bad SQL): a bug, not the database's state. */
const BUG_SQLSTATE = /^(22|23|42)/;

function codeOf(e: unknown): string | undefined {
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : undefined;
}

/** A failure that a retry may cure: the connection dropped, the server is (re)starting, or a deadlock. */
export function isTemporary(e: unknown): boolean {
  const c = codeOf(e instanceof AppError ? e.cause : e);
  return c !== undefined && (CONNECTION_CODES.has(c) || TEMPORARY_SQLSTATE.test(c));
}

/** Rolled back by the server for the transaction's own sake (run it again, do not wait for a reconnect). */
export function isConflict(e: unknown): boolean {
  const c = codeOf(e instanceof AppError ? e.cause : e);
  return c === '40001' || c === '40P01';
}

/** A driver error as E_DB when the database is the cause (unreachable, refused, TLS, read-only, full); anything else unchanged. */
export function asDbError(e: unknown, location: string, doing: string): unknown {
  if (!(e instanceof Error) || e instanceof AppError) return e;
  const c = codeOf(e);
  if (c !== undefined && BUG_SQLSTATE.test(c) && c.length === 5) return e;
  // TLS: node's codes (DEPTH_ZERO_SELF_SIGNED_CERT, ERR_TLS_CERT_ALTNAME_INVALID, ...) or none.
  return new AppError('E_DB', `database ${location}: ${doing} failed: ${e.message}${c ? ` [${c}]` : ''}`, { cause: e });
}
