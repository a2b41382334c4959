/**
 * The SQLite store: one database file, the embedded default. Hot paths use prepared statements
 * directly (drizzle provides the schema and migrations); every write of a batch runs in one
 * IMMEDIATE transaction. The work itself is synchronous (better-sqlite3): the async contract
 * methods wrap it, so a transaction can never interleave with another caller's statements.
 */
import type { Statement } from 'better-sqlite3';
import type { AddressState } from '../../policy/index.js';
import type { Recommendation } from '../../core/index.js';
import { AppError } from '../../core/index.js';
import type {
  CachedDecision, CensusStore, CertificateRow, CheckpointInfo, ClientRow, DecisionFields, EmbeddedLookups, ExportFilter, StaleDecisions,
  IngestBatch, IngestFold, IngestOutcome, LookupOptions, LookupRow, RecomputeJob, RecomputeResult, Stats,
  StoreHealth, StoreOptions, StoredObservation, UnknownFingerprint, VerdictColumns, Checkpoint, NewCertificate, Continuity,
  Lease, LeaseClaim, LeaseKey, CopyTable, RawRow, RowValue, ObservationRow,
} from '../contract.js';
import { ADDRESS_COLUMNS, OBSERVATION_COLUMNS, OBS_PARAMS, STORED_ADDRESS_COLUMNS, observationFromRow, storedRowOf, toState, type AddressRow, type StoredAddressRow } from '../rows.js';
import { BatchTally } from '../tally.js';
import { addClients, clientRows } from '../clients.js';
import { restate } from '../stats.js';
import { openDatabase, type SqliteDb } from './open.js';
import { SqliteLeases } from './leases.js';
import * as raw from './rows.js';
import { csvLine } from '../csv.js';
import type { SyntheticCensus } from '../seed-sql.js';
import { growByCopiesSqlite, seedSyntheticSqlite } from './seed.js';

/** The line end after each page of exportCsvBytes (RFC 4180 CRLF). */
const CRLF_BYTES: Uint8Array = Buffer.from('\r\n', 'latin1');

/** The SQL function through which an export re-decides a stale row (exportCsvChunks). */
const STALE_LINE_FN = 'census_export_stale_line';

/** CSV of one column in SQL: RFC 4180 quoting plus OWASP formula neutralisation (leading = + - @ TAB CR get a '). */
/** SQLite result codes that mean the database cannot be written now (disk full, I/O, locks), not a bug. */
const DB_FAILURES = /^SQLITE_(FULL|IOERR|BUSY|LOCKED|READONLY|CANTOPEN|CORRUPT|NOTADB|PROTOCOL)/;

/** A driver error as E_DB (exit code 5, HTTP 503) when the database is the cause; anything else unchanged. */
function asDbError(e: unknown): unknown {
  const code = (e as { code?: unknown }).code;
  if (e instanceof Error && !(e instanceof AppError) && typeof code === 'string' && DB_FAILURES.test(code)) {
    return new AppError('E_DB', `database write failed: ${e.message} [${code}]`, { cause: e });
  }
  return e;
}

/** The observation row's values in OBSERVATION_COLUMNS order (positional binding). */
const OBS_KEYS: ReadonlyArray<keyof ObservationRow> = OBSERVATION_COLUMNS.map((c) => OBS_PARAMS[c]);
function obsParams(row: ObservationRow): unknown[] {
  const out = new Array<unknown>(OBS_KEYS.length);
  for (let i = 0; i < OBS_KEYS.length; i++) out[i] = row[OBS_KEYS[i]!];
  return out;
}

/** An address row's values in STORED_ADDRESS_COLUMNS order (putState). */
function stateParams(r: StoredAddressRow): unknown[] {
  return STORED_ADDRESS_COLUMNS.map((c) => r[c]);
}

/** The columns updateState sets, then the address (its WHERE). */
const STATE_UPDATE_COLUMNS = STORED_ADDRESS_COLUMNS.filter((c) => c !== 'address');
/**
 * The address columns that the addresses indexes hold (schema.ts). Written out rather than read
 * from drizzle's table config so that the import - start-up loads nothing more;
 * test/store/address-update.test.ts holds it against the schema's indexes and the migrated file's.
 */
export const INDEXED_ADDRESS_COLUMNS: readonly (keyof StoredAddressRow)[] = ['recommendation', 'family', 'smime', 'decided_until'];
/**
 * The columns updateStateInPlace sets: all but the indexed ones. SQLite rewrites the entry of
 * every index whose columns an UPDATE names, changed or not, so naming unchanged indexed columns
 * deleted and re-inserted three index entries per address and batch; most updates (another
 * message from the same client) change none of them.
 */
const STATE_UNINDEXED_COLUMNS = STATE_UPDATE_COLUMNS.filter((c) => !INDEXED_ADDRESS_COLUMNS.includes(c));
function updateParams(r: StoredAddressRow, columns: readonly (keyof StoredAddressRow)[]): unknown[] {
  const out = columns.map((c) => r[c] as unknown);
  out.push(r.address);
  return out;
}
/** Whether the indexed columns of an address row are the ones stored. */
function sameIndexedColumns(r: StoredAddressRow, stored: StoredAddressRow): boolean {
  return INDEXED_ADDRESS_COLUMNS.every((c) => r[c] === stored[c]);
}

/**
 * First characters that make a spreadsheet read a cell as a formula: the ASCII ones, their
 * full-width and small forms (＝＋－＠ ﹦﹢﹣﹫, which some spreadsheets normalise to ASCII), the
 * minus sign, and zero-width characters that hide a formula character behind them.
 */
const FORMULA_TRIGGERS = `(61,43,45,64,9,13,65309,65291,65293,65312,65126,65122,65123,65131,8722,8203,8204,8205,8288,65279)`;

/**
 * Whether a value starts with a formula trigger (NULL for NULL). Most values start with a letter
 * or a digit: a first code point in [A, U+200B) or [., =) is no trigger (every ASCII trigger lies
 * below 'A' and outside [., =), every other one at U+200B or above), and two comparisons of the
 * text say so, because UTF-8's byte order is code point order. Only the rest pay for unicode()
 * (the first code point) against the list, which probes a temporary index: at a million rows the
 * comparisons take a quarter off the four cells' formula checks.
 */
const formula = (expr: string): string =>
  `CASE WHEN (${expr} >= 'A' AND ${expr} < char(8203)) OR (${expr} >= '.' AND ${expr} < '=') THEN 0 ELSE unicode(${expr}) IN ${FORMULA_TRIGGERS} END`;

function csvCell(expr: string): string {
  const neutral = `CASE WHEN ${formula(expr)} THEN '''' || ${expr} ELSE ${expr} END`;
  // instr() is a plain byte search, cheaper per row than a GLOB character class, but four of
  // them walked every plain cell four times (instr was 11% of a 1M-row export's CPU). json_quote
  // walks it once and escapes every '"', LF and CR (and backslashes and other control
  // characters): when its result is exactly the two quotes longer, none of the three is in the
  // cell and only the comma needs a search; any escape at all falls back to the four searches,
  // so the answer is always theirs. octet_length of a text value is its stored length, no walk.
  const special = `CASE WHEN octet_length(json_quote(${expr})) = octet_length(${expr}) + 2 THEN instr(${expr},',') ELSE instr(${expr},'"') OR instr(${expr},',') OR instr(${expr},char(10)) OR instr(${expr},char(13)) END`;
  return `CASE WHEN ${expr} IS NULL THEN '' WHEN ${special} OR ${formula(expr)} THEN '"' || replace(${neutral}, '"', '""') || '"' ELSE ${expr} END`;
}

/**
 * The state's columns as one JSON array (ADDRESS_COLUMNS' order) for a row whose cached decision
 * expired by the lookup's time (its first parameter), else NULL: one CASE per lookup costs less
 * than a column per state field.
 */
const STATE_IF_EXPIRED = `CASE WHEN decided_until <= ? THEN json_array(${ADDRESS_COLUMNS.join(', ')}) END`;

/** A one-address lookup (bound as now, address): the cached decision, and the state when it expired. */
const LOOKUP_SQL = `SELECT recommendation, reason, last_seen, decided_until, key_changed, ${STATE_IF_EXPIRED} FROM addresses WHERE address = ?`;
/** LOOKUP_SQL with the client list (column 5). */
const LOOKUP_WITH_CLIENTS_SQL = `SELECT recommendation, reason, last_seen, decided_until, key_changed, clients, ${STATE_IF_EXPIRED} FROM addresses WHERE address = ?`;

/** The state from a lookup row's STATE_IF_EXPIRED column. */
function stateFromJson(json: string): AddressState {
  const values = JSON.parse(json) as unknown[];
  const row: Record<string, unknown> = {};
  for (let i = 0; i < ADDRESS_COLUMNS.length; i++) row[ADDRESS_COLUMNS[i]!] = values[i];
  return toState(row as unknown as AddressRow);
}

/** The store: one SQLite database file. */
export class SqliteStore implements CensusStore {
  readonly dialect = 'sqlite' as const;
  readonly readonly: boolean;
  readonly embedded: EmbeddedLookups;
  private readonly sqlite: SqliteDb;
  private readonly st: Record<string, Statement>;
  private readonly writeBatch: <F>(batch: IngestBatch<F>, fold: IngestFold<F>) => IngestOutcome;
  private readonly readMany: (addresses: readonly string[], o: LookupOptions) => Array<LookupRow | null>;
  private readonly mmapBytes: number;
  private readonly cacheKiB: number;
  /** Prepared on first use: a read-only open of a file from before the leases migration still works. */
  private leasesStatements: SqliteLeases | null = null;
  /** The running export page's policy, set only while its (synchronous) statement steps. */
  private exportStale: StaleDecisions | null = null;
  /** The lookup connection and its turn's read transaction (lookupSnapshotPerTurn), else null. */
  private readonly turn: TurnReads | null = null;

  constructor(readonly location: string, options: StoreOptions = {}) {
    this.mmapBytes = options.mmapBytes ?? 268_435_456;
    this.cacheKiB = options.cacheKiB ?? 65_536;
    const { sqlite } = openDatabase(location, { readonly: options.readonly, mmapBytes: this.mmapBytes, cacheKiB: this.cacheKiB });
    this.sqlite = sqlite;
    this.readonly = !!options.readonly;
    const p = (sql: string): Statement => sqlite.prepare(sql);
    this.st = {
      // The state's columns only: the client list is read where it is needed (ingest, lookups).
      getState: p(`SELECT ${ADDRESS_COLUMNS.join(', ')} FROM addresses WHERE address = ?`),
      getStoredState: p(`SELECT ${STORED_ADDRESS_COLUMNS.join(', ')} FROM addresses WHERE address = ?`),
      // The lookups read the state's columns only from a row whose cached decision has expired
      // (NULL otherwise, which costs next to nothing): one B-tree walk per lookup, and the state
      // comes from the same snapshot as the decision. A second statement used to walk the tree
      // again for those rows (10% of the HTTP bench's lookups).
      // Bound positionally (now, address): a named binding from an object makes better-sqlite3
      // build and look up each parameter's name on every call, 1 of the row read's 14 µs.
      getDecision: p(LOOKUP_SQL).raw(),
      getClients: p(`SELECT clients FROM addresses WHERE address = ?`).pluck(),
      getCheckpoint: p(`SELECT uid_validity AS uidValidity, last_uid AS lastUid FROM checkpoints WHERE account = ? AND folder = ?`),
      getErasure: p(`SELECT erased_at AS erasedAt FROM erasures WHERE address_hash = ?`),
      getErasedMessage: p(`SELECT 1 AS x FROM erased_messages WHERE message_hash = ?`),
      anyErasure: p(`SELECT EXISTS (SELECT 1 FROM erasures) AS e`),
      // One row of the primary key's B-tree: the client list is a column of it (store/clients.ts).
      decisionWithClients: p(LOOKUP_WITH_CLIENTS_SQL).raw(),
      counters: p(`SELECT name, value FROM counters`),
      observationsOf: p(`SELECT * FROM observations WHERE address = ? ORDER BY effective_at, id`),
      certificatesOf: p(`SELECT * FROM certificates WHERE address = ? ORDER BY last_seen DESC, id DESC`),
      currentCertificate: p(`SELECT * FROM certificates WHERE address = ? ORDER BY last_seen DESC, id DESC LIMIT 1`),
      listCheckpoints: p(`SELECT account, folder, uid_validity AS uidValidity, last_uid AS lastUid, updated_at AS updatedAt FROM checkpoints ORDER BY account, folder`),
    };
    if (!this.readonly) {
      Object.assign(this.st, {
        // The per-message and per-address writes bind positionally (obsParams, stateParams): binding
        // 20 named parameters from an object costs a property lookup by name each, ~15% of an insert.
        insertObservation: p(`INSERT OR IGNORE INTO observations (${OBSERVATION_COLUMNS.join(', ')}) VALUES (${OBSERVATION_COLUMNS.map(() => '?').join(', ')})`),
        putState: p(`INSERT OR REPLACE INTO addresses (${STORED_ADDRESS_COLUMNS.join(', ')}) VALUES (${STORED_ADDRESS_COLUMNS.map(() => '?').join(', ')})`),
        // An address already stored is updated in place: REPLACE deletes and re-inserts the row
        // and every index entry of it, UPDATE touches only the indexes whose columns changed.
        updateState: p(`UPDATE addresses SET ${STATE_UPDATE_COLUMNS.map((c) => `${c} = ?`).join(', ')} WHERE address = ?`),
        updateStateInPlace: p(`UPDATE addresses SET ${STATE_UNINDEXED_COLUMNS.map((c) => `${c} = ?`).join(', ')} WHERE address = ?`),
        putDecision: p(`UPDATE addresses SET recommendation = @recommendation, reason = @reason, decided_until = @decidedUntil WHERE address = @address`),
        // The same recommendation re-decided: the two indexes holding it are left alone.
        putExpiry: p(`UPDATE addresses SET reason = @reason, decided_until = @decidedUntil WHERE address = @address`),
        setCheckpoint: p(
          `INSERT INTO checkpoints (account, folder, uid_validity, last_uid, updated_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (account, folder) DO UPDATE SET uid_validity = excluded.uid_validity, last_uid = excluded.last_uid, updated_at = excluded.updated_at`,
        ),
        bumpMonth: p(
          `INSERT INTO address_months (month, address, messages, signable) VALUES (?, ?, ?, ?)
           ON CONFLICT (month, address) DO UPDATE SET messages = messages + excluded.messages, signable = max(signable, excluded.signable)`,
        ),
        addCounter: p(`INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = value + excluded.value`),
        putErasure: p(`INSERT OR REPLACE INTO erasures (address_hash, erased_at) VALUES (?, ?)`),
        putErasedMessage: p(`INSERT OR REPLACE INTO erased_messages (message_hash, erased_at) VALUES (?, ?)`),
        putCertificate: p(
          `INSERT INTO certificates (address, fingerprint, spki_sha256, subject, issuer, serial, not_before, not_after, key_algorithm, capabilities, trusted, continuity, pem, first_seen, last_seen)
           VALUES (@address, @fingerprint, @spki_sha256, @subject, @issuer, @serial, @not_before, @not_after, @key_algorithm, @capabilities, @trusted, @continuity, @pem, @first_seen, @last_seen)
           ON CONFLICT (address, fingerprint) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen), first_seen = min(first_seen, excluded.first_seen)`,
        ),
      });
    }
    // IMMEDIATE: a second writer waits (busy_timeout) instead of failing mid-way.
    const write = sqlite.transaction(<F>(batch: IngestBatch<F>, fold: IngestFold<F>) => this.ingestInTransaction(batch, fold));
    this.writeBatch = (batch, fold) => write.immediate(batch, fold);
    // One deferred read transaction per batch: one snapshot and one lock acquisition instead of
    // one per address (1.5x faster for 1000 addresses); it never takes the write lock.
    this.readMany = sqlite.transaction((addresses: readonly string[], o: LookupOptions) => addresses.map((a) => this.lookupSync(a, o)));
    if (options.lookupSnapshotPerTurn && location !== ':memory:') this.turn = new TurnReads(location, this.mmapBytes, this.cacheKiB);
    const turn = this.turn;
    this.embedded = { lookup: turn ? (a, o) => turn.lookup(a, o) : (a, o) => this.lookupSync(a, o), lookupMany: (a, o) => this.readMany(a, o) };
    // directOnly: a trigger or view stored in the file can never call into our code.
    sqlite.function(STALE_LINE_FN, { varargs: true, directOnly: true }, (...args: unknown[]) => this.staleLine(args));
  }

  /**
   * The CSV line of a row whose cached decision expired (arguments: the recommendation filter or
   * NULL, then ADDRESS_COLUMNS), decided by the running export's policy; NULL when the new
   * decision does not pass the filter (group_concat skips it).
   */
  private staleLine(args: unknown[]): string | null {
    const stale = this.exportStale;
    if (!stale) throw new AppError('E_DB', `${STALE_LINE_FN} called outside an export`);
    const row: Record<string, unknown> = {};
    for (let i = 0; i < ADDRESS_COLUMNS.length; i++) row[ADDRESS_COLUMNS[i]!] = args[i + 1];
    const stored = row as unknown as AddressRow;
    const d = stale.decide(toState(stored));
    if (args[0] !== null && d.recommendation !== args[0]) return null;
    return csvLine({ ...stored, recommendation: d.recommendation, reason: d.reason });
  }

  private stmt(name: string): Statement {
    const s = this.st[name];
    if (!s) throw new AppError('E_DB', `the store is read-only (${name})`);
    return s;
  }

  /* ---- ingest ---- */

  async ingestBatch<F>(batch: IngestBatch<F>, fold: IngestFold<F>): Promise<IngestOutcome> {
    try {
      return this.writeBatch(batch, fold);
    } catch (e) {
      throw asDbError(e);
    }
  }

  private ingestInTransaction<F>(batch: IngestBatch<F>, fold: IngestFold<F>): IngestOutcome {
    const { now } = batch;
    if (batch.lease && batch.checkpoint) this.leaseTable().assertHeld(batch.checkpoint.account, batch.checkpoint.folder, batch.lease, now);
    const out: IngestOutcome = { stored: 0, duplicates: 0, erased: 0 };
    // Inside the transaction: an erasure committed before this batch is always seen.
    const anyErasure = (this.stmt('anyErasure').get() as { e: number }).e === 1;
    const erasedAt = new Map<string, number | null>();
    const erasedAtOf = (address: string): number | null => {
      let t = erasedAt.get(address);
      if (t === undefined) {
        const r = this.stmt('getErasure').get(fold.erasureHash(address)) as { erasedAt: number } | undefined;
        t = r ? r.erasedAt : null;
        erasedAt.set(address, t);
      }
      return t;
    };
    // States are read once and written once per address and batch (a customer's messages
    // often arrive together, and a backfill sees each address many times).
    const states = new Map<string, AddressState>();
    /** The stored row of each address already in the table (its key: UPDATE, not INSERT). */
    const storedRows = new Map<string, StoredAddressRow>();
    const tally = new BatchTally();
    const certCounts: Record<string, number> = {};
    const insert = this.stmt('insertObservation');
    for (const item of batch.items) {
      const row = item.observation;
      if (anyErasure) {
        const t = erasedAtOf(row.address);
        // By what the message is (its identity recorded at erasure), or by its date.
        if (t !== null && (row.effectiveAt <= t || (fold.messageErasureHash !== undefined && this.stmt('getErasedMessage').get(fold.messageErasureHash(row.messageId)) !== undefined))) {
          out.erased++;
          continue;
        }
      }
      if (insert.run(obsParams(row)).changes !== 1) {
        out.duplicates++;
        continue;
      }
      out.stored++;
      let prev = states.get(row.address) ?? null;
      if (prev === null) {
        const r = this.stmt('getStoredState').get(row.address) as StoredAddressRow | undefined;
        if (r) {
          prev = toState(r);
          storedRows.set(row.address, r);
        }
      }
      const state = fold.apply(prev, row.address, item.facts);
      states.set(row.address, state);
      if (item.certificate !== undefined) {
        const continuity = item.certificate && this.putCertificateSync(row.address, item.certificate, row.effectiveAt, fold);
        const key = continuity ? `certificates:${continuity}` : 'certificates:rejected';
        certCounts[key] = (certCounts[key] ?? 0) + 1;
        // Key continuity: trust on first use, alert on change (shown by lookup, API, metrics).
        if (continuity === 'key-changed') state.keyChanged = true;
      }
      tally.add(row.address, item.client, row.effectiveAt, item.signable);
    }
    this.flushMonths(tally);
    const put = this.stmt('putState');
    const update = this.stmt('updateState');
    const updateInPlace = this.stmt('updateStateInPlace');
    for (const state of states.values()) {
      const before = storedRows.get(state.address);
      const r = storedRowOf(state, fold.decide(state), addClients(before?.clients ?? null, tally.clientsOf(state.address)));
      if (before === undefined) put.run(stateParams(r));
      else if (sameIndexedColumns(r, before)) updateInPlace.run(updateParams(r, STATE_UNINDEXED_COLUMNS));
      else update.run(updateParams(r, STATE_UPDATE_COLUMNS));
    }
    tally.clear();
    const c: Record<string, number> = { ...batch.counters, stored: out.stored, duplicates: out.duplicates };
    if (out.erased) c['skipped:erased'] = (c['skipped:erased'] ?? 0) + out.erased;
    for (const [k, v] of Object.entries(certCounts)) c[k] = (c[k] ?? 0) + v;
    this.addCountersSync(c);
    if (batch.checkpoint) this.setCheckpointSync(batch.checkpoint, now);
    return out;
  }

  /** The tally's monthly activity (its client counts go into the address rows). */
  private flushMonths(tally: BatchTally): void {
    const month = this.stmt('bumpMonth');
    for (const m of tally.months.values()) month.run(m.month, m.address, m.n, m.signable ? 1 : 0);
    tally.months.clear();
  }

  private putCertificateSync<F>(address: string, c: NewCertificate, at: number, fold: IngestFold<F>): Continuity {
    const prev = (this.stmt('currentCertificate').get(address) as CertificateRow | undefined) ?? null;
    const continuity = fold.continuity(prev, c);
    this.stmt('putCertificate').run({ ...c, address, continuity, first_seen: at, last_seen: at });
    return continuity;
  }

  private addCountersSync(values: Record<string, number>): void {
    const s = this.stmt('addCounter');
    for (const [k, v] of Object.entries(values)) if (v) s.run(k, v);
  }

  private setCheckpointSync(c: Checkpoint, now: number): void {
    this.stmt('setCheckpoint').run(c.account, c.folder, c.uidValidity, c.lastUid, now);
  }

  /* ---- leases (several pollers on one file: see leases.ts) ---- */

  private leaseTable(): SqliteLeases {
    if (this.readonly) throw new AppError('E_DB', 'the store is read-only (leases)');
    return this.leaseStatements();
  }

  private leaseStatements(): SqliteLeases {
    return (this.leasesStatements ??= new SqliteLeases(this.sqlite));
  }

  async acquireLease(account: string, folder: string, owner: string, ttlMs: number, now: number, takeOver?: LeaseClaim): Promise<Lease | null> {
    try {
      return this.leaseTable().acquire(account, folder, owner, ttlMs, now, takeOver);
    } catch (e) {
      throw asDbError(e);
    }
  }

  async renewLease(key: LeaseKey, ttlMs: number, now: number): Promise<Lease | null> {
    try {
      return this.leaseTable().renew(key, ttlMs, now);
    } catch (e) {
      throw asDbError(e);
    }
  }

  async releaseLease(key: LeaseKey): Promise<void> {
    try {
      this.leaseTable().release(key);
    } catch (e) {
      throw asDbError(e);
    }
  }

  async listLeases(): Promise<Lease[]> {
    return this.leaseStatements().all();
  }

  /* ---- raw rows (store copy; SQL in rows.ts) ---- */

  async readRows(table: CopyTable, after: readonly RowValue[] | null, limit: number): Promise<RawRow[]> {
    return raw.readRows(this.sqlite, table, after, limit);
  }

  async writeRows(table: CopyTable, rows: readonly RawRow[]): Promise<number> {
    if (this.readonly) throw new AppError('E_DB', 'the store is read-only (copy)');
    try {
      return raw.writeRows(this.sqlite, table, rows);
    } catch (e) {
      throw asDbError(e);
    }
  }

  async countRows(table: CopyTable): Promise<number> {
    return raw.countRows(this.sqlite, table);
  }

  async lastKey(table: CopyTable): Promise<RowValue[] | null> {
    return raw.lastKey(this.sqlite, table);
  }

  /* ---- lookups ---- */

  private getStateSync(address: string): AddressState | null {
    const r = this.stmt('getState').get(address) as AddressRow | undefined;
    return r ? toState(r) : null;
  }

  private lookupSync(address: string, o: LookupOptions): LookupRow | null {
    // The HTTP lookup's hot path reads the decision and the client list from one row.
    return lookupRowOf((o.clients ? this.stmt('decisionWithClients') : this.stmt('getDecision')).get(o.now, address) as unknown[] | undefined, o);
  }

  async lookup(address: string, o: LookupOptions): Promise<LookupRow | null> {
    return this.lookupSync(address, o);
  }

  async lookupMany(addresses: readonly string[], o: LookupOptions): Promise<Array<LookupRow | null>> {
    return this.readMany(addresses, o);
  }

  async getState(address: string): Promise<AddressState | null> {
    return this.getStateSync(address);
  }

  async getClients(address: string): Promise<ClientRow[]> {
    return clientRows((this.stmt('getClients').get(address) as string | undefined) ?? null);
  }

  async observationsOf(address: string): Promise<StoredObservation[]> {
    return (this.stmt('observationsOf').all(address) as Array<Record<string, unknown>>).map(observationFromRow);
  }

  async certificatesOf(address: string): Promise<CertificateRow[]> {
    return this.stmt('certificatesOf').all(address) as CertificateRow[];
  }

  /* ---- checkpoints ---- */

  async getCheckpoint(account: string, folder: string): Promise<{ uidValidity: string; lastUid: number } | null> {
    return (this.stmt('getCheckpoint').get(account, folder) as { uidValidity: string; lastUid: number } | undefined) ?? null;
  }

  async resetCheckpoint(account: string, folder: string, uidValidity: string): Promise<void> {
    this.setCheckpointSync({ account, folder, uidValidity, lastUid: 0 }, Date.now());
  }

  async listCheckpoints(): Promise<CheckpointInfo[]> {
    return this.stmt('listCheckpoints').all() as CheckpointInfo[];
  }

  /* ---- derived state ---- */

  /**
   * Only the three decision columns are written: REPLACE of the whole row would delete and
   * re-insert it in the table and all three indexes, which made refreshing 100k stale decisions
   * of a 1M-address census take longer than exporting it. Runs with low memory (thousands of
   * scattered updates touch four B-tree leaves per row), then checkpoints the WAL so that the
   * export's scan that usually follows need not look every page up in the WAL index.
   */
  async refreshStale(decide: (s: AddressState) => DecisionFields, now: number): Promise<number> {
    if (this.readonly) return 0;
    const page = this.sqlite.prepare(`SELECT ${ADDRESS_COLUMNS.join(', ')} FROM addresses WHERE decided_until IS NOT NULL AND decided_until <= ? LIMIT ?`);
    const put = this.stmt('putDecision');
    const putExpiry = this.stmt('putExpiry');
    const writePage = this.sqlite.transaction((states: AddressState[]) => {
      for (const s of states) {
        const d = decide(s);
        if (d.recommendation === s.recommendation) putExpiry.run({ address: s.address, reason: d.reason, decidedUntil: d.decidedUntil });
        else put.run({ address: s.address, recommendation: d.recommendation, reason: d.reason, decidedUntil: d.decidedUntil });
      }
    });
    let n = 0;
    const restore = this.lowMemory();
    try {
      for (;;) {
        const stale = (page.all(now, 5000) as AddressRow[]).map(toState);
        if (stale.length === 0) break;
        // In key order, the updates walk the table's B-tree leaf by leaf instead of at random
        // (the page comes in expiry order), so each touched page is dirtied once, not re-read.
        stale.sort((x, y) => (x.address < y.address ? -1 : x.address > y.address ? 1 : 0));
        writePage.immediate(stale);
        n += stale.length;
      }
    } finally {
      restore();
    }
    // PASSIVE: never waits for readers.
    if (n > 0) this.sqlite.pragma('wal_checkpoint(PASSIVE)');
    return n;
  }

  /**
   * Memory-mapped I/O off and a small page cache until the returned function is called. A full
   * scan, or thousands of scattered updates, through mmap or a large cache count every page
   * touched as resident memory; a one-off pass over the file needs neither.
   */
  private lowMemory(): () => void {
    this.sqlite.pragma('mmap_size = 0');
    this.sqlite.pragma('cache_size = -4096');
    return () => {
      if (!this.sqlite.open) return;
      this.sqlite.pragma(`mmap_size = ${this.mmapBytes}`);
      this.sqlite.pragma(`cache_size = -${this.cacheKiB}`);
    };
  }

  async recompute<F>(job: RecomputeJob<F>): Promise<RecomputeResult> {
    const run = this.sqlite.transaction(() => this.recomputeSync(job));
    return run.immediate();
  }

  private recomputeSync<F>(job: RecomputeJob<F>): RecomputeResult {
    const result: RecomputeResult = { observations: 0, changed: 0, addresses: 0 };
    const update = this.sqlite.prepare(
      `UPDATE observations SET family=@family, kind=@kind, product=@product, version=@version, platform=@platform, smime=@smime, confidence=@confidence, rule_id=@ruleId, warnings=@warnings, candidates=@candidates, evidence=@evidence WHERE id=@id`,
    );
    for (const o of this.iterateObservations()) {
      result.observations++;
      const cols: VerdictColumns | null = job.reclassify(o);
      if (cols) {
        update.run({ id: o.id, ...cols });
        result.changed++;
      }
    }
    // The key-change alert comes from harvested certificates, not from observations: rebuild it
    // from the certificates table, or recompute would silently clear it (issue 11).
    const keyChanged = new Set(
      this.sqlite.prepare(`SELECT DISTINCT address FROM certificates WHERE continuity = 'key-changed'`).pluck().all() as string[],
    );
    this.sqlite.exec(`DELETE FROM address_months; DELETE FROM addresses;`);
    const put = this.stmt('putState');
    let current: AddressState | null = null;
    const tally = new BatchTally();
    const flush = (): void => {
      this.flushMonths(tally);
      if (current) {
        if (keyChanged.has(current.address)) current = { ...current, keyChanged: true };
        put.run(stateParams(storedRowOf(current, job.decide(current), addClients(null, tally.clientsOf(current.address)))));
        result.addresses++;
      }
      tally.clear();
    };
    for (const o of this.iterateObservationsByAddress()) {
      if (current && current.address !== o.address) {
        flush();
        current = null;
      }
      const f = job.factsOf(o);
      current = job.apply(current, o.address, f.facts);
      tally.add(o.address, f.client, o.effectiveAt, f.signable);
    }
    flush();
    return result;
  }

  /** Observations in id order, in pages (recompute walks the whole table without loading it). */
  private *iterateObservations(pageSize = 5000): Generator<StoredObservation> {
    const page = this.sqlite.prepare(`SELECT * FROM observations WHERE id > ? ORDER BY id LIMIT ?`);
    let after = 0;
    for (;;) {
      const rows = page.all(after, pageSize) as Array<Record<string, unknown>>;
      if (rows.length === 0) return;
      for (const r of rows) yield observationFromRow(r);
      after = rows[rows.length - 1]!.id as number;
    }
  }

  /** Observations ordered by address then time, in pages (state rebuild). */
  private *iterateObservationsByAddress(pageSize = 5000): Generator<StoredObservation> {
    const page = this.sqlite.prepare(`SELECT * FROM observations WHERE (address, effective_at, id) > (?, ?, ?) ORDER BY address, effective_at, id LIMIT ?`);
    // Stored addresses are never empty, so ('', 0, 0) sorts before every row.
    let key: [string, number, number] = ['', 0, 0];
    for (;;) {
      const rows = page.all(key[0], key[1], key[2], pageSize) as Array<Record<string, unknown>>;
      if (rows.length === 0) return;
      for (const r of rows) yield observationFromRow(r);
      const last = rows[rows.length - 1]!;
      key = [last.address as string, last.effective_at as number, last.id as number];
    }
  }

  /* ---- erasure ---- */

  async erase(address: string, addressHash: string, at: number, messageHash?: (messageId: string) => string): Promise<number> {
    const run = this.sqlite.transaction(() => {
      let n = 0;
      if (messageHash) {
        const put = this.stmt('putErasedMessage');
        for (const r of this.sqlite.prepare(`SELECT DISTINCT message_id AS id FROM observations WHERE address = ?`).all(address) as Array<{ id: string }>) put.run(messageHash(r.id), at);
      }
      // Each listed client counts as a row deleted, as when the list was a table of its own.
      n += (this.sqlite.prepare(`SELECT json_array_length(clients) FROM addresses WHERE address = ?`).pluck().get(address) as number | undefined) ?? 0;
      for (const table of ['observations', 'address_months', 'certificates', 'addresses']) {
        n += this.sqlite.prepare(`DELETE FROM ${table} WHERE address = ?`).run(address).changes;
      }
      this.stmt('putErasure').run(addressHash, at);
      return n;
    });
    let n: number;
    try {
      n = run.immediate();
    } catch (e) {
      throw asDbError(e);
    }
    // Frames holding the erased rows must not linger in the -wal file (secure_delete zeroes the db pages).
    // The lookups' open read transaction would hold the checkpoint back (and it waits for readers).
    this.turn?.end();
    this.sqlite.pragma('wal_checkpoint(TRUNCATE)');
    return n;
  }

  /* ---- reporting ---- */

  async getCounters(): Promise<Record<string, number>> {
    return this.countersSync();
  }

  private countersSync(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.stmt('counters').all() as Array<{ name: string; value: number }>) out[r.name] = r.value;
    return out;
  }

  async addressPage(after: string, limit: number): Promise<string[]> {
    return this.sqlite.prepare(`SELECT address FROM addresses WHERE address > ? ORDER BY address LIMIT ?`).pluck().all(after, limit) as string[];
  }

  async countAddresses(): Promise<number> {
    return (this.sqlite.prepare(`SELECT count(*) AS n FROM addresses`).get() as { n: number }).n;
  }

  /** Bulk seeding for the scale benchmarks: use store/seed.ts's seedSynthetic, which checks the spec. */
  async seedSynthetic(spec: SyntheticCensus): Promise<number> {
    this.writableForSeeding();
    return seedSyntheticSqlite(this.sqlite, spec);
  }

  /** Bulk seeding for the scale benchmarks: use store/seed.ts's growByCopies. */
  async growByCopies(target: number): Promise<number> {
    this.writableForSeeding();
    return growByCopiesSqlite(this.sqlite, target);
  }

  private writableForSeeding(): void {
    if (this.readonly) throw new AppError('E_DB', 'the store is read-only (seeding)');
  }

  /**
   * CSV export in pages of pre-formatted lines (4,000 rows a page keeps the strings small: peak
   * RSS ~125 MB at 1M rows, ~200 MB with 20,000). Formatting runs inside SQLite: building one JS
   * object per row was the cost that made a plain iterate()-and-quote loop 3x slower than the
   * sqlite3 shell. Keyset pagination on the primary key keeps memory constant.
   *
   * Rows whose decision expired (a few percent) are re-decided inside the statement, through a
   * SQL function into policy, and written as a refreshed database would give them, without
   * storing the new decision: writing it back scattered updates over the whole table (43% of a
   * 1M-row export) for a value every reader derives again anyway (lookups re-decide stale rows,
   * the `stats` command refreshes first).
   */
  async *exportCsv(filter: ExportFilter, stale?: StaleDecisions, pageSize = 4_000): AsyncGenerator<string> {
    for (const page of this.exportCsvChunks(filter, stale ?? null, pageSize, false)) yield (page as string) + '\r\n';
  }

  /**
   * exportCsv's pages as the bytes SQLite built (CAST ... AS BLOB hands the text over as is,
   * one copy into a Buffer): no UTF-8 decoding into a string, no re-encoding for the file, and
   * no page + CRLF string to flatten. The line end after each page is a chunk of its own.
   */
  async *exportCsvBytes(filter: ExportFilter, stale?: StaleDecisions, pageSize = 4_000): AsyncGenerator<Uint8Array> {
    for (const page of this.exportCsvChunks(filter, stale ?? null, pageSize, true)) {
      yield page as Buffer;
      yield CRLF_BYTES;
    }
  }

  /** The pages of exportCsv without the CRLF after their last line, as text or (bytes) a Buffer. */
  private *exportCsvChunks(filter: ExportFilter, stale: StaleDecisions | null, pageSize: number, bytes: boolean): Generator<string | Buffer> {
    const where: string[] = ['address > @after'];
    // A stale row's stored recommendation says nothing about its new one: staleLine filters it.
    if (filter.recommendation) where.push(stale ? '(recommendation = @recommendation OR decided_until <= @now)' : 'recommendation = @recommendation');
    if (filter.family) where.push('family = @family');
    if (filter.since !== undefined) where.push('last_seen >= @since');
    // recommendation, smime and family are enum values or kebab-case ids, and stored addresses
    // have no quotes, commas or line breaks (parse rejects them), so only the free-text
    // columns need the full quoting expression.
    const neutralOnly = (c: string): string => `CASE WHEN ${formula(c)} THEN '"''' || ${c} || '"' ELSE ${c} END`;
    // concat_ws builds the line in one allocation; nine `||` copied the growing line nine times.
    // Every argument is non-NULL here (concat_ws would skip a NULL and shift the columns).
    const stored = `concat_ws(',', ${[
      neutralOnly('address'),
      'recommendation',
      `ifnull(family,'')`,
      csvCell('product'),
      csvCell('version'),
      `ifnull(smime,'')`,
      // strftime('%Y-%m-%dT%H:%M:%SZ') in a cheaper form: datetime() skips the format string's
      // interpretation, which saved a third of the time column's cost (7% of the SQL) at a million rows. Both are NULL outside years
      // 0000-9999, and a NULL line would vanish from group_concat.
      `ifnull(replace(datetime(last_seen / 1000, 'unixepoch'), ' ', 'T') || 'Z','')`,
      'messages',
      csvCell('reason'),
      'key_changed',
    ].join(', ')})`;
    // decided_until <= @now is NULL, not true, for a decision that never expires.
    const line = stale ? `CASE WHEN decided_until <= @now THEN ${STALE_LINE_FN}(@recommendation, ${ADDRESS_COLUMNS.join(', ')}) ELSE ${stored} END` : stored;
    const stmt = this.sqlite.prepare(
      `SELECT ${bytes ? 'CAST(group_concat(line, char(13) || char(10)) AS BLOB)' : 'group_concat(line, char(13) || char(10))'} AS chunk, max(address) AS last, count(*) AS n
       FROM (SELECT address, ${line} AS line FROM addresses WHERE ${where.join(' AND ')} ORDER BY address LIMIT @limit)`,
    );
    const params: Record<string, string | number | null> = { after: '', limit: pageSize, recommendation: filter.recommendation ?? null, family: filter.family ?? null, since: filter.since ?? null };
    if (stale) params.now = stale.now;
    const restore = this.lowMemory();
    try {
      for (;;) {
        // Set only while the statement steps (get() is synchronous): two exports taking turns on
        // one connection, each between its pages, never see each other's policy or time.
        this.exportStale = stale;
        let r: { chunk: string | Buffer | null; last: string | null; n: number };
        try {
          r = stmt.get(params) as typeof r;
        } finally {
          this.exportStale = null;
        }
        if (!r.n || r.last === null) return;
        // A page may hold only stale rows that the filter then drops.
        if (r.chunk !== null) yield r.chunk;
        if (r.n < pageSize) return;
        params.after = r.last;
      }
    } finally {
      restore();
    }
  }

  async stats(stale?: StaleDecisions): Promise<Stats> {
    // One read transaction: one snapshot for all the figures.
    return this.sqlite.transaction(() => this.statsSync(stale))();
  }

  private statsSync(stale: StaleDecisions | undefined): Stats {
    const byRec = { sign: 0, 'do-not-sign': 0, unknown: 0 } as Record<Recommendation, number>;
    for (const r of this.sqlite.prepare(`SELECT recommendation, count(*) AS n FROM addresses GROUP BY recommendation`).all() as Array<{ recommendation: Recommendation; n: number }>) byRec[r.recommendation] = r.n;
    const addresses = byRec.sign + byRec['do-not-sign'] + byRec.unknown;
    const messages = (this.sqlite.prepare(`SELECT count(*) AS n FROM observations`).get() as { n: number }).n;
    const byFamily = this.sqlite
      .prepare(`SELECT family, max(smime) AS smime, count(*) AS addresses, sum(recommendation = 'sign') AS sign FROM addresses GROUP BY family ORDER BY addresses DESC, family`)
      .all() as Stats['byFamily'];
    const byMonth = this.sqlite
      .prepare(`SELECT month, sum(messages) AS messages, count(*) AS activeAddresses, sum(signable) AS signable FROM address_months GROUP BY month ORDER BY month`)
      .all() as Stats['byMonth'];
    const stats = { addresses, messages, byRecommendation: byRec, byFamily, byMonth, counters: this.countersSync() };
    if (stale) {
      const expired = this.sqlite.prepare(`SELECT * FROM addresses WHERE decided_until IS NOT NULL AND decided_until <= ?`).iterate(stale.now) as IterableIterator<AddressRow>;
      restate(stats, (function* () {
        for (const r of expired) yield toState(r);
      })(), stale);
    }
    return stats;
  }

  /**
   * Most frequent fingerprint values that no rule recognised (person mail with family null),
   * the maintainers' to-do list for new rules.
   */
  async unknownFingerprints(top = 20, headers: readonly string[] = ['x-mailer', 'user-agent', 'x-newsreader']): Promise<UnknownFingerprint[]> {
    const parts = headers.map(
      (h) => `SELECT '${h.replace(/'/g, "''")}' AS header, json_extract(fingerprint, '$."${h.replace(/["'\\]/g, '')}"[0]') AS value, message_id FROM observations WHERE family IS NULL AND kind <> 'automated'`,
    );
    return this.sqlite
      .prepare(
        `SELECT header, value, count(*) AS count, min(message_id) AS exampleMessageId FROM (${parts.join(' UNION ALL ')})
         WHERE value IS NOT NULL GROUP BY header, value ORDER BY count DESC, value LIMIT ?`,
      )
      .all(top) as UnknownFingerprint[];
  }

  /** Opened and migrated in the constructor. */
  async ready(): Promise<void> {}

  async health(): Promise<StoreHealth> {
    try {
      if (!this.sqlite.open) throw new Error('database closed');
      // A point lookup reads the real table: a deleted or corrupt file fails here.
      this.getStateSync('healthz.invalid');
      return { ok: true };
    } catch (e) {
      return { ok: false, error: e instanceof Error ? e.message : 'unreadable' };
    }
  }

  async close(): Promise<void> {
    this.turn?.close();
    if (this.sqlite.open) this.sqlite.close();
  }
}

/** A lookup statement's raw row as the contract's LookupRow (the state only for an expired decision). */
function lookupRowOf(r: unknown[] | undefined, o: LookupOptions): LookupRow | null {
  if (!r) return null;
  const decision: CachedDecision = { recommendation: r[0] as Recommendation, reason: r[1] as string, lastSeen: r[2] as number, decidedUntil: r[3] as number | null, keyChanged: r[4] as 0 | 1 };
  const clients = o.clients ? clientRows(r[5] as string) : [];
  const state = decision.decidedUntil !== null && decision.decidedUntil <= o.now ? stateFromJson(r[o.clients ? 6 : 5] as string) : null;
  return { decision, clients, state };
}

/**
 * The server's one-address lookups (StoreOptions.lookupSnapshotPerTurn): a read-only connection
 * of their own, on which the first lookup of an event-loop turn begins a read transaction that
 * setImmediate ends. In autocommit every lookup took and dropped SQLite's shared lock (two
 * fcntl calls), stat'ed the file and read the WAL index again: 4.3 of a point lookup's 10 µs of
 * CPU, in-process at 1M addresses. Under load a turn serves many requests and they share that
 * cost. The snapshot is no older than the first request's arrival: every request of the turn
 * had been read from its socket before it began. Its own connection, because a transaction
 * left open on the store's would take in the poller's writes and the other calls of the turn.
 */
class TurnReads {
  private readonly db: SqliteDb;
  private readonly begin: Statement;
  private readonly commit: Statement;
  private readonly withClients: Statement;
  private readonly decision: Statement;
  private open = false;
  private readonly endTurn = (): void => this.end();

  constructor(location: string, mmapBytes: number, cacheKiB: number) {
    this.db = openDatabase(location, { readonly: true, mmapBytes, cacheKiB }).sqlite;
    this.begin = this.db.prepare('BEGIN');
    this.commit = this.db.prepare('COMMIT');
    this.withClients = this.db.prepare(LOOKUP_WITH_CLIENTS_SQL).raw();
    this.decision = this.db.prepare(LOOKUP_SQL).raw();
  }

  lookup(address: string, o: LookupOptions): LookupRow | null {
    if (!this.open) {
      this.begin.run();
      this.open = true;
      setImmediate(this.endTurn);
    }
    return lookupRowOf((o.clients ? this.withClients : this.decision).get(o.now, address) as unknown[] | undefined, o);
  }

  /** Ends the turn's read transaction (setImmediate, erasure's checkpoint, close). */
  end(): void {
    if (!this.open) return;
    this.open = false;
    if (this.db.open && this.db.inTransaction) this.commit.run();
  }

  close(): void {
    this.end();
    if (this.db.open) this.db.close();
  }
}
