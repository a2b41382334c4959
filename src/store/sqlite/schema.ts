/**
 * drizzle schema (SQLite). drizzle.config.ts points here; `npm run db:generate` writes the
 * migration SQL under sqlite/migrations/, which openStore() applies automatically.
 * Times are integer milliseconds since the epoch (UTC).
 */
import { sqliteTable, text, integer, real, index, uniqueIndex, primaryKey } from 'drizzle-orm/sqlite-core';

/** One row per message and sender address: the raw fingerprint plus the verdict the rules gave it. */
export const observations = sqliteTable(
  'observations',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    sourceKey: text('source_key').notNull(),
    address: text('address').notNull(),
    /** Message-ID, or `sha256:<hash of the header block>` when the message has none. */
    messageId: text('message_id').notNull(),
    effectiveAt: integer('effective_at').notNull(),
    receivedAt: integer('received_at'),
    /** JSON of Fingerprint (lower-case name -> values): lets `recompute` re-run rules without the mail. */
    fingerprint: text('fingerprint').notNull(),
    family: text('family'),
    kind: text('kind').notNull(),
    product: text('product'),
    version: text('version'),
    platform: text('platform'),
    smime: text('smime').notNull(),
    confidence: real('confidence').notNull(),
    ruleId: text('rule_id'),
    /** JSON string array. */
    warnings: text('warnings').notNull().default('[]'),
    /** JSON string array or null. */
    candidates: text('candidates'),
    /** 'signed' | 'opaque-signed' | 'encrypted' | null */
    smimeMessage: text('smime_message'),
    /** 1 = DMARC pass at a trusted server, 0 = fail, null = not known. */
    authenticated: integer('authenticated'),
    /** 1 when this observation counts as evidence for the recommendation (see policy/). */
    evidence: integer('evidence').notNull(),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [
    uniqueIndex('observations_source_key').on(t.sourceKey),
    uniqueIndex('observations_message_address').on(t.messageId, t.address),
    index('observations_address').on(t.address, t.effectiveAt),
  ],
);

/**
 * Per-address state in the spirit of Autocrypt's peer state. Every timestamp only ever moves
 * forward (max), so older mail arriving later never overrides newer evidence.
 */
export const addresses = sqliteTable(
  'addresses',
  {
    address: text('address').primaryKey(),
    firstSeen: integer('first_seen').notNull(),
    lastSeen: integer('last_seen').notNull(),
    messages: integer('messages').notNull(),
    /** Last evidence from a `verify` client or an S/MIME-signed message. */
    lastVerifyAt: integer('last_verify_at'),
    /** Last evidence from a recognised client that is not `verify`, and which client. */
    lastNonVerifyAt: integer('last_non_verify_at'),
    lastNonVerifyClient: text('last_non_verify_client'),
    lastNonVerifySmime: text('last_non_verify_smime'),
    /** Last evidence from a `broken` client (the lenient policy looks only at this). */
    lastBrokenAt: integer('last_broken_at'),
    lastBrokenClient: text('last_broken_client'),
    /** Last person mail whose client no rule recognised. */
    lastUnrecognisedAt: integer('last_unrecognised_at'),
    lastSignedAt: integer('last_signed_at'),
    /** The most recent evidence-bearing client (for export and the dashboard). */
    family: text('family'),
    product: text('product'),
    version: text('version'),
    smime: text('smime'),
    clientAt: integer('client_at'),
    /** Cached recommendation, valid until `decidedUntil` (when the deciding evidence leaves the window). */
    recommendation: text('recommendation').notNull(),
    reason: text('reason').notNull(),
    decidedUntil: integer('decided_until'),
    /** Key continuity: a different key was seen for this address (see sign/ harvesting). */
    keyChanged: integer('key_changed').notNull().default(0),
    /**
     * The address's mail programs with their message counts: JSON of ClientList (store/clients.ts),
     * in lookup order. Kept in the row, rewritten with the state by ingest and recompute, so a
     * lookup is one B-tree walk; a table of its own (address_clients until migration 0004) cost a
     * second walk per lookup and a second upsert per message.
     */
    clients: text('clients').notNull().default('[]'),
  },
  // addresses_family covers the dashboard's per-family aggregate (no table lookups at 1M rows).
  (t) => [index('addresses_recommendation').on(t.recommendation), index('addresses_family').on(t.family, t.recommendation, t.smime), index('addresses_decided_until').on(t.decidedUntil)],
);

/** IMAP checkpoints: committed in the same transaction as the batch they follow. */
export const checkpoints = sqliteTable(
  'checkpoints',
  {
    account: text('account').notNull(),
    folder: text('folder').notNull(),
    uidValidity: text('uid_validity').notNull(),
    lastUid: integer('last_uid').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.account, t.folder] })],
);

/**
 * Folder leases: which poller owns an (account, folder) until when, with a fencing token that
 * grows at every acquisition. A released lease keeps its row (expires_at 0), so tokens never
 * start over.
 */
export const leases = sqliteTable(
  'leases',
  {
    account: text('account').notNull(),
    folder: text('folder').notNull(),
    owner: text('owner').notNull(),
    token: integer('token').notNull(),
    expiresAt: integer('expires_at').notNull(),
    acquiredAt: integer('acquired_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.account, t.folder] })],
);

/** Right to erasure: only a keyed hash of the address and when it was erased. */
export const erasures = sqliteTable('erasures', {
  addressHash: text('address_hash').primaryKey(),
  erasedAt: integer('erased_at').notNull(),
});

/**
 * Right to erasure, by what a message is: keyed hashes of the Message-IDs (or header-block
 * hashes) of an erased address's messages, recorded at erasure, so that re-reading that mail
 * stores nothing whatever its Date says (a sender controls the date, not the identity).
 */
export const erasedMessages = sqliteTable('erased_messages', {
  messageHash: text('message_hash').primaryKey(),
  erasedAt: integer('erased_at').notNull(),
});

/** Counters that survive restarts (skipped by reason, read, duplicates). */
export const counters = sqliteTable('counters', {
  name: text('name').primaryKey(),
  value: integer('value').notNull(),
});

/** Certificates harvested from customers' signed mail, per address, with key-continuity status. */
export const certificates = sqliteTable(
  'certificates',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    address: text('address').notNull(),
    fingerprint: text('fingerprint').notNull(),
    spkiSha256: text('spki_sha256').notNull(),
    subject: text('subject').notNull(),
    issuer: text('issuer').notNull(),
    serial: text('serial').notNull(),
    notBefore: integer('not_before').notNull(),
    notAfter: integer('not_after').notNull(),
    keyAlgorithm: text('key_algorithm').notNull(),
    capabilities: text('capabilities').notNull().default('[]'),
    trusted: text('trusted').notNull(),
    /** 'first-seen' | 'same' | 'renewal' | 'key-changed' relative to the previous current certificate. */
    continuity: text('continuity').notNull(),
    pem: text('pem').notNull(),
    firstSeen: integer('first_seen').notNull(),
    lastSeen: integer('last_seen').notNull(),
  },
  (t) => [uniqueIndex('certificates_address_fingerprint').on(t.address, t.fingerprint), index('certificates_address').on(t.address, t.lastSeen)],
);

/**
 * Activity per month and address, kept up to date by ingest: the dashboard's "active addresses
 * and the share that can be signed for" per month without scanning every observation.
 */
export const addressMonths = sqliteTable(
  'address_months',
  {
    month: text('month').notNull(),
    address: text('address').notNull(),
    messages: integer('messages').notNull(),
    /** 1 when any of the month's evidence came from a verify client or S/MIME-signed mail. */
    signable: integer('signable').notNull(),
  },
  (t) => [primaryKey({ columns: [t.month, t.address] }), index('address_months_address').on(t.address)],
);
