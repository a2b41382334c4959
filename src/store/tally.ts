import { clientKeyOf, monthOf, type ClientIdentity } from './contract.js';
import type { ClientAddition } from './clients.js';

export interface MonthCount {
  address: string;
  month: string;
  n: number;
  signable: boolean;
}

/**
 * Per-client and per-month counts of one batch, written once per address (the client list, with
 * the address's state) and once per distinct month instead of once per message (a backfill sees
 * the same address and client many times in a batch). Both dialects use it, so their aggregates
 * cannot drift apart.
 */
export class BatchTally {
  /** Address -> client key -> the batch's count for that client. */
  readonly clients = new Map<string, Map<string, ClientAddition>>();
  readonly months = new Map<string, MonthCount>();

  add(address: string, client: ClientIdentity, at: number, signable: boolean): void {
    const clientKey = clientKeyOf(client);
    let ofAddress = this.clients.get(address);
    if (!ofAddress) this.clients.set(address, (ofAddress = new Map()));
    const c = ofAddress.get(clientKey);
    if (c) {
      c.n++;
      c.at = Math.max(c.at, at);
    } else ofAddress.set(clientKey, { client, clientKey, n: 1, at });
    const month = monthOf(at);
    const mk = address + '\u001e' + month;
    const m = this.months.get(mk);
    if (m) {
      m.n++;
      m.signable ||= signable;
    } else this.months.set(mk, { address, month, n: 1, signable });
  }

  /** The batch's client counts of one address (none: empty). */
  clientsOf(address: string): Iterable<ClientAddition> {
    return this.clients.get(address)?.values() ?? [];
  }

  /** Distinct keys held (flush when it grows). */
  get size(): number {
    return this.clients.size + this.months.size;
  }

  clear(): void {
    this.clients.clear();
    this.months.clear();
  }
}
