/**
 * Regression tests for issue #12: request bodies are validated as the schema says (no coercion
 * into arrays), and request logs carry neither query strings nor, at info, addresses.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { FastifyInstance } from 'fastify';
import type { AppContext, Logger } from '../../src/app/index.js';
import { buildServer, redactUrl, tokensFrom } from '../../src/http/index.js';
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

describe('HTTP logs: no query string ever, addresses only at debug (issue #12 item 8)', () => {
  const READ = 'read-token-0123456789abcdef';
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
  const t = tempDir();
  let app: AppContext;
  beforeAll(async () => {
    app = await seededApp(t.dir);
  });
  afterAll(() => {
    app.close();
    t.cleanup();
  });

  const odd = ['/v1/recipients/x@y.example?token=' + READ, '/v1//recipients/x@y.example', '/V1/recipients/x@y.example', '/v1/stats?email=x@y.example', '/v1/recipients/x%40y.example/observations', '/nope/x@y.example/z'];

  for (const level of ['info', 'debug'] as const) {
    test(`at ${level}: a token in the query string never reaches the log`, async () => {
      const c = capture(level);
      const s = await buildServer({ app, tokens: tokensFrom({ read: READ }), logger: c.logger, publicDir: null });
      for (const url of odd) await s.inject({ method: 'GET', url });
      await s.inject({ method: 'GET', url: '/v1/stats?token=' + READ, headers: { authorization: `Bearer ${READ}` } });
      await s.close();
      const text = c.text();
      expect(text).toContain('"statusCode":401');
      expect(text).not.toContain(READ);
      expect(text).not.toContain('?');
      expect(text).not.toContain('email=');
      if (level === 'info') {
        expect(text).not.toContain('x@y');
        expect(text).not.toContain('x%40y');
        expect(text).not.toContain('y.example');
      } else expect(text).toContain('/v1//recipients/x@y.example');
    });
  }

  test('redactUrl drops the query and every segment that is not plain text', () => {
    expect(redactUrl('/v1/recipients/a%40b.example/observations?x=1')).toBe('/v1/recipients/:address/observations');
    expect(redactUrl('/V1/recipients/a@b.example')).toBe('/V1/recipients/:redacted');
    expect(redactUrl('/v1//recipients/a@b.example')).toBe('/v1//recipients/:redacted');
    expect(redactUrl('/v1/stats')).toBe('/v1/stats');
  });
});
