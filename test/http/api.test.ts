/**
 * The HTTP API through fastify's inject() against a real SQLite database filled by importPaths:
 * every endpoint, the error statuses and bodies, erasure, metrics and log redaction.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Writable } from 'node:stream';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import type { FastifyInstance } from 'fastify';
import { exportCsv, importPaths, lookupOne, openApp, silentLogger, type AppContext, type Logger } from '../../src/app/index.js';
import { Poller, appSink } from '../../src/app/poll.js';
import { POLL_DEFAULTS, imapAccountSchema } from '../../src/config/index.js';
import { buildServer, redactUrl, tokensFrom } from '../../src/http/index.js';
import { message, PEOPLE, seededApp, tempDir, testConfig, writeMail } from './helpers.js';
import { rawExec, rawQuery, collect } from '../helpers/app.js';

const NO_TOKENS = tokensFrom({});

describe('HTTP API (loopback, no tokens)', () => {
  const t = tempDir();
  let app: AppContext;
  let server: FastifyInstance;

  beforeAll(async () => {
    app = await seededApp(t.dir, { maxBatch: 5, bodyLimit: 1024 });
    server = await buildServer({ app, tokens: NO_TOKENS, publicDir: null });
  });
  afterAll(async () => {
    await server.close();
    await app.close();
    t.cleanup();
  });

  test('GET /v1/recipients/{address} returns the same object as lookup --json', async () => {
    const r = await server.inject({ method: 'GET', url: `/v1/recipients/${encodeURIComponent(PEOPLE.signer.toUpperCase())}` });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/application\/json/);
    const body = r.json();
    expect(body).toEqual(await lookupOne(app.store, app.config.policy, PEOPLE.signer));
    expect(body.recommendation).toBe('sign');
    expect(body.clients[0].family).toBe('thunderbird');
    expect((await server.inject(`/v1/recipients/${PEOPLE.noSign}`)).json().recommendation).toBe('do-not-sign');
  });

  test('an unknown address is 200 with recommendation unknown', async () => {
    const r = await server.inject('/v1/recipients/nobody@nowhere.example');
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ address: 'nobody@nowhere.example', recommendation: 'unknown', reason: 'never seen', lastSeen: null, clients: [] });
  });

  test('a syntactically invalid address is 400 with a JSON error body', async () => {
    const r = await server.inject('/v1/recipients/not-an-address');
    expect(r.statusCode).toBe(400);
    expect(r.json()).toEqual({ error: { code: 'E_ADDRESS', message: expect.stringContaining('not a valid e-mail address') } });
  });

  test('POST /v1/recipients/lookup answers in input order', async () => {
    const addresses = [PEOPLE.noSign, 'nobody@nowhere.example', PEOPLE.signer, PEOPLE.outlook];
    const r = await server.inject({ method: 'POST', url: '/v1/recipients/lookup', payload: { addresses } });
    expect(r.statusCode).toBe(200);
    const results = r.json().results as Array<{ address: string; recommendation: string; clients: unknown[] }>;
    expect(results.map((x) => x.address)).toEqual(addresses);
    expect(results.map((x) => x.recommendation)).toEqual(['do-not-sign', 'unknown', 'sign', 'sign']);
    // Clients are skipped unless asked for (a second query per address).
    expect(results[2]!.clients).toEqual([]);
    const withClients = await server.inject({ method: 'POST', url: '/v1/recipients/lookup', payload: { addresses: [PEOPLE.signer], clients: true } });
    expect(withClients.json().results[0]).toEqual(await lookupOne(app.store, app.config.policy, PEOPLE.signer));
  });

  test('batch errors: over maxBatch is 413, an invalid address is 400 naming its index, bad bodies are 400/413', async () => {
    const six = Array.from({ length: 6 }, (_, i) => `u${i}@x.example`);
    const big = await server.inject({ method: 'POST', url: '/v1/recipients/lookup', payload: { addresses: six } });
    expect(big.statusCode).toBe(413);
    expect(big.json().error).toEqual({ code: 'E_LIMIT', message: expect.stringContaining('http.maxBatch') });

    const bad = await server.inject({ method: 'POST', url: '/v1/recipients/lookup', payload: { addresses: ['a@b.example', 'nope'] } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('E_ADDRESS');
    expect(bad.json().error.message).toMatch(/^addresses\[1\]/);

    const missing = await server.inject({ method: 'POST', url: '/v1/recipients/lookup', payload: { emails: [] } });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().error.code).toBe('E_USAGE');

    const malformed = await server.inject({ method: 'POST', url: '/v1/recipients/lookup', headers: { 'content-type': 'application/json' }, payload: '{"addresses": [' });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().error.code).toBe('E_USAGE');

    const tooLarge = await server.inject({ method: 'POST', url: '/v1/recipients/lookup', payload: { addresses: ['x'.repeat(300) + '@a.example', 'y'.repeat(300) + '@a.example', 'z'.repeat(300) + '@a.example', 'w'.repeat(300) + '@a.example'] } });
    expect(tooLarge.statusCode).toBe(413);
    expect(tooLarge.json().error.code).toBe('E_LIMIT');
  });

  test('GET /v1/export.csv streams the CLI export with a download filename', async () => {
    const r = await server.inject('/v1/export.csv');
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(r.headers['content-disposition']).toMatch(/^attachment; filename="smime-census-\d{4}-\d{2}-\d{2}\.csv"$/);
    expect(r.body).toBe(await collect(exportCsv(app.store, app.config.policy, {})));
    expect(r.body.trim().split('\r\n')).toHaveLength(4);

    const signOnly = await server.inject('/v1/export.csv?recommendation=sign');
    const rows = signOnly.body.trim().split('\r\n').slice(1);
    expect(rows.map((l) => l.split(',')[0]).sort()).toEqual([PEOPLE.outlook, PEOPLE.signer].sort());
    const family = await server.inject('/v1/export.csv?family=yahoo-mail&since=2000-01-01');
    expect(family.body.trim().split('\r\n').slice(1).map((l) => l.split(',')[0])).toEqual([PEOPLE.noSign]);
    const future = await server.inject('/v1/export.csv?since=2999-01-01');
    expect(future.body.trim().split('\r\n')).toHaveLength(1);

    expect((await server.inject('/v1/export.csv?since=yesterday')).json().error.code).toBe('E_USAGE');
    expect((await server.inject('/v1/export.csv?recommendation=maybe')).statusCode).toBe(400);
  });

  test('GET /v1/stats counts by recommendation, family and month', async () => {
    const r = await server.inject('/v1/stats');
    expect(r.statusCode).toBe(200);
    const s = r.json();
    expect(s.addresses).toBe(3);
    expect(s.messages).toBe(4);
    expect(s.byRecommendation).toEqual({ sign: 2, 'do-not-sign': 1, unknown: 0 });
    expect(s.byFamily.map((f: { family: string }) => f.family).sort()).toEqual(['outlook-windows', 'thunderbird', 'yahoo-mail']);
    expect(s.byMonth.reduce((n: number, m: { messages: number }) => n + m.messages, 0)).toBe(4);
    expect(s.counters.read).toBe(4);
    expect(s.pollers).toEqual([]);
  });

  test('GET /v1/stats counts decisions as they stand at its clock, expired ones decided again, and writes nothing', async () => {
    // A year on, no new mail: the cached decisions made at import have expired.
    const later = Date.now() + 400 * 86_400_000;
    const server2 = await buildServer({ app, tokens: NO_TOKENS, publicDir: null, now: () => later });
    try {
      const addresses = [PEOPLE.signer, PEOPLE.noSign, PEOPLE.outlook];
      const tally = { sign: 0, 'do-not-sign': 0, unknown: 0 };
      for (const a of addresses) {
        const r: keyof typeof tally = (await server2.inject(`/v1/recipients/${a}`)).json().recommendation;
        tally[r]++;
      }
      const before = (await server.inject('/v1/stats')).json();
      // The lookups a year on differ from the cached decisions, so the figures must follow them.
      expect(tally).not.toEqual(before.byRecommendation);
      const s = (await server2.inject('/v1/stats')).json();
      expect(s.byRecommendation).toEqual(tally);
      expect(s.byFamily.reduce((n: number, f: { sign: number }) => n + f.sign, 0)).toBe(tally.sign);
      expect((await server.inject('/v1/stats')).json().byRecommendation).toEqual(before.byRecommendation);
    } finally {
      await server2.close();
    }
  });

  test('GET /v1/unknown-headers lists unrecognised client values; top is validated', async () => {
    const extra = openApp({ config: app.config, logger: silentLogger() });
    const folder = writeMail(t.dir, 'unknown-client', [
      message('dan@customer.example', 'thunderbird', 1, 'u1@customer.example').replace(/^User-Agent: .*$/m, 'User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:102.0) Gecko/20100101 NeverSeen/9.9'),
    ]);
    await importPaths(extra, [folder]);
    extra.close();
    const r = await server.inject('/v1/unknown-headers?top=5');
    expect(r.statusCode).toBe(200);
    expect(r.json().unknown).toContainEqual({ header: 'user-agent', value: 'Mozilla/5.0 (X11; Linux x86_64; rv:102.0) Gecko/20100101 NeverSeen/9.9', count: 1, exampleMessageId: 'u1@customer.example' });
    expect((await server.inject('/v1/unknown-headers?top=0')).statusCode).toBe(400);
    expect((await server.inject('/v1/unknown-headers?top=abc')).statusCode).toBe(400);
  });

  test('GET /v1/pollers without pollers says so and lists committed checkpoints', async () => {
    rawExec(app, (db) => db.prepare(`INSERT INTO checkpoints (account, folder, uid_validity, last_uid, updated_at) VALUES ('support', 'INBOX', '7', 42, ?)`).run(Date.UTC(2026, 0, 2)));
    const r = await server.inject('/v1/pollers');
    expect(r.json()).toEqual({
      polling: false,
      pollers: [],
      checkpoints: [{ account: 'support', folder: 'INBOX', uidValidity: '7', lastUid: 42, updatedAt: '2026-01-02T00:00:00.000Z' }],
    });
  });

  test('GET /healthz is open and reports the database', async () => {
    const r = await server.inject('/healthz');
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ status: 'ok', db: { readable: true }, pollers: [] });
  });

  test('GET /metrics: Prometheus text with message counters, lookups and latency by route pattern, never an address', async () => {
    await server.inject(`/v1/recipients/${PEOPLE.signer}`);
    const r = await server.inject('/metrics');
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = r.body;
    expect(text).toMatch(/^smime_census_messages_total\{result="read"\} 5$/m);
    expect(text).toMatch(/^smime_census_messages_total\{result="stored"\} 5$/m);
    expect(text).toMatch(/^# TYPE smime_census_messages_skipped_total counter$/m);
    expect(text).toMatch(/^smime_census_lookups_total\{recommendation="sign"\} [1-9]\d*$/m);
    expect(text).toMatch(/^smime_census_http_request_duration_seconds_count\{route="\/v1\/recipients\/:address",method="GET",status="200"\} [1-9]\d*$/m);
    // Label order is not part of the format (prom-client writes `le` first).
    expect(text).toMatch(/^smime_census_http_request_duration_seconds_bucket\{(?=[^}]*route="\/v1\/recipients\/:address")(?=[^}]*method="GET")(?=[^}]*status="400")(?=[^}]*le="\+Inf")[^}]*\} [1-9]\d*$/m);
    expect(text).not.toContain('@customer.example');
    // Every sample line is `name{labels} value`.
    for (const line of text.trim().split('\n')) if (line && !line.startsWith('#')) expect(line).toMatch(/^[a-z_][a-z0-9_]*(\{[^}]*\})? [-+0-9.eInfa]+$/);
  });

  test('unknown routes are 404 with the JSON error body', async () => {
    const r = await server.inject('/v1/nothing');
    expect(r.statusCode).toBe(404);
    expect(r.json()).toEqual({ error: { code: 'E_NOT_FOUND', message: 'no such route' } });
  });
});

describe('privacy: observations and erasure', () => {
  const t = tempDir();
  let app: AppContext;
  let server: FastifyInstance;
  let oldMail: string;
  /** The server's clock (erasure times come from it): the real one unless a test sets it. */
  let clock: () => number = Date.now;
  beforeAll(async () => {
    app = openApp({ config: testConfig(join(t.dir, 'census.db')), logger: silentLogger() });
    oldMail = writeMail(t.dir, 'old', [message(PEOPLE.signer, 'thunderbird', 20), message(PEOPLE.signer, 'thunderbird', 15), message(PEOPLE.outlook, 'outlook', 4)]);
    await importPaths(app, [oldMail]);
    server = await buildServer({ app, tokens: NO_TOKENS, publicDir: null, now: () => clock() });
  });
  afterAll(async () => {
    await server.close();
    await app.close();
    t.cleanup();
  });

  test('GET /v1/recipients/{address}/observations returns everything stored (same as show)', async () => {
    const r = await server.inject(`/v1/recipients/${PEOPLE.signer}/observations`);
    expect(r.statusCode).toBe(200);
    const body = r.json();
    expect(body.address).toBe(PEOPLE.signer);
    expect(body.state.messages).toBe(2);
    expect(body.observations).toHaveLength(2);
    expect(body.observations[0]).toMatchObject({ address: PEOPLE.signer, family: 'thunderbird', fingerprint: { 'user-agent': [expect.stringContaining('Thunderbird/102.10.0')] } });
    expect(body.clients).toHaveLength(1);
    expect((await server.inject('/v1/recipients/bad/observations')).statusCode).toBe(400);
  });

  test('DELETE erases every row; re-importing old mail does not bring it back; new mail starts fresh', async () => {
    const count = (sql: string): number => rawQuery<{ n: number }>(app, sql, PEOPLE.signer)[0]!.n;
    expect(count('SELECT count(*) AS n FROM observations WHERE address = ?')).toBe(2);

    // The erasure happens at a time set on the server's clock, 2 s ago: mail written below is
    // then certainly later than the erasure, without waiting for the wall clock to move on.
    const erasedAt = Date.now() - 2_000;
    clock = () => erasedAt;
    const del = await server.inject({ method: 'DELETE', url: `/v1/recipients/${PEOPLE.signer}` });
    clock = Date.now;
    expect(del.statusCode).toBe(200);
    // 2 observations, 1 state, 1 client in its list, 1 month of activity
    expect(del.json()).toEqual({ address: PEOPLE.signer, rowsDeleted: 5, erasedAt: new Date(erasedAt).toISOString() });
    for (const table of ['observations', 'addresses', 'address_months', 'certificates']) {
      expect(count(`SELECT count(*) AS n FROM ${table} WHERE address = ?`)).toBe(0);
    }
    const after = await server.inject(`/v1/recipients/${PEOPLE.signer}/observations`);
    expect(after.json()).toEqual({ address: PEOPLE.signer, state: null, clients: [], observations: [], certificates: [] });
    expect((await server.inject(`/v1/recipients/${PEOPLE.signer}`)).json().recommendation).toBe('unknown');
    // The other customer is untouched.
    expect((await server.inject(`/v1/recipients/${PEOPLE.outlook}`)).json().recommendation).toBe('sign');

    // Re-reading the old mail (a resync, a re-import) stays erased.
    const again = await importPaths(app, [oldMail]);
    expect(again.skipped.erased).toBe(2);
    expect(count('SELECT count(*) AS n FROM observations WHERE address = ?')).toBe(0);

    // New mail after the erasure starts a fresh record (its effective time, the file's mtime, is now).
    const fresh = writeMail(t.dir, 'new', [message(PEOPLE.signer, 'yahoo', -0.0001)]);
    const c = await importPaths(app, [fresh]);
    expect(c.stored).toBe(1);
    const now = (await server.inject(`/v1/recipients/${PEOPLE.signer}/observations`)).json();
    expect(now.state.messages).toBe(1);
    expect(now.observations).toHaveLength(1);
    expect(now.observations[0].family).toBe('yahoo-mail');
  });
});

describe('pollers in the process', () => {
  test('GET /v1/pollers, /v1/stats and /healthz show each poller\'s state and last sync', async () => {
    const t = tempDir();
    const app = openApp({ config: testConfig(join(t.dir, 'census.db')), logger: silentLogger() });
    const account = imapAccountSchema.parse({ host: '127.0.0.1', port: 1, user: 'support', passwordFile: join(t.dir, 'pw'), folders: ['INBOX', 'Archive'] });
    // Constructed, not started: the status shows each folder as still connecting.
    const poller = new Poller({ accounts: [account], poll: POLL_DEFAULTS, sink: appSink(app), logger: silentLogger() });
    const server = await buildServer({ app, tokens: NO_TOKENS, pollers: [poller], publicDir: null });
    try {
      const p = (await server.inject('/v1/pollers')).json();
      expect(p.polling).toBe(true);
      expect(p.pollers.map((f: { folder: string; state: string; lastSyncAt: null }) => [f.folder, f.state, f.lastSyncAt])).toEqual([
        ['INBOX', 'connecting', null],
        ['Archive', 'connecting', null],
      ]);
      expect((await server.inject('/v1/stats')).json().pollers).toHaveLength(2);
      const h = (await server.inject('/healthz')).json();
      expect(h.pollers[0]).toMatchObject({ folder: 'INBOX', state: 'connecting', lastSyncAt: null, lastError: null });
    } finally {
      await server.close();
      await app.close();
      t.cleanup();
    }
  });
});

describe('healthz when the database is gone', () => {
  test('503 with db.readable false', async () => {
    const t = tempDir();
    const app = openApp({ config: testConfig(join(t.dir, 'census.db')), logger: silentLogger() });
    const server = await buildServer({ app, tokens: NO_TOKENS, publicDir: null });
    await app.store.close();
    const r = await server.inject('/healthz');
    expect(r.statusCode).toBe(503);
    expect(r.json()).toMatchObject({ status: 'unavailable', db: { readable: false } });
    // Lookups report E_DB as 503, not a crash.
    const l = await server.inject('/v1/recipients/a@b.example');
    expect([503, 500]).toContain(l.statusCode);
    await server.close();
    t.cleanup();
  });
});

describe('logs', () => {
  function capture(level: string): { logger: Logger; text: () => string } {
    let buf = '';
    const sink = new Writable({
      write(chunk, _enc, cb) {
        buf += String(chunk);
        cb();
      },
    });
    return { logger: pino({ level }, sink) as unknown as Logger, text: () => buf };
  }

  test('at info, request logs carry the route, not the address; at debug the address appears', async () => {
    const t = tempDir();
    const app = await seededApp(t.dir);
    try {
      const info = capture('info');
      const s1 = await buildServer({ app, tokens: NO_TOKENS, logger: info.logger, publicDir: null });
      await s1.inject(`/v1/recipients/${PEOPLE.signer}`);
      await s1.inject('/v1/recipients/not-an-address');
      await s1.inject({ method: 'DELETE', url: `/v1/recipients/${PEOPLE.outlook}` });
      await s1.close();
      expect(info.text()).toContain('/v1/recipients/:address');
      expect(info.text()).toContain('"statusCode":200');
      expect(info.text()).not.toContain('customer.example');
      expect(info.text()).not.toContain('not-an-address');

      const debug = capture('debug');
      const s2 = await buildServer({ app, tokens: NO_TOKENS, logger: debug.logger, publicDir: null });
      await s2.inject(`/v1/recipients/${PEOPLE.signer}`);
      await s2.close();
      expect(debug.text()).toContain(PEOPLE.signer);
    } finally {
      await app.close();
      t.cleanup();
    }
  });

  test('redactUrl replaces the address segment and drops the query string', () => {
    expect(redactUrl('/v1/recipients/a%40b.example/observations?x=1')).toBe('/v1/recipients/:address/observations');
    expect(redactUrl('/v1/recipients/lookup')).toBe('/v1/recipients/:address');
    expect(redactUrl('/v1/stats')).toBe('/v1/stats');
  });
});
