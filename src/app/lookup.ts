import * as z from 'zod';
import { AppError } from '../core/index.js';
import type { Recommendation } from '../core/index.js';
import { isValidAddress, normalizeAddress } from '../parse/index.js';
import { recommend, type PolicyOptions } from '../policy/index.js';
import type { CensusStore, ClientRow, EmbeddedLookups, LookupRow } from '../store/index.js';
import type { Config } from '../config/index.js';
import { openCensusStore } from './open-store.js';

/**
 * The lookup contract (CLI `lookup --json`, GET /v1/recipients/{address}, the library), written
 * once: the TypeScript types are inferred from it and the HTTP API's JSON schemas are derived from
 * it (http/schemas.ts), so the three cannot drift apart.
 */
export const ClientSummarySchema = z.object({
  family: z.string().nullable(),
  product: z.string().nullable(),
  version: z.string().nullable(),
  platform: z.string().nullable(),
  smime: z.enum(['verify', 'tolerate', 'broken', 'unknown']),
  count: z.number().int(),
  /** ISO time of the last message from this program. */
  lastSeen: z.string(),
});

export const LookupResultSchema = z.object({
  address: z.string(),
  recommendation: z.enum(['sign', 'do-not-sign', 'unknown']),
  reason: z.string(),
  lastSeen: z.string().nullable(),
  clients: z.array(ClientSummarySchema),
  keyChanged: z.boolean(),
});

/** One mail program seen for an address: the stored row, with an ISO time for JSON. */
export type ClientSummary = z.infer<typeof ClientSummarySchema>;
export type LookupResult = z.infer<typeof LookupResultSchema>;

// The contract and the stored row / core types must agree (a compile error otherwise).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const CONTRACT_MATCHES_STORE: Same<Omit<ClientSummary, 'lastSeen'>, Omit<ClientRow, 'lastSeen'>> & Same<LookupResult['recommendation'], Recommendation> = true;
void CONTRACT_MATCHES_STORE;

/** Validates and normalises an address; throws E_ADDRESS for a syntactically invalid one. */
export function checkAddress(address: string): string {
  const a = normalizeAddress(address);
  if (!isValidAddress(a)) throw new AppError('E_ADDRESS', `not a valid e-mail address: ${JSON.stringify(address.slice(0, 100))}`);
  return a;
}

/**
 * The result for a looked-up address. The cached decision is used while valid; past its expiry
 * (evidence left the window) the policy is re-run on the stored state the store returned.
 */
export function lookupResult(a: string, found: LookupRow | null, policy: PolicyOptions, now: number): LookupResult {
  if (found === null) return { address: a, recommendation: 'unknown', reason: 'never seen', lastSeen: null, clients: [], keyChanged: false };
  const cached = found.decision;
  let { recommendation, reason } = cached;
  // The deciding evidence left the window since the decision was stored: decide again.
  if (found.state && cached.decidedUntil !== null && cached.decidedUntil <= now) ({ recommendation, reason } = recommend(found.state, now, policy));
  return {
    address: a,
    recommendation,
    reason,
    lastSeen: new Date(cached.lastSeen).toISOString(),
    clients: found.clients.map((c) => ({ family: c.family, product: c.product, version: c.version, platform: c.platform, smime: c.smime, count: c.count, lastSeen: new Date(c.lastSeen).toISOString() })),
    keyChanged: cached.keyChanged === 1,
  };
}

/** The recommendation for one address, decided now (null store: nothing is known yet). */
export async function lookupOne(store: CensusStore | null, policy: PolicyOptions, address: string, now = Date.now(), withClients = true): Promise<LookupResult> {
  const a = checkAddress(address);
  return lookupResult(a, store && (await store.lookup(a, { clients: withClients, now })), policy, now);
}

/**
 * Lookups in the configured census, each address decided now (the CLI's `lookup`). Read-only: it
 * never writes beside a running poller.
 */
export async function lookupInCensus(config: Config, addresses: readonly string[]): Promise<LookupResult[]> {
  const store = openCensusStore(config, { readonly: true });
  try {
    return await Promise.all(addresses.map((a) => lookupOne(store, config.policy, a)));
  } finally {
    await store.close();
  }
}

/** Names the failing index of a batch in an invalid-address error. */
function checkAll(addresses: readonly string[]): string[] {
  return addresses.map((x, i) => {
    try {
      return checkAddress(x);
    } catch (e) {
      if (e instanceof AppError && e.code === 'E_ADDRESS') throw new AppError('E_ADDRESS', `addresses[${i}]: ${e.message}`);
      throw e;
    }
  });
}

/** Lookups of many addresses, in input order, all read from one snapshot. */
export async function lookupMany(store: CensusStore, policy: PolicyOptions, addresses: readonly string[], now = Date.now(), withClients = false): Promise<LookupResult[]> {
  const as = checkAll(addresses);
  const found = await store.lookupMany(as, { clients: withClients, now });
  return as.map((a, i) => lookupResult(a, found[i] ?? null, policy, now));
}

/** lookupOne on an embedded store, synchronously (the Node library's hot-loop API). */
export function lookupOneSync(store: EmbeddedLookups, policy: PolicyOptions, address: string, now = Date.now(), withClients = true): LookupResult {
  return lookupCheckedSync(store, policy, checkAddress(address), now, withClients);
}

/**
 * lookupOneSync of an address that checkAddress returned (the HTTP route checks it when the
 * request arrives, so a bad one is refused at once, and reads the store later in the turn).
 */
export function lookupCheckedSync(store: EmbeddedLookups, policy: PolicyOptions, checked: string, now: number, withClients: boolean): LookupResult {
  return lookupResult(checked, store.lookup(checked, { clients: withClients, now }), policy, now);
}

/** lookupMany on an embedded store, synchronously. */
export function lookupManySync(store: EmbeddedLookups, policy: PolicyOptions, addresses: readonly string[], now = Date.now(), withClients = false): LookupResult[] {
  const as = checkAll(addresses);
  const found = store.lookupMany(as, { clients: withClients, now });
  return as.map((a, i) => lookupResult(a, found[i] ?? null, policy, now));
}

export { refreshStale } from './refresh.js';
