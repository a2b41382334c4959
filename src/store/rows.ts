/** Row shapes shared by both dialects: the tables use the same snake_case columns in SQLite and PostgreSQL. */
import type { Recommendation, SmimeLevel } from '../core/index.js';
import type { AddressState } from '../policy/index.js';
import type { DecisionFields, ObservationRow, StoredObservation } from './contract.js';

export interface AddressRow {
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

export function toState(r: AddressRow): AddressState {
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

export function fromState(s: AddressState): AddressRow {
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

/**
 * The address row an ingest batch writes for a state: fromState's row with the new decision's
 * three columns and the client list set on it. One object per address and batch, where
 * `{ ...fromState({ ...state, ...decision }), clients }` built three (two spreads of 21 fields).
 */
export function storedRowOf(state: AddressState, d: DecisionFields, clients: string): StoredAddressRow {
  const r = fromState(state) as StoredAddressRow;
  r.recommendation = d.recommendation;
  r.reason = d.reason;
  r.decided_until = d.decidedUntil;
  r.clients = clients;
  return r;
}

export const ADDRESS_COLUMNS = [
  'address', 'first_seen', 'last_seen', 'messages', 'last_verify_at', 'last_non_verify_at', 'last_non_verify_client',
  'last_non_verify_smime', 'last_broken_at', 'last_broken_client', 'last_unrecognised_at', 'last_signed_at', 'family',
  'product', 'version', 'smime', 'client_at', 'recommendation', 'reason', 'decided_until', 'key_changed',
] as const;

/** An address row as stored: the state's columns plus the address's client list (JSON, store/clients.ts). */
export interface StoredAddressRow extends AddressRow {
  clients: string;
}

/** Every column of an address row (its writes); ADDRESS_COLUMNS are the state's alone (policy, export). */
export const STORED_ADDRESS_COLUMNS = [...ADDRESS_COLUMNS, 'clients'] as const;

export const OBSERVATION_COLUMNS = [
  'source_key', 'address', 'message_id', 'effective_at', 'received_at', 'fingerprint', 'family', 'kind', 'product', 'version',
  'platform', 'smime', 'confidence', 'rule_id', 'warnings', 'candidates', 'smime_message', 'authenticated', 'evidence', 'created_at',
] as const;
export const OBS_PARAMS: Record<(typeof OBSERVATION_COLUMNS)[number], keyof ObservationRow> = {
  source_key: 'sourceKey', address: 'address', message_id: 'messageId', effective_at: 'effectiveAt', received_at: 'receivedAt',
  fingerprint: 'fingerprint', family: 'family', kind: 'kind', product: 'product', version: 'version', platform: 'platform',
  smime: 'smime', confidence: 'confidence', rule_id: 'ruleId', warnings: 'warnings', candidates: 'candidates',
  smime_message: 'smimeMessage', authenticated: 'authenticated', evidence: 'evidence', created_at: 'createdAt',
};

export function observationFromRow(r: Record<string, unknown>): StoredObservation {
  const o: Record<string, unknown> = { id: r.id };
  for (const c of OBSERVATION_COLUMNS) o[OBS_PARAMS[c]] = r[c];
  return o as unknown as StoredObservation;
}

