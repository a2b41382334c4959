/**
 * Bulk seeding for the scaling benchmarks (`npm run bench -- --scale`): a census of millions of
 * rows built inside the database, one INSERT … SELECT per table (SQLite: over a recursive CTE,
 * in one transaction; PostgreSQL: over generate_series), where feeding that much mail through
 * ingest, or rows one by one through a driver, would take hours. Two ways:
 *
 * - `seedSynthetic`: N addresses `user%07d@customer%03d.example` (the names the benchmarks' load
 *   generator draws) in one of the shapes the benchmarks' smaller points are generated with —
 *   `lookup` (every address with one client row, 10% of decisions expired, as the lookup curve's
 *   10k–1M points) or `export` (five client families and an unknown one, last seen over 400
 *   days, 2% expired, no client rows, as the export benchmark's 1M rows);
 * - `growByCopies`: an ingested census (the template) copied under renamed addresses until it
 *   holds the target number of observations, every per-address table along (state, clients,
 *   monthly activity; not certificates, erasures or counters), so the big census has the real
 *   one's distribution and index shapes.
 *
 * Neither is an ingest: no erasure check, no policy run, no counters. They are for data that
 * benchmarks then read and write through the ordinary paths.
 */
import { AppError } from '../core/index.js';
import type { CensusStore } from './contract.js';
import { SqliteStore } from './sqlite/store.js';
import { PostgresStore } from './postgres/store.js';
import type { SyntheticCensus } from './seed-sql.js';

export { SYNTHETIC_EXPIRED_SHARE, COPY_ADDRESS_PREFIX, type SyntheticCensus } from './seed-sql.js';

/** The address numbering has seven digits. */
export const MAX_SYNTHETIC_ADDRESSES = 10_000_000;

/** The i-th synthetic address (0-based), as the load generator builds it. */
export function syntheticAddress(i: number): string {
  return `user${String(i).padStart(7, '0')}@customer${String(i % 997).padStart(3, '0')}.example`;
}

function checkSpec(spec: SyntheticCensus): void {
  if (spec.shape !== 'lookup' && spec.shape !== 'export') throw new AppError('E_CONFIG', `seed: unknown shape ${String(spec.shape)}`);
  if (!Number.isSafeInteger(spec.addresses) || spec.addresses < 1 || spec.addresses > MAX_SYNTHETIC_ADDRESSES) {
    throw new AppError('E_CONFIG', `seed: addresses must be an integer from 1 to ${MAX_SYNTHETIC_ADDRESSES}, got ${spec.addresses}`);
  }
}

function seeder(store: CensusStore): SqliteStore | PostgresStore {
  if (store.readonly) throw new AppError('E_DB', 'seed: the store is read-only');
  if (store instanceof SqliteStore || store instanceof PostgresStore) return store;
  throw new AppError('E_CONFIG', 'seed: not a SQLite or PostgreSQL store');
}

/**
 * Adds `spec.addresses` synthetic addresses (and, for the `lookup` shape, one client row each)
 * to an empty census; returns how many. Refuses a census that already holds addresses: seeded
 * names could collide with ingested ones.
 */
export async function seedSynthetic(store: CensusStore, spec: SyntheticCensus): Promise<number> {
  checkSpec(spec);
  const s = seeder(store);
  await s.ready();
  if ((await s.countAddresses()) > 0) throw new AppError('E_CONFIG', 'seed: the census is not empty');
  return s.seedSynthetic(spec);
}

/**
 * Copies the census's own ingested rows (the template: every observation whose source key is not
 * a copy's) under new addresses — copy j's are `copy<j>.` + the template's — until it holds at
 * least `targetObservations` observations (the last copy may be partial: the template's first
 * rows by id, with the whole state of every address they belong to); returns the count reached.
 * Calling it again with a larger target continues with the next copy number.
 */
export async function growByCopies(store: CensusStore, targetObservations: number): Promise<number> {
  if (!Number.isSafeInteger(targetObservations) || targetObservations < 1) throw new AppError('E_CONFIG', `seed: target must be a positive integer, got ${targetObservations}`);
  const s = seeder(store);
  await s.ready();
  return s.growByCopies(targetObservations);
}

