/**
 * GET /v1/recipients/{address} on the app as `serve` opens it (SERVER_STORE_OPTIONS: the lookups'
 * own connection, one snapshot per event-loop turn), with the lookups of one turn answered
 * together after the turn has read its requests (src/http/routes/lookup.ts): every request gets
 * its own address's answer, byte for byte what the library returns, an invalid address among
 * them fails alone, and a write committed in a later turn is seen through the real server.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { request as httpRequest, Agent } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { SERVER_STORE_OPTIONS, importPaths, lookupOne, openApp, silentLogger, type AppContext } from '../../src/app/index.js';
import { startServer, tokensFrom } from '../../src/http/index.js';
import { getOverSocket, message, PEOPLE, seededApp, tempDir, writeMail } from './helpers.js';
import { rawExec } from '../helpers/app.js';

describe('GET lookups on the store as serve opens it', () => {
  const t = tempDir();
  let app: AppContext;
  let server: FastifyInstance;
  let url: string;
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });

  beforeAll(async () => {
    // Seeded through a plain app (the import writes), then opened again as serve opens it.
    const seeded = await seededApp(t.dir);
    const config = seeded.config;
    await seeded.close();
    app = openApp({ config, logger: silentLogger(), store: SERVER_STORE_OPTIONS });
    // One decision past its expiry: the lookup re-runs the policy on the stored state.
    rawExec(app, (db) => db.prepare('UPDATE addresses SET decided_until = ? WHERE address = ?').run(Date.now() - 3_600_000, PEOPLE.outlook));
    ({ server, url } = await startServer({ app, tokens: tokensFrom({}), host: '127.0.0.1', port: 0, publicDir: null }));
  });
  afterAll(async () => {
    agent.destroy();
    await server.close();
    await app.close();
    t.cleanup();
  });

  const expected = async (address: string): Promise<string> => JSON.stringify(await lookupOne(app.store, app.config.policy, address));

  test('requests that arrive together each get their own answer, byte for byte the library result; an invalid address fails alone', async () => {
    const addresses: string[] = [];
    for (let i = 0; i < 8; i++) addresses.push(PEOPLE.signer, PEOPLE.outlook.toUpperCase(), PEOPLE.noSign, `nobody${i}@never.example`, `not-an-address-${i}`);
    // Started in one go: inject() runs them in the same event-loop turns, so turns hold many lookups.
    const viaInject = await Promise.all(addresses.map((a) => server.inject(`/v1/recipients/${encodeURIComponent(a)}`)));
    // And over 16 real sockets at once, as a sending service calls it.
    const viaSockets = await Promise.all(addresses.map((a) => getOverSocket(`${url}/v1/recipients/${encodeURIComponent(a)}`, agent)));
    for (const [i, a] of addresses.entries()) {
      for (const r of [{ status: viaInject[i]!.statusCode, body: viaInject[i]!.body }, viaSockets[i]!]) {
        if (a.startsWith('not-an-address')) {
          expect(r.status).toBe(400);
          expect(JSON.parse(r.body)).toEqual({ error: { code: 'E_ADDRESS', message: `not a valid e-mail address: ${JSON.stringify(a)}` } });
        } else {
          expect(r.status).toBe(200);
          expect(r.body).toBe(await expected(a));
        }
      }
    }
  });

  test('an address with a control character (U+0000, U+001F, U+007F) is refused with 400 E_ADDRESS', async () => {
    for (const a of ['nul\u0000@x.example', 'us\u001f@x.example', 'del@x\u007f.example']) {
      const r = await getOverSocket(`${url}/v1/recipients/${encodeURIComponent(a)}`, agent);
      expect(r.status, JSON.stringify(a)).toBe(400);
      expect(JSON.parse(r.body)).toMatchObject({ error: { code: 'E_ADDRESS' } });
    }
  });

  test('a GET refused for its address keeps its keep-alive connection (no body left to drain)', async () => {
    const one = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const sockets = new Set<unknown>();
      const status = (path: string): Promise<{ status: number; connection: string | undefined }> =>
        new Promise((resolve, reject) => {
          const req = httpRequest(`${url}${path}`, { agent: one }, (res) => {
            sockets.add(res.socket);
            res.resume();
            res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }));
          });
          req.on('error', reject);
          req.end();
        });
      const bad = await status('/v1/recipients/not-an-address');
      expect(bad).toEqual({ status: 400, connection: 'keep-alive' });
      expect((await status(`/v1/recipients/${encodeURIComponent(PEOPLE.signer)}`)).status).toBe(200);
      expect(sockets.size).toBe(1);
    } finally {
      one.destroy();
    }
  });

  test('a message imported in a later turn is seen by the next lookup through the real server', async () => {
    const newcomer = 'dave.tb@customer.example';
    const before = await getOverSocket(`${url}/v1/recipients/${newcomer}`, agent);
    expect(JSON.parse(before.body)).toMatchObject({ address: newcomer, recommendation: 'unknown', reason: 'never seen' });
    await importPaths(app, [writeMail(t.dir, 'later', [message(newcomer, 'thunderbird', 1)])]);
    const after = await getOverSocket(`${url}/v1/recipients/${newcomer}`, agent);
    expect(after.status).toBe(200);
    expect(JSON.parse(after.body)).toMatchObject({ address: newcomer, recommendation: 'sign', clients: [{ family: 'thunderbird' }] });
    expect(after.body).toBe(await expected(newcomer));
  });
});
