/**
 * Folder leases on PostgreSQL: pollers on several hosts sharing one database. Each statement
 * is atomic on the lease row (INSERT … ON CONFLICT DO UPDATE … WHERE, UPDATE … RETURNING), and
 * the fenced commit reads the row FOR UPDATE inside the batch's transaction: a takeover either
 * commits before the batch (which then sees the new owner and fails) or waits for the batch's
 * COMMIT (and the new owner then reads the batch's checkpoint). Times are the callers' clocks,
 * as on SQLite: hosts must keep them synchronised (NTP) well within ttl − renewal interval.
 */
import type { Db } from './driver.js';
import { AppError } from '../../core/index.js';
import type { Lease, LeaseClaim, LeaseKey } from '../contract.js';

const RETURNING = `RETURNING account, folder, owner, token, expires_at AS "expiresAt"`;

/** A lease must outlive at least one renewal round trip; 0, NaN or a negative ttl is a bug. */
function checkTtl(ttlMs: number): void {
  if (!Number.isInteger(ttlMs) || ttlMs < 1) throw new AppError('E_INTERNAL', `lease ttl must be a positive integer of ms, got ${ttlMs}`);
}

function lease(r: Record<string, unknown> | undefined): Lease | null {
  return r ? { account: r.account as string, folder: r.folder as string, owner: r.owner as string, token: Number(r.token), expiresAt: Number(r.expiresAt) } : null;
}

export async function acquireLease(db: Db, account: string, folder: string, owner: string, ttlMs: number, now: number, takeOver?: LeaseClaim): Promise<Lease | null> {
  checkTtl(ttlMs);
  const { rows } = await db.query(
    `INSERT INTO leases (account, folder, owner, token, expires_at, acquired_at) VALUES ($1, $2, $3, 1, $4, $5)
     ON CONFLICT (account, folder) DO UPDATE SET owner = excluded.owner, token = leases.token + 1, expires_at = excluded.expires_at, acquired_at = excluded.acquired_at
     WHERE leases.expires_at <= $5 OR (leases.owner = $6 AND leases.token = $7) ${RETURNING}`,
    [account, folder, owner, now + ttlMs, now, takeOver?.owner ?? null, takeOver?.token ?? null],
  );
  return lease(rows[0]);
}

export async function renewLease(db: Db, k: LeaseKey, ttlMs: number, now: number): Promise<Lease | null> {
  checkTtl(ttlMs);
  const { rows } = await db.query(`UPDATE leases SET expires_at = $5 WHERE account = $1 AND folder = $2 AND owner = $3 AND token = $4 ${RETURNING}`, [
    k.account,
    k.folder,
    k.owner,
    k.token,
    now + ttlMs,
  ]);
  return lease(rows[0]);
}

export async function releaseLease(db: Db, k: LeaseKey): Promise<void> {
  await db.query(`UPDATE leases SET expires_at = 0 WHERE account = $1 AND folder = $2 AND owner = $3 AND token = $4`, [k.account, k.folder, k.owner, k.token]);
}

export async function listLeases(db: Db): Promise<Lease[]> {
  const { rows } = await db.query(`SELECT account, folder, owner, token, expires_at AS "expiresAt" FROM leases ORDER BY account, folder`);
  return rows.map((r) => lease(r)!);
}

/** The fenced-commit check inside the batch's transaction (E_LEASE_LOST rolls the batch back). */
export async function assertLeaseHeld(tx: Db, account: string, folder: string, claim: LeaseClaim, now: number): Promise<void> {
  const [r] = (await tx.query(`SELECT owner, token, expires_at AS "expiresAt" FROM leases WHERE account = $1 AND folder = $2 FOR UPDATE`, [account, folder])).rows;
  if (r && r.owner === claim.owner && Number(r.token) === claim.token && Number(r.expiresAt) > now) return;
  const why = !r || r.owner !== claim.owner || Number(r.token) !== claim.token ? 'taken over by another poller' : 'expired';
  throw new AppError('E_LEASE_LOST', `lease of ${account}/${folder} ${why}: batch not committed`);
}
