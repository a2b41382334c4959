/**
 * The poll use case: IMAP accounts -> header batches -> pipeline, with a per-folder checkpoint
 * committed in the same transaction as each batch.
 *
 * One watcher per connection: it opens an ImapSession (source/imap owns the client), catches up
 * every folder it owns (backfill), then waits for new mail (IDLE on its first folder, STATUS for
 * the rest) until stopped. Any error or close ends the session; the watcher opens a fresh one
 * after a capped exponential back-off with jitter (probing a refusing server every second, so
 * the reconnect follows its return), resuming from the checkpoint. Folder and account failures
 * are isolated: one bad account never stops the others.
 *
 * This module keeps grouping, checkpoints, back-off, status and the sink; IMAP mechanics live in
 * source/imap. A folder's batches are committed one after another, awaited: that is the one
 * ordering mechanism (the session already prefetches the next window while one commits).
 *
 * Several pollers on one database: with a lease sink (appSink provides the store's), each
 * folder is synced only while this poller holds its lease (poll-leases.ts), and every batch
 * commits fenced by that lease. A folder whose lease is lost (E_LEASE_LOST, or a renewal
 * refused) is stopped cleanly and shown as 'standby'; a folder gained wakes its connection.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { AppError, isAppError, type SourceItem } from '../core/index.js';
import { accountName, type ImapAccountConfig, type PollConfig } from '../config/imap.js';
import {
  ImapSession,
  abortableSleep,
  credentialSource,
  isTransient,
  toImapError,
  waitUntilReachable,
  type CredentialSource,
  type ImapError,
  type TokenState,
} from '../source/imap/index.js';
import { PARSE_FIELDS } from '../parse/index.js';
import { addCounts, emptyCounts, STORED_FINGERPRINT_FIELDS, type Checkpoint, type IngestCounts } from './ingest.js';
import type { AppContext } from './context.js';
import { authStateDir } from './auth.js';
import { LeaseKeeper, defaultLeaseOwner, type LeaseSink } from './poll-leases.js';
import type { LeaseClaim } from '../store/index.js';

/**
 * A signal that aborts when either does, without AbortSignal.any: on Node 20 every any() call
 * leaves a WeakRef in the long-lived signal's set of dependants for good (never pruned;
 * verified on v20.20), one per IDLE wait here: the serve soak gained one WeakRef per new message.
 */
export function eitherSignal(a: AbortSignal, b: AbortSignal): { signal: AbortSignal; dispose(): void } {
  const c = new AbortController();
  const fromA = (): void => c.abort(a.reason);
  const fromB = (): void => c.abort(b.reason);
  if (a.aborted) fromA();
  else if (b.aborted) fromB();
  else {
    a.addEventListener('abort', fromA, { once: true });
    b.addEventListener('abort', fromB, { once: true });
  }
  return {
    signal: c.signal,
    dispose: () => {
      a.removeEventListener('abort', fromA);
      b.removeEventListener('abort', fromB);
    },
  };
}

export type { LeaseSink };

/** 'standby': another poller holds the folder's lease (several pollers on one database). */
export type PollerState = 'connecting' | 'backfilling' | 'idle' | 'backoff' | 'failed' | 'stopped' | 'standby';

/** What the HTTP service shows per account and folder. */
export interface FolderStatus {
  account: string;
  folder: string;
  state: PollerState;
  /** End of the last completed sync pass. */
  lastSyncAt: Date | null;
  /** Last time this folder's connection worked: a completed sync pass or a watch round. */
  lastSuccessAt: Date | null;
  /** The last error, kept after recovery for the record; `healthy` says whether it still applies. */
  lastError: { code: string; message: string; at: string } | null;
  /** The verdict about now: false while failing (back-off, failed, or no success since the last error). */
  healthy: boolean;
  /** Messages known to be on the server and not yet processed (null while unknown). */
  lag: number | null;
  counts: IngestCounts;
}

type Known = { uidValidity: string; lastUid: number } | null;

/** What the poller needs from the store and pipeline (appSink provides it). */
export interface PollSink {
  getCheckpoint(account: string, folder: string): Known | Promise<Known>;
  resetCheckpoint(account: string, folder: string, uidValidity: string): void | Promise<void>;
  /** Commits one batch with its checkpoint, in one transaction (fenced by `lease` when given: E_LEASE_LOST). */
  ingestBatch(items: readonly SourceItem[], checkpoint: Checkpoint, lease?: LeaseClaim): IngestCounts | Promise<IngestCounts>;
  /** Folder leases of a shared database; without them this poller owns every configured folder. */
  leases?: LeaseSink;
}

export interface PollerOptions {
  accounts: readonly ImapAccountConfig[];
  poll: PollConfig;
  sink: PollSink;
  logger: Logger;
  /** Catch up once and finish (poll --once) instead of watching. */
  once?: boolean;
  /** Header fields to fetch with HEADER.FIELDS (default: the whole header block, see source/imap/folder.ts). */
  fields?: readonly string[];
  /** Environment for secrets named by passwordEnv / accessTokenEnv. */
  env?: Record<string, string | undefined>;
  /** Periodic structured progress lines during backfill (off when a progress bar is shown). */
  progressLog?: boolean;
  /** Folder of the OAuth2 token state files (`auth status`); see app/auth.ts authStateDir. */
  authStateDir?: string;
  /** The clock for status times and leases (tests inject one). */
  now?: () => number;
  /** This poller's id in the lease rows (default: host, pid and a random part). */
  leaseOwner?: string;
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
 * A catch-up of at most this many messages is routine (new mail while idle): it is logged at
 * debug and does not switch the folder to 'backfilling'. More is a backfill worth an info line.
 */
export const QUIET_CATCH_UP_MAX = 100;

/**
 * The header fields parse and the stored fingerprint use (PARSE_FIELDS, STORED_FINGERPRINT_FIELDS),
 * for a HEADER.FIELDS fetch (PollerOptions.fields). The poller itself fetches the whole header
 * block (source/imap/folder.ts: 4x cheaper per message in imapflow); the benchmark times this
 * list too. Prefix entries (`x-foo-*`) cannot be asked for in HEADER.FIELDS and are left out.
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
    ingestBatch: (items, cp, lease) => ctx.pipeline.ingestBatchAsync(items, cp, lease),
    leases: {
      acquire: (a, f, owner, ttl, now, takeOver) => ctx.store.acquireLease(a, f, owner, ttl, now, takeOver),
      renew: (k, ttl, now) => ctx.store.renewLease(k, ttl, now),
      release: (k) => ctx.store.releaseLease(k),
      list: () => ctx.store.listLeases(),
    },
  };
}

/**
 * The one way a poller is wired to an open app (serve and poll alike): the configured accounts,
 * the app's pipeline and store as the sink (or `sink`: poll's worker, app/poll-worker.ts), the
 * app's logger.
 */
export function createPoller(ctx: AppContext, o: { once?: boolean; progressLog?: boolean; logger?: Logger; sink?: PollSink } = {}): Poller {
  const { config } = ctx;
  return new Poller({
    accounts: config.accounts,
    poll: config.poll,
    sink: o.sink ?? appSink(ctx),
    logger: o.logger ?? ctx.logger,
    once: !!o.once,
    progressLog: o.progressLog ?? true,
    authStateDir: authStateDir(config),
  });
}

interface FolderRuntime {
  status: Omit<FolderStatus, 'healthy'>;
  log: Logger;
  /** Backfill progress for this pass. */
  done: number;
  total: number;
  passStartedAt: number;
}

/** Per-connection group of folders. */
interface Group {
  account: ImapAccountConfig;
  name: string;
  folders: string[];
  log: Logger;
  /** Aborted when this poller gains or loses one of the group's folders: the wait ends and ownership is looked at again. */
  wake: AbortController;
}

/** Polls IMAP accounts into the store. `start()` then `stop()`, or `run()` for --once. */
export class Poller extends EventEmitter<PollerEvents> {
  private readonly o: PollerOptions;
  private readonly fields: string[] | undefined;
  private readonly folders = new Map<string, FolderRuntime>();
  private readonly failures: PollSummary['failures'] = [];
  private readonly abort = new AbortController();
  private readonly now: () => number;
  private running: Promise<void> | null = null;
  private progressTimer: NodeJS.Timeout | null = null;
  /** One per account: OAuth2 tokens are cached and shared by the account's connections. */
  private readonly credentials = new Map<string, CredentialSource>();
  /** Folder leases (null: no lease sink, this poller owns every configured folder). */
  private readonly keeper: LeaseKeeper | null;
  private readonly groupOf = new Map<string, Group>();

  constructor(options: PollerOptions) {
    super();
    this.o = options;
    for (const account of options.accounts) {
      const name = accountName(account);
      if (!this.credentials.has(name)) {
        this.credentials.set(name, credentialSource(account, { logger: options.logger.child({ component: 'oauth', account: name }), env: options.env, stateDir: options.authStateDir }));
      }
    }
    this.now = options.now ?? Date.now;
    this.fields = options.fields ? [...options.fields] : undefined;
    for (const account of options.accounts) {
      const name = accountName(account);
      for (const folder of account.folders) {
        this.folders.set(key(name, folder), {
          status: { account: name, folder, state: 'connecting', lastSyncAt: null, lastSuccessAt: null, lastError: null, lag: null, counts: emptyCounts() },
          log: options.logger.child({ component: 'imap', account: name, folder }),
          done: 0,
          total: 0,
          passStartedAt: 0,
        });
      }
    }
    const leases = options.sink.leases;
    this.keeper = leases
      ? new LeaseKeeper({
          sink: leases,
          owner: options.leaseOwner ?? defaultLeaseOwner(),
          ttlMs: options.poll.leaseTtlMs,
          renewMs: options.poll.leaseRenewMs,
          folders: [...this.folders.values()].map((r) => ({ account: r.status.account, folder: r.status.folder })),
          logger: options.logger.child({ component: 'leases' }),
          now: this.now,
          share: !options.once,
          onChange: (account, folder, owned) => {
            if (!owned) this.setState(account, folder, 'standby');
            this.groupOf.get(key(account, folder))?.wake.abort();
          },
        })
      : null;
  }

  /** True while this poller may sync the folder (always, without leases). */
  private owns(account: string, folder: string): boolean {
    return !this.keeper || this.keeper.owns(account, folder);
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
        const g: Group = { account, name, folders, log: this.o.logger.child({ component: 'imap', account: name, connection: i }), wake: new AbortController() };
        groups.push(g);
        for (const f of folders) this.groupOf.set(key(name, f), g);
      }
    }
    if (this.o.progressLog !== false) {
      this.progressTimer = setInterval(() => this.logProgress(), this.o.poll.progressLogIntervalMs);
      this.progressTimer.unref();
    }
    const keeper = this.keeper;
    this.running = (async () => {
      // The first lease round before any connection: a lone poller owns its folders at once.
      if (keeper) {
        await keeper.start();
        for (const r of this.folders.values()) if (!this.owns(r.status.account, r.status.folder)) this.setState(r.status.account, r.status.folder, 'standby');
      }
      try {
        await Promise.all(groups.map((g) => this.runGroup(g)));
      } finally {
        // After the last commit: released leases let another poller take over at once.
        await keeper?.stop();
        if (this.progressTimer) clearInterval(this.progressTimer);
      }
    })();
  }

  /** Runs to completion (with `once`: one catch-up pass) and returns the summary. */
  async run(): Promise<PollSummary> {
    this.start();
    await this.running;
    return this.summary();
  }

  /** Graceful stop: the current batch is committed, then LOGOUT. Resolves when all connections are closed. */
  async stop(): Promise<void> {
    // Sessions still connecting are dropped at once (they hold nothing to commit); waits end.
    this.abort.abort();
    await this.running;
  }

  /** True once stop() was called. */
  get stopping(): boolean {
    return this.abort.signal.aborted;
  }

  /** Snapshot of every account/folder, with the health verdict as of now. */
  status(): FolderStatus[] {
    return [...this.folders.values()].map((f) => this.view(f));
  }

  /** Token health of the OAuth2 accounts. */
  tokens(): TokenHealth[] {
    return [...this.credentials.values()].map((c) => c.tokenStatus()).filter((t): t is TokenHealth => t !== null);
  }

  summary(): PollSummary {
    return { folders: this.status(), failures: [...this.failures] };
  }

  private view(f: FolderRuntime): FolderStatus {
    const s = f.status;
    const recovered = s.lastError === null || (s.lastSuccessAt !== null && s.lastSuccessAt.getTime() >= Date.parse(s.lastError.at));
    const healthy = s.state !== 'failed' && s.state !== 'backoff' && recovered;
    return { ...s, lastError: s.lastError && { ...s.lastError }, healthy, counts: structuredClone(s.counts) };
  }

  private rt(account: string, folder: string): FolderRuntime {
    const r = this.folders.get(key(account, folder));
    if (!r) throw new AppError('E_INTERNAL', `no runtime for ${account}/${folder}`);
    return r;
  }

  /**
   * Records a state (and error). Logs only what an operator needs: a folder that failed on its
   * own at warn; connection failures are logged once per attempt by runGroup, backfills by
   * syncFolder; everything else at debug.
   */
  private setState(account: string, folder: string, state: PollerState, error?: AppError): void {
    const r = this.rt(account, folder);
    const prev = r.status.state;
    if (error) r.status.lastError = { code: error.code, message: error.message, at: new Date(this.now()).toISOString() };
    if (prev === state && !error) return;
    r.status.state = state;
    r.log.debug({ state, from: prev, ...(error ? { code: error.code } : {}) }, `poller ${state}`);
    this.emit('state', this.view(r));
  }

  private succeeded(account: string, folder: string): void {
    this.rt(account, folder).status.lastSuccessAt = new Date(this.now());
  }

  private async runGroup(g: Group): Promise<void> {
    let attempt = 0;
    let downSince: number | null = null;
    const active = new Set(g.folders);
    // Folders held by another poller keep their 'standby' state.
    const setAll = (state: PollerState, err?: AppError) => {
      for (const f of owned()) this.setState(g.name, f, state, err);
    };
    const credentials = this.credentials.get(g.name)!;
    const owned = (): string[] => g.folders.filter((f) => active.has(f) && this.owns(g.name, f));
    /** A folder-only failure (unknown folder) ends that folder; anything else ends the session. */
    const confine = (e: unknown, folder: string): void => {
      const err = toImapError(e, g.account, folder);
      if (err.code !== 'E_IMAP_FOLDER') throw err;
      const bad = (err as ImapError).folder ?? folder;
      active.delete(bad);
      this.fail(g.name, bad, err);
    };
    while (!this.stopping && active.size) {
      if (owned().length === 0) {
        // Every folder of this connection is another poller's: no connection until one is ours.
        if (this.o.once) {
          g.log.info({ folders: [...active] }, 'folders held by another poller: skipped');
          break;
        }
        await this.waitForWake(g);
        continue;
      }
      if (attempt === 0) for (const f of owned()) this.setState(g.name, f, 'connecting');
      let session: ImapSession | null = null;
      try {
        session = await ImapSession.open({ account: g.account, poll: this.o.poll, logger: g.log, credentials, signal: this.abort.signal });
        if (downSince !== null) g.log.info({ attempts: attempt, downSeconds: Math.round((this.now() - downSince) / 100) / 10, secure: session.secure }, 'reconnected');
        else g.log.info({ secure: session.secure }, 'connected');
        downSince = null;
        const s = session;
        const syncAll = async (folders: Iterable<string>) => {
          for (const f of folders) {
            if (!active.has(f) || this.stopping || !this.owns(g.name, f)) continue;
            try {
              await this.syncFolder(s, g, f);
            } catch (e) {
              if (isAppError(e) && e.code === 'E_LEASE_LOST') this.leaseLost(g.name, f, e);
              else confine(e, f);
            }
          }
        };
        await syncAll(owned());
        attempt = 0;
        if (this.o.once) break;
        while (!this.stopping && owned().length) {
          if (g.wake.signal.aborted) {
            // A folder was gained or lost: re-arm first, so a change during the sync is not missed.
            g.wake = new AbortController();
            await syncAll(owned());
            continue;
          }
          const [idleFolder, ...others] = owned();
          let w;
          const wait = eitherSignal(this.abort.signal, g.wake.signal);
          try {
            w = await s.waitForChanges({
              idleFolder: idleFolder!,
              otherFolders: others,
              known: (f) => this.o.sink.getCheckpoint(g.name, f),
              signal: wait.signal,
              onNewMail: (folder, count) => {
                const r = this.folders.get(key(g.name, folder));
                if (r) r.status.lag = (r.status.lag ?? 0) + count;
              },
            });
          } catch (e) {
            confine(e, idleFolder!);
            continue;
          } finally {
            wait.dispose();
          }
          // The server answered (IDLE/NOOP/STATUS): the watched folders are fine as of now.
          for (const f of owned()) this.succeeded(g.name, f);
          if (w.changed.length) g.log.debug({ reason: w.reason, folders: w.changed }, 'sync triggered');
          await syncAll(w.changed);
        }
      } catch (e) {
        const err = isAppError(e) ? e : toImapError(e, g.account);
        if (this.stopping) break;
        attempt++;
        downSince ??= this.now();
        const transient = isTransient(err);
        if (this.o.once && (!transient || attempt >= this.o.poll.onceMaxAttempts)) {
          for (const f of owned()) this.fail(g.name, f, err);
          active.clear();
          break;
        }
        // In service mode nothing is given up: a wrong password or certificate may be fixed
        // while we run (secrets are re-read on connect), so retry at the slowest pace.
        const delay = backoffDelay(transient ? attempt : Number.MAX_SAFE_INTEGER, this.o.poll);
        setAll(transient ? 'backoff' : 'failed', err);
        // One line per attempt, at warn, without a stack: an outage is expected operation.
        g.log.warn({ attempt, retryInMs: delay, code: err.code, err: err.message }, transient ? 'IMAP connection failed; retrying' : 'IMAP connection failed; retrying slowly');
        if (err instanceof AppError && (err as ImapError).unreachable) {
          // Nothing listens: probe cheaply and reconnect as soon as the port accepts again.
          await waitUntilReachable(g.account, { intervalMs: this.o.poll.probeIntervalMs, untilMs: Date.now() + delay, signal: this.abort.signal });
        } else await abortableSleep(delay, this.abort.signal);
      } finally {
        await session?.close();
      }
    }
    for (const f of active) this.setState(g.name, f, 'stopped');
  }

  /** Until this poller gains or loses one of the group's folders, or stops. */
  private async waitForWake(g: Group): Promise<void> {
    const signals = [g.wake.signal, this.abort.signal];
    if (!signals.some((x) => x.aborted)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          for (const x of signals) x.removeEventListener('abort', done);
          resolve();
        };
        for (const x of signals) x.addEventListener('abort', done, { once: true });
      });
    }
    if (g.wake.signal.aborted) g.wake = new AbortController();
  }

  /**
   * The store refused a batch: another poller owns the folder now (or our lease expired before
   * we could renew it). Nothing of the batch was written; the folder is left to its new owner.
   * Not an error of the folder: no stack, no customer data, just which folder.
   */
  private leaseLost(account: string, folder: string, err: AppError): void {
    const voluntary = !!this.keeper?.handedOver(account, folder);
    this.keeper?.lost(account, folder);
    this.setState(account, folder, 'standby');
    const r = this.rt(account, folder);
    if (voluntary) r.log.info({ code: err.code }, 'folder handed over: its last fetched batch is left to the new owner');
    else r.log.warn({ code: err.code }, 'folder lease lost to another poller: stopped committing for this folder');
  }

  private fail(account: string, folder: string, err: AppError): void {
    this.failures.push({ account, folder, error: err });
    this.setState(account, folder, 'failed', err);
    this.rt(account, folder).log.warn({ code: err.code, err: err.message }, 'folder failed');
  }

  /** One catch-up pass over one folder: EXAMINE, compare UIDVALIDITY, fetch windows, commit each in order. */
  private async syncFolder(session: ImapSession, g: Group, folder: string): Promise<void> {
    const r = this.rt(g.name, folder);
    const pass = await session.sync(folder, {
      resumeAfter: async (info) => {
        const cp = await this.o.sink.getCheckpoint(g.name, folder);
        if (cp && cp.uidValidity === info.uidValidity) return cp.lastUid;
        if (cp) {
          r.log.warn(
            { oldUidValidity: cp.uidValidity, uidValidity: info.uidValidity },
            'UIDVALIDITY changed: resyncing the folder from the start (stored observations are kept, duplicates are not counted twice)',
          );
        }
        await this.o.sink.resetCheckpoint(g.name, folder, info.uidValidity);
        return 0;
      },
      batchSize: this.o.poll.batchSize,
      fields: this.fields,
      shouldStop: () => this.stopping || !this.owns(g.name, folder),
      onHarvestError: (uid, e) => r.log.warn({ uid, err: (e as Error).message }, 'could not fetch the signed parts of an S/MIME message; classified from its headers only'),
    });
    const { remaining } = pass;
    const backfill = remaining > QUIET_CATCH_UP_MAX;
    r.status.lag = remaining;
    r.done = 0;
    r.total = remaining;
    r.passStartedAt = this.now();
    if (backfill) {
      this.setState(g.name, folder, 'backfilling');
      r.log.info({ messages: remaining }, 'backfilling');
    }
    if (remaining > 0) this.emit('progress', { account: g.name, folder, done: 0, total: remaining });
    for await (const batch of pass.batches) {
      let lease: LeaseClaim | undefined;
      if (this.keeper) {
        lease = this.keeper.claim(g.name, folder);
        // Lost while this window was fetched: the new owner reads it again from the checkpoint.
        if (!lease) return;
      }
      const counts = await this.o.sink.ingestBatch(batch.items, { account: g.name, folder, uidValidity: batch.uidValidity, lastUid: batch.lastUid }, lease);
      addCounts(r.status.counts, counts);
      r.done += batch.items.length;
      r.status.lag = Math.max(0, (r.status.lag ?? 0) - batch.items.length);
      if (counts.read) this.emit('batch', { account: g.name, folder, counts, total: r.status.counts });
      if (remaining > 0) this.emit('progress', { account: g.name, folder, done: r.done, total: Math.max(r.total, r.done) });
      // Stop is honoured between batches: what was fetched is committed first.
      if (this.stopping || !this.owns(g.name, folder)) return;
    }
    if (this.stopping || !this.owns(g.name, folder)) return;
    r.status.lastSyncAt = new Date(this.now());
    this.succeeded(g.name, folder);
    r.status.lag = 0;
    if (remaining > 0) {
      const secs = (this.now() - r.passStartedAt) / 1000;
      const fields = { messages: r.done, seconds: Math.round(secs * 10) / 10, ratePerSec: secs > 0 ? Math.round(r.done / secs) : null };
      // New mail while idle is routine; only a backfill is news.
      if (backfill) r.log.info(fields, 'folder caught up');
      else r.log.debug(fields, 'folder caught up');
    }
    this.setState(g.name, folder, 'idle');
  }

  private logProgress(): void {
    for (const r of this.folders.values()) {
      if (r.status.state !== 'backfilling' || r.total === 0) continue;
      const secs = (this.now() - r.passStartedAt) / 1000;
      const rate = secs > 0 ? r.done / secs : 0;
      r.log.info(
        { done: r.done, total: r.total, ratePerSec: Math.round(rate), etaSec: rate > 0 ? Math.round((r.total - r.done) / rate) : null },
        'backfill progress',
      );
    }
  }
}

function key(account: string, folder: string): string {
  return `${account}\u0000${folder}`;
}

/** Capped exponential backoff with ±25% jitter, so many pollers do not reconnect in lockstep. */
export function backoffDelay(attempt: number, poll: Pick<PollConfig, 'backoffInitialMs' | 'backoffMaxMs'>): number {
  const exp = Math.min(poll.backoffMaxMs, poll.backoffInitialMs * 2 ** Math.min(30, Math.max(0, attempt - 1)));
  return Math.round(exp * (0.75 + Math.random() * 0.5));
}
