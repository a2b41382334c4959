/**
 * An address's client list as both dialects keep it: in the address's own row (the `clients`
 * column), so that a lookup is one indexed row read. It used to be a table of its own
 * (address_clients, until SQLite migration 0004 and PostgreSQL 0002), which cost every lookup a
 * second B-tree walk (28 µs of a 45 µs SQLite lookup) and every batch a second upsert per client.
 *
 * The column holds compact JSON: an array of ClientTuple in lookup order — most recent first,
 * then most messages, then the client key by its UTF-8 bytes (SQLite's BINARY collation, and
 * PostgreSQL's "C"; the same order getClients always gave). Ingest and recompute rewrite it in
 * the statement that writes the address's state, inside the batch's transaction; erasure
 * deletes it with the row.
 */
import type { SmimeLevel } from '../core/index.js';
import { clientKeyOf, type ClientIdentity, type ClientRow } from './contract.js';

/** One client of the stored list: [family, product, version, platform, smime, count, lastSeen]. */
export type ClientTuple = [string | null, string | null, string | null, string | null, SmimeLevel, number, number];

/** What one batch (or recompute) adds to an address's list for one client. */
export interface ClientAddition {
  client: ClientIdentity;
  clientKey: string;
  n: number;
  at: number;
}

/** The stored list of an address that has none yet. */
export const NO_CLIENTS = '[]';

/** The stored list as the contract's rows. */
export function clientRows(stored: string | null): ClientRow[] {
  if (stored === null || stored === NO_CLIENTS) return [];
  return (JSON.parse(stored) as ClientTuple[]).map((c) => ({ family: c[0], product: c[1], version: c[2], platform: c[3], smime: c[4], count: c[5], lastSeen: c[6] }));
}

/** SQLite's BINARY collation (UTF-8 bytes), which JS's `<` (UTF-16 units) differs from above U+FFFF. */
function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

interface Entry {
  key: string;
  tuple: ClientTuple;
}

function inLookupOrder(x: Entry, y: Entry): number {
  return y.tuple[6] - x.tuple[6] || y.tuple[5] - x.tuple[5] || compareBytes(x.key, y.key);
}

/**
 * The stored list after adding a batch's counts: a client already listed gets its count added
 * and keeps the later of the two times; a new one joins the list; then the list is put in
 * lookup order again. `stored` null: the address had no list.
 */
export function addClients(stored: string | null, additions: Iterable<ClientAddition>): string {
  const entries: Entry[] = [];
  const byKey = new Map<string, Entry>();
  if (stored !== null && stored !== NO_CLIENTS) {
    for (const tuple of JSON.parse(stored) as ClientTuple[]) {
      const e = { key: clientKeyOf({ family: tuple[0], product: tuple[1], version: tuple[2], platform: tuple[3], smime: tuple[4] }), tuple };
      entries.push(e);
      byKey.set(e.key, e);
    }
  }
  for (const a of additions) {
    const e = byKey.get(a.clientKey);
    if (e) {
      e.tuple[5] += a.n;
      e.tuple[6] = Math.max(e.tuple[6], a.at);
    } else {
      const c = a.client;
      const added = { key: a.clientKey, tuple: [c.family, c.product, c.version, c.platform, c.smime, a.n, a.at] as ClientTuple };
      entries.push(added);
      byKey.set(added.key, added);
    }
  }
  if (entries.length > 1) entries.sort(inLookupOrder);
  return JSON.stringify(entries.map((e) => e.tuple));
}
