/**
 * drizzle schema (PostgreSQL), mirroring sqlite/schema.ts table by table and column by column
 * (see there for what each column means). drizzle.pg.config.ts points here; `npm run
 * db:generate:pg` writes the migration SQL under postgres/migrations/, which the store applies
 * on start under an advisory lock.
 *
 * Two deliberate differences from a naive translation:
 * - Every text column is `COLLATE "C"`: SQLite compares text by its bytes, and keyset pagination,
 *   ORDER BY and min()/max() must give the same order on both stores whatever locale the
 *   database was created with (en_US ignores hyphens and case at first level; "C" does not).
 * - Times are `bigint` milliseconds (SQLite's 64-bit integers), read back as JS numbers.
 */
import { pgTable, bigint, integer, doublePrecision, index, uniqueIndex, primaryKey, customType } from 'drizzle-orm/pg-core';

/** Text compared byte by byte, as SQLite's BINARY collation does. */
const text = customType<{ data: string }>({ dataType: () => 'text COLLATE "C"' });
const ms = (name: string) => bigint(name, { mode: 'number' });

export const observations = pgTable(
  'observations',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
    sourceKey: text('source_key').notNull(),
    address: text('address').notNull(),
    messageId: text('message_id').notNull(),
    effectiveAt: ms('effective_at').notNull(),
    receivedAt: ms('received_at'),
    fingerprint: text('fingerprint').notNull(),
    family: text('family'),
    kind: text('kind').notNull(),
    product: text('product'),
    version: text('version'),
    platform: text('platform'),
    smime: text('smime').notNull(),
    confidence: doublePrecision('confidence').notNull(),
    ruleId: text('rule_id'),
    warnings: text('warnings').notNull().default('[]'),
    candidates: text('candidates'),
    smimeMessage: text('smime_message'),
    authenticated: integer('authenticated'),
    evidence: integer('evidence').notNull(),
    createdAt: ms('created_at').notNull(),
  },
  (t) => [
    uniqueIndex('observations_source_key').on(t.sourceKey),
    uniqueIndex('observations_message_address').on(t.messageId, t.address),
    index('observations_address').on(t.address, t.effectiveAt),
  ],
);

export const addresses = pgTable(
  'addresses',
  {
    address: text('address').primaryKey(),
    firstSeen: ms('first_seen').notNull(),
    lastSeen: ms('last_seen').notNull(),
    messages: integer('messages').notNull(),
    lastVerifyAt: ms('last_verify_at'),
    lastNonVerifyAt: ms('last_non_verify_at'),
    lastNonVerifyClient: text('last_non_verify_client'),
    lastNonVerifySmime: text('last_non_verify_smime'),
    lastBrokenAt: ms('last_broken_at'),
    lastBrokenClient: text('last_broken_client'),
    lastUnrecognisedAt: ms('last_unrecognised_at'),
    lastSignedAt: ms('last_signed_at'),
    family: text('family'),
    product: text('product'),
    version: text('version'),
    smime: text('smime'),
    clientAt: ms('client_at'),
    recommendation: text('recommendation').notNull(),
    reason: text('reason').notNull(),
    decidedUntil: ms('decided_until'),
    keyChanged: integer('key_changed').notNull().default(0),
    clients: text('clients').notNull().default('[]'),
  },
  (t) => [index('addresses_recommendation').on(t.recommendation), index('addresses_family').on(t.family, t.recommendation, t.smime), index('addresses_decided_until').on(t.decidedUntil)],
);

export const checkpoints = pgTable(
  'checkpoints',
  {
    account: text('account').notNull(),
    folder: text('folder').notNull(),
    uidValidity: text('uid_validity').notNull(),
    lastUid: bigint('last_uid', { mode: 'number' }).notNull(),
    updatedAt: ms('updated_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.account, t.folder] })],
);

/** Folder leases (owner, fencing token, expiry); see leases.ts and the SQLite schema. */
export const leases = pgTable(
  'leases',
  {
    account: text('account').notNull(),
    folder: text('folder').notNull(),
    owner: text('owner').notNull(),
    token: bigint('token', { mode: 'number' }).notNull(),
    expiresAt: ms('expires_at').notNull(),
    acquiredAt: ms('acquired_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.account, t.folder] })],
);

export const erasures = pgTable('erasures', {
  addressHash: text('address_hash').primaryKey(),
  erasedAt: ms('erased_at').notNull(),
});

export const erasedMessages = pgTable('erased_messages', {
  messageHash: text('message_hash').primaryKey(),
  erasedAt: ms('erased_at').notNull(),
});

export const counters = pgTable('counters', {
  name: text('name').primaryKey(),
  value: bigint('value', { mode: 'number' }).notNull(),
});

export const certificates = pgTable(
  'certificates',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
    address: text('address').notNull(),
    fingerprint: text('fingerprint').notNull(),
    spkiSha256: text('spki_sha256').notNull(),
    subject: text('subject').notNull(),
    issuer: text('issuer').notNull(),
    serial: text('serial').notNull(),
    notBefore: ms('not_before').notNull(),
    notAfter: ms('not_after').notNull(),
    keyAlgorithm: text('key_algorithm').notNull(),
    capabilities: text('capabilities').notNull().default('[]'),
    trusted: text('trusted').notNull(),
    continuity: text('continuity').notNull(),
    pem: text('pem').notNull(),
    firstSeen: ms('first_seen').notNull(),
    lastSeen: ms('last_seen').notNull(),
  },
  (t) => [uniqueIndex('certificates_address_fingerprint').on(t.address, t.fingerprint), index('certificates_address').on(t.address, t.lastSeen)],
);

export const addressMonths = pgTable(
  'address_months',
  {
    month: text('month').notNull(),
    address: text('address').notNull(),
    messages: integer('messages').notNull(),
    signable: integer('signable').notNull(),
  },
  (t) => [primaryKey({ columns: [t.month, t.address] }), index('address_months_address').on(t.address)],
);
