/**
 * Folder leases on SQLite: several pollers on one database file on one host. Every lease
 * statement runs in an IMMEDIATE transaction (or inside the batch's), so acquisitions,
 * renewals and fenced commits are serialised by SQLite's write lock: a takeover commits either
 * before a batch (which then fails its check) or after it (and reads its checkpoint).
 */
import type { Statement } from 'better-sqlite3';
import { AppError } from '../../core/index.js';
import type { Lease, LeaseClaim, LeaseKey } from '../contract.js';
import type { SqliteDb } from './open.js';

interface LeaseRow {
  account: string;
  folder: string;
  owner: string;
  token: number;
  expiresAt: number;
}

const COLUMNS = `account, folder, owner, token, expires_at AS expiresAt`;

/** The lease statements of one SQLite store. */
export class SqliteLeases {
  private readonly get: Statement;
  private readonly list: Statement;
  private readonly take: Statement;
  private readonly extend: Statement;
  private readonly drop: Statement;
  private readonly acquireTx: (account: string, folder: string, owner: string, ttlMs: number, now: number, from?: LeaseClaim) => Lease | null;

  constructor(private readonly sqlite: SqliteDb) {
    this.get = sqlite.prepare(`SELECT ${COLUMNS} FROM leases WHERE account = ? AND folder = ?`);
    this.list = sqlite.prepare(`SELECT ${COLUMNS} FROM leases ORDER BY account, folder`);
    this.take = sqlite.prepare(
      `INSERT INTO leases (account, folder, owner, token, expires_at, acquired_at) VALUES (@account, @folder, @owner, 1, @expiresAt, @now)
       ON CONFLICT (account, folder) DO UPDATE SET owner = excluded.owner, token = token + 1, expires_at = excluded.expires_at, acquired_at = excluded.acquired_at
       WHERE expires_at <= @now OR (owner = @fromOwner AND token = @fromToken)`,
    );
    this.extend = sqlite.prepare(`UPDATE leases SET expires_at = @expiresAt WHERE account = @account AND folder = @folder AND owner = @owner AND token = @token`);
    this.drop = sqlite.prepare(`UPDATE leases SET expires_at = 0 WHERE account = @account AND folder = @folder AND owner = @owner AND token = @token`);
    const acquire = sqlite.transaction((account: string, folder: string, owner: string, ttlMs: number, now: number, from?: LeaseClaim): Lease | null => {
      const taken = this.take.run({ account, folder, owner, expiresAt: now + ttlMs, now, fromOwner: from?.owner ?? null, fromToken: from?.token ?? null }).changes === 1;
      return taken ? this.read(account, folder) : null;
    });
    this.acquireTx = (...a) => acquire.immediate(...a);
  }

  private read(account: string, folder: string): Lease | null {
    return (this.get.get(account, folder) as LeaseRow | undefined) ?? null;
  }

  acquire(account: string, folder: string, owner: string, ttlMs: number, now: number, takeOver?: LeaseClaim): Lease | null {
    checkTtl(ttlMs);
    return this.acquireTx(account, folder, owner, ttlMs, now, takeOver);
  }

  renew(key: LeaseKey, ttlMs: number, now: number): Lease | null {
    checkTtl(ttlMs);
    // A single UPDATE is its own (write-locked) transaction.
    if (this.extend.run({ ...pick(key), expiresAt: now + ttlMs }).changes !== 1) return null;
    return { ...pick(key), expiresAt: now + ttlMs };
  }

  release(key: LeaseKey): void {
    this.drop.run(pick(key));
  }

  all(): Lease[] {
    return this.list.all() as LeaseRow[];
  }

  /**
   * The fenced-commit check, called inside the batch's write transaction: the claim must still
   * be the holder and the lease unexpired at `now`. Throws E_LEASE_LOST (rolling the batch back).
   */
  assertHeld(account: string, folder: string, claim: LeaseClaim, now: number): void {
    const row = this.read(account, folder);
    if (row && row.owner === claim.owner && row.token === claim.token && row.expiresAt > now) return;
    const why = !row || row.owner !== claim.owner || row.token !== claim.token ? 'taken over by another poller' : 'expired';
    throw new AppError('E_LEASE_LOST', `lease of ${account}/${folder} ${why}: batch not committed`);
  }
}

function pick(k: LeaseKey): LeaseKey {
  return { account: k.account, folder: k.folder, owner: k.owner, token: k.token };
}

/** A lease must outlive at least one renewal round trip; 0, NaN or a negative ttl is a bug. */
function checkTtl(ttlMs: number): void {
  if (!Number.isInteger(ttlMs) || ttlMs < 1) throw new AppError('E_INTERNAL', `lease ttl must be a positive integer of ms, got ${ttlMs}`);
}
