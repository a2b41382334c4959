/**
 * Building and connecting imapflow clients for one account, and mapping what can go wrong
 * to the documented AppError codes (E_IMAP_AUTH / _TLS / _CONNECT / _FOLDER / _PROTOCOL).
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { ImapFlow, type ImapFlowOptions } from 'imapflow';
import type { Logger } from 'pino';
import { AppError, isAppError } from '../../core/index.js';
import { accountName, accountPort, resolveSecret, type ImapAccountConfig, type PollConfig } from '../../config/imap.js';
import type { CredentialSource, ImapLogin } from './credentials.js';

export interface ClientOptions {
  account: ImapAccountConfig;
  poll: Pick<PollConfig, 'connectTimeoutMs' | 'socketTimeoutMs'>;
  logger: Logger;
  env?: Record<string, string | undefined>;
  /** The login to use; default: the account's password / access token secret. */
  login?: ImapLogin;
}

/**
 * A fresh, unconnected client. imapflow clients cannot be reused after close, so every
 * (re)connect builds a new one; the secret is read here so a rotated token file is picked up.
 */
export function createImapClient({ account, poll, logger, env = process.env, login }: ClientOptions): ImapFlow {
  if (!login) {
    const secret = resolveSecret(account, env);
    login = secret.kind === 'password' ? { user: account.user, pass: secret.value } : { user: account.user, accessToken: secret.value };
  }
  const tls: ConnectionOptions = {};
  if (account.caFile) {
    try {
      tls.ca = readFileSync(account.caFile);
    } catch (e) {
      throw new AppError('E_CONFIG', `account ${accountName(account)}: caFile ${account.caFile} cannot be read`, { cause: e });
    }
  }
  if (account.insecureSkipTlsVerify) {
    tls.rejectUnauthorized = false;
    logger.warn(
      { insecureSkipTlsVerify: true },
      'TLS CERTIFICATE VERIFICATION IS OFF for this account: anyone on the path can read the password and the mail',
    );
  }
  const opts: ImapFlowOptions = {
    host: account.host,
    port: accountPort(account),
    secure: account.tls === 'implicit',
    // STARTTLS is required when asked for, and refused only when plain was explicitly allowed.
    doSTARTTLS: account.tls === 'starttls' ? true : account.tls === 'plain' ? false : undefined,
    auth: 'pass' in login ? { user: login.user, pass: login.pass } : { user: login.user, accessToken: login.accessToken },
    tls,
    // The poller decides when to IDLE; imapflow's auto-IDLE would race with our own commands.
    disableAutoIdle: true,
    // COMPRESS costs CPU on both ends for header-only fetches of a few KB per message; keep it
    // on anyway for remote servers, where bandwidth dominates, and off on loopback.
    disableCompression: isLoopback(account.host),
    connectionTimeout: poll.connectTimeoutMs,
    greetingTimeout: Math.min(poll.connectTimeoutMs, 60_000),
    socketTimeout: poll.socketTimeoutMs,
    clientInfo: { name: 'smime-census' },
    logger: imapflowLogger(logger),
  };
  // SNI must be a host name; for an IP literal Node checks the certificate's IP SAN instead.
  if (isIP(account.host)) opts.servername = undefined;
  const client = new ImapFlow(opts);
  if ('accessToken' in login && login.mechanism) restrictOAuthMechanism(client, login.mechanism);
  return client;
}

/**
 * imapflow picks OAUTHBEARER whenever the server offers it and XOAUTH2 otherwise; the account
 * may name one (`auth.mechanism`). Hiding the other from the capabilities just before
 * AUTHENTICATE makes imapflow use the named one (the capabilities are re-read after login).
 */
function restrictOAuthMechanism(client: ImapFlow, mechanism: 'XOAUTH2' | 'OAUTHBEARER'): void {
  const c = client as unknown as { authenticate(): Promise<boolean>; capabilities: Map<string, unknown> };
  const authenticate = c.authenticate.bind(client);
  c.authenticate = async () => {
    if (mechanism === 'XOAUTH2') c.capabilities.delete('AUTH=OAUTHBEARER');
    else {
      c.capabilities.delete('AUTH=XOAUTH2');
      c.capabilities.delete('AUTH=XOAUTH');
    }
    return authenticate();
  };
}

export interface OpenClientOptions extends Omit<ClientOptions, 'login'> {
  credentials: CredentialSource;
  /** Sees each client while it connects (so a stop can close it). */
  connecting?: Set<ImapFlow>;
}

/**
 * Builds and connects a client with credentials from the account's source. When the server
 * refuses a token, the source renews it and the login is tried once more before E_IMAP_AUTH.
 */
export async function openClient(o: OpenClientOptions): Promise<ImapFlow> {
  for (let attempt = 0; ; attempt++) {
    const login = await o.credentials.credentials();
    const client = createImapClient({ ...o, login });
    // imapflow emits 'error' on socket failures; without a listener Node would throw.
    client.on('error', (e: unknown) => o.logger.debug({ err: (e as Error)?.message }, 'connection error'));
    o.connecting?.add(client);
    try {
      await connectClient(client, o.account);
      return client;
    } catch (e) {
      const err = toImapError(e, o.account);
      if (err.code === 'E_IMAP_AUTH' && attempt === 0 && o.credentials.rejected(login)) {
        o.logger.info({ code: err.code }, 'the server refused the access token: renewing it and logging in once more');
        continue;
      }
      throw err;
    } finally {
      o.connecting?.delete(client);
    }
  }
}

/** Connects (TLS, login); failures become AppErrors naming the account. */
export async function connectClient(client: ImapFlow, account: ImapAccountConfig): Promise<void> {
  try {
    await client.connect();
  } catch (e) {
    client.close();
    throw toImapError(e, account);
  }
}

/** Maps any error from imapflow / the socket / TLS to an AppError naming the account (and folder). */
export function toImapError(e: unknown, account: ImapAccountConfig, folder?: string): AppError {
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
  const where = `account ${accountName(account)} (${account.host}:${accountPort(account)})${folder ? ` folder "${folder}"` : ''}`;
  const text = err.responseText || err.message || String(e);
  if (err.authenticationFailed || err.serverResponseCode === 'AUTHENTICATIONFAILED') {
    return new AppError('E_IMAP_AUTH', `${where}: login failed for user ${account.user}: ${text}`, { cause: e });
  }
  if (isTlsError(err)) {
    return new AppError('E_IMAP_TLS', `${where}: TLS failed: ${err.reason ?? text}${err.code ? ` (${err.code})` : ''}`, { cause: e });
  }
  if (folder && (err.serverResponseCode === 'NONEXISTENT' || err.responseStatus === 'NO' || err.code === 'NotFound')) {
    return new AppError('E_IMAP_FOLDER', `${where}: cannot open the folder: ${text}`, { cause: e });
  }
  if (isConnectError(err)) {
    return new AppError('E_IMAP_CONNECT', `${where}: connection failed: ${text}${err.code ? ` (${err.code})` : ''}`, { cause: e });
  }
  return new AppError('E_IMAP_PROTOCOL', `${where}: ${text}${err.code ? ` (${err.code})` : ''}`, { cause: e });
}

const CONNECT_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE',
  'ECONNABORTED', 'NoConnection', 'EConnectionClosed', 'CONNECT_TIMEOUT', 'GREETING_TIMEOUT', 'UPGRADE_TIMEOUT',
  'ETIMEOUT', 'ClosedAfterConnectText', 'ClosedAfterConnectTLS', 'StateLogout',
]);

function isConnectError(err: { code?: string }): boolean {
  return err.code !== undefined && CONNECT_CODES.has(err.code);
}

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

/** True for errors worth a reconnect (server gone, timeouts); false for ones a retry cannot fix soon. */
export function isTransient(e: AppError): boolean {
  return e.code === 'E_IMAP_CONNECT' || e.code === 'E_IMAP_PROTOCOL';
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host.startsWith('127.') || host === '::1';
}

/**
 * imapflow logs every command at debug/trace; route it to our pino child at one level lower
 * so `--log-level debug` stays readable. imapflow masks credentials in what it logs.
 */
function imapflowLogger(logger: Logger): ImapFlowOptions['logger'] {
  const lib = logger.child({ lib: 'imapflow' });
  // imapflow level -> ours, one step quieter (its debug is every command and response).
  const MAP = { trace: 'trace', debug: 'trace', info: 'debug', warn: 'warn', error: 'error', fatal: 'fatal' } as const;
  const at = (level: keyof typeof MAP) => (obj: unknown) => {
    if (lib.isLevelEnabled(MAP[level])) lib[MAP[level]](obj as object);
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
    isLevelEnabled: (level: string) => level in MAP && lib.isLevelEnabled(MAP[level as keyof typeof MAP]),
  } as NonNullable<ImapFlowOptions['logger']> & { isLevelEnabled(level: string): boolean };
}
