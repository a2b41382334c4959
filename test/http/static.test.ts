/**
 * The dashboard's static folder (src/http/static.ts over @fastify/static): files at `/`, nothing
 * outside the folder and no dotfiles however the path is encoded (issue 11, issue 12 item 10).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { openApp, silentLogger, type AppContext } from '../../src/app/index.js';
import { buildServer } from '../../src/http/server.js';
import { tokensFrom } from '../../src/http/auth.js';
import { tempDir, testConfig } from './helpers.js';

describe('static dashboard folder', () => {
  const t = tempDir();
  let app: AppContext;
  let server: FastifyInstance;
  beforeAll(async () => {
    const pub = join(t.dir, 'public');
    mkdirSync(join(pub, '.git'), { recursive: true });
    writeFileSync(join(pub, 'index.html'), '<!doctype html><title>census</title>');
    writeFileSync(join(pub, 'app.js'), 'console.log(1)');
    writeFileSync(join(pub, '.env'), 'DOTENV_SECRET=1');
    writeFileSync(join(pub, '.secret'), 'DOTFILE_SECRET');
    writeFileSync(join(pub, '.git', 'config'), 'GITCONFIG_SECRET');
    writeFileSync(join(t.dir, 'secret.txt'), 'OUTSIDE_SECRET');
    app = openApp({ config: testConfig(join(t.dir, 'census.db')), logger: silentLogger() });
    server = await buildServer({ app, tokens: tokensFrom({ read: 'r'.repeat(20) }), publicDir: pub });
  });
  afterAll(async () => {
    await server.close();
    app.close();
    t.cleanup();
  });

  test('serves index.html at / and the files with their types, without a token', async () => {
    const index = await server.inject('/');
    expect(index.statusCode).toBe(200);
    expect(index.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(index.headers['x-content-type-options']).toBe('nosniff');
    expect(index.body).toContain('<title>census</title>');
    const js = await server.inject('/app.js');
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toMatch(/^(text|application)\/javascript; charset=utf-8$/);
    expect(js.body).toBe('console.log(1)');
    // The API itself still needs the token.
    expect((await server.inject('/v1/stats')).statusCode).toBe(401);
  });

  test('nothing outside the folder, however the path is written', async () => {
    for (const url of ['/../secret.txt', '/..%2fsecret.txt', '/%2e%2e/secret.txt', '/%252e%252e%252fsecret.txt', '/..%252fsecret.txt']) {
      const r = await server.inject(url);
      expect(r.statusCode, url).toBeGreaterThanOrEqual(400);
      expect(r.body, url).not.toContain('OUTSIDE_SECRET');
    }
  });

  test('dotfiles are never served, also when double-encoded (GET /%252eenv, /%252esecret)', async () => {
    const urls = ['/.env', '/.secret', '/%2eenv', '/%2Esecret', '/%252eenv', '/%252esecret', '/%252Eenv', '/.git/config', '/%252egit/config', '/%252egit%252fconfig'];
    for (const url of urls) {
      const r = await server.inject(url);
      expect(r.statusCode, url).toBe(404);
      expect(r.body, url).not.toMatch(/DOTENV_SECRET|DOTFILE_SECRET|GITCONFIG_SECRET/);
    }
  });
});

describe('the shipped dashboard (src/http/public)', () => {
  const t = tempDir();
  let app: AppContext;
  let server: FastifyInstance;
  beforeAll(async () => {
    app = openApp({ config: testConfig(join(t.dir, 'census.db')), logger: silentLogger() });
    // The default folder: the one `serve` ships.
    server = await buildServer({ app, tokens: tokensFrom({}) });
  });
  afterAll(async () => {
    await server.close();
    app.close();
    t.cleanup();
  });

  const IMPORT = /^\s*import\s[^'"]*from\s+'\.\/([a-z-]+\.js)';/gm;

  test('every ES module the page loads is served as JavaScript (module scripts refuse any other type under nosniff), and each is preloaded by index.html', async () => {
    const index = (await server.inject('/')).body;
    const entry = /<script type="module" src="([a-z-]+\.js)"><\/script>/.exec(index)?.[1];
    expect(entry).toBe('app.js');
    // The module graph as the browser walks it: the entry, then each module's static imports.
    const seen = new Set<string>();
    const queue = [entry!];
    while (queue.length) {
      const name = queue.shift()!;
      if (seen.has(name)) continue;
      seen.add(name);
      const r = await server.inject('/' + name);
      expect(r.statusCode, name).toBe(200);
      expect(r.headers['content-type'], name).toMatch(/^(text|application)\/javascript; charset=utf-8$/);
      expect(r.headers['x-content-type-options'], name).toBe('nosniff');
      for (const m of r.body.matchAll(IMPORT)) queue.push(m[1]!);
    }
    expect(seen.size).toBeGreaterThan(1);
    const preloaded = [...index.matchAll(/<link rel="modulepreload" href="([a-z-]+\.js)">/g)].map((m) => m[1]);
    // A module missing here would load one round trip late; one listed but not imported is dead weight.
    expect(new Set(preloaded)).toEqual(new Set([...seen].filter((n) => n !== entry)));
  });
});
