/**
 * The PostgreSQL store: several processes on several hosts share one census database. Same
 * contract and same semantics as sqlite/store.ts (the contract suite runs on both); what differs
 * is how a batch stays correct when other processes write at the same moment.
 *
 * Concurrency (READ COMMITTED, one transaction per batch):
 * 1. A batch first takes a transaction-scoped advisory lock per distinct address
 *    (pg_advisory_xact_lock(ADDRESS_LOCK_SPACE, hash32(address))), in ascending key order, so
 *    two batches never wait on each other in a cycle. A row lock (SELECT ... FOR UPDATE) cannot
 *    do this: an address seen for the first time has no row to lock yet, and two processes
 *    would both fold from "no state" and one would overwrite the other. Serializable isolation
 *    would detect that, but only by aborting and re-running whole batches, which a backfill of
 *    popular addresses would do all the time. A hash collision only makes two addresses wait for
 *    each other; it never lets two writers of one address through together.
 * 2. Then, with the address locked, the erasure check (an erasure takes the same lock, so it
 *    either committed before, and is seen, or starts after, and deletes what this batch wrote),
 *    the observation insert (ON CONFLICT DO NOTHING: idempotent on source key and on
 *    Message-ID + address), the state read, policy's fold, and the writes.
 * 3. Counters are shared rows: upserted once per batch in name order (no deadlock cycle).
 * 4. Recompute locks the derived tables against writers (SHARE ROW EXCLUSIVE) for its one
 *    transaction; readers keep reading the old state until it commits.
 *
 * Failures: a dropped connection, a server restart, a deadlock or serialization failure is
 * retried a few times with back-off when it is safe (the transaction had not reached COMMIT, so
 * it was rolled back); otherwise, and after the retries, it is E_DB, as for SQLite.
 */
import { createHash } from 'node:crypto';
import type { AddressState } from '../../policy/index.js';
import type { Recommendation } from '../../core/index.js';
import { AppError } from '../../core/index.js';
import type {
  CachedDecision, CensusStore, CertificateRow, CheckpointInfo, ClientRow, DecisionFields, ExportFilter, StaleDecisions,
  IngestBatch, IngestFold, IngestOutcome, LookupOptions, LookupRow, RecomputeJob, RecomputeResult, Stats,
  StoreHealth, StoreOptions, StoredObservation, UnknownFingerprint, VerdictColumns, Checkpoint, NewCertificate, Continuity,
  Lease, LeaseClaim, LeaseKey, CopyTable, RawRow, RowValue,
} from '../contract.js';
import { ADDRESS_COLUMNS, OBSERVATION_COLUMNS, OBS_PARAMS, STORED_ADDRESS_COLUMNS, observationFromRow, storedRowOf, toState, type AddressRow, type StoredAddressRow } from '../rows.js';
import { BatchTally } from '../tally.js';
import { addClients, clientRows } from '../clients.js';
import { restate } from '../stats.js';
import { pgConnection, type PgConnection } from './connection.js';
import { Pool, type Db, type DriverConfig, type Row } from './driver.js';
import { asDbError, isConflict, isTemporary } from './errors.js';
import { ADDRESS_LOCK_SPACE, migrateLocked } from './migrate.js';
import { csvLine, type ExportRow } from '../csv.js';
import * as leases from './leases.js';
import { LookupBatcher, type LookupBatch } from './lookup-batch.js';
import * as raw from './rows.js';
import type { SyntheticCensus } from '../seed-sql.js';
import { growByCopiesPostgres, seedSyntheticPostgres } from './seed.js';

/** A transaction's connection (the same interface as the pool; the name says where a statement runs). */
type Tx = Db;

/**
 * Back-off of the retries of a temporary failure (ms). A write waits up to about 30 s in all,
 * longer than a server restart or a fail-over usually takes (also on a loaded host), so a
 * poller's batch survives one;
 * a read gives up after about 2 s (a lookup should answer 503 soon rather than hang), which is
 * still enough to replace every pooled connection that a restart cut.
 */
const WRITE_RETRY_MS: readonly number[] = [100, 200, 400, 800, 1_600, 3_200, 5_000, 5_000, 5_000, 10_000];
const READ_RETRY_MS: readonly number[] = [50, 400, 1_500];
/** A health check answers within this, whatever the network does. */
const HEALTH_TIMEOUT_MS = 5_000;

/** Column types of the tables, for unnest() of parallel arrays (one statement per table and batch). */
const PG_TYPE: Record<string, string> = {
  source_key: 'text', address: 'text', message_id: 'text', effective_at: 'int8', received_at: 'int8', fingerprint: 'text',
  family: 'text', kind: 'text', product: 'text', version: 'text', platform: 'text', smime: 'text', confidence: 'float8',
  rule_id: 'text', warnings: 'text', candidates: 'text', smime_message: 'text', authenticated: 'int4', evidence: 'int4',
  created_at: 'int8', first_seen: 'int8', last_seen: 'int8', messages: 'int4', last_verify_at: 'int8', last_non_verify_at: 'int8',
  last_non_verify_client: 'text', last_non_verify_smime: 'text', last_broken_at: 'int8', last_broken_client: 'text',
  last_unrecognised_at: 'int8', last_signed_at: 'int8', client_at: 'int8', recommendation: 'text', reason: 'text',
  decided_until: 'int8', key_changed: 'int4', clients: 'text', id: 'int8', month: 'text', signable: 'int4',
  name: 'text', value: 'int8', message_hash: 'text', erased_at: 'int8', d: 'int8', not_before: 'int8', not_after: 'int8',
};

/** `SELECT * FROM unnest($1::t1[], $2::t2[], ...) AS u(c1, c2, ...)` for the columns given. */
function unnestOf(columns: readonly string[], offset = 0): string {
  const args = columns.map((c, i) => `$${i + 1 + offset}::${PG_TYPE[c] ?? 'text'}[]`).join(', ');
  return `SELECT * FROM unnest(${args}) AS u(${columns.join(', ')})`;
}

/** Parallel arrays (one per column) of row objects. */
function columnsOf<T>(rows: readonly T[], columns: readonly string[], get: (r: T, c: string) => unknown): unknown[][] {
  return columns.map((c) => rows.map((r) => get(r, c) ?? null));
}

const OBS_INSERT = `INSERT INTO observations (${OBSERVATION_COLUMNS.join(', ')}) ${unnestOf(OBSERVATION_COLUMNS)} ON CONFLICT DO NOTHING RETURNING source_key`;
const STATE_UPSERT = `INSERT INTO addresses (${STORED_ADDRESS_COLUMNS.join(', ')}) ${unnestOf(STORED_ADDRESS_COLUMNS)}
  ON CONFLICT (address) DO UPDATE SET ${STORED_ADDRESS_COLUMNS.filter((c) => c !== 'address').map((c) => `${c} = excluded.${c}`).join(', ')}`;
const MONTH_COLUMNS = ['month', 'address', 'messages', 'signable'] as const;
const MONTH_UPSERT = `INSERT INTO address_months (${MONTH_COLUMNS.join(', ')}) ${unnestOf(MONTH_COLUMNS)}
  ON CONFLICT (month, address) DO UPDATE SET messages = address_months.messages + excluded.messages, signable = greatest(address_months.signable, excluded.signable)`;
const COUNTER_UPSERT = `INSERT INTO counters (name, value) ${unnestOf(['name', 'value'])} ON CONFLICT (name) DO UPDATE SET value = counters.value + excluded.value`;
const CHECKPOINT_UPSERT = `INSERT INTO checkpoints (account, folder, uid_validity, last_uid, updated_at) VALUES ($1, $2, $3, $4, $5)
  ON CONFLICT (account, folder) DO UPDATE SET uid_validity = excluded.uid_validity, last_uid = excluded.last_uid, updated_at = excluded.updated_at`;
const CERT_COLUMNS = ['address', 'fingerprint', 'spki_sha256', 'subject', 'issuer', 'serial', 'not_before', 'not_after', 'key_algorithm', 'capabilities', 'trusted', 'continuity', 'pem', 'first_seen', 'last_seen'] as const;
const CERT_UPSERT = `INSERT INTO certificates (${CERT_COLUMNS.join(', ')}) ${unnestOf(CERT_COLUMNS)}
  ON CONFLICT (address, fingerprint) DO UPDATE SET last_seen = greatest(certificates.last_seen, excluded.last_seen), first_seen = least(certificates.first_seen, excluded.first_seen)`;
const VERDICT_UPDATE = `UPDATE observations o SET family = u.family, kind = u.kind, product = u.product, version = u.version, platform = u.platform, smime = u.smime,
  confidence = u.confidence, rule_id = u.rule_id, warnings = u.warnings, candidates = u.candidates, evidence = u.evidence
  FROM (${unnestOf(['id', 'family', 'kind', 'product', 'version', 'platform', 'smime', 'confidence', 'rule_id', 'warnings', 'candidates', 'evidence'])}) u WHERE o.id = u.id`;
const DECISION_UPDATE = `UPDATE addresses a SET recommendation = u.recommendation, reason = u.reason, decided_until = u.d
  FROM (${unnestOf(['address', 'recommendation', 'reason', 'd'])}) u WHERE a.address = u.address`;
/**
 * Point lookups (the HTTP GET's hot path), batched (./lookup-batch.ts): one prepared statement,
 * one round trip, per lookup one row of 8 columns from one index probe: the client list is a
 * column of the address row (store/clients.ts), and the whole state (as JSON, in the same
 * snapshot) comes only when the cached decision has expired at that lookup's own `now` ($2);
 * the clients only when that lookup asked for them ($3). q.i says which lookup a row answers; a
 * lookup without a row (an unknown address) gets none. The row used to be `a.*` joined with the
 * clients: 35 columns, each described, type-parsed and set on a row object per client row.
 */
const LOOKUP_BATCH = `SELECT q.i, a.recommendation, a.reason, a.last_seen, a.decided_until, a.key_changed, CASE WHEN q.c THEN a.clients END,
  CASE WHEN a.decided_until <= q.at THEN row_to_json(a) END
  FROM unnest($1::text[], $2::int8[], $3::bool[]) WITH ORDINALITY AS q(address, at, c, i) JOIN addresses a ON a.address = q.address`;
const LOOKUP_MANY = `SELECT q.i, ${ADDRESS_COLUMNS.map((c) => `a.${c}`).join(', ')} FROM unnest($1::text[]) WITH ORDINALITY AS q(address, i) JOIN addresses a ON a.address = q.address`;
const LOOKUP_MANY_WITH_CLIENTS = `SELECT q.i, a.* FROM unnest($1::text[]) WITH ORDINALITY AS q(address, i) JOIN addresses a ON a.address = q.address`;
/** The tables that hold rows about an address (erasure deletes from each, then vacuums them). */
const ADDRESS_TABLES = ['observations', 'address_months', 'certificates', 'addresses'] as const;

/**
 * A statement's rows, the statement prepared once per connection when it has parameters
 * (unprepared, the server would parse and plan each lookup again, which cost about a third of a
 * point lookup's time).
 */
async function q(db: Db, text: string, params: readonly unknown[] = []): Promise<Row[]> {
  return (await db.query(text, params, params.length > 0)).rows;
}

/** A statement's count of rows changed. */
async function changed(db: Db, text: string, params: readonly unknown[] = []): Promise<number> {
  return (await db.query(text, params, params.length > 0)).rowCount;
}

/** The advisory-lock key of an address: 32 bits of its SHA-256 (an int4, the second key of the two-key form). */
function addressLockKey(address: string): number {
  return createHash('sha256').update(address).digest().readInt32BE(0);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function decisionOf(r: Row): CachedDecision {
  return { recommendation: r.recommendation as Recommendation, reason: r.reason as string, lastSeen: r.last_seen as number, decidedUntil: r.decided_until as number | null, keyChanged: r.key_changed as 0 | 1 };
}

/** Plain objects: the driver's rows carry no prototype tricks, but callers compare them with SQLite's. */
function plain<T>(r: Row): T {
  return { ...r } as T;
}

/**
 * A batch's certificate writes, staged: `put` answers what the read-then-upsert of one signed
 * message answered (continuity against the address's latest row by last_seen, then id; the upsert
 * keeps a known fingerprint's row and widens its first/last seen), against the rows as they stand
 * after the batch's earlier puts. `writes` holds one row per (address, fingerprint), in the order
 * first put (so new rows get their ids in message order), for one upsert of the same effect.
 */
class CertificateStage {
  private readonly byAddress = new Map<string, CertificateRow[]>();
  private readonly staged = new Map<string, CertificateRow>();
  /** Ids for staged new rows, above every stored one: only their order matters (ties of last_seen). */
  private nextId: number;

  constructor(rows: readonly CertificateRow[]) {
    let maxId = 0;
    for (const r of rows) {
      let list = this.byAddress.get(r.address);
      if (!list) this.byAddress.set(r.address, (list = []));
      list.push(r);
      if (r.id > maxId) maxId = r.id;
    }
    this.nextId = maxId + 1;
  }

  get writes(): CertificateRow[] {
    return [...this.staged.values()];
  }

  put<F>(address: string, c: NewCertificate, at: number, fold: IngestFold<F>): Continuity {
    let list = this.byAddress.get(address);
    if (!list) this.byAddress.set(address, (list = []));
    let latest: CertificateRow | null = null;
    for (const r of list) if (latest === null || r.last_seen > latest.last_seen || (r.last_seen === latest.last_seen && r.id > latest.id)) latest = r;
    const continuity = fold.continuity(latest ? { ...latest } : null, c);
    let row = list.find((r) => r.fingerprint === c.fingerprint);
    if (row) {
      row.last_seen = Math.max(row.last_seen, at);
      row.first_seen = Math.min(row.first_seen, at);
    } else {
      row = { ...c, id: this.nextId++, address, continuity, first_seen: at, last_seen: at };
      list.push(row);
    }
    // The upsert of a stored row sends this row's values; only first/last seen take effect on conflict.
    const key = `${address}\0${c.fingerprint}`;
    const w = this.staged.get(key);
    if (w) {
      w.last_seen = Math.max(w.last_seen, at);
      w.first_seen = Math.min(w.first_seen, at);
    } else this.staged.set(key, { ...c, id: 0, address, continuity, first_seen: at, last_seen: at });
    return continuity;
  }
}

/** The store: one PostgreSQL database, shared by every process of the census. */
export class PostgresStore implements CensusStore {
  readonly dialect = 'postgres' as const;
  readonly location: string;
  readonly readonly: boolean;
  private readonly sql: Pool;
  private readonly lookups = new LookupBatcher<LookupRow>((b) => this.lookupBatch(b));
  private readonly conn: PgConnection;
  private readonly driverConfig: DriverConfig;
  private readying: Promise<void> | null = null;
  private closed = false;
  private isReady = false;

  constructor(url: string, options: StoreOptions = {}) {
    this.conn = pgConnection(url, options);
    this.location = this.conn.location;
    this.readonly = !!options.readonly;
    const poolSize = options.poolSize ?? 4;
    if (!Number.isInteger(poolSize) || poolSize < 1) throw new AppError('E_CONFIG', `db: poolSize must be a whole number of at least 1, not ${String(poolSize)}`);
    this.driverConfig = {
      // A socket directory (`?host=/dir`) or a host name; node-postgres tells them apart by the leading '/'.
      host: this.conn.socketDir ?? this.conn.host,
      port: this.conn.port,
      database: this.conn.database,
      user: this.conn.user,
      ...(this.conn.password !== undefined ? { password: this.conn.password } : {}),
      ssl: this.conn.ssl,
      connectionTimeoutMillis: this.conn.connectTimeoutS * 1000,
      // A peer that vanished without closing (a host gone, a partition) is noticed by TCP keepalive.
      keepAlive: true,
      application_name: this.conn.applicationName,
      ...(this.readonly ? { options: '-c default_transaction_read_only=on' } : {}),
    };
    // Idle connections are closed after a minute: API instances behind a load balancer idle a lot.
    this.sql = new Pool(this.driverConfig, poolSize, 60_000);
    // Start at once (the contract: "applied before the first query"); a failure is reported by ready().
    this.ready().catch(() => {});
  }

  /* ---- plumbing ---- */

  /** Migrated (or, read-only, checked) once; after a failure the next call tries again. */
  ready(): Promise<void> {
    this.readying ??= this.prepare().then(() => {
      this.isReady = true;
    }, (e: unknown) => {
      this.readying = null;
      throw asDbError(e, this.location, this.readonly ? 'opening' : 'migrating');
    });
    return this.readying;
  }

  private async prepare(): Promise<void> {
    if (this.closed) throw new AppError('E_DB', `database ${this.location}: the store is closed`);
    if (!this.readonly) return migrateLocked(this.driverConfig);
    const [r] = await q(this.sql, `SELECT to_regclass('addresses') IS NOT NULL AS ok`);
    if (!r?.ok) throw new AppError('E_DB', `database ${this.location}: not a smime-census database (no addresses table)`);
  }

  /**
   * Runs `fn` after ready(), retrying temporary failures with back-off while `retryable` says a
   * retry is safe; failures from the database become E_DB.
   */
  private async run<T>(doing: string, fn: () => Promise<T>, retryable: (e: unknown) => boolean = isTemporary, delays = READ_RETRY_MS): Promise<T> {
    // Once migrated, no await of the settled promise (a microtask turn on every lookup).
    if (!this.isReady) await this.ready();
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        const delay = delays[attempt];
        if (this.closed || delay === undefined || !retryable(e)) throw asDbError(e, this.location, doing);
        // A deadlock victim retries at once (jittered); a lost connection waits for the server.
        await sleep(isConflict(e) ? Math.random() * 50 : delay);
      }
    }
  }

  /**
   * One transaction, retried on a temporary failure only while it cannot have committed: an
   * error before COMMIT was sent means the server rolled it back. A failure during COMMIT
   * itself is ambiguous and goes to the caller (E_DB) rather than risk counting a batch twice.
   */
  private transaction<T>(doing: string, fn: (tx: Tx) => Promise<T>, options = ''): Promise<T> {
    let committing = false;
    return this.run(
      doing,
      () => {
        committing = false;
        return this.sql.transaction(options ? `BEGIN ${options}` : 'BEGIN', fn, () => (committing = true));
      },
      (e) => !committing && isTemporary(e),
      WRITE_RETRY_MS,
    );
  }

  private writable(): void {
    if (this.readonly) throw new AppError('E_DB', `database ${this.location}: the store is read-only`);
  }

  /** Transaction-scoped locks on addresses, in key order (see the top of this file). */
  private async lockAddresses(tx: Tx, addresses: Iterable<string>): Promise<void> {
    const keys = [...new Set([...addresses].map(addressLockKey))].sort((a, b) => a - b);
    if (keys.length === 0) return;
    // unnest() yields the array in order, and the locks are taken row by row in that order.
    await q(tx, `SELECT count(pg_advisory_xact_lock($1, k)) FROM unnest($2::int4[]) AS k`, [ADDRESS_LOCK_SPACE, keys as never]);
  }

  /* ---- ingest ---- */

  async ingestBatch<F>(batch: IngestBatch<F>, fold: IngestFold<F>): Promise<IngestOutcome> {
    this.writable();
    return this.transaction('writing a batch', (tx) => this.ingestInTransaction(tx, batch, fold));
  }

  private async ingestInTransaction<F>(tx: Tx, batch: IngestBatch<F>, fold: IngestFold<F>): Promise<IngestOutcome> {
    const { now } = batch;
    if (batch.lease && batch.checkpoint) await leases.assertLeaseHeld(tx, batch.checkpoint.account, batch.checkpoint.folder, batch.lease, now);
    const out: IngestOutcome = { stored: 0, duplicates: 0, erased: 0 };
    const batchAddresses = new Set(batch.items.map((i) => i.observation.address));
    // Erasures: checked with the addresses locked, so an erasure committed before is always seen.
    // In order on the transaction's connection: under READ COMMITTED the second statement's
    // snapshot is taken after the first has got the locks.
    const erased = new Set<number>();
    const [, [any]] = await Promise.all([this.lockAddresses(tx, batchAddresses), q(tx, `SELECT EXISTS (SELECT 1 FROM erasures) AS e`)]);
    if (any?.e) {
      const hashOf = new Map([...batchAddresses].map((a) => [a, fold.erasureHash(a)]));
      const erasedAt = new Map<string, number>();
      for (const r of await q(tx, `SELECT address_hash, erased_at FROM erasures WHERE address_hash = ANY($1::text[])`, [[...hashOf.values()]])) {
        erasedAt.set(r.address_hash as string, r.erased_at as number);
      }
      if (erasedAt.size) {
        const messageHashes = new Map<number, string>();
        batch.items.forEach((item, i) => {
          if (fold.messageErasureHash && erasedAt.has(hashOf.get(item.observation.address)!)) messageHashes.set(i, fold.messageErasureHash(item.observation.messageId));
        });
        const erasedMessages = new Set<string>();
        if (messageHashes.size) {
          for (const r of await q(tx, `SELECT message_hash FROM erased_messages WHERE message_hash = ANY($1::text[])`, [[...new Set(messageHashes.values())]])) {
            erasedMessages.add(r.message_hash as string);
          }
        }
        batch.items.forEach((item, i) => {
          const t = erasedAt.get(hashOf.get(item.observation.address)!);
          // By what the message is (its identity recorded at erasure), or by its date.
          if (t !== undefined && (item.observation.effectiveAt <= t || erasedMessages.has(messageHashes.get(i) ?? ''))) erased.add(i);
        });
      }
    }

    // Observations: one statement; a row that conflicts (same source key, or same Message-ID and
    // address, in the table or earlier in this batch) is not inserted, so it is a duplicate.
    const toInsert = batch.items.filter((_, i) => !erased.has(i)).map((i) => i.observation);
    out.erased = erased.size;
    const inserted = new Set<string>();
    if (toInsert.length) {
      const rows = await q(tx, OBS_INSERT, columnsOf(toInsert, OBSERVATION_COLUMNS, (r, c) => r[OBS_PARAMS[c as keyof typeof OBS_PARAMS]]) as never[]);
      for (const r of rows) inserted.add(r.source_key as string);
    }

    const storedAddresses = new Set<string>();
    const stored = batch.items.filter((item, i) => {
      if (erased.has(i)) return false;
      // The first item with an inserted source key is the one stored; a repeat of it is a duplicate.
      if (!inserted.delete(item.observation.sourceKey)) {
        out.duplicates++;
        return false;
      }
      out.stored++;
      storedAddresses.add(item.observation.address);
      return true;
    });

    const states = new Map<string, AddressState>();
    const storedClients = new Map<string, string>();
    if (storedAddresses.size) {
      for (const r of await q(tx, `SELECT ${STORED_ADDRESS_COLUMNS.join(', ')} FROM addresses WHERE address = ANY($1::text[])`, [[...storedAddresses]])) {
        const row = r as unknown as StoredAddressRow;
        states.set(row.address, toState(row));
        storedClients.set(row.address, row.clients);
      }
    }
    // Certificates: every stored row of the batch's signers read in one statement, key continuity
    // decided against them in message order as the rows would stand after each write, and the rows
    // written in one statement after the loop (it was a read and an upsert per signed message, two
    // round trips each under the batch's address locks).
    const signers = new Set<string>();
    for (const item of stored) if (item.certificate) signers.add(item.observation.address);
    const certs = new CertificateStage(signers.size ? await this.certificateRowsOf(tx, signers) : []);
    const tally = new BatchTally();
    const certCounts: Record<string, number> = {};
    for (const item of stored) {
      const row = item.observation;
      const state = fold.apply(states.get(row.address) ?? null, row.address, item.facts);
      states.set(row.address, state);
      if (item.certificate !== undefined) {
        const continuity = item.certificate && certs.put(row.address, item.certificate, row.effectiveAt, fold);
        const key = continuity ? `certificates:${continuity}` : 'certificates:rejected';
        certCounts[key] = (certCounts[key] ?? 0) + 1;
        // Key continuity: trust on first use, alert on change (shown by lookup, API, metrics).
        if (continuity === 'key-changed') state.keyChanged = true;
      }
      tally.add(row.address, item.client, row.effectiveAt, item.signable);
    }
    const written = [...states.values()].map((s) => storedRowOf(s, fold.decide(s), addClients(storedClients.get(s.address) ?? null, tally.clientsOf(s.address))));
    const c: Record<string, number> = { ...batch.counters, stored: out.stored, duplicates: out.duplicates };
    if (out.erased) c['skipped:erased'] = (c['skipped:erased'] ?? 0) + out.erased;
    for (const [k, v] of Object.entries(certCounts)) c[k] = (c[k] ?? 0) + v;
    // Independent writes, queued at once on the transaction's connection (it runs them in order).
    await Promise.all([
      this.flushMonths(tx, tally),
      this.putStates(tx, written),
      certs.writes.length ? q(tx, CERT_UPSERT, columnsOf(certs.writes, CERT_COLUMNS, (r, k) => r[k as keyof CertificateRow]) as never[]) : undefined,
      this.addCounters(tx, c),
      batch.checkpoint ? this.setCheckpoint(tx, batch.checkpoint, now) : undefined,
    ]);
    return out;
  }

  /** Every certificate row of these addresses. */
  private async certificateRowsOf(tx: Tx, addresses: ReadonlySet<string>): Promise<CertificateRow[]> {
    return (await q(tx, `SELECT * FROM certificates WHERE address = ANY($1::text[])`, [[...addresses]])).map((r) => plain<CertificateRow>(r));
  }

  private async putStates(db: Db, rows: StoredAddressRow[]): Promise<void> {
    if (rows.length) await q(db, STATE_UPSERT, columnsOf(rows, STORED_ADDRESS_COLUMNS, (r, c) => r[c as keyof StoredAddressRow]) as never[]);
  }

  /** The tally's monthly activity (its client counts go into the address rows); clears the tally. */
  private async flushMonths(db: Db, tally: BatchTally): Promise<void> {
    const months = [...tally.months.values()];
    tally.clear();
    if (months.length) await q(db, MONTH_UPSERT, [months.map((m) => m.month), months.map((m) => m.address), months.map((m) => m.n), months.map((m) => (m.signable ? 1 : 0))] as never[]);
  }


  private async addCounters(db: Db, values: Record<string, number>): Promise<void> {
    // Name order: two batches update the shared counter rows in the same order, so never in a cycle.
    const entries = Object.entries(values).filter(([, v]) => v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    if (entries.length) await q(db, COUNTER_UPSERT, [entries.map(([k]) => k), entries.map(([, v]) => v)] as never[]);
  }

  private async setCheckpoint(db: Db, c: Checkpoint, now: number): Promise<void> {
    await q(db, CHECKPOINT_UPSERT, [c.account, c.folder, c.uidValidity, c.lastUid, now]);
  }

  /* ---- leases (SQL in leases.ts) ---- */

  acquireLease(account: string, folder: string, owner: string, ttlMs: number, now: number, takeOver?: LeaseClaim): Promise<Lease | null> {
    this.writable();
    return this.run('taking a folder lease', () => leases.acquireLease(this.sql, account, folder, owner, ttlMs, now, takeOver));
  }

  renewLease(key: LeaseKey, ttlMs: number, now: number): Promise<Lease | null> {
    this.writable();
    return this.run('renewing a folder lease', () => leases.renewLease(this.sql, key, ttlMs, now));
  }

  releaseLease(key: LeaseKey): Promise<void> {
    this.writable();
    return this.run('releasing a folder lease', () => leases.releaseLease(this.sql, key));
  }

  listLeases(): Promise<Lease[]> {
    return this.run('reading', () => leases.listLeases(this.sql));
  }

  /* ---- raw rows (store copy; SQL in rows.ts) ---- */

  readRows(table: CopyTable, after: readonly RowValue[] | null, limit: number): Promise<RawRow[]> {
    return this.run('reading', () => raw.readRows(this.sql, table, after, limit));
  }

  writeRows(table: CopyTable, rows: readonly RawRow[]): Promise<number> {
    this.writable();
    // Idempotent (DO NOTHING), so a retried page doubles nothing either.
    return this.transaction('copying rows', (tx) => raw.writeRows(tx, table, rows));
  }

  countRows(table: CopyTable): Promise<number> {
    return this.run('reading', () => raw.countRows(this.sql, table));
  }

  lastKey(table: CopyTable): Promise<RowValue[] | null> {
    return this.run('reading', () => raw.lastKey(this.sql, table));
  }

  /* ---- lookups ---- */

  lookup(address: string, o: LookupOptions): Promise<LookupRow | null> {
    // PostgreSQL's text cannot hold U+0000: the server refuses the whole statement's parameter
    // (22021). checkAddress refuses such an address before any store sees it; a caller of the
    // store that did not check still fails alone, not every lookup of its batch.
    if (address.includes('\u0000')) return this.lookupBatch({ addresses: [address], nows: [o.now], clients: [o.clients] }).then((r) => r[0] ?? null);
    return this.lookups.lookup(address, o);
  }

  /** One batch of point lookups (./lookup-batch.ts): one statement, one round trip, retried as one. */
  private async lookupBatch(b: LookupBatch): Promise<Array<LookupRow | null>> {
    const rows = await this.run('reading', () => this.sql.values(LOOKUP_BATCH, [b.addresses, b.nows, b.clients]));
    const out: Array<LookupRow | null> = new Array<LookupRow | null>(b.addresses.length).fill(null);
    for (const r of rows) {
      const decision: CachedDecision = { recommendation: r[1] as Recommendation, reason: r[2] as string, lastSeen: r[3] as number, decidedUntil: r[4] as number | null, keyChanged: r[5] as 0 | 1 };
      out[(r[0] as number) - 1] = { decision, clients: clientRows(r[6] as string | null), state: r[7] ? toState(r[7] as AddressRow) : null };
    }
    return out;
  }

  private lookupRow(r: Row, clients: ClientRow[], now: number): LookupRow {
    const decision = decisionOf(r);
    // The state comes with the row (same snapshot); it is handed out only when the decision expired.
    const state = decision.decidedUntil !== null && decision.decidedUntil <= now ? toState(r as unknown as AddressRow) : null;
    return { decision, clients, state };
  }

  async lookupMany(addresses: readonly string[], o: LookupOptions): Promise<Array<LookupRow | null>> {
    if (addresses.length === 0) return [];
    // One statement: one snapshot for all of them.
    const rows = await this.run('reading', () => q(this.sql, o.clients ? LOOKUP_MANY_WITH_CLIENTS : LOOKUP_MANY, [addresses as string[]]));
    const out: Array<LookupRow | null> = addresses.map(() => null);
    for (const r of rows) out[Number(r.i) - 1] = this.lookupRow(r, o.clients ? clientRows(r.clients as string) : [], o.now);
    return out;
  }

  async getState(address: string): Promise<AddressState | null> {
    const [r] = await this.run('reading', () => q(this.sql, `SELECT ${ADDRESS_COLUMNS.join(', ')} FROM addresses WHERE address = $1`, [address]));
    return r ? toState(r as unknown as AddressRow) : null;
  }

  async getClients(address: string): Promise<ClientRow[]> {
    const [r] = await this.run('reading', () => q(this.sql, `SELECT clients FROM addresses WHERE address = $1`, [address]));
    return clientRows((r?.clients as string | undefined) ?? null);
  }

  async observationsOf(address: string): Promise<StoredObservation[]> {
    const rows = await this.run('reading', () => q(this.sql, `SELECT * FROM observations WHERE address = $1 ORDER BY effective_at, id`, [address]));
    return rows.map((r) => observationFromRow(r));
  }

  async certificatesOf(address: string): Promise<CertificateRow[]> {
    const rows = await this.run('reading', () => q(this.sql, `SELECT * FROM certificates WHERE address = $1 ORDER BY last_seen DESC, id DESC`, [address]));
    return rows.map((r) => plain<CertificateRow>(r));
  }

  /* ---- checkpoints ---- */

  async getCheckpoint(account: string, folder: string): Promise<{ uidValidity: string; lastUid: number } | null> {
    const [r] = await this.run('reading', () => q(this.sql, `SELECT uid_validity AS "uidValidity", last_uid AS "lastUid" FROM checkpoints WHERE account = $1 AND folder = $2`, [account, folder]));
    return r ? plain<{ uidValidity: string; lastUid: number }>(r) : null;
  }

  async resetCheckpoint(account: string, folder: string, uidValidity: string): Promise<void> {
    this.writable();
    await this.run('writing a checkpoint', () => this.setCheckpoint(this.sql, { account, folder, uidValidity, lastUid: 0 }, Date.now()));
  }

  async listCheckpoints(): Promise<CheckpointInfo[]> {
    const rows = await this.run('reading', () =>
      q(this.sql, `SELECT account, folder, uid_validity AS "uidValidity", last_uid AS "lastUid", updated_at AS "updatedAt" FROM checkpoints ORDER BY account, folder`),
    );
    return rows.map((r) => plain<CheckpointInfo>(r));
  }

  /* ---- derived state ---- */

  /**
   * Re-decides expired decisions in pages of 5,000, one transaction each. FOR UPDATE: a batch
   * that changes one of these addresses meanwhile is waited for, and the page then reads its
   * new state, so a decision is never written from a state older than the stored one.
   */
  async refreshStale(decide: (s: AddressState) => DecisionFields, now: number): Promise<number> {
    if (this.readonly) return 0;
    let n = 0;
    for (;;) {
      const k = await this.transaction('refreshing decisions', async (tx) => {
        const stale = (await q(tx, `SELECT ${ADDRESS_COLUMNS.join(', ')} FROM addresses WHERE decided_until IS NOT NULL AND decided_until <= $1 ORDER BY address LIMIT 5000 FOR UPDATE`, [now])).map((r) => toState(r as unknown as AddressRow));
        if (stale.length === 0) return 0;
        const d = stale.map((s) => decide(s));
        await q(tx, DECISION_UPDATE, [stale.map((s) => s.address), d.map((x) => x.recommendation), d.map((x) => x.reason), d.map((x) => x.decidedUntil)] as never[]);
        return stale.length;
      });
      if (k === 0) return n;
      n += k;
    }
  }

  async recompute<F>(job: RecomputeJob<F>): Promise<RecomputeResult> {
    this.writable();
    return this.transaction('recomputing', async (tx) => {
      // Writers wait until this commits; readers go on reading the old rows (MVCC).
      await q(tx, `LOCK TABLE observations, addresses, address_months, certificates IN SHARE ROW EXCLUSIVE MODE`);
      return this.recomputeInTransaction(tx, job);
    });
  }

  private async recomputeInTransaction<F>(tx: Tx, job: RecomputeJob<F>): Promise<RecomputeResult> {
    const result: RecomputeResult = { observations: 0, changed: 0, addresses: 0 };
    const PAGE = 5000;
    for (let after = 0; ; ) {
      const rows = await q(tx, `SELECT * FROM observations WHERE id > $1 ORDER BY id LIMIT $2`, [after, PAGE]);
      if (rows.length === 0) break;
      const changed: Array<VerdictColumns & { id: number }> = [];
      for (const r of rows) {
        const o = observationFromRow(r);
        result.observations++;
        const cols = job.reclassify(o);
        if (cols) changed.push({ id: o.id, ...cols });
      }
      if (changed.length) {
        const cols = ['id', 'family', 'kind', 'product', 'version', 'platform', 'smime', 'confidence', 'ruleId', 'warnings', 'candidates', 'evidence'] as const;
        await q(tx, VERDICT_UPDATE, cols.map((c) => changed.map((x) => x[c])) as never[]);
        result.changed += changed.length;
      }
      after = rows[rows.length - 1]!.id as number;
    }
    // The key-change alert comes from harvested certificates, not from observations (issue 11).
    const keyChanged = new Set((await q(tx, `SELECT DISTINCT address FROM certificates WHERE continuity = 'key-changed'`)).map((r) => r.address as string));
    await q(tx, `DELETE FROM address_months`);
    await q(tx, `DELETE FROM addresses`);
    const tally = new BatchTally();
    let pending: StoredAddressRow[] = [];
    let current: AddressState | null = null;
    const finish = async (force: boolean): Promise<void> => {
      if (current) {
        if (keyChanged.has(current.address)) current = { ...current, keyChanged: true };
        pending.push(storedRowOf(current, job.decide(current), addClients(null, tally.clientsOf(current.address))));
        tally.clients.delete(current.address);
        result.addresses++;
        current = null;
      }
      if (force || pending.length >= 2000 || tally.size >= 4000) {
        await this.putStates(tx, pending);
        pending = [];
        await this.flushMonths(tx, tally);
      }
    };
    // Observations by (address, effective_at, id), in keyset pages; ('', 0, 0) sorts before every row.
    let key: [string, number, number] = ['', 0, 0];
    for (;;) {
      const rows = await q(tx, `SELECT * FROM observations WHERE (address, effective_at, id) > ($1, $2, $3) ORDER BY address, effective_at, id LIMIT $4`, [...key, PAGE]);
      if (rows.length === 0) break;
      for (const r of rows) {
        const o = observationFromRow(r);
        if (current && current.address !== o.address) await finish(false);
        const f = job.factsOf(o);
        current = job.apply(current, o.address, f.facts);
        tally.add(o.address, f.client, o.effectiveAt, f.signable);
      }
      const last = rows[rows.length - 1]!;
      key = [last.address as string, last.effective_at as number, last.id as number];
    }
    await finish(true);
    return result;
  }

  /* ---- erasure ---- */

  /**
   * Deletes every row about the address in one transaction (under the address's lock, so a
   * batch of its mail either committed before and is deleted, or waits and then sees the
   * erasure), then VACUUMs the tables it touched, so that the deleted row versions are removed
   * from the tables and their indexes instead of lingering as dead tuples until autovacuum.
   * INDEX_CLEANUP ON: for a few dead rows in a large table VACUUM would otherwise leave the index
   * entries (and with them the address) in place. What remains is free space that PostgreSQL does
   * not zero, B-tree separator keys and WAL: see the README's Privacy section.
   */
  async erase(address: string, addressHash: string, at: number, messageHash?: (messageId: string) => string): Promise<number> {
    this.writable();
    const touched = new Set<string>();
    const n = await this.transaction('erasing', async (tx) => {
      touched.clear();
      await this.lockAddresses(tx, [address]);
      let deleted = 0;
      if (messageHash) {
        const ids = (await q(tx, `SELECT DISTINCT message_id FROM observations WHERE address = $1`, [address])).map((r) => messageHash(r.message_id as string));
        if (ids.length) {
          await q(tx, `INSERT INTO erased_messages (message_hash, erased_at) ${unnestOf(['message_hash', 'erased_at'])} ON CONFLICT (message_hash) DO UPDATE SET erased_at = excluded.erased_at`, [
            ids, ids.map(() => at),
          ] as never[]);
        }
      }
      // Each listed client counts as a row deleted, as when the list was a table of its own.
      const [listed] = await q(tx, `SELECT json_array_length(clients::json) AS n FROM addresses WHERE address = $1`, [address]);
      deleted += (listed?.n as number | undefined) ?? 0;
      for (const table of ADDRESS_TABLES) {
        const k = await changed(tx, `DELETE FROM ${table} WHERE address = $1`, [address]);
        if (k > 0) touched.add(table);
        deleted += k;
      }
      await q(tx, `INSERT INTO erasures (address_hash, erased_at) VALUES ($1, $2) ON CONFLICT (address_hash) DO UPDATE SET erased_at = excluded.erased_at`, [addressHash, at]);
      return deleted;
    });
    // Outside the transaction (VACUUM cannot run inside one); only the tables that had rows of the
    // address (VACUUM scans each index of a table it cleans). It takes no lock that lookups or
    // batches wait for.
    if (touched.size) await this.run('vacuuming after an erasure', () => q(this.sql, `VACUUM (INDEX_CLEANUP ON) ${[...touched].join(', ')}`));
    return n;
  }

  /* ---- reporting ---- */

  async getCounters(): Promise<Record<string, number>> {
    return this.countersOf(await this.run('reading', () => q(this.sql, `SELECT name, value FROM counters`)));
  }

  private countersOf(rows: readonly Row[]): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of rows) out[r.name as string] = r.value as number;
    return out;
  }

  async addressPage(after: string, limit: number): Promise<string[]> {
    const rows = await this.run('reading', () => q(this.sql, `SELECT address FROM addresses WHERE address > $1 ORDER BY address LIMIT $2`, [after, limit]));
    return rows.map((r) => r.address as string);
  }

  async countAddresses(): Promise<number> {
    const [r] = await this.run('reading', () => q(this.sql, `SELECT count(*) AS n FROM addresses`));
    return r!.n as number;
  }

  /** Bulk seeding for the scale benchmarks: use store/seed.ts's seedSynthetic, which checks the spec. */
  async seedSynthetic(spec: SyntheticCensus): Promise<number> {
    this.writable();
    return this.run('seeding', () => seedSyntheticPostgres(this.sql, (doing, fn) => this.transaction(doing, fn), spec), () => false);
  }

  /** Bulk seeding for the scale benchmarks: use store/seed.ts's growByCopies. */
  async growByCopies(target: number): Promise<number> {
    this.writable();
    return this.run('seeding', () => growByCopiesPostgres(this.sql, (doing, fn) => this.transaction(doing, fn), target), () => false);
  }

  /**
   * CSV export in keyset pages of 4,000 addresses (constant memory), the lines formatted as
   * SQLite's (csv.ts). With `stale`, expired decisions are re-decided per row as SQLite does in
   * its statement, and not stored (see the contract).
   */
  async *exportCsv(filter: ExportFilter, stale?: StaleDecisions, pageSize = 4_000): AsyncGenerator<string> {
    const where: string[] = ['address > $1'];
    const params: unknown[] = [''];
    if (filter.recommendation) {
      const r = `$${params.push(filter.recommendation)}`;
      // A stale row's stored recommendation says nothing about its new one: filtered below.
      where.push(stale ? `(recommendation = ${r} OR decided_until <= $${params.push(stale.now)})` : `recommendation = ${r}`);
    }
    if (filter.family) where.push(`family = $${params.push(filter.family)}`);
    if (filter.since !== undefined) where.push(`last_seen >= $${params.push(filter.since)}`);
    // Every column when rows may be re-decided: policy reads the evidence columns.
    const columns = stale ? ADDRESS_COLUMNS.join(', ') : 'address, recommendation, family, product, version, smime, last_seen, messages, reason, key_changed';
    const query = `SELECT ${columns} FROM addresses WHERE ${where.join(' AND ')} ORDER BY address LIMIT $${params.push(pageSize)}`;
    for (;;) {
      const rows = await this.run('exporting', () => q(this.sql, query, params as never[]));
      if (rows.length === 0) return;
      const lines: string[] = [];
      for (const row of rows) {
        const r = row as unknown as AddressRow;
        if (stale && r.decided_until !== null && r.decided_until <= stale.now) {
          const d = stale.decide(toState(r));
          if (!filter.recommendation || d.recommendation === filter.recommendation) lines.push(csvLine({ ...r, recommendation: d.recommendation, reason: d.reason }));
        } else lines.push(csvLine(r as ExportRow));
      }
      // A page may hold only stale rows that the filter then drops.
      if (lines.length > 0) yield lines.join('\r\n') + '\r\n';
      if (rows.length < pageSize) return;
      params[0] = rows[rows.length - 1]!.address;
    }
  }

  async stats(stale?: StaleDecisions): Promise<Stats> {
    // One snapshot for all the figures.
    return this.transaction(
      'reading',
      async (tx) => {
        const byRec = { sign: 0, 'do-not-sign': 0, unknown: 0 } as Record<Recommendation, number>;
        for (const r of await q(tx, `SELECT recommendation, count(*) AS n FROM addresses GROUP BY recommendation`)) byRec[r.recommendation as Recommendation] = r.n as number;
        const addresses = byRec.sign + byRec['do-not-sign'] + byRec.unknown;
        const [m] = await q(tx, `SELECT count(*) AS n FROM observations`);
        const byFamily = (
          await q(tx, 
            `SELECT family, max(smime) AS smime, count(*) AS addresses, count(*) FILTER (WHERE recommendation = 'sign') AS sign FROM addresses GROUP BY family ORDER BY 3 DESC, family NULLS FIRST`,
          )
        ).map((r) => plain<Stats['byFamily'][number]>(r));
        const byMonth = (
          await q(tx, `SELECT month, sum(messages)::int8 AS messages, count(*) AS "activeAddresses", sum(signable)::int8 AS signable FROM address_months GROUP BY month ORDER BY month`)
        ).map((r) => plain<Stats['byMonth'][number]>(r));
        const counters = this.countersOf(await q(tx, `SELECT name, value FROM counters`));
        const stats = { addresses, messages: m!.n as number, byRecommendation: byRec, byFamily, byMonth, counters };
        if (stale) {
          // Keyset pages in the same snapshot: constant memory however many decisions expired.
          for (let after = ''; ; ) {
            const page = (await q(tx, `SELECT * FROM addresses WHERE decided_until IS NOT NULL AND decided_until <= $1 AND address > $2 ORDER BY address LIMIT 5000`, [stale.now, after])).map((r) => toState(r as unknown as AddressRow));
            if (page.length === 0) break;
            restate(stats, page, stale);
            after = page[page.length - 1]!.address;
          }
        }
        return stats;
      },
      'isolation level repeatable read read only',
    );
  }

  /** Most frequent fingerprint values that no rule recognised (person mail with family null). */
  async unknownFingerprints(top = 20, headers: readonly string[] = ['x-mailer', 'user-agent', 'x-newsreader']): Promise<UnknownFingerprint[]> {
    if (headers.length === 0) return [];
    const parts = headers.map(
      (_, i) => `SELECT $${i + 1}::text AS header, (fingerprint::jsonb -> $${i + 1}::text ->> 0) AS value, message_id FROM observations WHERE family IS NULL AND kind <> 'automated'`,
    );
    const rows = await this.run('reading', () =>
      q(this.sql, 
        `SELECT header, value, count(*) AS count, min(message_id) AS "exampleMessageId" FROM (${parts.join(' UNION ALL ')}) s
         WHERE value IS NOT NULL GROUP BY header, value ORDER BY count DESC, value COLLATE "C" LIMIT $${headers.length + 1}`,
        [...headers, top],
      ),
    );
    return rows.map((r) => plain<UnknownFingerprint>(r));
  }

  async health(): Promise<StoreHealth> {
    let timer: NodeJS.Timeout | undefined;
    try {
      if (this.closed) throw new Error('database closed');
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${HEALTH_TIMEOUT_MS} ms`)), HEALTH_TIMEOUT_MS);
      });
      // A point lookup reads the real table: a dropped table or an unreachable server fails here.
      await Promise.race([this.ready().then(() => q(this.sql, `SELECT 1 FROM addresses WHERE address = 'healthz.invalid'`)), timeout]);
      return { ok: true };
    } catch (e) {
      return { ok: false, error: e instanceof Error ? e.message : 'unreachable' };
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.readying?.catch(() => {});
    await this.sql.end();
  }
}
