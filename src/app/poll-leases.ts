/**
 * Folder ownership of one poller among several on one database (issue 10 item 4).
 *
 * Every (account, folder) is owned through a lease row in the store: owner, expiry, and a
 * fencing token that grows at each acquisition. This keeper claims the configured folders that
 * are free or whose lease expired, renews what it holds every `renewMs`, and releases it all on
 * a graceful stop. It is advisory for the poller (which syncs only folders it holds); safety
 * comes from the store: every batch commits with its checkpoint only while owner and token
 * still hold an unexpired lease, checked in the batch's own transaction. So a poller that lost
 * its lease (partitioned, paused, or just slow to notice) can never commit after the new owner
 * started, and the new owner resumes from the last committed checkpoint: nothing lost or doubled.
 *
 * Sharing: each poller also holds a membership lease (account MEMBERS_ACCOUNT, folder = its
 * owner id), so every poller knows how many are alive. It claims free folders only up to its
 * fair share, ceil(folders / live pollers), and gives back what exceeds it (the first poller
 * to start takes everything; the next ones get their share within a renewal round or two).
 *
 * Timing: a poller that dies stops renewing, its leases expire within `ttlMs`, and another
 * poller's next round (at most `renewMs` later) takes them over: at most ttlMs + renewMs
 * (15 s + 5 s by default, within the 30 s the issue asks).
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { abortableSleep } from '../source/imap/index.js';
import type { Lease, LeaseClaim, LeaseKey } from '../store/index.js';

/** What the keeper needs from the store (appSink passes the store's lease methods). */
export interface LeaseSink {
  acquire(account: string, folder: string, owner: string, ttlMs: number, now: number, takeOver?: LeaseClaim): Promise<Lease | null>;
  renew(key: LeaseKey, ttlMs: number, now: number): Promise<Lease | null>;
  release(key: LeaseKey): Promise<void>;
  list(): Promise<Lease[]>;
}

/** The pseudo-account of membership leases; account names cannot start with '~' (config/imap.ts). */
export const MEMBERS_ACCOUNT = '~pollers';

export interface LeaseKeeperOptions {
  sink: LeaseSink;
  /** This poller's identity in the lease rows. */
  owner: string;
  ttlMs: number;
  renewMs: number;
  folders: ReadonlyArray<{ account: string; folder: string }>;
  logger: Logger;
  now: () => number;
  /** Claim free folders only up to a fair share among the live pollers (service mode); false: claim all that are free. */
  share: boolean;
  /** A folder was gained (true) or lost (false). */
  onChange(account: string, folder: string, owned: boolean): void;
}

/** A lease owner id unique to this process: host, pid and a random part (a reused pid is another owner). */
export function defaultLeaseOwner(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}

/**
 * True when a default owner id names a process of this host that no longer runs (a poller
 * that crashed or was SIGKILLed): its leases can be taken at once instead of after the ttl.
 * Anything else (another host, a custom id, a live or unknown process) is never presumed dead.
 */
export function isDeadLocalOwner(owner: string): boolean {
  const m = /^(.*):(\d+):[0-9a-f]{8}$/.exec(owner);
  if (!m || m[1] !== hostname() || Number(m[2]) === process.pid) return false;
  try {
    process.kill(Number(m[2]), 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

function key(account: string, folder: string): string {
  return `${account}\u0000${folder}`;
}

/** Claims, renews and releases the folder leases of one poller. */
export class LeaseKeeper {
  private readonly held = new Map<string, Lease>();
  private readonly stopper = new AbortController();
  private loop: Promise<void> | null = null;
  /** Whether the last round could reach the store (one warn line per outage, not per round). */
  private storeDown = false;
  private member: Lease | null = null;
  /** Folders given back to share the load (a refused batch there is expected, not a lost lease). */
  private readonly shed = new Set<string>();

  constructor(private readonly o: LeaseKeeperOptions) {}

  /** Runs the first round (so a lone poller owns its folders at once), then keeps renewing in the background. */
  async start(): Promise<void> {
    await this.round();
    this.loop = (async () => {
      while (!this.stopper.signal.aborted) {
        await abortableSleep(this.o.renewMs, this.stopper.signal);
        if (this.stopper.signal.aborted) break;
        await this.round();
      }
    })();
  }

  /** The claim to commit a folder's batches with, while held. */
  claim(account: string, folder: string): LeaseClaim | undefined {
    const l = this.held.get(key(account, folder));
    return l && { owner: l.owner, token: l.token };
  }

  owns(account: string, folder: string): boolean {
    return this.held.has(key(account, folder));
  }

  /** The store refused a batch (E_LEASE_LOST): the folder is no longer ours. */
  lost(account: string, folder: string): void {
    if (this.held.delete(key(account, folder))) this.o.onChange(account, folder, false);
  }

  /** True (once) when the folder was handed over on purpose, to share the load. */
  handedOver(account: string, folder: string): boolean {
    return this.shed.delete(key(account, folder));
  }

  /** Stops renewing and releases every held lease, so other pollers take the folders over at once. */
  async stop(): Promise<void> {
    this.stopper.abort();
    // A renewal still in flight would otherwise re-extend a lease released here.
    await this.loop;
    const held = [...this.held.values(), ...(this.member ? [this.member] : [])];
    this.held.clear();
    this.member = null;
    for (const l of held) {
      try {
        await this.o.sink.release({ account: l.account, folder: l.folder, owner: l.owner, token: l.token });
      } catch (e) {
        // It expires on its own within ttlMs.
        this.o.logger.warn({ account: l.account, folder: l.folder, err: (e as Error).message }, 'could not release the folder lease; it expires on its own');
      }
    }
  }

  /** Renews this poller's membership and counts the live pollers (at least 1: this one). */
  private async livePollers(): Promise<number> {
    const now = this.o.now();
    const m = this.member;
    this.member = m ? await this.o.sink.renew(m, this.o.ttlMs, now) : null;
    this.member ??= await this.o.sink.acquire(MEMBERS_ACCOUNT, this.o.owner, this.o.owner, this.o.ttlMs, now);
    const live = (await this.o.sink.list()).filter((l) => l.account === MEMBERS_ACCOUNT && l.expiresAt > now && l.owner !== this.o.owner && !isDeadLocalOwner(l.owner)).length;
    return live + 1;
  }

  private async round(): Promise<void> {
    let failed: Error | null = null;
    let holders: Lease[] | undefined;
    let share = this.o.folders.length;
    if (this.o.share) {
      try {
        share = Math.ceil(this.o.folders.length / (await this.livePollers()));
      } catch (e) {
        failed = e as Error;
      }
    }
    for (const { account, folder } of this.o.folders) {
      if (this.stopper.signal.aborted && this.loop) return;
      const k = key(account, folder);
      const mine = this.held.get(k);
      try {
        if (mine) {
          const renewed = await this.o.sink.renew({ account, folder, owner: mine.owner, token: mine.token }, this.o.ttlMs, this.o.now());
          if (renewed) this.held.set(k, renewed);
          else {
            this.o.logger.warn({ account, folder }, 'folder lease lost to another poller: stopped polling this folder');
            this.lost(account, folder);
          }
        } else if (this.held.size < share) {
          let got = await this.o.sink.acquire(account, folder, this.o.owner, this.o.ttlMs, this.o.now());
          if (!got) {
            // Held: by a crashed process of this host? Then it can never commit again.
            holders ??= await this.o.sink.list();
            const h = holders.find((l) => l.account === account && l.folder === folder);
            if (h && isDeadLocalOwner(h.owner)) {
              got = await this.o.sink.acquire(account, folder, this.o.owner, this.o.ttlMs, this.o.now(), { owner: h.owner, token: h.token });
              if (got) this.o.logger.info({ account, folder }, 'took over the folder lease of a poller that is no longer running');
            }
          }
          if (got) {
            this.shed.delete(k);
            this.held.set(k, got);
            this.o.logger.debug({ account, folder, token: got.token }, 'folder lease acquired');
            this.o.onChange(account, folder, true);
          }
        }
      } catch (e) {
        failed = e as Error;
        // The store is unreachable: a lease we cannot renew is gone once its expiry passed (the
        // store refuses our commits from then on anyway); stop polling it rather than fetch in vain.
        if (mine && mine.expiresAt <= this.o.now()) {
          this.o.logger.warn({ account, folder, err: failed.message }, 'folder lease expired while the database was unreachable: stopped polling this folder');
          this.lost(account, folder);
        }
      }
    }
    // Give back what exceeds the share (the last folders first): another poller takes it in its
    // next round. Our batch in flight for it, if any, is refused by the fence and not lost.
    const excess = [...this.held.values()].slice(share);
    for (const l of excess) {
      this.shed.add(key(l.account, l.folder));
      this.lost(l.account, l.folder);
      try {
        await this.o.sink.release({ account: l.account, folder: l.folder, owner: l.owner, token: l.token });
        this.o.logger.info({ account: l.account, folder: l.folder }, 'folder handed over to share the load with another poller');
      } catch (e) {
        failed = e as Error;
      }
    }
    if (failed && !this.storeDown) this.o.logger.warn({ err: failed.message }, 'cannot renew or claim folder leases; retrying');
    else if (!failed && this.storeDown) this.o.logger.info('folder leases renewed again');
    this.storeDown = failed !== null;
  }
}
