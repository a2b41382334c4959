/**
 * The one IMAP error type. Everything imapflow, the socket or TLS can throw is mapped here to
 * an ImapError with a documented code (E_IMAP_AUTH / _TLS / _CONNECT / _FOLDER / _PROTOCOL),
 * whether a retry can help (`transient`) and which folder it concerns (`folder`, null for the
 * connection as a whole). The poller decides on these two fields only.
 */
import { AppError, isAppError, type ErrorCode } from '../../core/index.js';
import { accountName, accountPort, type ImapAccountConfig } from '../../config/imap.js';

export type ImapErrorCode = Extract<ErrorCode, 'E_IMAP_AUTH' | 'E_IMAP_TLS' | 'E_IMAP_CONNECT' | 'E_IMAP_FOLDER' | 'E_IMAP_PROTOCOL'>;

export class ImapError extends AppError {
  /** True when the server is gone or slow (reconnect soon); false when a retry cannot help until someone fixes something. */
  readonly transient: boolean;
  /** The folder the error happened in (null: the connection as a whole). Only E_IMAP_FOLDER is confined to it. */
  readonly folder: string | null;
  /** The server refused or could not be reached at the TCP level: a cheap probe tells when it is back. */
  readonly unreachable: boolean;

  constructor(code: ImapErrorCode, message: string, o: { folder?: string | null; unreachable?: boolean; cause?: unknown } = {}) {
    super(code, message, { cause: o.cause });
    this.name = 'ImapError';
    this.transient = code === 'E_IMAP_CONNECT' || code === 'E_IMAP_PROTOCOL';
    this.folder = o.folder ?? null;
    this.unreachable = !!o.unreachable;
  }
}

/** True for errors worth a quick reconnect (server gone, timeouts, protocol hiccups). */
export function isTransient(e: unknown): boolean {
  return e instanceof ImapError ? e.transient : false;
}

/** Where an error happened, as the first words of its message. */
export function whereOf(account: ImapAccountConfig, folder?: string): string {
  return `account ${accountName(account)} (${account.host}:${accountPort(account)})${folder ? ` folder "${folder}"` : ''}`;
}

/** Maps any error from imapflow / the socket / TLS to an ImapError naming the account (and folder). */
export function toImapError(e: unknown, account: ImapAccountConfig, folder?: string): AppError {
  if (e instanceof ImapError) return e;
  // Our own errors (E_SECRET from reading a password file, E_CONFIG) keep their code.
  if (isAppError(e)) return e;
  const err = (e ?? {}) as {
    code?: string;
    message?: string;
    authenticationFailed?: boolean;
    serverResponseCode?: string;
    responseStatus?: string;
    responseText?: string;
    library?: string;
    reason?: string;
  };
  const where = whereOf(account, folder);
  const text = err.responseText || err.message || String(e);
  // RFC 5530 LIMIT (e.g. too many connections from this user and address) is a temporary refusal,
  // even when it answers a login: retry, don't fail the account. UNAVAILABLE and INUSE are not
  // included: treating them as temporary broke the refused-token path in the OAuth2 tests.
  if (err.serverResponseCode !== undefined && TEMPORARY_CODES.has(err.serverResponseCode)) {
    return new ImapError('E_IMAP_CONNECT', `${where}: the server refused for now: ${text}`, { folder, cause: e });
  }
  if (err.authenticationFailed || err.serverResponseCode === 'AUTHENTICATIONFAILED') {
    return new ImapError('E_IMAP_AUTH', `${where}: login failed for user ${account.user}: ${text}`, { folder, cause: e });
  }
  if (isTlsError(err)) {
    return new ImapError('E_IMAP_TLS', `${where}: TLS failed: ${err.reason ?? text}${err.code ? ` (${err.code})` : ''}`, { folder, cause: e });
  }
  if (folder && (err.serverResponseCode === 'NONEXISTENT' || err.responseStatus === 'NO' || err.code === 'NotFound')) {
    return new ImapError('E_IMAP_FOLDER', `${where}: cannot open the folder: ${text}`, { folder, cause: e });
  }
  if (err.code !== undefined && CONNECT_CODES.has(err.code)) {
    return new ImapError('E_IMAP_CONNECT', `${where}: connection failed: ${text}${err.code ? ` (${err.code})` : ''}`, { folder, cause: e, unreachable: UNREACHABLE_CODES.has(err.code) });
  }
  return new ImapError('E_IMAP_PROTOCOL', `${where}: ${text}${err.code ? ` (${err.code})` : ''}`, { folder, cause: e });
}

const TEMPORARY_CODES = new Set(['LIMIT']);

/** Nothing listens or no route: the server is down, and asking again costs nothing. */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH']);

const CONNECT_CODES = new Set([
  ...UNREACHABLE_CODES,
  'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EPIPE', 'ECONNABORTED', 'NoConnection', 'EConnectionClosed',
  'CONNECT_TIMEOUT', 'GREETING_TIMEOUT', 'UPGRADE_TIMEOUT', 'ETIMEOUT', 'ClosedAfterConnectText', 'ClosedAfterConnectTLS',
  'StateLogout',
]);

function isTlsError(err: { code?: string; library?: string; message?: string }): boolean {
  const c = err.code ?? '';
  return (
    err.library === 'SSL routines' ||
    c.startsWith('ERR_SSL') ||
    c.startsWith('ERR_TLS') ||
    c.includes('CERT') ||
    c === 'DEPTH_ZERO_SELF_SIGNED_CERT' ||
    c === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' ||
    c === 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY' ||
    c === 'STARTTLS_INJECTION' ||
    /STARTTLS/.test(err.message ?? '')
  );
}
