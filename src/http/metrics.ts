/**
 * Prometheus text exposition (format 0.0.4), written by hand: the service needs a handful of
 * counters, gauges and one histogram, and recording must cost no allocation on the hot path.
 * Message counters come from the store's persistent counters at scrape time, so they stay
 * current whoever writes them (pollers in this process, an import in another).
 */
import type { Recommendation } from '../core/index.js';

/** Upper bounds (seconds) of the HTTP latency histogram: lookups are sub-millisecond, exports take seconds. */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

interface Series {
  counts: Float64Array;
  sum: number;
  count: number;
}

/** What the service reports about pollers (a subset of app/poll.ts FolderStatus). */
export interface PollerGauge {
  account: string;
  folder: string;
  state: string;
  lastSyncAt: Date | null;
  lag: number | null;
}

export interface MetricSources {
  counters(): Record<string, number>;
  pollers(): readonly PollerGauge[];
  /** The outbound signing certificate, when this process signs (see sign/signerStatus). */
  signer?: () => { notAfter: Date; daysLeft: number; expiringSoon: boolean } | null;
}

/** Escapes a label value (backslash, double quote, line feed). */
function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function num(v: number): string {
  return Number.isFinite(v) ? String(v) : v > 0 ? '+Inf' : v < 0 ? '-Inf' : 'NaN';
}

/** In-process metrics of one HTTP service. */
export class Metrics {
  /** route -> method -> status -> series; three map lookups and no string building per request. */
  private readonly http = new Map<string, Map<string, Map<number, Series>>>();
  private readonly lookups: Record<Recommendation, number> = { sign: 0, 'do-not-sign': 0, unknown: 0 };
  private readonly startedAt = Date.now();

  /** Records one HTTP request. `route` is the route pattern (never the raw URL: it may hold an address). */
  observeRequest(route: string, method: string, status: number, seconds: number): void {
    let byMethod = this.http.get(route);
    if (!byMethod) this.http.set(route, (byMethod = new Map()));
    let byStatus = byMethod.get(method);
    if (!byStatus) byMethod.set(method, (byStatus = new Map()));
    let s = byStatus.get(status);
    if (!s) byStatus.set(status, (s = { counts: new Float64Array(LATENCY_BUCKETS.length), sum: 0, count: 0 }));
    for (let i = 0; i < LATENCY_BUCKETS.length; i++) if (seconds <= LATENCY_BUCKETS[i]!) s.counts[i]!++;
    s.sum += seconds;
    s.count++;
  }

  /** Counts one answered lookup (single or one address of a batch). */
  countLookup(r: Recommendation): void {
    this.lookups[r]++;
  }

  /** The exposition text. */
  render(src: MetricSources): string {
    const out: string[] = [];
    const head = (name: string, type: string, help: string): void => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    };
    const counters = src.counters();
    head('smime_census_messages_total', 'counter', 'Messages read by import and pollers, by result (read, stored, duplicate).');
    out.push(`smime_census_messages_total{result="read"} ${num(counters.read ?? 0)}`);
    out.push(`smime_census_messages_total{result="stored"} ${num(counters.stored ?? 0)}`);
    out.push(`smime_census_messages_total{result="duplicate"} ${num(counters.duplicates ?? 0)}`);
    head('smime_census_messages_skipped_total', 'counter', 'Messages skipped, by reason.');
    for (const [k, v] of Object.entries(counters).sort(([a], [b]) => a.localeCompare(b))) {
      if (k.startsWith('skipped:')) out.push(`smime_census_messages_skipped_total{reason="${esc(k.slice(8))}"} ${num(v)}`);
    }

    const pollers = src.pollers();
    head('smime_census_poll_lag_messages', 'gauge', 'Messages on the IMAP server not yet processed, per account and folder (absent while unknown).');
    for (const p of pollers) if (p.lag !== null) out.push(`smime_census_poll_lag_messages{account="${esc(p.account)}",folder="${esc(p.folder)}"} ${num(p.lag)}`);
    head('smime_census_poll_last_sync_timestamp_seconds', 'gauge', 'End of the last completed sync pass, per account and folder.');
    for (const p of pollers) if (p.lastSyncAt) out.push(`smime_census_poll_last_sync_timestamp_seconds{account="${esc(p.account)}",folder="${esc(p.folder)}"} ${num(p.lastSyncAt.getTime() / 1000)}`);
    head('smime_census_poller_state', 'gauge', 'Current state of each poller (1 for the state it is in).');
    for (const p of pollers) out.push(`smime_census_poller_state{account="${esc(p.account)}",folder="${esc(p.folder)}",state="${esc(p.state)}"} 1`);

    head('smime_census_certificates_harvested_total', 'counter', "Customers' certificates seen in signed mail, by key-continuity verdict (first-seen, same, renewal, key-changed, rejected).");
    for (const [k, v] of Object.entries(counters).sort(([a], [b]) => a.localeCompare(b))) {
      if (k.startsWith('certificates:')) out.push(`smime_census_certificates_harvested_total{continuity="${esc(k.slice(13))}"} ${num(v)}`);
    }
    const signer = src.signer?.() ?? null;
    if (signer) {
      head('smime_census_signer_certificate_days_left', 'gauge', 'Days until the outbound signing certificate expires (alert below 30).');
      out.push(`smime_census_signer_certificate_days_left ${num(signer.daysLeft)}`);
      head('smime_census_signer_certificate_expiring', 'gauge', '1 from 30 days before the signing certificate expires.');
      out.push(`smime_census_signer_certificate_expiring ${signer.expiringSoon ? 1 : 0}`);
    }

    head('smime_census_lookups_total', 'counter', 'Addresses looked up through the HTTP API, by recommendation given.');
    for (const [r, v] of Object.entries(this.lookups)) out.push(`smime_census_lookups_total{recommendation="${r}"} ${num(v)}`);

    head('smime_census_http_request_duration_seconds', 'histogram', 'HTTP request latency by route pattern, method and status.');
    for (const [route, byMethod] of this.http) {
      for (const [method, byStatus] of byMethod) {
        for (const [status, s] of byStatus) {
          const l = `route="${esc(route)}",method="${esc(method)}",status="${status}"`;
          for (let i = 0; i < LATENCY_BUCKETS.length; i++) out.push(`smime_census_http_request_duration_seconds_bucket{${l},le="${LATENCY_BUCKETS[i]}"} ${num(s.counts[i]!)}`);
          out.push(`smime_census_http_request_duration_seconds_bucket{${l},le="+Inf"} ${num(s.count)}`);
          out.push(`smime_census_http_request_duration_seconds_sum{${l}} ${num(s.sum)}`);
          out.push(`smime_census_http_request_duration_seconds_count{${l}} ${num(s.count)}`);
        }
      }
    }
    head('smime_census_process_start_time_seconds', 'gauge', 'Start time of the process since the Unix epoch.');
    out.push(`smime_census_process_start_time_seconds ${num(this.startedAt / 1000)}`);
    head('smime_census_process_resident_memory_bytes', 'gauge', 'Resident set size.');
    out.push(`smime_census_process_resident_memory_bytes ${num(process.memoryUsage.rss())}`);
    return out.join('\n') + '\n';
  }
}
