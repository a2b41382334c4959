/**
 * The poll use case: IMAP accounts -> header batches -> pipeline, with a per-folder checkpoint
 * committed in the same transaction as each batch.
 *
 * One watcher per connection: it connects, catches up every folder it owns (backfill), then
 * waits for new mail (IDLE on its first folder, STATUS for the rest) until stopped. Any error
 * or close ends the connection; the watcher builds a fresh client and reconnects with capped
 * exponential backoff and jitter, resuming from the checkpoint. Folder and account failures
 * are isolated: one bad account never stops the others.
 */
import { EventEmitter } from 'node:events';
import type { ImapFlow } from 'imapflow';
import type { Logger } from 'pino';
import { AppError, type SourceItem } from '../core/index.js';
import { accountName, type ImapAccountConfig, type PollConfig } from '../config/imap.js';
import {
  countAfter,
  credentialSource,
  examineFolder,
  openClient,
  readHeaderBatches,
  toImapError,
  watchForChanges,
  type CredentialSource,
  type HeaderBatch,
  type TokenState,
} from '../source/imap/index.js';
import { PARSE_FIELDS } from '../parse/index.js';
import { addCounts, emptyCounts, STORED_FINGERPRINT_FIELDS, type Checkpoint, type IngestCounts } from './ingest.js';
import type { AppContext } from './context.js';

export type PollerState = 'connecting' | 'backfilling' | 'idle' | 'backoff' | 'failed' | 'stopped';

/** What the HTTP service shows per account and folder. */
export interface FolderStatus {
  account: string;
  folder: string;
  state: PollerState;
  /** End of the last completed sync pass. */
  lastSyncAt: Date | null;
  lastError: { code: string; message: string } | null;
  /** Messages known to be on the server and not yet processed (null while unknown). */
  lag: number | null;
  counts: IngestCounts;
}

/** What the poller needs from the store and pipeline (AppContext provides it). */
export interface PollSink {
  getCheckpoint(account: string, folder: string): Promise<{ uidValidity: string; lastUid: number } | null>;
  resetCheckpoint(account: string, folder: string, uidValidity: string): Promise<void>;
  /** May be async (WorkerSink): the poller then fetches the next window while this one commits. */
  ingestBatch(items: readonly SourceItem[], checkpoint: Checkpoint): IngestCounts | Promise<IngestCounts>;
}

export interface PollerOptions {
  accounts: readonly ImapAccountConfig[];
  poll: PollConfig;
  sink: PollSink;
  logger: Logger;
  /** Catch up once and finish (poll --once) instead of watching. */
  once?: boolean;
  /** Header fields to fetch (default: what parse and classify need). */
  fields?: readonly string[];
  /** Also fetch Authentication-Results (set when `trustedAuthservId` is configured). */
  authResults?: boolean;
  /** Environment for secrets named by passwordEnv / accessTokenEnv. */
  env?: Record<string, string | undefined>;
  /** Periodic structured progress lines during backfill (off when a progress bar is shown). */
  progressLog?: boolean;
  /** Folder of the OAuth2 token state files (`auth status`); see app/auth.ts authStateDir. */
  authStateDir?: string;
}

/** Token health of an OAuth2 account, as /healthz and /metrics show it (never a token). */
export type TokenHealth = TokenState & { secondsToExpiry: number | null };

/** Events: 'state' (FolderStatus), 'batch' ({ account, folder, counts, total }), 'progress' ({ account, folder, done, total }). */
export interface PollerEvents {
  state: [FolderStatus];
  batch: [{ account: string; folder: string; counts: IngestCounts; total: IngestCounts }];
  progress: [{ account: string; folder: string; done: number; total: number }];
}

export interface PollSummary {
  folders: FolderStatus[];
  /** The first failure of each failed account/folder. */
  failures: Array<{ account: string; folder: string | null; error: AppError }>;
}

/**
 * Header fields to fetch: exactly what parse reads (PARSE_FIELDS) and the stored fingerprint
 * keeps (STORED_FINGERPRINT_FIELDS: what classify matches plus provenance fields). Prefix entries (`x-foo-*`) cannot be asked for in HEADER.FIELDS and
 * are left out; the backfill test checks that header-only fetches give the same observations
 * as whole messages.
 */
export function imapFetchFields(o: { authResults?: boolean } = {}): string[] {
  // Authentication-Results only matters with a trusted authserv-id, and is long: fetch it only then.
  return [...new Set([...PARSE_FIELDS, ...STORED_FINGERPRINT_FIELDS].map((f) => f.toLowerCase()).filter((f) => !f.endsWith('*') && (o.authResults || f !== 'authentication-results')))];
}

/** The pipeline and store of an open app as a PollSink. */
export function appSink(ctx: AppContext): PollSink {
  return {
    getCheckpoint: (a, f) => ctx.store.getCheckpoint(a, f),
    resetCheckpoint: (a, f, v) => ctx.store.resetCheckpoint(a, f, v),
    // Async: S/MIME items carry their signed parts, whose signatures are verified (WebCrypto)
    // before the batch commits; batches still commit in order.
    ingestBatch: (items, cp) => ctx.pipeline.ingestBatchAsync(items, cp),
  };
}

interface FolderRuntime {
  status: FolderStatus;
  log: Logger;
  /** Backfill progress for this pass. */
  done: number;
  total: number;
  passStartedAt: number;
  /** The checkpoint as last read or committed (what watching compares the server with). */
  checkpoint: { uidValidity: string; lastUid: number } | null;
}

/** Per-connection group of folders. */
interface Group {
  account: ImapAccountConfig;
  name: string;
  folders: string[];
  log: Logger;
}

/** Polls IMAP accounts into the store. `start()` then `stop()`, or `run()` for --once. */
export class Poller extends EventEmitter<PollerEvents> {
  private readonly o: PollerOptions;
  private readonly fields: string[];
  private readonly folders = new Map<string, FolderRuntime>();
  private readonly failures: PollSummary['failures'] = [];
  private readonly abort = new AbortController();
  private running: Promise<void> | null = null;
  private progressTimer: NodeJS.Timeout | null = null;
  private readonly connecting = new Set<ImapFlow>();
  /** One per account: OAuth2 tokens are cached and shared by the account's connections. */
  private readonly credentials = new Map<string, CredentialSource>();

  constructor(options: PollerOptions) {
    super();
    this.o = options;
    for (const account of options.accounts) {
      const name = accountName(account);
      if (!this.credentials.has(name)) {
        this.credentials.set(name, credentialSource(account, { logger: options.logger.child({ component: 'oauth', account: name }), env: options.env, stateDir: options.authStateDir }));
      }
    }
    this.fields = [...(options.fields ?? imapFetchFields({ authResults: options.authResults }))];
    for (const account of options.accounts) {
      const name = accountName(account);
      for (const folder of account.folders) {
        this.folders.set(key(name, folder), {
          status: { account: name, folder, state: 'connecting', lastSyncAt: null, lastError: null, lag: null, counts: emptyCounts() },
          log: options.logger.child({ component: 'imap', account: name, folder }),
          done: 0,
          total: 0,
          passStartedAt: 0,
          checkpoint: null,
        });
      }
    }
  }

  /** Starts every account's watchers in the background. */
  start(): void {
    if (this.running) return;
    const groups: Group[] = [];
    const names = new Set<string>();
    for (const account of this.o.accounts) {
      const name = accountName(account);
      if (names.has(name)) throw new AppError('E_CONFIG', `accounts: two accounts are named ${name}; give one a distinct name`);
      names.add(name);
      const n = Math.min(account.connections, account.folders.length);
      for (let i = 0; i < n; i++) {
        // Round robin: connection i IDLEs on folder i, so the first folders are the watched ones.
        const folders = account.folders.filter((_, j) => j % n === i);
        groups.push({ account, name, folders, log: this.o.logger.child({ component: 'imap', account: name, connection: i }) });
      }
    }
    if (this.o.progressLog !== false) {
      this.progressTimer = setInterval(() => this.logProgress(), this.o.poll.progressLogIntervalMs);
      this.progressTimer.unref();
    }
    this.running = Promise.all(groups.map((g) => this.runGroup(g))).then(() => {
      if (this.progressTimer) clearInterval(this.progressTimer);
    });
  }

  /** Runs to completion (with `once`: one catch-up pass) and returns the summary. */
  async run(): Promise<PollSummary> {
    this.start();
    await this.running;
    return this.summary();
  }

  /** Graceful stop: the current batch is committed, then LOGOUT. Resolves when all connections are closed. */
  async stop(): Promise<void> {
    this.abort.abort();
    // A connection still being set up holds nothing to commit: drop it rather than wait for
    // the connect timeout.
    for (const c of this.connecting) c.close();
    await this.running;
  }

  /** True once stop() was called. */
  get stopping(): boolean {
    return this.abort.signal.aborted;
  }

  /** Snapshot of every account/folder. */
  status(): FolderStatus[] {
    return [...this.folders.values()].map((f) => ({ ...f.status, counts: structuredClone(f.status.counts) }));
  }

  /** Token health of the OAuth2 accounts. */
  tokens(): TokenHealth[] {
    return [...this.credentials.values()].map((c) => c.tokenStatus()).filter((t): t is TokenHealth => t !== null);
  }

  summary(): PollSummary {
    return { folders: this.status(), failures: [...this.failures] };
  }

  private rt(account: string, folder: string): FolderRuntime {
    const r = this.folders.get(key(account, folder));
    if (!r) throw new AppError('E_INTERNAL', `no runtime for ${account}/${folder}`);
    return r;
  }

  private setState(account: string, folder: string, state: PollerState, error?: AppError): void {
    const r = this.rt(account, folder);
    const prev = r.status.state;
    if (error) r.status.lastError = { code: error.code, message: error.message };
    if (prev === state && !error) return;
    r.status.state = state;
    const fields = { state, from: prev, ...(error ? { code: error.code, err: error.message } : {}) };
    if (state === 'failed' || state === 'backoff') r.log.warn(fields, `poller ${state}`);
    else r.log.info(fields, `poller ${state}`);
    this.emit('state', { ...r.status });
  }

  private async runGroup(g: Group): Promise<void> {
    let attempt = 0;
    const active = new Set(g.folders);
    const setAll = (state: PollerState, err?: AppError) => {
      for (const f of active) this.setState(g.name, f, state, err);
    };
    while (!this.stopping && active.size) {
      setAll('connecting');
      let client: ImapFlow | null = null;
      try {
        client = await openClient({ account: g.account, poll: this.o.poll, logger: g.log, env: this.o.env, credentials: this.credentials.get(g.name)!, connecting: this.connecting });
        g.log.info({ secure: client.secureConnection }, 'connected');
        const syncAll = async (folders: Iterable<string>) => {
          for (const f of folders) {
            if (!active.has(f) || this.stopping) continue;
            try {
              await this.syncFolder(client!, g, f);
            } catch (e) {
              const err = toImapError(e, g.account, f);
              if (err.code !== 'E_IMAP_FOLDER') throw err;
              // An unknown folder fails alone; the account's other folders go on.
              active.delete(f);
              this.fail(g.name, f, err);
            }
          }
        };
        await syncAll([...active]);
        attempt = 0;
        if (this.o.once) break;
        const statusState = { lastStatusAt: Date.now() };
        while (!this.stopping && active.size) {
          const [idleFolder, ...others] = g.folders.filter((f) => active.has(f));
          let w;
          try {
            w = await watchForChanges({
              client,
              account: g.account,
              poll: this.o.poll,
              idleFolder: idleFolder!,
              otherFolders: others,
              known: (f) => this.folders.get(key(g.name, f))?.checkpoint ?? null,
              statusState,
              signal: this.abort.signal,
              onNewMail: (folder, count) => {
                const r = this.folders.get(key(g.name, folder));
                if (r) r.status.lag = (r.status.lag ?? 0) + count;
              },
            });
          } catch (e) {
            const err = toImapError(e, g.account, idleFolder);
            if (err.code !== 'E_IMAP_FOLDER') throw err;
            const bad = (err as AppError & { folder?: string }).folder ?? idleFolder!;
            active.delete(bad);
            this.fail(g.name, bad, err);
            continue;
          }
          if (w.changed.length) g.log.debug({ reason: w.reason, folders: w.changed }, 'sync triggered');
          await syncAll(w.changed);
        }
      } catch (e) {
        const err = toImapError(e, g.account);
        if (this.stopping) break;
        attempt++;
        const permanent = !(err.code === 'E_IMAP_CONNECT' || err.code === 'E_IMAP_PROTOCOL');
        if (this.o.once && (permanent || attempt >= this.o.poll.onceMaxAttempts)) {
          for (const f of active) this.fail(g.name, f, err);
          active.clear();
          break;
        }
        // In service mode nothing is given up: a wrong password or certificate may be fixed
        // while we run (secrets are re-read on connect), so retry at the slowest pace.
        const delay = backoffDelay(permanent ? Number.MAX_SAFE_INTEGER : attempt, this.o.poll);
        setAll(permanent ? 'failed' : 'backoff', err);
        g.log.info({ attempt, delayMs: delay, code: err.code }, 'reconnecting after delay');
        await sleep(delay, this.abort.signal);
      } finally {
        if (client) await closeClient(client);
      }
    }
    for (const f of active) this.setState(g.name, f, 'stopped');
  }

  private fail(account: string, folder: string, err: AppError): void {
    this.failures.push({ account, folder, error: err });
    this.setState(account, folder, 'failed', err);
  }

  /** One catch-up pass over one folder: EXAMINE, compare UIDVALIDITY, fetch windows, commit each. */
  private async syncFolder(client: ImapFlow, g: Group, folder: string): Promise<void> {
    const r = this.rt(g.name, folder);
    const info = await examineFolder(client, g.account, folder);
    let cp = await this.o.sink.getCheckpoint(g.name, folder);
    if (!cp || cp.uidValidity !== info.uidValidity) {
      if (cp) {
        r.log.warn(
          { oldUidValidity: cp.uidValidity, uidValidity: info.uidValidity },
          'UIDVALIDITY changed: resyncing the folder from the start (stored observations are kept, duplicates are not counted twice)',
        );
      }
      await this.o.sink.resetCheckpoint(g.name, folder, info.uidValidity);
      cp = { uidValidity: info.uidValidity, lastUid: 0 };
    }
    r.checkpoint = cp;
    let remaining: number;
    try {
      remaining = await countAfter(client, cp.lastUid, info.uidNext, info.exists);
    } catch (e) {
      throw toImapError(e, g.account, folder);
    }
    r.status.lag = remaining;
    if (remaining > 0) {
      r.done = 0;
      r.total = remaining;
      r.passStartedAt = Date.now();
      this.setState(g.name, folder, 'backfilling');
      this.emit('progress', { account: g.name, folder, done: 0, total: remaining });
    }
    // Up to COMMITS_IN_FLIGHT batches are being committed (async sink) while the next one is
    // fetched; the sink commits them in order, so the checkpoint only ever moves forward.
    const committing: Array<Promise<void>> = [];
    const commit = async (batch: HeaderBatch): Promise<void> => {
      const counts = await this.o.sink.ingestBatch(batch.items, { account: g.name, folder, uidValidity: batch.uidValidity, lastUid: batch.lastUid });
      addCounts(r.status.counts, counts);
      r.checkpoint = { uidValidity: batch.uidValidity, lastUid: batch.lastUid };
      r.done += batch.items.length;
      r.status.lag = Math.max(0, (r.status.lag ?? 0) - batch.items.length);
      if (counts.read) this.emit('batch', { account: g.name, folder, counts, total: r.status.counts });
      if (remaining > 0) this.emit('progress', { account: g.name, folder, done: r.done, total: Math.max(r.total, r.done) });
    };
    try {
      for await (const batch of readHeaderBatches({
        client,
        account: g.account,
        accountName: g.name,
        folder: info,
        afterUid: cp.lastUid,
        batchSize: this.o.poll.batchSize,
        fields: this.fields,
        shouldStop: () => this.stopping,
        onHarvestError: (uid, e) => r.log.warn({ uid, err: (e as Error).message }, 'could not fetch the signed parts of an S/MIME message; classified from its headers only'),
      })) {
        while (committing.length >= COMMITS_IN_FLIGHT) await committing.shift();
        const c = commit(batch);
        // Awaited later or in finally; until then a failure must not count as unhandled.
        c.catch(() => undefined);
        committing.push(c);
        // Stop is honoured between batches: what was fetched is committed first.
        if (this.stopping) break;
      }
    } finally {
      while (committing.length) await committing.shift();
    }
    if (this.stopping) return;
    r.status.lastSyncAt = new Date();
    r.status.lag = 0;
    if (remaining > 0) {
      const secs = (Date.now() - r.passStartedAt) / 1000;
      r.log.info({ messages: r.done, seconds: Math.round(secs * 10) / 10, ratePerSec: secs > 0 ? Math.round(r.done / secs) : null }, 'folder caught up');
    }
    this.setState(g.name, folder, 'idle');
  }

  private logProgress(): void {
    for (const r of this.folders.values()) {
      if (r.status.state !== 'backfilling' || r.total === 0) continue;
      const secs = (Date.now() - r.passStartedAt) / 1000;
      const rate = secs > 0 ? r.done / secs : 0;
      r.log.info(
        { done: r.done, total: r.total, ratePerSec: Math.round(rate), etaSec: rate > 0 ? Math.round((r.total - r.done) / rate) : null },
        'backfill progress',
      );
    }
  }
}

/** Batches handed to an async sink before waiting for the oldest (memory: one batch is ~1 MB). */
const COMMITS_IN_FLIGHT = 2;

function key(account: string, folder: string): string {
  return `${account}\u0000${folder}`;
}

/** Capped exponential backoff with ±25% jitter, so many pollers do not reconnect in lockstep. */
export function backoffDelay(attempt: number, poll: Pick<PollConfig, 'backoffInitialMs' | 'backoffMaxMs'>): number {
  const exp = Math.min(poll.backoffMaxMs, poll.backoffInitialMs * 2 ** Math.min(30, Math.max(0, attempt - 1)));
  return Math.round(exp * (0.75 + Math.random() * 0.5));
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

/** LOGOUT when the connection still works (bounded), otherwise just drop it. */
async function closeClient(client: ImapFlow): Promise<void> {
  if (client.usable) {
    let t: NodeJS.Timeout | undefined;
    try {
      await Promise.race([client.logout(), new Promise((r) => (t = setTimeout(r, 5_000)))]);
    } catch {
      // the server went away during LOGOUT: nothing left to do
    } finally {
      clearTimeout(t);
    }
  }
  client.close();
}

