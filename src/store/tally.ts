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
  /**
   * The last month met and its bounds [from, to): a batch's mail mostly falls in one or two
   * months, and formatting a date per message (toISOString) was 4% of the store's time.
   */
  private monthFrom = 0;
  private monthTo = -1;
  private monthKey = '';

  add(address: string, client: ClientIdentity, at: number, signable: boolean): void {
    const clientKey = clientKeyOf(client);
    let ofAddress = this.clients.get(address);
    if (!ofAddress) this.clients.set(address, (ofAddress = new Map()));
    const c = ofAddress.get(clientKey);
    if (c) {
      c.n++;
      c.at = Math.max(c.at, at);
    } else ofAddress.set(clientKey, { client, clientKey, n: 1, at });
    const month = at >= this.monthFrom && at < this.monthTo ? this.monthKey : this.enterMonth(at);
    const mk = address + '\u001e' + month;
    const m = this.months.get(mk);
    if (m) {
      m.n++;
      m.signable ||= signable;
    } else this.months.set(mk, { address, month, n: 1, signable });
  }

  private enterMonth(at: number): string {
    // monthOf throws for a time outside Date's range, as before the cache.
    this.monthKey = monthOf(at);
    const d = new Date(at);
    d.setUTCDate(1);
    d.setUTCHours(0, 0, 0, 0);
    this.monthFrom = d.getTime();
    d.setUTCMonth(d.getUTCMonth() + 1);
    this.monthTo = d.getTime();
    return this.monthKey;
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
