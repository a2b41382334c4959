/**
 * The store contract: everything app/ may ask of a census database, and nothing more. Two
 * implementations sit behind it, side by side: sqlite/ (the embedded default) and postgres/
 * (several processes and hosts on one database). No driver handle and no SQL leave src/store/.
 *
 * The contract is async because a network database needs it. Policy stays in TypeScript:
 * where a write depends on policy (the per-address state update, the recommendation, key
 * continuity), app/ passes the pure functions in (`IngestFold`), and the store runs them inside
 * its own transaction, so that a batch is ONE atomic unit whatever the dialect.
 */
import type { Recommendation, SmimeLevel } from '../core/index.js';
import type { AddressState } from '../policy/index.js';

/** One stored observation as written by ingest (camelCase; the tables use snake_case). */
export interface ObservationRow {
  sourceKey: string;
  address: string;
  messageId: string;
  effectiveAt: number;
  receivedAt: number | null;
  fingerprint: string;
  family: string | null;
  kind: string;
  product: string | null;
  version: string | null;
  platform: string | null;
  smime: string;
  confidence: number;
  ruleId: string | null;
  warnings: string;
  candidates: string | null;
  smimeMessage: string | null;
  authenticated: number | null;
  evidence: number;
  createdAt: number;
}

export interface StoredObservation extends ObservationRow {
  id: number;
}

/** The verdict columns recompute may rewrite. */
export type VerdictColumns = Pick<ObservationRow, 'family' | 'kind' | 'product' | 'version' | 'platform' | 'smime' | 'confidence' | 'ruleId' | 'warnings' | 'candidates' | 'evidence'>;

/** A row of the certificates table (snake_case as stored). */
export interface CertificateRow {
  id: number;
  address: string;
  fingerprint: string;
  spki_sha256: string;
  subject: string;
  issuer: string;
  serial: string;
  not_before: number;
  not_after: number;
  key_algorithm: string;
  capabilities: string;
  trusted: string;
  continuity: Continuity;
  pem: string;
  first_seen: number;
  last_seen: number;
}

export type Continuity = 'first-seen' | 'same' | 'renewal' | 'key-changed';

/** A harvested certificate before the store has compared it with the address's current one. */
export type NewCertificate = Omit<CertificateRow, 'id' | 'continuity' | 'address' | 'first_seen' | 'last_seen'>;

export interface CachedDecision {
  recommendation: Recommendation;
  reason: string;
  lastSeen: number;
  decidedUntil: number | null;
  keyChanged: 0 | 1;
}

/** The identity of a client within an address's client list. */
export interface ClientIdentity {
  family: string | null;
  product: string | null;
  version: string | null;
  platform: string | null;
  smime: SmimeLevel;
}

export interface ClientRow extends ClientIdentity {
  count: number;
  lastSeen: number;
}

export interface Checkpoint {
  account: string;
  folder: string;
  uidValidity: string;
  lastUid: number;
}

export interface ExportFilter {
  recommendation?: Recommendation;
  family?: string;
  /** Only addresses seen at or after this time (ms). */
  since?: number;
}

export interface Stats {
  addresses: number;
  messages: number;
  byRecommendation: Record<Recommendation, number>;
  byFamily: Array<{ family: string | null; smime: string | null; addresses: number; sign: number }>;
  byMonth: Array<{ month: string; messages: number; activeAddresses: number; signable: number }>;
  counters: Record<string, number>;
}

export interface UnknownFingerprint {
  header: string;
  value: string;
  count: number;
  exampleMessageId: string;
}

/** What a lookup reads: the cached decision, the client list when asked, and the full state only when the decision expired. */
export interface LookupRow {
  decision: CachedDecision;
  clients: ClientRow[];
  /** Present when `decision.decidedUntil <= now`: the caller decides again from it. */
  state: AddressState | null;
}

export interface LookupOptions {
  clients: boolean;
  now: number;
}

/** How an export re-decides expired cached decisions: policy at the export's time. */
export interface StaleDecisions {
  now: number;
  decide(state: AddressState): DecisionFields;
}

/** The decision fields policy computes for a state. */
export interface DecisionFields {
  recommendation: Recommendation;
  reason: string;
  decidedUntil: number | null;
}

/** One message of an ingest batch, already parsed and classified outside the transaction. */
export interface IngestItem<F> {
  observation: ObservationRow;
  /** Policy's facts of the observation, opaque to the store: handed back to `fold.apply`. */
  facts: F;
  /** The client it counts for in the address's client list. */
  client: ClientIdentity;
  /** Counts as signable evidence in the month's activity. */
  signable: boolean;
  /** A verified certificate of the sender (undefined: none carried; null: carried but rejected). */
  certificate?: NewCertificate | null;
}

/** The pure functions a batch needs from policy and sign; the store calls them inside its transaction. */
export interface IngestFold<F> {
  apply(prev: AddressState | null, address: string, facts: F): AddressState;
  decide(state: AddressState): DecisionFields;
  continuity(previous: CertificateRow | null, next: NewCertificate): Continuity;
  /** Keyed hash of an address for the erasure list (called only when an erasure exists). */
  erasureHash(address: string): string;
  /** Keyed hash of a message identity (Message-ID or header hash) recorded at erasure (called only for erased addresses). */
  messageErasureHash?(messageId: string): string;
}

/**
 * Fencing: the batch commits only while this owner still holds the folder's lease under this
 * token. The token (an epoch) grows by one at every acquisition, so a claim from before a
 * takeover never matches again, even if the same owner later takes the folder back.
 */
export interface LeaseClaim {
  owner: string;
  token: number;
}

export interface IngestBatch<F> {
  items: readonly IngestItem<F>[];
  /** Committed with the batch (same transaction). */
  checkpoint?: Checkpoint;
  /** With a checkpoint: the lease that must still be held for it (fenced commit). */
  lease?: LeaseClaim;
  /** Counters known before the transaction (read, skipped:*), added with the batch's own. */
  counters: Record<string, number>;
  now: number;
}

export interface IngestOutcome {
  stored: number;
  duplicates: number;
  /** Dropped because the address was erased after the message's date. */
  erased: number;
}

/** Recompute: the store walks every observation and every address inside one transaction. */
export interface RecomputeJob<F> {
  /** New verdict columns for a stored observation, or null when unchanged. */
  reclassify(o: StoredObservation): VerdictColumns | null;
  /** Facts of a (re-classified) observation for the state rebuild. */
  factsOf(o: StoredObservation): { facts: F; client: ClientIdentity; signable: boolean };
  apply(prev: AddressState | null, address: string, facts: F): AddressState;
  decide(state: AddressState): DecisionFields;
}

export interface RecomputeResult {
  observations: number;
  changed: number;
  addresses: number;
}

export interface CheckpointInfo extends Checkpoint {
  updatedAt: number;
}

/**
 * A folder lease: one owner per (account, folder) at a time, until `expiresAt` unless renewed.
 * An expired lease is free: the next `acquireLease` by anyone takes it (with a new token).
 */
export interface Lease extends LeaseClaim {
  account: string;
  folder: string;
  expiresAt: number;
}

/** Which folder and which holder a lease operation is about. */
export interface LeaseKey extends LeaseClaim {
  account: string;
  folder: string;
}

export interface StoreHealth {
  ok: boolean;
  error?: string;
}

/**
 * Synchronous lookups of an embedded store (SQLite): the Node library's `recommendSync` for
 * hot loops in a sending process. A network store has none.
 */
export interface EmbeddedLookups {
  lookup(address: string, o: LookupOptions): LookupRow | null;
  /** All read from one snapshot. */
  lookupMany(addresses: readonly string[], o: LookupOptions): Array<LookupRow | null>;
}

/** The census database. */
export interface CensusStore {
  readonly dialect: 'sqlite' | 'postgres';
  /** Where it lives, without secrets (a path, or a URL without its password). */
  readonly location: string;
  readonly readonly: boolean;
  /** Present on embedded stores only. */
  readonly embedded?: EmbeddedLookups;

  /**
   * Stores one batch in ONE transaction: observations (idempotent on source key and on
   * Message-ID + address), per-address state with its client list, monthly activity, certificates with
   * key continuity, counters and the checkpoint. The erasure check runs inside it, so an
   * erasure that commits first is never undone by old mail. With `lease` and a checkpoint, the
   * batch commits only while owner and token hold an unexpired lease of the checkpoint's folder,
   * checked inside the same transaction: otherwise nothing is written and it rejects with
   * E_LEASE_LOST (a poller that lost its folder can never commit after the new owner started).
   */
  ingestBatch<F>(batch: IngestBatch<F>, fold: IngestFold<F>): Promise<IngestOutcome>;

  lookup(address: string, o: LookupOptions): Promise<LookupRow | null>;
  /** Results in input order, all read from one snapshot. */
  lookupMany(addresses: readonly string[], o: LookupOptions): Promise<Array<LookupRow | null>>;
  getState(address: string): Promise<AddressState | null>;
  getClients(address: string): Promise<ClientRow[]>;
  observationsOf(address: string): Promise<StoredObservation[]>;
  certificatesOf(address: string): Promise<CertificateRow[]>;

  /** Re-decides expired cached decisions (decide is policy) and stores them. Returns how many. */
  refreshStale(decide: (s: AddressState) => DecisionFields, now: number): Promise<number>;
  /**
   * CSV lines (no header), in pages, keyset-paginated by address: constant memory. With `stale`,
   * a row whose cached decision expired by `stale.now` is written as `stale.decide` decides it
   * (the same bytes a refreshed database would give) and a recommendation filter applies to that
   * decision; nothing is stored. Without it, the stored decisions as they are (store copy).
   * `pageSize`: rows per keyset page (4,000 unless a test needs page boundaries).
   */
  exportCsv(filter: ExportFilter, stale?: StaleDecisions, pageSize?: number): AsyncIterable<string>;
  /**
   * The same export as exportCsv, as UTF-8 bytes (no header), for a store that has them without
   * a string in between: SQLite's statement builds each page as text already, and returning it
   * as a BLOB spares decoding it into a JS string and encoding it again for the file (~10% of a
   * 1M-row export's CPU). The chunks need not end at line ends; their concatenation is exportCsv's.
   */
  exportCsvBytes?(filter: ExportFilter, stale?: StaleDecisions, pageSize?: number): AsyncIterable<Uint8Array>;
  /**
   * Counts of the whole census from one snapshot. With `stale`, an address whose cached decision
   * expired by `stale.now` counts as `stale.decide` decides it (what a refreshed database would
   * give); nothing is stored. Without it, the stored decisions as they are.
   */
  stats(stale?: StaleDecisions): Promise<Stats>;
  getCounters(): Promise<Record<string, number>>;
  unknownFingerprints(top: number, headers?: readonly string[]): Promise<UnknownFingerprint[]>;
  countAddresses(): Promise<number>;
  /** Up to `limit` addresses after `after`, in order (keyset pagination). */
  addressPage(after: string, limit: number): Promise<string[]>;

  /** Re-classifies and rebuilds every address in one transaction: readers see the old state until it commits. */
  recompute<F>(job: RecomputeJob<F>): Promise<RecomputeResult>;

  /**
   * Right to erasure: deletes every row about the address and remembers its keyed hash. Returns
   * the rows deleted, each client of the address's client list counting as one. `messageHash`
   * maps each stored Message-ID of the address to the keyed hash recorded so that re-reading
   * that mail stores nothing, whatever its date.
   */
  erase(address: string, addressHash: string, at: number, messageHash?: (messageId: string) => string): Promise<number>;

  /**
   * Folder leases (several pollers on one database). Takes the (account, folder) lease for
   * `owner` when nobody holds it or the holder's lease expired, with a new token; returns null
   * while another owner's lease is unexpired. Times are the caller's clock (`now`, ms).
   * `takeOver`: also take it while unexpired if exactly this holder (owner and token) still
   * has it — for a holder known to be dead (a crashed process on this host), so a restart need
   * not wait for the expiry.
   */
  acquireLease(account: string, folder: string, owner: string, ttlMs: number, now: number, takeOver?: LeaseClaim): Promise<Lease | null>;
  /**
   * Extends a lease to `now + ttlMs` while owner and token still hold it (also just after it
   * expired, as long as nobody took it over: the token proves nobody committed meanwhile).
   * Returns null when the lease was lost to another owner.
   */
  renewLease(key: LeaseKey, ttlMs: number, now: number): Promise<Lease | null>;
  /** Gives a held lease up at once (graceful stop), so another poller need not wait for it to expire. */
  releaseLease(key: LeaseKey): Promise<void>;
  listLeases(): Promise<Lease[]>;

  /**
   * Moving house (`store copy`): raw rows of one table, snake_case as stored, in primary-key
   * order after the key `after` (null: from the start), at most `limit`.
   */
  readRows(table: CopyTable, after: readonly RowValue[] | null, limit: number): Promise<RawRow[]>;
  /** Writes raw rows in one transaction; a row whose key is already there is kept as it is (a resumed copy doubles nothing). Returns the rows added. */
  writeRows(table: CopyTable, rows: readonly RawRow[]): Promise<number>;
  countRows(table: CopyTable): Promise<number>;
  /** The greatest primary key of a table (where an interrupted copy stopped), or null when empty. */
  lastKey(table: CopyTable): Promise<RowValue[] | null>;

  getCheckpoint(account: string, folder: string): Promise<{ uidValidity: string; lastUid: number } | null>;
  /** On a UIDVALIDITY change: the folder starts again from UID 0 under the new validity. */
  resetCheckpoint(account: string, folder: string, uidValidity: string): Promise<void>;
  listCheckpoints(): Promise<CheckpointInfo[]>;

  /** Resolves when the database is reachable and migrated (every other method waits for it); rejects with the reason otherwise. */
  ready(): Promise<void>;
  /** A point read of a real table: fails when the database is gone, closed or corrupt. */
  health(): Promise<StoreHealth>;
  close(): Promise<void>;
}

/**
 * The tables `store copy` moves, in copy order: erasures first (a partial copy never lacks one),
 * checkpoints last (a partial copy never claims mail it does not hold). Leases are live state
 * of running pollers and are not copied.
 */
export const COPY_TABLES = ['erasures', 'erased_messages', 'observations', 'addresses', 'address_months', 'certificates', 'counters', 'checkpoints'] as const;
export type CopyTable = (typeof COPY_TABLES)[number];

/** Primary key of each copied table (keyset pagination, idempotent inserts). */
export const COPY_KEYS: Record<CopyTable, readonly string[]> = {
  erasures: ['address_hash'],
  erased_messages: ['message_hash'],
  observations: ['id'],
  addresses: ['address'],
  address_months: ['month', 'address'],
  certificates: ['id'],
  counters: ['name'],
  checkpoints: ['account', 'folder'],
};

export type RowValue = string | number | null;
export type RawRow = Record<string, RowValue>;

/** Column names come from our own tables; anything else is refused before it reaches SQL. */
export function assertColumnNames(row: RawRow): string[] {
  const cols = Object.keys(row);
  for (const c of cols) if (!/^[a-z][a-z0-9_]*$/.test(c)) throw new Error(`not a census column: ${JSON.stringify(c)}`);
  return cols;
}

/** Options of openStore. Tuning belongs here, never in a pragma called from app/. */
export interface StoreOptions {
  /** Open read-only (the Node library beside a running poller): no migrations, no writes. */
  readonly?: boolean;
  /** SQLite page cache in KiB (default 65,536 = 64 MiB). */
  cacheKiB?: number;
  /** SQLite memory-mapped I/O in bytes (default 256 MiB; 0 = off). */
  mmapBytes?: number;
  /**
   * SQLite: one-address embedded lookups (the HTTP GET) run on a connection of their own and
   * share one read transaction per event-loop turn, ended by setImmediate, instead of one each.
   * Every request of a turn was read from its socket before the snapshot began, so none sees
   * older data than it would alone; the batch lookups and every other call are unchanged. For
   * the server only: a synchronous loop of lookups would all read one snapshot.
   */
  lookupSnapshotPerTurn?: boolean;
  /** PostgreSQL: password (else from the URL or CENSUS_DB_PASSWORD_FILE). */
  password?: string;
  /** PostgreSQL: connections in the pool (default 4). */
  poolSize?: number;
  /** PostgreSQL TLS: verified by default when the URL asks for TLS (sslmode). */
  tls?: { caFile?: string; rejectUnauthorized?: boolean };
}

/** Identity of a client within an address's client list. */
export function clientKeyOf(c: ClientIdentity): string {
  return [c.family ?? '', c.product ?? '', c.version ?? '', c.platform ?? '', c.smime].join('\u001f');
}

/** The month (UTC, YYYY-MM) of a time, as the monthly activity is keyed. */
export function monthOf(at: number): string {
  return new Date(at).toISOString().slice(0, 7);
}

export const EXPORT_COLUMNS = ['address', 'recommendation', 'family', 'product', 'version', 'smime', 'last_seen', 'messages', 'reason', 'key_changed'] as const;
