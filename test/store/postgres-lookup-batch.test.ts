/**
 * GET /v1/recipients/{address} on PostgreSQL, as `serve` opens it, against a real server started
 * by the test setup: the lookups that arrive together go to the database as one statement
 * (src/store/postgres/lookup-batch.ts), every request still gets its own address's answer (known,
 * unknown, expired decision, the same address twice, an invalid address refused alone, an address
 * the server refuses failing alone), and a write committed before a later request is seen by it.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Agent } from 'node:http';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { withPostgres } from '../helpers/postgres-suite.js';
import { configSchema, type Config } from '../../src/config/index.js';
import { SERVER_STORE_OPTIONS, importPaths, lookupMany, openApp, silentLogger, type AppContext } from '../../src/app/index.js';
import { startServer, tokensFrom } from '../../src/http/index.js';
import { getOverSocket, message, PEOPLE, writeMail } from '../http/helpers.js';

// pg_stat_statements counts the statements the server really ran (shared memory, updated as each ends).
const t = withPostgres('census-pg-batch-', { settings: { shared_preload_libraries: 'pg_stat_statements' } });
const DB = 'lookup_batch';

/** Statements the census ran in the test database so far (not counting these counting queries). */
async function statementsRun(): Promise<number> {
  const out = await t.server.psql(DB, `SELECT coalesce(sum(s.calls), 0) FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
    WHERE d.datname = '${DB}' AND s.query NOT ILIKE '%pg_stat_statements%'`);
  return Number(out.trim());
}

describe('GET lookups on PostgreSQL, batched', () => {
  let config: Config;
  let app: AppContext;
  let server: FastifyInstance;
  let url: string;
  const agent = new Agent({ keepAlive: true, maxSockets: 40 });

  beforeAll(async () => {
    const db = await t.server.createDatabase(DB);
    config = configSchema.parse({ db, erasureKeyFile: join(t.dir, 'erasure.key') });
    const seeding = openApp({ config, logger: silentLogger() });
    await importPaths(seeding, [writeMail(t.dir, 'seed', [
      message(PEOPLE.signer, 'thunderbird', 10),
      message(PEOPLE.signer, 'thunderbird', 3),
      message(PEOPLE.outlook, 'outlook', 5),
      message(PEOPLE.noSign, 'yahoo', 2),
    ])]);
    await seeding.close();
    // One decision past its expiry: the lookup re-runs the policy on the stored state.
    await t.server.psql(DB, `UPDATE addresses SET decided_until = ${Date.now() - 3_600_000} WHERE address = '${PEOPLE.outlook}'; CREATE EXTENSION pg_stat_statements;`);
    app = openApp({ config, logger: silentLogger(), store: SERVER_STORE_OPTIONS });
    ({ server, url } = await startServer({ app, tokens: tokensFrom({}), host: '127.0.0.1', port: 0, publicDir: null }));
  });
  afterAll(async () => {
    agent.destroy();
    await server?.close();
    await app?.close();
  });

  /** What the library answers for these addresses, read by the store's other statement (lookupMany). */
  const expected = async (addresses: readonly string[]): Promise<string[]> =>
    (await lookupMany(app.store, app.config.policy, addresses, Date.now(), true)).map((r) => JSON.stringify(r));

  test('40 concurrent GETs go to PostgreSQL as one statement, and each gets its own address\'s answer byte for byte; an invalid address fails alone', async () => {
    const addresses: string[] = [];
    for (let i = 0; i < 8; i++) addresses.push(PEOPLE.signer, PEOPLE.outlook.toUpperCase(), PEOPLE.noSign, `nobody${i}@never.example`, `not-an-address-${i}`);
    const valid = addresses.filter((a) => !a.startsWith('not-an-address'));
    // Warm: the pool's connection is open and the statement prepared before counting.
    expect((await server.inject(`/v1/recipients/${PEOPLE.signer}`)).statusCode).toBe(200);
    const before = await statementsRun();
    // Started in one go: inject() dispatches them all in the same event-loop turn.
    const got = await Promise.all(addresses.map((a) => server.inject(`/v1/recipients/${encodeURIComponent(a)}`)));
    expect(await statementsRun()).toBe(before + 1);
    const want = await expected(valid);
    let k = 0;
    for (const [i, a] of addresses.entries()) {
      const r = got[i]!;
      if (a.startsWith('not-an-address')) {
        expect(r.statusCode).toBe(400);
        expect(JSON.parse(r.body)).toEqual({ error: { code: 'E_ADDRESS', message: `not a valid e-mail address: ${JSON.stringify(a)}` } });
      } else {
        expect(r.statusCode).toBe(200);
        expect(r.body).toBe(want[k++]);
      }
    }
    // The expired decision really was re-decided, and an unknown address is "never seen".
    expect(JSON.parse(got[1]!.body)).toMatchObject({ address: PEOPLE.outlook, recommendation: 'sign' });
    expect(JSON.parse(got[3]!.body)).toMatchObject({ address: 'nobody0@never.example', recommendation: 'unknown', reason: 'never seen' });

    // And over 40 real sockets at once, as a sending service calls it (the batches then follow
    // the socket reads, so their number is not fixed).
    const viaSockets = await Promise.all(valid.map((a) => getOverSocket(`${url}/v1/recipients/${encodeURIComponent(a)}`, agent)));
    const again = await expected(valid);
    for (const [i, r] of viaSockets.entries()) {
      expect(r.status).toBe(200);
      expect(r.body).toBe(again[i]);
    }
  });

  test('an address with U+0000 is refused with 400 E_ADDRESS before the store, and the lookups beside it are answered', async () => {
    const addresses = [PEOPLE.signer, 'nul\u0000@x.example', PEOPLE.noSign, 'nobody@never.example'];
    const got = await Promise.all(addresses.map((a) => server.inject(`/v1/recipients/${encodeURIComponent(a)}`)));
    expect(got.map((r) => r.statusCode)).toEqual([200, 400, 200, 200]);
    expect(JSON.parse(got[1]!.body)).toMatchObject({ error: { code: 'E_ADDRESS' } });
    expect([got[0], got[2], got[3]].map((r) => r!.body)).toEqual(await expected([PEOPLE.signer, PEOPLE.noSign, 'nobody@never.example']));
  });

  test('the store itself, asked for a U+0000 address (which PostgreSQL text refuses), fails that lookup alone, not its batch', async () => {
    const now = Date.now();
    const asked = [PEOPLE.signer, 'nul\u0000@x.example', PEOPLE.noSign].map((a) => app.store.lookup(a, { clients: true, now }));
    const settled = await Promise.allSettled(asked);
    expect(settled.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((settled[0] as PromiseFulfilledResult<unknown>).value).not.toBeNull();
  });

  test('a write committed (by another process\'s pool) before a later request is seen by it', async () => {
    const newcomer = 'dave.tb@customer.example';
    const before = await Promise.all([newcomer, PEOPLE.noSign].map((a) => getOverSocket(`${url}/v1/recipients/${a}`, agent)));
    expect(JSON.parse(before[0]!.body)).toMatchObject({ address: newcomer, recommendation: 'unknown', reason: 'never seen' });
    const writer = openApp({ config, logger: silentLogger() });
    try {
      await importPaths(writer, [writeMail(t.dir, 'later', [message(newcomer, 'thunderbird', 1)])]);
    } finally {
      await writer.close();
    }
    const after = await Promise.all([PEOPLE.noSign, newcomer].map((a) => getOverSocket(`${url}/v1/recipients/${a}`, agent)));
    expect(after[1]!.status).toBe(200);
    expect(JSON.parse(after[1]!.body)).toMatchObject({ address: newcomer, recommendation: 'sign', clients: [{ family: 'thunderbird' }] });
    expect(after.map((r) => r.body)).toEqual(await expected([PEOPLE.noSign, newcomer]));
  });
});
