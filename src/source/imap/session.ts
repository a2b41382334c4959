/**
 * One IMAP connection for one account, owning the imapflow client's whole life: building it
 * (TLS, credentials per connect), its error listeners, connect, every command with a deadline,
 * LOGOUT with a bound, close. The sync logic above (app/poll.ts) never touches the client: it
 * opens a session, syncs folders as async iterables of header batches, waits for changes, and
 * closes. imapflow clients cannot be reused after close, so a reconnect is a new session.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { ImapFlow, type ImapFlowOptions } from 'imapflow';
import type { Logger } from 'pino';
import { AppError } from '../../core/index.js';
import { accountName, accountPort, type ImapAccountConfig, type PollConfig } from '../../config/imap.js';
import { credentialSource, type CredentialSource, type ImapLogin } from './credentials.js';
import { ImapError, toImapError, whereOf } from './errors.js';
import { imapflowLogger, errorSummary } from './log.js';
import { examineFolder, readHeaderBatches, type FolderInfo, type HeaderBatch } from './folder.js';
import { countAfter, watchForChanges, type WatchOptions, type WatchResult } from './watch.js';

export type SessionPoll = Pick<PollConfig, 'connectTimeoutMs' | 'socketTimeoutMs' | 'idleRestartMs' | 'statusIntervalMs' | 'noopIntervalMs' | 'noopTimeoutMs'>;

export interface SessionOptions {
  account: ImapAccountConfig;
  poll: SessionPoll;
  logger: Logger;
  /**
   * Asked once per connect (a rotated password file or a renewed OAuth2 token is picked up);
   * default: the account's configured secret or token provider (credentialSource).
   */
  credentials?: CredentialSource;
  env?: Record<string, string | undefined>;
  /** Aborting it while connecting drops the connection at once (nothing to commit yet). */
  signal?: AbortSignal;
}

export interface SyncOptions {
  /**
   * Given the folder as EXAMINE reported it, the UID after which to read (the checkpoint;
   * the caller resets it when UIDVALIDITY changed).
   */
  resumeAfter(info: FolderInfo): number | Promise<number>;
  batchSize: number;
  /** HEADER.FIELDS to fetch; default the whole header block (folder.ts). */
  fields?: readonly string[] | undefined;
  /** Checked between windows; when it returns true no further window is requested. */
  shouldStop?: () => boolean;
  /** A message whose signed parts could not be fetched (it is still classified from its headers). */
  onHarvestError?: (uid: number, error: unknown) => void;
}

/** One sync pass over one folder. */
export interface FolderSync {
  info: FolderInfo;
  afterUid: number;
  /** Messages on the server after afterUid (as of EXAMINE). */
  remaining: number;
  /** Every window up to the folder's UIDNEXT at EXAMINE, each with the checkpoint to commit with it. */
  batches: AsyncIterable<HeaderBatch>;
}

export interface WaitOptions {
  /** Watched with IDLE (NOOP polling without IDLE). */
  idleFolder: string;
  /** Checked with STATUS every statusIntervalMs. */
  otherFolders: readonly string[];
  /** What the store holds for a folder; a folder whose server state differs needs a sync. */
  known: WatchOptions['known'];
  signal: AbortSignal;
  onNewMail?: (folder: string, count: number) => void;
}

/** An open, logged-in IMAP connection. `ImapSession.open()`, then `close()` in a finally. */
export class ImapSession {
  private closed = false;
  /** When the last STATUS round over the non-IDLE folders ran (ms epoch). */
  private readonly statusState = { lastStatusAt: Date.now() };

  private constructor(
    private readonly client: ImapFlow,
    private readonly o: SessionOptions,
  ) {}

  /**
   * Connects and logs in; failures are ImapErrors (or E_SECRET / E_CONFIG for our own
   * configuration). When the server refuses an OAuth2 token, the credential source renews it
   * and the login is tried once more before E_IMAP_AUTH.
   */
  static async open(o: SessionOptions): Promise<ImapSession> {
    const source = o.credentials ?? credentialSource(o.account, { logger: o.logger, env: o.env });
    for (let attempt = 0; ; attempt++) {
      const login = await source.credentials();
      try {
        return new ImapSession(await connect(o, login), o);
      } catch (e) {
        const err = toImapError(e, o.account);
        if (err.code === 'E_IMAP_AUTH' && attempt === 0 && !o.signal?.aborted && source.rejected(login)) {
          o.logger.info({ code: err.code }, 'the server refused the access token: renewing it and logging in once more');
          continue;
        }
        throw err;
      }
    }
  }

  /** True when the connection runs over TLS (implicit or STARTTLS). */
  get secure(): boolean {
    return this.client.secureConnection;
  }

  /** Opens a folder read-only (EXAMINE); an unknown folder is an E_IMAP_FOLDER ImapError for that folder. */
  examine(folder: string): Promise<FolderInfo> {
    return this.deadline(examineFolder(this.client, this.o.account, folder), folder);
  }

  /**
   * Starts one sync pass: EXAMINE, ask the caller where to resume, count what is new. The
   * batches are fetched header-only, read-only, in bounded UID windows (see folder.ts).
   */
  async sync(folder: string, s: SyncOptions): Promise<FolderSync> {
    const info = await this.examine(folder);
    const afterUid = await s.resumeAfter(info);
    let remaining: number;
    try {
      remaining = await this.deadline(countAfter(this.client, afterUid, info.uidNext, info.exists), folder);
    } catch (e) {
      throw toImapError(e, this.o.account, folder);
    }
    const batches = readHeaderBatches({
      client: this.client,
      account: this.o.account,
      accountName: accountName(this.o.account),
      folder: info,
      afterUid,
      batchSize: s.batchSize,
      fields: s.fields,
      shouldStop: s.shouldStop,
      onHarvestError: s.onHarvestError,
      deadline: (p) => this.deadline(p, folder),
    });
    return { info, afterUid, remaining, batches };
  }

  /** Waits for new mail (IDLE, STATUS for the other folders), or for stop; a dead connection throws. */
  waitForChanges(w: WaitOptions): Promise<WatchResult> {
    return watchForChanges({ client: this.client, account: this.o.account, poll: this.o.poll, statusState: this.statusState, ...w });
  }

  /** LOGOUT when the connection still works (bounded), then drop it. Idempotent; never throws. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.client.usable) {
      let t: NodeJS.Timeout | undefined;
      try {
        await Promise.race([this.client.logout(), new Promise((r) => (t = setTimeout(r, LOGOUT_TIMEOUT_MS)))]);
      } catch {
        // the server went away during LOGOUT: nothing left to do
      } finally {
        clearTimeout(t);
      }
    }
    this.client.close();
  }

  /**
   * A command not answered within socketTimeoutMs means the connection is dead even if the
   * socket looks open (a server killed mid-FETCH behind a middlebox, a lost response): close
   * it, so every waiter fails fast and the poller reconnects, instead of hanging.
   */
  private deadline<T>(p: Promise<T>, folder?: string): Promise<T> {
    const ms = this.o.poll.socketTimeoutMs;
    let t: NodeJS.Timeout | undefined;
    return Promise.race([
      p,
      new Promise<never>((_, reject) => {
        t = setTimeout(() => {
          this.client.close();
          reject(new ImapError('E_IMAP_CONNECT', `${whereOf(this.o.account, folder)}: no answer within ${ms} ms`, { folder }));
        }, ms);
      }),
    ]).finally(() => clearTimeout(t));
  }
}

/** LOGOUT is a courtesy: a server that does not answer it within this time is simply dropped. */
const LOGOUT_TIMEOUT_MS = 5_000;

/** Builds a fresh client and connects it (TLS, login); a stop while connecting drops it at once. */
async function connect(o: SessionOptions, login: ImapLogin): Promise<ImapFlow> {
  const client = buildClient(o, login);
  // imapflow emits 'error' on socket failures; without a listener Node would throw. The
  // failure itself reaches us as a rejected command or a close.
  client.on('error', (e: unknown) => o.logger.debug({ error: errorSummary(e) }, 'connection error'));
  const onAbort = (): void => client.close();
  o.signal?.addEventListener('abort', onAbort);
  try {
    if (o.signal?.aborted) throw new ImapError('E_IMAP_CONNECT', `${whereOf(o.account)}: stopped while connecting`);
    await client.connect();
    return client;
  } catch (e) {
    client.close();
    throw toImapError(e, o.account);
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
  }
}

function buildClient(o: SessionOptions, login: ImapLogin): ImapFlow {
  const { account, poll, logger } = o;
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

function isLoopback(host: string): boolean {
  return host === 'localhost' || host.startsWith('127.') || host === '::1';
}
