/**
 * Prometheus metrics through prom-client (text format 0.0.4): the service's own counters, gauges
 * and request histogram, plus prom-client's process, GC and event-loop metrics. Message counters
 * come from the store's persistent counters at scrape time, so they stay current whoever writes
 * them (pollers in this process, an import in another). The request histogram keeps one child per
 * route/method/status, so recording a request builds no label string.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Recommendation } from '../core/index.js';

/** Upper bounds (seconds) of the HTTP latency histogram: lookups are sub-millisecond, exports take seconds. */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

const PREFIX = 'smime_census_';

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

type Observer = { observe(v: number): void };

/** In-process metrics of one HTTP service (its own registry: tests build many servers in one process). */
export class Metrics {
  readonly registry = new Registry();
  private readonly duration: Histogram<'route' | 'method' | 'status'>;
  /** route -> method -> status -> histogram child; three map lookups per request. */
  private readonly children = new Map<string, Map<string, Map<number, Observer>>>();
  /**
   * Answered lookups by recommendation, plain numbers that the counter reads at scrape time: a
   * prom-client inc() hashes its labels and validates them on every call, which cost a lookup
   * about as much as the rest of its JavaScript (scripts/bench/http.mjs profile).
   */
  private readonly lookupCounts: Record<Recommendation, number> = { sign: 0, 'do-not-sign': 0, unknown: 0 };
  private readonly messages: Counter<'result'>;
  private readonly skipped: Counter<'reason'>;
  private readonly certificates: Counter<'continuity'>;
  private readonly lag: Gauge<'account' | 'folder'>;
  private readonly lastSync: Gauge<'account' | 'folder'>;
  private readonly pollerState: Gauge<'account' | 'folder' | 'state'>;
  private signerGauges: { daysLeft: Gauge; expiring: Gauge } | null = null;

  constructor() {
    const registers = [this.registry];
    this.messages = new Counter({ name: `${PREFIX}messages_total`, help: 'Messages by result: read counts every read by import, pollers and POST /v1/messages (a re-import reads again), stored counts each message once, duplicate counts reads of mail already stored.', labelNames: ['result'], registers });
    this.skipped = new Counter({ name: `${PREFIX}messages_skipped_total`, help: 'Reads of messages that were skipped, by reason (skipped mail leaves no row to recognise it by, so a re-import counts it again).', labelNames: ['reason'], registers });
    this.lag = new Gauge({ name: `${PREFIX}poll_lag_messages`, help: 'Messages on the IMAP server not yet processed, per account and folder (absent while unknown).', labelNames: ['account', 'folder'], registers });
    this.lastSync = new Gauge({ name: `${PREFIX}poll_last_sync_timestamp_seconds`, help: 'End of the last completed sync pass, per account and folder.', labelNames: ['account', 'folder'], registers });
    this.pollerState = new Gauge({ name: `${PREFIX}poller_state`, help: 'Current state of each poller (1 for the state it is in).', labelNames: ['account', 'folder', 'state'], registers });
    this.certificates = new Counter({
      name: `${PREFIX}certificates_harvested_total`,
      help: "Customers' certificates seen in signed mail, by key-continuity verdict (first-seen, same, renewal, key-changed, rejected).",
      labelNames: ['continuity'],
      registers,
    });
    const lookupCounts = this.lookupCounts;
    new Counter({
      name: `${PREFIX}lookups_total`,
      help: 'Addresses looked up through the HTTP API, by recommendation given.',
      labelNames: ['recommendation'],
      registers,
      collect() {
        this.reset();
        for (const recommendation of ['sign', 'do-not-sign', 'unknown'] as const) this.inc({ recommendation }, lookupCounts[recommendation]);
      },
    });
    this.duration = new Histogram({
      name: `${PREFIX}http_request_duration_seconds`,
      help: 'HTTP request latency by route pattern, method and status.',
      labelNames: ['route', 'method', 'status'],
      buckets: [...LATENCY_BUCKETS],
      registers,
    });
    // process_* (CPU, memory, file descriptors, start time), nodejs_* (heap, GC, event-loop lag).
    collectDefaultMetrics({ register: this.registry, prefix: PREFIX });
  }

  /** Records one HTTP request. `route` is the route pattern (never the raw URL: it may hold an address). */
  observeRequest(route: string, method: string, status: number, seconds: number): void {
    let byMethod = this.children.get(route);
    if (!byMethod) this.children.set(route, (byMethod = new Map()));
    let byStatus = byMethod.get(method);
    if (!byStatus) byMethod.set(method, (byStatus = new Map()));
    let child = byStatus.get(status);
    if (!child) byStatus.set(status, (child = this.duration.labels({ route, method, status: String(status) })));
    child.observe(seconds);
  }

  /** Counts answered lookups (one, or a batch's addresses with this recommendation). */
  countLookup(r: Recommendation, n = 1): void {
    this.lookupCounts[r] += n;
  }

  /** The exposition text, with the store's counters and the pollers' state read now. */
  async render(src: MetricSources): Promise<string> {
    const counters = src.counters();
    setCounter(this.messages, [
      [{ result: 'read' }, counters.read ?? 0],
      [{ result: 'stored' }, counters.stored ?? 0],
      [{ result: 'duplicate' }, counters.duplicates ?? 0],
    ]);
    const prefixed = (p: string, label: string) =>
      Object.entries(counters)
        .filter(([k]) => k.startsWith(p))
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => [{ [label]: k.slice(p.length) }, v] as [Record<string, string>, number]);
    setCounter(this.skipped, prefixed('skipped:', 'reason'));
    setCounter(this.certificates, prefixed('certificates:', 'continuity'));

    this.lag.reset();
    this.lastSync.reset();
    this.pollerState.reset();
    for (const p of src.pollers()) {
      const where = { account: p.account, folder: p.folder };
      if (p.lag !== null) this.lag.set(where, p.lag);
      if (p.lastSyncAt) this.lastSync.set(where, p.lastSyncAt.getTime() / 1000);
      this.pollerState.set({ ...where, state: p.state }, 1);
    }

    const signer = src.signer?.() ?? null;
    if (signer) {
      // Registered on first use: a process that does not sign shows no signer metrics at all.
      this.signerGauges ??= {
        daysLeft: new Gauge({ name: `${PREFIX}signer_certificate_days_left`, help: 'Days until the outbound signing certificate expires (alert below 30).', registers: [this.registry] }),
        expiring: new Gauge({ name: `${PREFIX}signer_certificate_expiring`, help: '1 from 30 days before the signing certificate expires.', registers: [this.registry] }),
      };
      this.signerGauges.daysLeft.set(signer.daysLeft);
      this.signerGauges.expiring.set(signer.expiringSoon ? 1 : 0);
    }
    return this.registry.metrics();
  }
}

/** Sets a counter to values owned elsewhere (the store's persistent counters). */
function setCounter<L extends string>(c: Counter<L>, values: ReadonlyArray<[Partial<Record<L, string>>, number]>): void {
  c.reset();
  for (const [labels, v] of values) c.inc(labels, Math.max(0, v));
}

