/**
 * POST /v1/messages (issue #13): a helpdesk or webhook pushes whole messages; the census keeps
 * the header block only, is idempotent on Message-ID, and writes only with the admin token.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { openApp, silentLogger, type AppContext } from '../../src/app/index.js';
import { buildServer, tokensFrom } from '../../src/http/index.js';
import { message, tempDir, testConfig } from './helpers.js';
import { rawExec } from '../helpers/app.js';

const READ = 'read-token-0123456789abcdef';
const ADMIN = 'admin-token-0123456789abcdef';
const rfc822 = (t: string) => ({ authorization: `Bearer ${t}`, 'content-type': 'message/rfc822' });

describe('POST /v1/messages', () => {
  const t = tempDir();
  let app: AppContext;
  let server: FastifyInstance;
  const db = join(t.dir, 'census.db');
  beforeAll(async () => {
    app = openApp({ config: testConfig(db, { maxMessageBytes: 4 * 1024 * 1024 }), logger: silentLogger() });
    server = await buildServer({ app, tokens: tokensFrom({ read: READ, admin: ADMIN }), publicDir: null });
  });
  afterAll(async () => {
    await server.close();
    app.close();
    t.cleanup();
  });

  test('202 with counts; the same message again is a duplicate; the body is not kept', async () => {
    const marker = 'BODY-MARKER-7f3a9c-not-to-be-stored';
    const msg = message('dora.tb@customer.example', 'thunderbird', 1) + `\n${marker}\n${'x'.repeat(200_000)}\n`;
    const first = await server.inject({ method: 'POST', url: '/v1/messages', headers: rfc822(ADMIN), payload: msg });
    expect(first.statusCode).toBe(202);
    expect(first.json()).toEqual({ stored: 1, duplicates: 0, skipped: {} });
    const again = await server.inject({ method: 'POST', url: '/v1/messages', headers: rfc822(ADMIN), payload: msg });
    expect(again.json()).toEqual({ stored: 0, duplicates: 1, skipped: {} });
    expect(await app.store.observationsOf('dora.tb@customer.example')).toHaveLength(1);
    const r = await server.inject({ url: '/v1/recipients/dora.tb@customer.example', headers: { authorization: `Bearer ${READ}` } });
    expect(r.json().recommendation).toBe('sign');
    rawExec(app, (db) => db.pragma('wal_checkpoint(TRUNCATE)'));
    expect(readFileSync(db).includes(marker)).toBe(false);
  });

  test('mail the census cannot read is skipped with a counted reason, not an error', async () => {
    const r = await server.inject({ method: 'POST', url: '/v1/messages', headers: rfc822(ADMIN), payload: 'Subject: no sender\r\n\r\nhello\r\n' });
    expect(r.statusCode).toBe(202);
    const body = r.json() as { stored: number; skipped: Record<string, number> };
    expect(body.stored).toBe(0);
    expect(Object.values(body.skipped).reduce((a, b) => a + b, 0)).toBe(1);
  });

  test('403 for the read token, 401 without a token, 415 for another type, 413 over the size limit', async () => {
    const msg = message('erin.tb@customer.example', 'thunderbird', 1);
    const read = await server.inject({ method: 'POST', url: '/v1/messages', headers: rfc822(READ), payload: msg });
    expect(read.statusCode).toBe(403);
    expect(read.json().error.code).toBe('E_FORBIDDEN');
    expect((await server.inject({ method: 'POST', url: '/v1/messages', headers: { 'content-type': 'message/rfc822' }, payload: msg })).statusCode).toBe(401);
    expect(await app.store.observationsOf('erin.tb@customer.example')).toHaveLength(0);
    const json = await server.inject({ method: 'POST', url: '/v1/messages', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'text/plain' }, payload: msg });
    expect(json.statusCode).toBe(415);
    const big = await server.inject({ method: 'POST', url: '/v1/messages', headers: rfc822(ADMIN), payload: msg + '\n' + 'y'.repeat(5 * 1024 * 1024) });
    expect(big.statusCode).toBe(413);
    expect(big.json().error.code).toBe('E_LIMIT');
  });
});
