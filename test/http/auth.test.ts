/**
 * Access control: token scopes (401 vs 403), open routes, token files, and the refusal to
 * serve a reachable address without tokens — in-process and through the `serve` command.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { spawn } from 'node:child_process';
import { writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { openApp, silentLogger, type AppContext } from '../../src/app/index.js';
import { assertSafeBinding, authorize, buildServer, isLoopback, loadTokens, startServer, tokensFrom } from '../../src/http/index.js';
import { bulkAddresses, PEOPLE, seededApp, tempDir, testConfig } from './helpers.js';
import { rawExec } from '../helpers/app.js';
import { builtCli } from '../helpers/built.js';

const READ = 'read-token-0123456789abcdef';
const ADMIN = 'admin-token-0123456789abcdef';
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

describe('token scopes', () => {
  const t = tempDir();
  let app: AppContext;
  let server: FastifyInstance;
  beforeAll(async () => {
    app = await seededApp(t.dir);
    server = await buildServer({ app, tokens: tokensFrom({ read: READ, admin: ADMIN }), publicDir: null });
  });
  afterAll(async () => {
    await server.close();
    await app.close();
    t.cleanup();
  });

  test('no token or an unknown token is 401 with WWW-Authenticate: Bearer', async () => {
    for (const headers of [{}, bearer('wrong-token-0123456789'), { authorization: READ }, { authorization: `Basic ${READ}` }]) {
      const r = await server.inject({ url: `/v1/recipients/${PEOPLE.signer}`, headers });
      expect(r.statusCode).toBe(401);
      expect(r.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(r.json().error.code).toBe('E_AUTH');
    }
  });

  test('the read token reads: lookups, batch, export, stats, pollers, unknown headers, metrics', async () => {
    expect((await server.inject({ url: `/v1/recipients/${PEOPLE.signer}`, headers: bearer(READ) })).json().recommendation).toBe('sign');
    expect((await server.inject({ method: 'POST', url: '/v1/recipients/lookup', headers: bearer(READ), payload: { addresses: [PEOPLE.signer] } })).statusCode).toBe(200);
    for (const url of ['/v1/export.csv', '/v1/stats', '/v1/pollers', '/v1/unknown-headers', '/metrics']) {
      expect((await server.inject({ url, headers: bearer(READ) })).statusCode, url).toBe(200);
      expect((await server.inject({ url })).statusCode, url).toBe(401);
    }
  });

  test('a valid read token on an admin route is 403; the admin token may do everything', async () => {
    const del = await server.inject({ method: 'DELETE', url: `/v1/recipients/${PEOPLE.noSign}`, headers: bearer(READ) });
    expect(del.statusCode).toBe(403);
    expect(del.json().error.code).toBe('E_FORBIDDEN');
    expect((await server.inject({ url: `/v1/recipients/${PEOPLE.noSign}/observations`, headers: bearer(READ) })).statusCode).toBe(403);
    expect((await server.inject({ url: `/v1/recipients/${PEOPLE.noSign}/observations` })).statusCode).toBe(401);
    // Nothing was erased by the refused request.
    expect((await server.inject({ url: `/v1/recipients/${PEOPLE.noSign}`, headers: bearer(ADMIN) })).json().recommendation).toBe('do-not-sign');

    expect((await server.inject({ url: `/v1/recipients/${PEOPLE.noSign}/observations`, headers: bearer(ADMIN) })).json().observations).toHaveLength(1);
    expect((await server.inject({ url: '/v1/stats', headers: bearer(ADMIN) })).statusCode).toBe(200);
    const ok = await server.inject({ method: 'DELETE', url: `/v1/recipients/${PEOPLE.noSign}`, headers: bearer(ADMIN) });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().rowsDeleted).toBeGreaterThan(0);
  });

  test('/healthz and /v1/ping are open', async () => {
    expect((await server.inject('/healthz')).statusCode).toBe(200);
    expect((await server.inject('/v1/ping')).json()).toEqual({ ok: true });
  });
});

describe('token configuration', () => {
  test('only an admin token: read routes need it too (no open reads by accident)', async () => {
    const tokens = tokensFrom({ admin: ADMIN });
    expect(() => authorize(tokens, 'read', undefined)).toThrow(expect.objectContaining({ code: 'E_AUTH' }));
    expect(() => authorize(tokens, 'read', `Bearer ${ADMIN}`)).not.toThrow();
    expect(() => authorize(tokensFrom({}), 'admin', undefined)).not.toThrow();
  });

  test('token files: first line trimmed; unreadable is E_SECRET, short is E_CONFIG, both name the key', async () => {
    const t = tempDir();
    try {
      writeFileSync(join(t.dir, 'read'), `${READ}\n`);
      writeFileSync(join(t.dir, 'short'), 'abc\n');
      const tokens = loadTokens({ readTokenFile: join(t.dir, 'read') });
      expect(() => authorize(tokens, 'read', `Bearer ${READ}`)).not.toThrow();
      expect(() => loadTokens({ adminTokenFile: join(t.dir, 'missing') })).toThrow(expect.objectContaining({ code: 'E_SECRET', message: expect.stringContaining('http.adminTokenFile') }));
      expect(() => loadTokens({ readTokenFile: join(t.dir, 'short') })).toThrow(expect.objectContaining({ code: 'E_CONFIG', message: expect.stringContaining('http.readTokenFile') }));
    } finally {
      t.cleanup();
    }
  });

  test('loopback detection', async () => {
    for (const h of ['127.0.0.1', 'localhost', '::1', '[::1]', '127.1.2.3']) expect(isLoopback(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.5', '192.168.1.1', 'census.internal', '128.0.0.1']) expect(isLoopback(h), h).toBe(false);
  });

  test('a non-loopback host without tokens refuses to start (E_CONFIG) and never binds', async () => {
    const t = tempDir();
    const app = openApp({ config: testConfig(join(t.dir, 'census.db')), logger: silentLogger() });
    try {
      for (const host of ['0.0.0.0', '::', '192.0.2.10']) {
        await expect(startServer({ app, tokens: tokensFrom({}), host, port: 0, publicDir: null })).rejects.toMatchObject({ code: 'E_CONFIG', message: expect.stringContaining('http.host') });
      }
      expect(() => assertSafeBinding('0.0.0.0', tokensFrom({ read: READ }))).not.toThrow();
      // On loopback with tokens, tokens are required.
      const { server, url } = await startServer({ app, tokens: tokensFrom({ read: READ }), host: '127.0.0.1', port: 0, publicDir: null });
      try {
        expect((await fetch(`${url}/v1/stats`)).status).toBe(401);
        expect((await fetch(`${url}/v1/stats`, { headers: bearer(READ) })).status).toBe(200);
      } finally {
        await server.close();
      }
    } finally {
      await app.close();
      t.cleanup();
    }
  });
});

const CLI = builtCli();

function run(args: string[], env: Record<string, string>): { done: Promise<{ code: number | null; stderr: string }>; child: ReturnType<typeof spawn>; stderr: () => string } {
  const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; stderr: string }>((resolve) => child.on('close', (code) => resolve({ code, stderr })));
  return { done, child, stderr: () => stderr };
}


/** The URL from serve's "serving" log line. */
function servingUrl(p: ReturnType<typeof run>): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "serving" line: ${p.stderr()}`)), 20_000);
    const check = (): void => {
      const m = /"url":"(http:\/\/[^"]+)"/.exec(p.stderr());
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    p.child.stderr!.on('data', check);
    check();
  });
}

describe.skipIf(!existsSync(CLI))('smime-census serve (built CLI)', () => {
  test('SIGTERM lets an in-flight export finish, then exits 0', async () => {
    const t = tempDir();
    try {
      const db = join(t.dir, 'c.db');
      const app = openApp({ config: testConfig(db), logger: silentLogger() });
      rawExec(app, (db) => bulkAddresses(db, 60_000, { reasonPad: 100 }));
      await app.close();
      const p = run(['--db', db, 'serve', '--port', '0', '--no-poll'], { CENSUS_LOG_LEVEL: 'info' });
      const url = await servingUrl(p);
      const res = await fetch(`${url}/v1/export.csv`);
      const reader = res.body!.getReader();
      const first = await reader.read();
      expect(first.done).toBe(false);
      // The export is in flight: ask the server to stop, then read the rest slowly.
      p.child.kill('SIGTERM');
      let text = new TextDecoder().decode(first.value);
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
        await new Promise((r) => setImmediate(r));
      }
      expect(text.trim().split('\r\n')).toHaveLength(60_001);
      const { code } = await p.done;
      expect(code).toBe(0);
      // New connections are refused once it has stopped.
      await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    } finally {
      t.cleanup();
    }
  });

  test('--host 0.0.0.0 without tokens exits with E_CONFIG before opening the database', async () => {
    const t = tempDir();
    try {
      const { done } = run(['--db', join(t.dir, 'c.db'), 'serve', '--host', '0.0.0.0', '--port', '0', '--no-poll'], {});
      const { code, stderr } = await done;
      expect(code).toBe(3);
      expect(stderr).toMatch(/refusing to listen on 0\.0\.0\.0 without tokens.*\[E_CONFIG\]/);
      expect(existsSync(join(t.dir, 'c.db'))).toBe(false);
      const bad = await run(['--db', join(t.dir, 'c.db'), 'serve', '--port', '80x'], {}).done;
      expect(bad.code).toBe(2);
    } finally {
      t.cleanup();
    }
  });

  test('serves with tokens from CENSUS_*_TOKEN_FILE, never logs them, and exits 0 on SIGTERM', async () => {
    const t = tempDir();
    try {
      writeFileSync(join(t.dir, 'read'), READ + '\n');
      writeFileSync(join(t.dir, 'admin'), ADMIN + '\n');
      const p = run(['--db', join(t.dir, 'c.db'), 'serve', '--port', '0', '--no-poll'], {
        CENSUS_READ_TOKEN_FILE: join(t.dir, 'read'),
        CENSUS_ADMIN_TOKEN_FILE: join(t.dir, 'admin'),
        CENSUS_LOG_LEVEL: 'info',
      });
      const url = await servingUrl(p);
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      expect((await fetch(`${url}/v1/recipients/x%40y.example`)).status).toBe(401);
      const r = await fetch(`${url}/v1/recipients/x%40y.example`, { headers: bearer(READ) });
      expect(await r.json()).toMatchObject({ address: 'x@y.example', recommendation: 'unknown' });
      expect((await fetch(`${url}/v1/recipients/x%40y.example`, { method: 'DELETE', headers: bearer(READ) })).status).toBe(403);
      p.child.kill('SIGTERM');
      const { code, stderr } = await p.done;
      expect(code).toBe(0);
      expect(stderr).toContain('"msg":"stopped"');
      expect(stderr).not.toContain(READ);
      expect(stderr).not.toContain(ADMIN);
      expect(stderr).not.toContain('x@y.example');
    } finally {
      t.cleanup();
    }
  });
});
