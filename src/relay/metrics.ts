/**
 * Relay counters and the upstream latency histogram, through prom-client in the relay's own
 * registry. /metrics appends its exposition text to the HTTP service's when `serve` runs the
 * relay. The plain `counters` object is the in-process view (tests and logs read it); the
 * Prometheus counters read it at scrape time, so there is one source for each number.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

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
  readonly registry = new Registry();
  connections = 0;
  /** Transactions whose copies are being handed to the upstream right now. */
  inFlight = 0;
  private readonly upstream: Histogram;

  constructor() {
    const registers = [this.registry];
    const c = this.counters;
    // collect() runs at scrape time: each Prometheus value is read from the plain counters
    new Counter({
      name: 'smime_census_relay_messages_total',
      help: 'Messages the relay answered 250 for (every copy accepted upstream).',
      registers,
      collect() {
        this.reset();
        this.inc(c.relayed);
      },
    });
    new Counter({
      name: 'smime_census_relay_copies_total',
      help: 'Copies the upstream accepted, by kind (signed, unsigned).',
      labelNames: ['kind'],
      registers,
      collect() {
        this.reset();
        this.inc({ kind: 'signed' }, c.signed);
        this.inc({ kind: 'unsigned' }, c.unsigned);
      },
    });
    new Counter({
      name: 'smime_census_relay_split_total',
      help: 'Messages split into a signed copy and an unsigned copy because their recipients disagree.',
      registers,
      collect() {
        this.reset();
        this.inc(c.split);
      },
    });
    new Counter({
      name: 'smime_census_relay_refused_total',
      help: 'Transactions the relay answered 4xx/5xx, by reason.',
      labelNames: ['reason'],
      registers,
      collect() {
        this.reset();
        for (const [reason, n] of Object.entries(c.refused)) this.inc({ reason }, n);
      },
    });
    const self = this;
    new Gauge({
      name: 'smime_census_relay_connections',
      help: 'Client connections open now.',
      registers,
      collect() {
        this.set(self.connections);
      },
    });
    new Gauge({
      name: 'smime_census_relay_transactions_in_flight',
      help: 'Client transactions waiting for the upstream now (their client has no answer yet).',
      registers,
      collect() {
        this.set(self.inFlight);
      },
    });
    this.upstream = new Histogram({
      name: 'smime_census_relay_upstream_duration_seconds',
      help: 'Time to hand one copy to the upstream MTA.',
      buckets: [...UPSTREAM_BUCKETS],
      registers,
    });
  }

  refuse(reason: string): void {
    this.counters.refused[reason] = (this.counters.refused[reason] ?? 0) + 1;
  }

  observeUpstream(seconds: number): void {
    this.upstream.observe(seconds);
  }

  /** Exposition text (Prometheus text format 0.0.4). */
  render(): Promise<string> {
    return this.registry.metrics();
  }
}
