/**
 * Repository over SQLite. All SQL-dialect-specific code of the project lives in src/store/
 * (a PostgreSQL store will implement the same Store interface). Hot paths use prepared
 * statements directly; drizzle provides the schema and migrations.
 */
import type { Statement } from 'better-sqlite3';
import type { AddressState } from '../policy/index.js';
import type { Recommendation, SmimeLevel, SkipReason } from '../core/index.js';
import { openDatabase, type OpenOptions, type SqliteDb } from './open.js';
import { AppError } from '../core/index.js';

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
  continuity: string;
  pem: string;
  first_seen: number;
  last_seen: number;
}

export interface CachedDecision {
  recommendation: Recommendation;
  reason: string;
  lastSeen: number;
  decidedUntil: number | null;
  keyChanged: 0 | 1;
}

export interface ClientRow {
  family: string | null;
  product: string | null;
  version: string | null;
  platform: string | null;
  smime: SmimeLevel;
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

interface AddressRow {
  address: string;
  first_seen: number;
  last_seen: number;
  messages: number;
  last_verify_at: number | null;
  last_non_verify_at: number | null;
  last_non_verify_client: string | null;
  last_non_verify_smime: string | null;
  last_broken_at: number | null;
  last_broken_client: string | null;
  last_unrecognised_at: number | null;
  last_signed_at: number | null;
  family: string | null;
  product: string | null;
  version: string | null;
  smime: string | null;
  client_at: number | null;
  recommendation: string;
  reason: string;
  decided_until: number | null;
  key_changed: number;
}

function toState(r: AddressRow): AddressState {
  return {
    address: r.address,
    firstSeen: r.first_seen,
    lastSeen: r.last_seen,
    messages: r.messages,
    lastVerifyAt: r.last_verify_at,
    lastNonVerifyAt: r.last_non_verify_at,
    lastNonVerifyClient: r.last_non_verify_client,
    lastNonVerifySmime: r.last_non_verify_smime as SmimeLevel | null,
    lastBrokenAt: r.last_broken_at,
    lastBrokenClient: r.last_broken_client,
    lastUnrecognisedAt: r.last_unrecognised_at,
    lastSignedAt: r.last_signed_at,
    family: r.family,
    product: r.product,
    version: r.version,
    smime: r.smime as SmimeLevel | null,
    clientAt: r.client_at,
    recommendation: r.recommendation as Recommendation,
    reason: r.reason,
    decidedUntil: r.decided_until,
    keyChanged: r.key_changed === 1,
  };
}

function fromState(s: AddressState): AddressRow {
  return {
    address: s.address,
    first_seen: s.firstSeen,
    last_seen: s.lastSeen,
    messages: s.messages,
    last_verify_at: s.lastVerifyAt,
    last_non_verify_at: s.lastNonVerifyAt,
    last_non_verify_client: s.lastNonVerifyClient,
    last_non_verify_smime: s.lastNonVerifySmime,
    last_broken_at: s.lastBrokenAt,
    last_broken_client: s.lastBrokenClient,
    last_unrecognised_at: s.lastUnrecognisedAt,
    last_signed_at: s.lastSignedAt,
    family: s.family,
    product: s.product,
    version: s.version,
    smime: s.smime,
    client_at: s.clientAt,
    recommendation: s.recommendation,
    reason: s.reason,
    decided_until: s.decidedUntil,
    key_changed: s.keyChanged ? 1 : 0,
  };
}

const ADDRESS_COLUMNS = [
  'address', 'first_seen', 'last_seen', 'messages', 'last_verify_at', 'last_non_verify_at', 'last_non_verify_client',
  'last_non_verify_smime', 'last_broken_at', 'last_broken_client', 'last_unrecognised_at', 'last_signed_at', 'family',
  'product', 'version', 'smime', 'client_at', 'recommendation', 'reason', 'decided_until', 'key_changed',
] as const;

const OBSERVATION_COLUMNS = [
  'source_key', 'address', 'message_id', 'effective_at', 'received_at', 'fingerprint', 'family', 'kind', 'product', 'version',
  'platform', 'smime', 'confidence', 'rule_id', 'warnings', 'candidates', 'smime_message', 'authenticated', 'evidence', 'created_at',
] as const;
const OBS_PARAMS: Record<(typeof OBSERVATION_COLUMNS)[number], keyof ObservationRow> = {
  source_key: 'sourceKey', address: 'address', message_id: 'messageId', effective_at: 'effectiveAt', received_at: 'receivedAt',
  fingerprint: 'fingerprint', family: 'family', kind: 'kind', product: 'product', version: 'version', platform: 'platform',
  smime: 'smime', confidence: 'confidence', rule_id: 'ruleId', warnings: 'warnings', candidates: 'candidates',
  smime_message: 'smimeMessage', authenticated: 'authenticated', evidence: 'evidence', created_at: 'createdAt',
};

function observationFromRow(r: Record<string, unknown>): StoredObservation {
  const o: Record<string, unknown> = { id: r.id };
  for (const c of OBSERVATION_COLUMNS) o[OBS_PARAMS[c]] = r[c];
  return o as unknown as StoredObservation;
}

/** Identity of a client within an address's client list. */
export function clientKeyOf(c: Omit<ClientRow, 'count' | 'lastSeen'>): string {
  return [c.family ?? '', c.product ?? '', c.version ?? '', c.platform ?? '', c.smime].join('\u001f');
}

/** The month (UTC, YYYY-MM) of a time, as the monthly activity is keyed. */
export function monthOf(at: number): string {
  return new Date(at).toISOString().slice(0, 7);
}

/** CSV of one column in SQL: RFC 4180 quoting plus OWASP formula neutralisation (leading = + - @ TAB CR get a '). */
/**
 * First characters that make a spreadsheet read a cell as a formula: the ASCII ones, their
 * full-width and small forms (＝＋－＠ ﹦﹢﹣﹫, which some spreadsheets normalise to ASCII), the
 * minus sign, and zero-width characters that hide a formula character behind them.
 */
const FORMULA_TRIGGERS = `('=','+','-','@',char(9),char(13),char(65309),char(65291),char(65293),char(65312),char(65126),char(65122),char(65123),char(65131),char(8722),char(8203),char(8204),char(8205),char(8288),char(65279))`;

function csvCell(expr: string): string {
  const neutral = `CASE WHEN substr(${expr},1,1) IN ${FORMULA_TRIGGERS} THEN '''' || ${expr} ELSE ${expr} END`;
  // instr() is a plain byte search, cheaper per row than a GLOB character class.
  const special = `instr(${expr},'"') OR instr(${expr},',') OR instr(${expr},char(10)) OR instr(${expr},char(13))`;
  return `CASE WHEN ${expr} IS NULL THEN '' WHEN ${special} OR substr(${expr},1,1) IN ${FORMULA_TRIGGERS} THEN '"' || replace(${neutral}, '"', '""') || '"' ELSE ${expr} END`;
}

export const EXPORT_COLUMNS = ['address', 'recommendation', 'family', 'product', 'version', 'smime', 'last_seen', 'messages', 'reason', 'key_changed'] as const;

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

/** The store: one SQLite database file. */
export class Store {
  readonly sqlite: SqliteDb;
  readonly readonly: boolean;
  private readonly st: Record<string, Statement>;

  constructor(readonly path: string, options: OpenOptions = {}) {
    const { sqlite } = openDatabase(path, options);
    this.sqlite = sqlite;
    this.readonly = !!options.readonly;
    const p = (sql: string): Statement => sqlite.prepare(sql);
    this.st = {
      getState: p(`SELECT * FROM addresses WHERE address = ?`),
      getDecision: p(`SELECT recommendation, reason, last_seen AS lastSeen, decided_until AS decidedUntil, key_changed AS keyChanged FROM addresses WHERE address = ?`),
      getClients: p(`SELECT family, product, version, platform, smime, count, last_seen AS lastSeen FROM address_clients WHERE address = ? ORDER BY last_seen DESC, count DESC`),
      getCheckpoint: p(`SELECT uid_validity AS uidValidity, last_uid AS lastUid FROM checkpoints WHERE account = ? AND folder = ?`),
      getErasure: p(`SELECT erased_at AS erasedAt FROM erasures WHERE address_hash = ?`),
      anyErasure: p(`SELECT EXISTS (SELECT 1 FROM erasures) AS e`),
      getErasedMessage: p(`SELECT 1 AS x FROM erased_messages WHERE message_hash = ?`),
      decisionWithClients: p(
        `SELECT a.recommendation, a.reason, a.last_seen, a.decided_until, a.key_changed, c.family, c.product, c.version, c.platform, c.smime, c.count, c.last_seen
         FROM addresses a LEFT JOIN address_clients c ON c.address = a.address WHERE a.address = ? ORDER BY c.last_seen DESC, c.count DESC`,
      ).raw(),
      counters: p(`SELECT name, value FROM counters`),
      observationsOf: p(`SELECT * FROM observations WHERE address = ? ORDER BY effective_at, id`),
      certificatesOf: p(`SELECT * FROM certificates WHERE address = ? ORDER BY last_seen DESC, id DESC`),
    };
    if (!this.readonly) {
      Object.assign(this.st, {
        insertObservation: p(
          `INSERT OR IGNORE INTO observations (${OBSERVATION_COLUMNS.join(', ')}) VALUES (${OBSERVATION_COLUMNS.map((c) => '@' + OBS_PARAMS[c]).join(', ')})`,
        ),
        putState: p(`INSERT OR REPLACE INTO addresses (${ADDRESS_COLUMNS.join(', ')}) VALUES (${ADDRESS_COLUMNS.map((c) => '@' + c).join(', ')})`),
        putDecision: p(`UPDATE addresses SET recommendation = @recommendation, reason = @reason, decided_until = @decidedUntil WHERE address = @address`),
        bumpClient: p(
          `INSERT INTO address_clients (address, client_key, family, product, version, platform, smime, count, last_seen)
           VALUES (@address, @clientKey, @family, @product, @version, @platform, @smime, @n, @at)
           ON CONFLICT (address, client_key) DO UPDATE SET count = count + excluded.count, last_seen = max(last_seen, excluded.last_seen)`,
        ),
        setCheckpoint: p(
          `INSERT INTO checkpoints (account, folder, uid_validity, last_uid, updated_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (account, folder) DO UPDATE SET uid_validity = excluded.uid_validity, last_uid = excluded.last_uid, updated_at = excluded.updated_at`,
        ),
        bumpMonth: p(
          `INSERT INTO address_months (month, address, messages, signable) VALUES (@month, @address, @n, @signable)
           ON CONFLICT (month, address) DO UPDATE SET messages = messages + excluded.messages, signable = max(signable, excluded.signable)`,
        ),
        addCounter: p(`INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = value + excluded.value`),
        putErasure: p(`INSERT OR REPLACE INTO erasures (address_hash, erased_at) VALUES (?, ?)`),
        putErasedMessage: p(`INSERT OR REPLACE INTO erased_messages (message_hash, erased_at) VALUES (?, ?)`),
      });
    }
  }

  private stmt(name: string): Statement {
    const s = this.st[name];
    if (!s) throw new Error(`statement ${name} not available (read-only store?)`);
    return s;
  }

  /** Runs fn in one transaction (IMMEDIATE: a second writer waits instead of failing mid-way). */
  transaction<T>(fn: () => T): T {
    try {
      return this.sqlite.transaction(fn).immediate();
    } catch (e) {
      throw asDbError(e);
    }
  }

  /** Inserts an observation; false when it is a duplicate (same source key, or same Message-ID + address). */
  insertObservation(row: ObservationRow): boolean {
    return this.stmt('insertObservation').run(row).changes === 1;
  }

  getState(address: string): AddressState | null {
    const r = this.stmt('getState').get(address) as AddressRow | undefined;
    return r ? toState(r) : null;
  }

  /**
   * The cached decision of an address: the lookup hot path reads 5 columns instead of the whole
   * state (about half the cost per lookup); the full state is read only when it has expired.
   */
  getDecision(address: string): CachedDecision | null {
    return (this.stmt('getDecision').get(address) as CachedDecision | undefined) ?? null;
  }

  /** The cached decision and the client list in one statement (the HTTP lookup's hot path). */
  getDecisionWithClients(address: string): { decision: CachedDecision; clients: ClientRow[] } | null {
    const rows = this.stmt('decisionWithClients').all(address) as unknown[][];
    const first = rows[0];
    if (!first) return null;
    const decision: CachedDecision = { recommendation: first[0] as Recommendation, reason: first[1] as string, lastSeen: first[2] as number, decidedUntil: first[3] as number | null, keyChanged: first[4] as 0 | 1 };
    const clients: ClientRow[] = [];
    for (const r of rows) {
      if (r[10] === null) continue; // LEFT JOIN without a client row
      clients.push({ family: r[5] as string | null, product: r[6] as string | null, version: r[7] as string | null, platform: r[8] as string | null, smime: r[9] as SmimeLevel, count: r[10] as number, lastSeen: r[11] as number });
    }
    return { decision, clients };
  }

  putState(state: AddressState): void {
    this.stmt('putState').run(fromState(state));
  }

  /**
   * Stores a new decision for an address whose evidence did not change (a decision that
   * expired by time). Only the three decision columns: REPLACE of the whole row would delete and
   * re-insert it in the table and all three indexes, which made refreshing 100k stale
   * decisions of a 1M-address census take longer than exporting it.
   */
  putDecision(address: string, d: Pick<CachedDecision, 'recommendation' | 'reason' | 'decidedUntil'>): void {
    this.stmt('putDecision').run({ address, recommendation: d.recommendation, reason: d.reason, decidedUntil: d.decidedUntil });
  }

  /** Counts `n` messages (default 1) of one client for an address; `at` is the latest of them. */
  bumpClient(address: string, c: Omit<ClientRow, 'count' | 'lastSeen'>, at: number, n = 1): void {
    this.stmt('bumpClient').run({ address, clientKey: clientKeyOf(c), family: c.family, product: c.product, version: c.version, platform: c.platform, smime: c.smime, at, n });
  }

  /** Counts `n` messages (default 1) in a month's activity for the address (signable: verify evidence). */
  bumpMonth(address: string, month: string, signable: boolean, n = 1): void {
    this.stmt('bumpMonth').run({ address, month, signable: signable ? 1 : 0, n });
  }

  getClients(address: string): ClientRow[] {
    return this.stmt('getClients').all(address) as ClientRow[];
  }

  getCheckpoint(account: string, folder: string): { uidValidity: string; lastUid: number } | null {
    return (this.stmt('getCheckpoint').get(account, folder) as { uidValidity: string; lastUid: number } | undefined) ?? null;
  }

  setCheckpoint(c: Checkpoint, now = Date.now()): void {
    this.stmt('setCheckpoint').run(c.account, c.folder, c.uidValidity, c.lastUid, now);
  }

  /** On a UIDVALIDITY change: start the folder again from UID 0 under the new validity. */
  resetCheckpoint(account: string, folder: string, uidValidity: string): void {
    this.setCheckpoint({ account, folder, uidValidity, lastUid: 0 });
  }

  listCheckpoints(): Array<Checkpoint & { updatedAt: number }> {
    return this.sqlite.prepare(`SELECT account, folder, uid_validity AS uidValidity, last_uid AS lastUid, updated_at AS updatedAt FROM checkpoints ORDER BY account, folder`).all() as Array<Checkpoint & { updatedAt: number }>;
  }

  addCounters(values: Record<string, number>): void {
    const s = this.stmt('addCounter');
    for (const [k, v] of Object.entries(values)) if (v) s.run(k, v);
  }

  getCounters(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.stmt('counters').all() as Array<{ name: string; value: number }>) out[r.name] = r.value;
    return out;
  }

  /** True when any address was ever erased. */
  hasErasures(): boolean {
    return (this.stmt('anyErasure').get() as { e: number }).e === 1;
  }

  /** Erasure time for a keyed address hash, or null. */
  erasedAt(addressHash: string): number | null {
    const r = this.stmt('getErasure').get(addressHash) as { erasedAt: number } | undefined;
    return r ? r.erasedAt : null;
  }

  /** True when a message with this keyed identity hash belonged to an erased address. */
  isMessageErased(messageHash: string): boolean {
    return this.stmt('getErasedMessage').get(messageHash) !== undefined;
  }

  /**
   * Right to erasure: removes every row about the address and remembers only keyed hashes: of
   * the address, and of each of its messages' identities (`messageHash` maps a stored
   * Message-ID to its keyed hash), so re-reading that mail stores nothing whatever its date.
   * Deleted content is zeroed (secure_delete, set at open) and the WAL is checkpointed and
   * truncated, so no copy of the address stays in the database files. Returns rows deleted.
   */
  erase(address: string, addressHash: string, at: number, messageHash?: (messageId: string) => string): number {
    const n = this.transaction(() => {
      let n = 0;
      if (messageHash) {
        const put = this.stmt('putErasedMessage');
        for (const r of this.sqlite.prepare(`SELECT DISTINCT message_id AS id FROM observations WHERE address = ?`).all(address) as Array<{ id: string }>) put.run(messageHash(r.id), at);
      }
      n += this.sqlite.prepare(`DELETE FROM observations WHERE address = ?`).run(address).changes;
      n += this.sqlite.prepare(`DELETE FROM address_clients WHERE address = ?`).run(address).changes;
      n += this.sqlite.prepare(`DELETE FROM address_months WHERE address = ?`).run(address).changes;
      n += this.sqlite.prepare(`DELETE FROM certificates WHERE address = ?`).run(address).changes;
      n += this.sqlite.prepare(`DELETE FROM addresses WHERE address = ?`).run(address).changes;
      this.stmt('putErasure').run(addressHash, at);
      return n;
    });
    this.truncateWal();
    return n;
  }

  /**
   * Copies the WAL into the database and truncates it to zero bytes, so frames holding erased
   * rows do not linger in the -wal file. Waits (busy_timeout) for readers of older snapshots;
   * returns false when one still held the WAL (its frames are then reset at the next checkpoint).
   */
  truncateWal(): boolean {
    if (this.readonly) return false;
    const r = this.sqlite.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>;
    return (r[0]?.busy ?? 1) === 0;
  }

  observationsOf(address: string): StoredObservation[] {
    return (this.stmt('observationsOf').all(address) as Array<Record<string, unknown>>).map(observationFromRow);
  }

  certificatesOf(address: string): Array<Record<string, unknown>> {
    return this.stmt('certificatesOf').all(address) as Array<Record<string, unknown>>;
  }

  /** Observations in id order, in pages (recompute walks the whole table without loading it). */
  *iterateObservations(pageSize = 5000): Generator<StoredObservation> {
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
  *iterateObservationsByAddress(pageSize = 5000): Generator<StoredObservation> {
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

  updateVerdict(id: number, v: Pick<ObservationRow, 'family' | 'kind' | 'product' | 'version' | 'platform' | 'smime' | 'confidence' | 'ruleId' | 'warnings' | 'candidates' | 'evidence'>): void {
    this.sqlite
      .prepare(`UPDATE observations SET family=@family, kind=@kind, product=@product, version=@version, platform=@platform, smime=@smime, confidence=@confidence, rule_id=@ruleId, warnings=@warnings, candidates=@candidates, evidence=@evidence WHERE id=@id`)
      .run({ id, ...v });
  }

  /** Drops derived per-address state (recompute rebuilds it from observations). */
  clearDerived(): void {
    this.sqlite.exec(`DELETE FROM address_clients; DELETE FROM address_months; DELETE FROM addresses;`);
  }

  /** Addresses whose cached decision expired by time; the caller recomputes them (policy lives in TS, not SQL). */
  staleStates(now: number, limit = 10_000): AddressState[] {
    return (this.sqlite.prepare(`SELECT * FROM addresses WHERE decided_until IS NOT NULL AND decided_until <= ? LIMIT ?`).all(now, limit) as AddressRow[]).map(toState);
  }

  /** The certificate most recently seen for an address (the "current" one for key continuity). */
  currentCertificate(address: string): CertificateRow | null {
    return (this.sqlite.prepare(`SELECT * FROM certificates WHERE address = ? ORDER BY last_seen DESC, id DESC LIMIT 1`).get(address) as CertificateRow | undefined) ?? null;
  }

  /** Stores a harvested certificate (or refreshes last_seen of a known one). Returns true when new. */
  putCertificate(c: Omit<CertificateRow, 'id'>): boolean {
    const known = this.sqlite.prepare(`SELECT 1 FROM certificates WHERE address = ? AND fingerprint = ?`).get(c.address, c.fingerprint) !== undefined;
    this.sqlite
      .prepare(
        `INSERT INTO certificates (address, fingerprint, spki_sha256, subject, issuer, serial, not_before, not_after, key_algorithm, capabilities, trusted, continuity, pem, first_seen, last_seen)
         VALUES (@address, @fingerprint, @spki_sha256, @subject, @issuer, @serial, @not_before, @not_after, @key_algorithm, @capabilities, @trusted, @continuity, @pem, @first_seen, @last_seen)
         ON CONFLICT (address, fingerprint) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen), first_seen = min(first_seen, excluded.first_seen)`,
      )
      .run(c);
    return !known;
  }

  /** Raises the key-changed flag of an address (key continuity alert). */
  flagKeyChanged(address: string): void {
    this.sqlite.prepare(`UPDATE addresses SET key_changed = 1 WHERE address = ?`).run(address);
  }

  countAddresses(): number {
    return (this.sqlite.prepare(`SELECT count(*) AS n FROM addresses`).get() as { n: number }).n;
  }

  /**
   * CSV export in pages of pre-formatted lines (4,000 rows a page keeps the strings small: peak
   * RSS ~125 MB at 1M rows, ~200 MB with 20,000). Formatting runs inside SQLite: building one JS
   * object per row was the cost that made a plain iterate()-and-quote loop 3x slower than the
   * sqlite3 shell. Keyset pagination on the primary key keeps memory constant.
   */
  *exportCsvChunks(filter: ExportFilter, pageSize = 4_000): Generator<string> {
    const where: string[] = ['address > @after'];
    if (filter.recommendation) where.push('recommendation = @recommendation');
    if (filter.family) where.push('family = @family');
    if (filter.since !== undefined) where.push('last_seen >= @since');
    // recommendation, smime and family are enum values or kebab-case ids, and stored addresses
    // have no quotes, commas or line breaks (parse rejects them), so only the free-text
    // columns need the full quoting expression.
    const neutralOnly = (c: string): string =>
      `CASE WHEN substr(${c},1,1) IN ${FORMULA_TRIGGERS} THEN '"''' || ${c} || '"' ELSE ${c} END`;
    const line = [
      neutralOnly('address'),
      'recommendation',
      `ifnull(family,'')`,
      csvCell('product'),
      csvCell('version'),
      `ifnull(smime,'')`,
      // strftime is NULL outside years 0000-9999, and a NULL line would vanish from group_concat:
      // an empty cell keeps the row (ingest no longer stores such dates; old databases may hold them).
      `ifnull(strftime('%Y-%m-%dT%H:%M:%SZ', last_seen / 1000, 'unixepoch'),'')`,
      'messages',
      csvCell('reason'),
      'key_changed',
    ].join(` || ',' || `);
    const stmt = this.sqlite.prepare(
      `SELECT group_concat(line, char(13) || char(10)) AS chunk, max(address) AS last, count(*) AS n
       FROM (SELECT address, ${line} AS line FROM addresses WHERE ${where.join(' AND ')} ORDER BY address LIMIT @limit)`,
    );
    const restore = this.lowMemory();
    try {
      let after = '';
      for (;;) {
        const r = stmt.get({ after, limit: pageSize, recommendation: filter.recommendation ?? null, family: filter.family ?? null, since: filter.since ?? null }) as { chunk: string | null; last: string | null; n: number };
        if (!r.n || r.chunk === null || r.last === null) return;
        yield r.chunk + '\r\n';
        if (r.n < pageSize) return;
        after = r.last;
      }
    } finally {
      restore();
    }
  }

  /**
   * Runs fn with memory-mapped I/O off and a small page cache. A full scan, or thousands of
   * scattered updates (refreshing stale decisions touches four B-tree leaves per row), through
   * mmap or a large cache count every page touched as resident memory; a one-off pass over the
   * file needs neither.
   */
  withLowMemory<T>(fn: () => T): T {
    const restore = this.lowMemory();
    try {
      return fn();
    } finally {
      restore();
    }
  }

  private lowMemory(): () => void {
    const mmap = Number(this.sqlite.pragma('mmap_size', { simple: true }));
    const cache = Number(this.sqlite.pragma('cache_size', { simple: true }));
    this.sqlite.pragma('mmap_size = 0');
    this.sqlite.pragma('cache_size = -4096');
    return () => {
      this.sqlite.pragma(`mmap_size = ${mmap}`);
      this.sqlite.pragma(`cache_size = ${cache}`);
    };
  }

  stats(): Stats {
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
    return { addresses, messages, byRecommendation: byRec, byFamily, byMonth, counters: this.getCounters() };
  }

  /**
   * Most frequent fingerprint values that no rule recognised (person mail with family null),
   * the maintainers' to-do list for new rules.
   */
  unknownFingerprints(top = 20, headers: readonly string[] = ['x-mailer', 'user-agent', 'x-newsreader']): UnknownFingerprint[] {
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

  /**
   * Copies the write-ahead log into the database file (PASSIVE: never waits for readers). A
   * long scan right after many writes otherwise looks up every page in the WAL index first.
   */
  checkpoint(): void {
    if (!this.readonly) this.sqlite.pragma('wal_checkpoint(PASSIVE)');
  }

  close(): void {
    if (this.sqlite.open) this.sqlite.close();
  }
}
