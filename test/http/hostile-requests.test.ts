/**
 * Regression tests for issue #12 (weakness): request bodies are validated as the schema says,
 * without coercion into arrays.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../src/app/index.js';
import { buildServer, tokensFrom } from '../../src/http/index.js';
import { PEOPLE, seededApp, tempDir } from './helpers.js';

describe('HTTP: hostile request bodies', () => {
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

  test('{"addresses": "a@b.c"} is 400 (the schema says array), not a wrapped one-element batch', async () => {
    const r = await server.inject({ method: 'POST', url: '/v1/recipients/lookup', payload: { addresses: PEOPLE.signer } });
    expect(r.statusCode).toBe(400);
    expect(r.json().error.code).toBe('E_USAGE');
    const ok = await server.inject({ method: 'POST', url: '/v1/recipients/lookup', payload: { addresses: [PEOPLE.signer] } });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().results[0].recommendation).toBe('sign');
  });

  test('query strings still coerce scalars (unknown-headers?top=5)', async () => {
    const r = await server.inject('/v1/unknown-headers?top=5');
    expect(r.statusCode).toBe(200);
  });
});
