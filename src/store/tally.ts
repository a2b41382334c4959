import { clientKeyOf, monthOf, type ClientIdentity } from './contract.js';

export interface ClientCount {
  address: string;
  client: ClientIdentity;
  clientKey: string;
  n: number;
  at: number;
}

export interface MonthCount {
  address: string;
  month: string;
  n: number;
  signable: boolean;
}

/**
 * Per-client and per-month counts of one batch, written once per distinct key instead of once
 * per message (a backfill sees the same address and client many times in a batch). Both
 * dialects use it, so their aggregates cannot drift apart.
 */
export class BatchTally {
  readonly clients = new Map<string, ClientCount>();
  readonly months = new Map<string, MonthCount>();

  add(address: string, client: ClientIdentity, at: number, signable: boolean): void {
    const clientKey = clientKeyOf(client);
    const ck = address + '\u001e' + clientKey;
    const c = this.clients.get(ck);
    if (c) {
      c.n++;
      c.at = Math.max(c.at, at);
    } else this.clients.set(ck, { address, client, clientKey, n: 1, at });
    const month = monthOf(at);
    const mk = address + '\u001e' + month;
    const m = this.months.get(mk);
    if (m) {
      m.n++;
      m.signable ||= signable;
    } else this.months.set(mk, { address, month, n: 1, signable });
  }

  get size(): number {
    return this.clients.size + this.months.size;
  }

  clear(): void {
    this.clients.clear();
    this.months.clear();
  }
}
