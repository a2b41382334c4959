/**
 * The Node library: openCensus reads the database read-only (also while another process
 * imports), and createCensusClient gives the same answers through the real HTTP server.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { lookupOne, type AppContext } from '../../src/app/index.js';
import { openCensus, createCensusClient, type CensusRecommender } from '../../src/index.js';
import { startServer, tokensFrom } from '../../src/http/index.js';
import { message, PEOPLE, seededApp, tempDir, writeMail } from '../http/helpers.js';
import { rawExec, rawQuery } from '../helpers/app.js';

const READ = 'library-read-token-0123456789';

describe('openCensus (in-process, read-only)', () => {
  const t = tempDir();
  let app: AppContext;
  let db: string;
  beforeAll(async () => {
    app = await seededApp(t.dir);
    db = app.store.location;
  });
  afterAll(async () => {
    await app.close();
    t.cleanup();
  });

  test('recommend and recommendMany answer like the lookup use case, in input order', async () => {
    const census = openCensus({ db });
    try {
      const r = await census.recommend(PEOPLE.signer.toUpperCase());
      expect(r).toEqual({ ...(await lookupOne(app.store, app.config.policy, PEOPLE.signer)), clients: [] });
      expect((await census.recommend(PEOPLE.signer, { clients: true })).clients[0]?.family).toBe('thunderbird');
      const many = await census.recommendMany([PEOPLE.noSign, 'new@unknown.example', PEOPLE.outlook]);
      expect(many.map((x) => [x.address, x.recommendation])).toEqual([
        [PEOPLE.noSign, 'do-not-sign'],
        ['new@unknown.example', 'unknown'],
        [PEOPLE.outlook, 'sign'],
      ]);
      expect(census.recommendSync(PEOPLE.outlook).recommendation).toBe('sign');
      expect(census.recommendManySync([])).toEqual([]);
    } finally {
      census.close();
    }
  });

  test('an invalid address rejects with E_ADDRESS; a missing database is E_DB', async () => {
    const census = openCensus({ db });
    try {
      await expect(census.recommend('nope')).rejects.toMatchObject({ code: 'E_ADDRESS' });
      await expect(census.recommendMany(['a@b.example', 'nope'])).rejects.toMatchObject({ code: 'E_ADDRESS' });
    } finally {
      census.close();
    }
    expect(() => openCensus({ db: join(t.dir, 'missing.db') })).toThrow(expect.objectContaining({ code: 'E_DB' }));
    expect(existsSync(join(t.dir, 'missing.db'))).toBe(false);
  });

  test('never writes: an expired cached decision is re-decided in memory only', async () => {
    // Mark the cached decision as expired (the writer's job would be to refresh it).
    rawExec(app, (db) => db.prepare('UPDATE addresses SET decided_until = 1 WHERE address = ?').run(PEOPLE.signer));
    const before = statSync(db).mtimeMs;
    const census = openCensus({ db });
    expect((await census.recommend(PEOPLE.signer)).recommendation).toBe('sign');
    census.close();
    expect(statSync(db).mtimeMs).toBe(before);
    expect(rawQuery(app, 'SELECT decided_until AS d FROM addresses WHERE address = ?', PEOPLE.signer)).toEqual([{ d: 1 }]);
  });
});

const DIST_APP = fileURLToPath(new URL('../../dist/app/index.js', import.meta.url));

describe.skipIf(!existsSync(DIST_APP))('reading while another process imports', () => {
  test('the library keeps answering (no SQLITE_BUSY) and sees the new addresses as they commit', async () => {
    const t = tempDir();
    const app = await seededApp(t.dir);
    const db = app.store.location;
    await app.close();
    const N = 3000;
    const msgs = Array.from({ length: N }, (_, i) => message(`bulk${i}@import.example`, i % 2 ? 'thunderbird' : 'yahoo', 1 + (i % 20)));
    const folder = writeMail(t.dir, 'bulk', msgs);
    // The writer is a second process running the built import use case in small batches.
    const script = `
      const { openApp, silentLogger, ingestAll } = await import(${JSON.stringify(DIST_APP)});
      const { loadConfig } = await import(${JSON.stringify(fileURLToPath(new URL('../../dist/config/index.js', import.meta.url)))});
      const { readFileSource } = await import(${JSON.stringify(fileURLToPath(new URL('../../dist/source/file/index.js', import.meta.url)))});
      const base = loadConfig({ env: {} });
      const app = openApp({ config: { ...base, db: ${JSON.stringify(db)} }, logger: silentLogger() });
      const c = await ingestAll(app, readFileSource(${JSON.stringify(folder)}), 50);
      await app.close();
      process.stdout.write(JSON.stringify(c));
    `;
    const census = openCensus({ db });
    try {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
      let running = true;
      void exited.then(() => (running = false));
      const probe = Array.from({ length: 200 }, (_, i) => `bulk${i * 15}@import.example`);
      let rounds = 0;
      const seen: number[] = [];
      while (running) {
        const rs = await census.recommendMany([PEOPLE.signer, ...probe]);
        expect(rs[0]!.recommendation).toBe('sign');
        seen.push(rs.filter((r) => r.recommendation !== 'unknown').length);
        rounds++;
        await new Promise((r) => setTimeout(r, 2));
      }
      expect(await exited, err).toBe(0);
      expect(JSON.parse(out)).toMatchObject({ read: N, stored: N });
      // Answers changed while the import ran: we read committed batches, not a frozen snapshot.
      expect(rounds).toBeGreaterThan(3);
      expect(new Set(seen).size).toBeGreaterThan(2);
      const final = await census.recommendMany(probe);
      expect(final.every((r) => r.recommendation !== 'unknown')).toBe(true);
    } finally {
      census.close();
      t.cleanup();
    }
  });
});

describe('createCensusClient against the real server', () => {
  const t = tempDir();
  let app: AppContext;
  let server: FastifyInstance;
  let url: string;
  beforeAll(async () => {
    app = await seededApp(t.dir);
    ({ server, url } = await startServer({ app, tokens: tokensFrom({ read: READ }), host: '127.0.0.1', port: 0, publicDir: null }));
  });
  afterAll(async () => {
    await server.close();
    await app.close();
    t.cleanup();
  });

  test('same answers as the in-process census, batched in chunks', async () => {
    const client: CensusRecommender = createCensusClient({ url, token: READ, batchSize: 2 });
    const census = openCensus({ db: app.store.location });
    try {
      const addresses = [PEOPLE.outlook, 'x@unknown.example', PEOPLE.noSign, PEOPLE.signer, 'y@unknown.example'];
      expect(await client.recommendMany(addresses)).toEqual(await census.recommendMany(addresses));
      expect(await client.recommendMany([])).toEqual([]);
      const one = await client.recommend(PEOPLE.signer);
      expect(one).toEqual(await census.recommend(PEOPLE.signer, { clients: true }));
    } finally {
      census.close();
    }
  });

  test('errors arrive as AppError with the server code', async () => {
    await expect(createCensusClient({ url, token: 'wrong-token-0123456789' }).recommend(PEOPLE.signer)).rejects.toMatchObject({ code: 'E_AUTH' });
    await expect(createCensusClient({ url }).recommendMany([PEOPLE.signer])).rejects.toMatchObject({ code: 'E_AUTH' });
    await expect(createCensusClient({ url, token: READ }).recommend('nope')).rejects.toMatchObject({ code: 'E_ADDRESS' });
    await expect(createCensusClient({ url, token: READ }).recommendMany(['a@b.example', 'nope'])).rejects.toMatchObject({ code: 'E_ADDRESS', message: expect.stringContaining('addresses[1]') });
    // Nothing listens on port 1: the census is unavailable.
    await expect(createCensusClient({ url: 'http://127.0.0.1:1', token: READ }).recommend(PEOPLE.signer)).rejects.toMatchObject({ code: 'E_DB' });
    expect(() => createCensusClient({ url: 'ftp://x' })).toThrow(expect.objectContaining({ code: 'E_CONFIG' }));
    expect(() => createCensusClient({ url, batchSize: 0 })).toThrow(expect.objectContaining({ code: 'E_CONFIG' }));
  });
});

describe('the nodemailer plugin consumes both recommenders', () => {
  test('decideSigning gives the same decision in-process and over HTTP', async () => {
    const { decideSigning } = await import('../../src/index.js');
    const t = tempDir();
    const app = await seededApp(t.dir);
    const { server, url } = await startServer({ app, tokens: tokensFrom({ read: READ }), host: '127.0.0.1', port: 0, publicDir: null });
    const census = openCensus({ db: app.store.location });
    try {
      for (const rec of [census, createCensusClient({ url, token: READ })]) {
        expect(await decideSigning([PEOPLE.signer, PEOPLE.outlook.toUpperCase()], 'all', rec)).toEqual({ sign: true, reason: 'every recipient: sign' });
        expect((await decideSigning([PEOPLE.signer, PEOPLE.noSign], 'all', rec)).sign).toBe(false);
        expect((await decideSigning([PEOPLE.noSign, PEOPLE.outlook], 'any', rec)).sign).toBe(true);
      }
    } finally {
      census.close();
      await server.close();
      await app.close();
      t.cleanup();
    }
  });
});
