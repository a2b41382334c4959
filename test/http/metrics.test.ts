/**
 * /metrics through prom-client: the service's metric names are unchanged (dashboards and alerts
 * keep working), and process, GC and event-loop metrics come with them (issue 11).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { silentLogger, type AppContext } from '../../src/app/index.js';
import { buildServer } from '../../src/http/server.js';
import { tokensFrom } from '../../src/http/auth.js';
import { Metrics } from '../../src/http/metrics.js';
import { PEOPLE, seededApp, tempDir } from './helpers.js';

describe('GET /metrics (prom-client)', () => {
  const t = tempDir();
  let app: AppContext;
  let server: FastifyInstance;
  beforeAll(async () => {
    app = await seededApp(t.dir);
    server = await buildServer({ app, tokens: tokensFrom({}), publicDir: null, logger: silentLogger() });
  });
  afterAll(async () => {
    await server.close();
    app.close();
    t.cleanup();
  });

  test('keeps every metric name of the hand-written exposition', async () => {
    await server.inject(`/v1/recipients/${PEOPLE.signer}`);
    const text = (await server.inject('/metrics')).body;
    for (const [name, type] of [
      ['smime_census_messages_total', 'counter'],
      ['smime_census_messages_skipped_total', 'counter'],
      ['smime_census_poll_lag_messages', 'gauge'],
      ['smime_census_poll_last_sync_timestamp_seconds', 'gauge'],
      ['smime_census_poller_state', 'gauge'],
      ['smime_census_certificates_harvested_total', 'counter'],
      ['smime_census_lookups_total', 'counter'],
      ['smime_census_http_request_duration_seconds', 'histogram'],
      ['smime_census_process_start_time_seconds', 'gauge'],
      ['smime_census_process_resident_memory_bytes', 'gauge'],
    ]) {
      expect(text, name).toMatch(new RegExp(`^# TYPE ${name} ${type}$`, 'm'));
    }
    expect(text).toMatch(/^smime_census_lookups_total\{recommendation="do-not-sign"\} 0$/m);
  });

  test('adds process, GC and event-loop metrics', async () => {
    const text = (await server.inject('/metrics')).body;
    for (const name of ['smime_census_process_cpu_seconds_total', 'smime_census_process_open_fds', 'smime_census_nodejs_heap_size_used_bytes', 'smime_census_nodejs_eventloop_lag_p99_seconds', 'smime_census_nodejs_gc_duration_seconds']) {
      expect(text, name).toMatch(new RegExp(`^# TYPE ${name} `, 'm'));
    }
    const start = Number(/^smime_census_process_start_time_seconds (\d+(?:\.\d+)?)$/m.exec(text)?.[1]);
    expect(Math.abs(start - (Date.now() / 1000 - process.uptime()))).toBeLessThan(5);
  });
});

describe('Metrics', () => {
  test('store counters are read at scrape time: a later scrape shows the new values, not a sum', async () => {
    const m = new Metrics();
    let counters: Record<string, number> = { read: 3, stored: 2, duplicates: 1, 'skipped:too-large': 1 };
    const src = { counters: () => counters, pollers: () => [] };
    expect(await m.render(src)).toMatch(/^smime_census_messages_total\{result="stored"\} 2$/m);
    counters = { read: 10, stored: 7, duplicates: 3 };
    const text = await m.render(src);
    expect(text).toMatch(/^smime_census_messages_total\{result="stored"\} 7$/m);
    expect(text).not.toMatch(/reason="too-large"/);
  });

  test('pollers that went away leave no stale series', async () => {
    const m = new Metrics();
    let pollers = [{ account: 'support', folder: 'INBOX', state: 'idle', lastSyncAt: new Date(1_700_000_000_000), lag: 4 }];
    const src = { counters: () => ({}), pollers: () => pollers };
    const first = await m.render(src);
    expect(first).toMatch(/^smime_census_poll_lag_messages\{account="support",folder="INBOX"\} 4$/m);
    expect(first).toMatch(/^smime_census_poll_last_sync_timestamp_seconds\{account="support",folder="INBOX"\} 1700000000$/m);
    pollers = [];
    expect(await m.render(src)).not.toMatch(/account="support"/);
  });

  test('a label value with quotes, backslashes and line feeds is escaped', async () => {
    const m = new Metrics();
    const text = await m.render({ counters: () => ({}), pollers: () => [{ account: 'a"b\\c\nd', folder: 'F', state: 'idle', lastSyncAt: null, lag: null }] });
    expect(text).toContain('smime_census_poller_state{account="a\\"b\\\\c\\nd",folder="F",state="idle"} 1');
  });
});
