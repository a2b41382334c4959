import { AppError } from '../../core/index.js';
import type { CensusStore, StoreOptions } from '../contract.js';
import { redactDbUrl } from '../db-url.js';

/** Placeholder until the PostgreSQL store lands: a postgres:// URL must fail clearly, never become a file path. */
export function openPostgresStore(url: string, _options: StoreOptions): CensusStore {
  throw new AppError('E_CONFIG', `db: ${redactDbUrl(url)}: the PostgreSQL store is not available in this build`);
}
