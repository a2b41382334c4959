/**
 * Relay counters and the upstream latency histogram, rendered in the Prometheus text format
 * that /metrics serves (appended to the HTTP service's own metrics when `serve` runs the relay).
 */

/** Upstream hand-over latency buckets, seconds (a copy is one SMTP transaction on a pooled connection). */
const UPSTREAM_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] as const;

export interface RelayCounters {
  /** Messages (client transactions) answered 250. */
  relayed: number;
  /** Signed copies the upstream accepted. */
  signed: number;
  /** Unsigned copies the upstream accepted. */
  unsigned: number;
  /** Messages split into a signed and an unsigned copy. */
  split: number;
  /** Transactions refused, by reason. */
  refused: Record<string, number>;
}

export class RelayMetrics {
  readonly counters: RelayCounters = { relayed: 0, signed: 0, unsigned: 0, split: 0, refused: {} };
  private readonly buckets = new Float64Array(UPSTREAM_BUCKETS.length);
  private sum = 0;
  private count = 0;
  connections = 0;
  /** Transactions whose copies are being handed to the upstream right now. */
  inFlight = 0;

  refuse(reason: string): void {
    this.counters.refused[reason] = (this.counters.refused[reason] ?? 0) + 1;
  }

  observeUpstream(seconds: number): void {
    for (let i = 0; i < UPSTREAM_BUCKETS.length; i++) if (seconds <= UPSTREAM_BUCKETS[i]!) this.buckets[i]!++;
    this.sum += seconds;
    this.count++;
  }

  /** Exposition text, one block per metric. */
  render(): string {
    const c = this.counters;
    const out: string[] = [];
    const head = (name: string, type: string, help: string) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    head('smime_census_relay_messages_total', 'counter', 'Messages the relay answered 250 for (every copy accepted upstream).');
    out.push(`smime_census_relay_messages_total ${c.relayed}`);
    head('smime_census_relay_copies_total', 'counter', 'Copies the upstream accepted, by kind (signed, unsigned).');
    out.push(`smime_census_relay_copies_total{kind="signed"} ${c.signed}`, `smime_census_relay_copies_total{kind="unsigned"} ${c.unsigned}`);
    head('smime_census_relay_split_total', 'counter', 'Messages split into a signed copy and an unsigned copy because their recipients disagree.');
    out.push(`smime_census_relay_split_total ${c.split}`);
    head('smime_census_relay_refused_total', 'counter', 'Transactions the relay answered 4xx/5xx, by reason.');
    for (const [k, v] of Object.entries(c.refused).sort(([a], [b]) => a.localeCompare(b))) out.push(`smime_census_relay_refused_total{reason="${k}"} ${v}`);
    head('smime_census_relay_connections', 'gauge', 'Client connections open now.');
    out.push(`smime_census_relay_connections ${this.connections}`);
    head('smime_census_relay_transactions_in_flight', 'gauge', 'Client transactions waiting for the upstream now (their client has no answer yet).');
    out.push(`smime_census_relay_transactions_in_flight ${this.inFlight}`);
    head('smime_census_relay_upstream_duration_seconds', 'histogram', 'Time to hand one copy to the upstream MTA.');
    for (let i = 0; i < UPSTREAM_BUCKETS.length; i++) out.push(`smime_census_relay_upstream_duration_seconds_bucket{le="${UPSTREAM_BUCKETS[i]}"} ${this.buckets[i]}`);
    out.push(`smime_census_relay_upstream_duration_seconds_bucket{le="+Inf"} ${this.count}`);
    out.push(`smime_census_relay_upstream_duration_seconds_sum ${this.sum}`, `smime_census_relay_upstream_duration_seconds_count ${this.count}`);
    return out.join('\n') + '\n';
  }
}
