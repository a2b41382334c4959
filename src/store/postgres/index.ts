import type { CensusStore, StoreOptions } from '../contract.js';
import { PostgresStore } from './store.js';

export { PostgresStore };

/**
 * Opens a PostgreSQL census database from a `postgres://` URL (see connection.ts for TLS and the
 * password). Migrations run on first use under an advisory lock; await `ready()` to see a
 * connection or migration failure at start.
 */
export function openPostgresStore(url: string, options: StoreOptions): CensusStore {
  return new PostgresStore(url, options);
}
