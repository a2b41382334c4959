/**
 * The lookup contract has one source of truth: LookupResultSchema (zod) in app/lookup.ts. The
 * use case's results satisfy it, and the HTTP API's response schema is derived from it, so a field
 * added to the contract reaches `lookup --json`, the library and HTTP alike (issue 11).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { LookupResultSchema, lookupMany, lookupOne, type AppContext } from '../../src/app/index.js';
import { recommend } from '../../src/policy/index.js';
import { buildServer } from '../../src/http/server.js';
import { tokensFrom } from '../../src/http/auth.js';
import { jsonSchemaOf, lookupResultSchema, batchResponseSchema } from '../../src/http/schemas.js';
import { PEOPLE, seededApp, tempDir } from '../http/helpers.js';

describe('LookupResult: one schema for the use case, the CLI, the library and HTTP', () => {
  const t = tempDir();
  let app: AppContext;
  let server: FastifyInstance;
  beforeAll(async () => {
    app = await seededApp(t.dir);
    server = await buildServer({ app, tokens: tokensFrom({}), publicDir: null });
  });
  afterAll(async () => {
    await server.close();
    app.close();
    t.cleanup();
  });

  it('lookupOne results satisfy the zod schema exactly (no extra fields)', async () => {
    for (const a of [PEOPLE.signer, PEOPLE.outlook, PEOPLE.noSign, 'nobody@customer.example']) {
      const r = await lookupOne(app.store, app.config.policy, a);
      expect(LookupResultSchema.strict().parse(r)).toEqual(r);
    }
  });

  it("the HTTP response schemas are derived from it (draft-07, nullable as type arrays for fast-json-stringify)", () => {
    expect(lookupResultSchema).toEqual(jsonSchemaOf(LookupResultSchema));
    expect((batchResponseSchema.properties.results as { items: unknown }).items).toBe(lookupResultSchema);
    expect((lookupResultSchema.properties as Record<string, unknown>).lastSeen).toEqual({ type: ['string', 'null'] });
  });

  it('GET and POST lookups answer objects of exactly that schema', async () => {
    const one = (await server.inject(`/v1/recipients/${PEOPLE.signer}`)).json();
    expect(LookupResultSchema.strict().parse(one)).toEqual(one);
    expect(one.clients.length).toBeGreaterThan(0);
    const batch = (await server.inject({ method: 'POST', url: '/v1/recipients/lookup', payload: { addresses: [PEOPLE.outlook, PEOPLE.noSign], clients: true } })).json();
    for (const r of batch.results) expect(LookupResultSchema.strict().parse(r)).toEqual(r);
  });

  it('an expired decision is decided again from the state of the same row, on every lookup statement (GET, POST, with and without clients)', async () => {
    const DAY = 86_400_000;
    const addresses = [PEOPLE.signer, PEOPLE.outlook, PEOPLE.noSign, 'nobody@customer.example'];
    let redecided = 0;
    for (const at of [Date.now(), Date.now() + 400 * DAY]) {
      const expected = [];
      for (const a of addresses) {
        const state = await app.store.getState(a);
        if (!state) expected.push({ recommendation: 'unknown', reason: 'never seen' });
        else if (state.decidedUntil !== null && state.decidedUntil <= at) {
          const d = recommend(state, at, app.config.policy);
          expected.push({ recommendation: d.recommendation, reason: d.reason });
          if (d.reason !== state.reason) redecided++;
        } else expected.push({ recommendation: state.recommendation, reason: state.reason });
      }
      for (const clients of [true, false]) {
        const ones = [];
        for (const a of addresses) ones.push(await lookupOne(app.store, app.config.policy, a, at, clients));
        const batch = await lookupMany(app.store, app.config.policy, addresses, at, clients);
        expect(ones.map((r) => ({ recommendation: r.recommendation, reason: r.reason }))).toEqual(expected);
        expect(batch).toEqual(ones);
      }
    }
    // The fixture's decisions do expire 400 days on, and policy then decides differently.
    expect(redecided).toBeGreaterThan(0);
  });
});
