/**
 * Migrations on start, once even when several processes start at the same moment: the
 * migrator runs on its own single connection while that session holds a PostgreSQL advisory
 * lock. drizzle's migrator reads the applied migrations *before* its transaction, so two
 * unguarded processes would both see "none applied" and the second would fail on CREATE TABLE;
 * behind the lock the second one waits, then finds everything applied and does nothing.
 */
import { fileURLToPath } from 'node:url';
import { withClient, type DriverConfig } from './driver.js';

/** Migrations sit next to this module both in src/ (tests) and dist/ (copied by post-build). */
const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations', import.meta.url));

/**
 * Advisory lock keys (two-int4 form, so they never meet a single-bigint key): the first number
 * is this project's lock space, the second what is locked. Address locks use ADDRESS_LOCK_SPACE.
 */
export const MIGRATION_LOCK: readonly [number, number] = [0x43454e53, 1]; // 'CENS', 1
export const ADDRESS_LOCK_SPACE = 0x43454e41; // 'CENA'

/** Applies pending migrations on a dedicated connection under the migration lock. */
export async function migrateLocked(config: DriverConfig): Promise<void> {
  // drizzle on first use (~80 files): migrations run once per process, and a process on SQLite
  // (store/open.ts loads this module either way) never needs them.
  const [{ drizzle }, { migrate }] = await Promise.all([import('drizzle-orm/node-postgres'), import('drizzle-orm/node-postgres/migrator')]);
  await withClient(config, async (client, db) => {
    await db.query('SELECT pg_advisory_lock($1, $2)', [...MIGRATION_LOCK]);
    try {
      await migrate(drizzle({ client }), { migrationsFolder: MIGRATIONS_DIR });
    } finally {
      await db.query('SELECT pg_advisory_unlock($1, $2)', [...MIGRATION_LOCK]);
    }
  });
}
