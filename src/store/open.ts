import { readFileSync } from 'node:fs';
import { AppError } from '../core/index.js';
import type { CensusStore, StoreOptions } from './contract.js';
import { SqliteStore } from './sqlite/store.js';
import { openPostgresStore } from './postgres/index.js';
import { isMisspeltPostgresUrl, isPostgresUrl, OTHER_URL, redactDbUrl } from '../core/db-url.js';

export { isPostgresUrl, redactDbUrl };

/**
 * The password for a PostgreSQL URL: from options, else CENSUS_DB_PASSWORD_FILE (a secret
 * file, as systemd credentials or Docker secrets provide), else whatever the URL carries.
 */
export function postgresPassword(options: StoreOptions, env: Record<string, string | undefined> = process.env): string | undefined {
  if (options.password !== undefined) return options.password;
  const file = env.CENSUS_DB_PASSWORD_FILE;
  if (!file) return undefined;
  try {
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (e) {
    throw new AppError('E_SECRET', `CENSUS_DB_PASSWORD_FILE: cannot read ${file}: ${(e as Error).message}`, { cause: e });
  }
}

/** TLS options for a PostgreSQL URL: from options, else the CA file in CENSUS_DB_CA_FILE (the URL's sslrootcert wins over both). */
export function postgresTls(options: StoreOptions, env: Record<string, string | undefined> = process.env): StoreOptions['tls'] {
  if (options.tls !== undefined) return options.tls;
  return env.CENSUS_DB_CA_FILE ? { caFile: env.CENSUS_DB_CA_FILE } : undefined;
}

/**
 * Opens the census database `db`: a file path selects SQLite (the embedded default), a
 * `postgres://…` / `postgresql://…` URL selects PostgreSQL. Pending migrations are applied
 * unless read-only: at once for SQLite, before the first query for PostgreSQL (await
 * `store.ready()` to see a connection or migration failure at start).
 */
export function openStore(db: string, options: StoreOptions = {}): CensusStore {
  if (isPostgresUrl(db)) return openPostgresStore(db, { ...options, password: postgresPassword(options), tls: postgresTls(options) });
  if (isMisspeltPostgresUrl(db)) throw new AppError('E_CONFIG', `db: ${redactDbUrl(db)}: a PostgreSQL URL starts with postgres:// (two slashes)`);
  if (OTHER_URL.test(db)) throw new AppError('E_CONFIG', `db: ${redactDbUrl(db)} is neither a file path nor a postgres:// URL`);
  return new SqliteStore(db, options);
}

/** openStore for an embedded SQLite file only, synchronously (the Node library's sync API). */
export function openSqliteStore(path: string, options: StoreOptions = {}): SqliteStore {
  if (isPostgresUrl(path) || isMisspeltPostgresUrl(path) || OTHER_URL.test(path)) throw new AppError('E_CONFIG', `db: ${redactDbUrl(path)} is not a SQLite file path`);
  return new SqliteStore(path, options);
}
