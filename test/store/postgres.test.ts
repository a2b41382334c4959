/**
 * What only the PostgreSQL store has to get right (issue 10), against a real server started by
 * the test setup: no lost update when two processes write one address at the same moment,
 * migrations run once when several processes start together, a restarted server is a
 * temporary failure, `--db postgres://` through the CLI really reaches PostgreSQL with the
 * password from CENSUS_DB_PASSWORD_FILE and never shows it, TLS is verified by default, and an
 * erasure leaves no row version of the address behind.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { headerBlock } from '../helpers/app.js';
import { withPostgres } from '../helpers/postgres-suite.js';
import { configSchema } from '../../src/config/index.js';
import { openApp, silentLogger, show, forget, type AppContext } from '../../src/app/index.js';
import { openStore, type CensusStore } from '../../src/store/index.js';
import type { SourceItem } from '../../src/core/index.js';
import { builtCli } from '../helpers/built.js';
import { noStackOnFailure } from '../helpers/cli.js';

const RULES = join(import.meta.dirname, '..', 'fixtures', 'rules');
const CLI = builtCli();
const JOURNAL = join(import.meta.dirname, '..', '..', 'src', 'store', 'postgres', 'migrations', 'meta', '_journal.json');
const DAY = 86_400_000;
const NOW = Date.now();

const t = withPostgres('census-pg-', { tls: true });

let seq = 0;
function open(db: string): AppContext {
  return openApp({ config: configSchema.parse({ db, erasureKeyFile: join(t.dir, 'erasure.key'), rulesDirs: [RULES] }), logger: silentLogger() });
}

const MAILERS = ['TestMail Verify/1.0', 'TestMail Tolerate/2.0', 'TestMail Broken/3.0', 'Unknown Program 1'];
function item(key: string, from: string, mailer: string, at: number): SourceItem {
  return { sourceKey: key, headerBytes: headerBlock({ From: from, Date: new Date(at).toUTCString(), 'Message-ID': `<${key}@test>`, 'X-Mailer': mailer }), receivedAt: new Date(at) };
}

/** Everything stored about an address, without row ids and ingest times (which differ between runs). */
async function picture(ctx: AppContext, address: string) {
  const s = await show(ctx, address);
  return { state: s.state, clients: s.clients, observations: s.observations.map(({ id: _i, createdAt: _c, ...o }) => o) };
}

async function expectRejects(p: Promise<unknown>, code: string, pattern: RegExp): Promise<Error> {
  const e = await p.then(
    () => null,
    (x: unknown) => x as Error,
  );
  expect(e, 'expected a rejection').not.toBeNull();
  expect(e).toMatchObject({ code });
  expect(e!.message).toMatch(pattern);
  expect(e!.message).not.toContain(t.server.password);
  return e!;
}

describe('PostgreSQL store under concurrency', () => {
  it('two processes ingesting mail of the same addresses at the same moment lose no update (equal to a sequential import)', async () => {
    const addresses = ['p1@x.example', 'p2@x.example', 'p3@x.example'];
    // 24 batches, each with mail of every address, in dates that interleave across batches.
    const batches = Array.from({ length: 24 }, (_, b) =>
      Array.from({ length: 12 }, (_, i) => item(`b${b}-${i}`, addresses[i % 3]!, MAILERS[(b + i) % 4]!, NOW - ((b * 12 + i) * 7919 % 300) * DAY / 10)),
    );
    const shared = await t.server.createDatabase();
    const one = open(shared);
    const two = open(shared);
    const reference = open(await t.server.createDatabase());
    try {
      await Promise.all([one.store.ready(), two.store.ready(), reference.store.ready()]);
      for (const b of batches) await reference.pipeline.ingestBatch(b);
      // Two pools, two sessions: each commits every other batch, as fast as it can.
      await Promise.all([0, 1].map(async (k) => {
        const ctx = k === 0 ? one : two;
        for (let b = k; b < batches.length; b += 2) await ctx.pipeline.ingestBatch(batches[b]!);
      }));
      for (const a of addresses) {
        const got = await picture(one, a);
        expect(got.state!.messages).toBe(96);
        expect(got).toEqual(await picture(reference, a));
      }
      expect((await one.store.stats()).byMonth).toEqual((await reference.store.stats()).byMonth);
      expect((await one.store.getCounters()).stored).toBe(288);
    } finally {
      await Promise.all([one.close(), two.close(), reference.close()]);
    }
  });

  it('four processes starting on an empty database at once migrate it exactly once', async () => {
    const db = await t.server.createDatabase();
    const stores = Array.from({ length: 4 }, () => openStore(db));
    try {
      await Promise.all(stores.map((s) => s.ready()));
      const journal = JSON.parse(readFileSync(JOURNAL, 'utf8')) as { entries: unknown[] };
      const name = new URL(db).pathname.slice(1);
      expect(Number((await t.server.psql(name, 'SELECT count(*) FROM drizzle.__drizzle_migrations')).trim())).toBe(journal.entries.length);
      expect(await Promise.all(stores.map((s) => s.health()))).toEqual(stores.map(() => ({ ok: true })));
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });
});

describe('PostgreSQL store when the server goes away', () => {
  it('a restart cuts every connection: the next batch reconnects, and a batch sent during the outage commits once the server is back', async () => {
    const ctx = open(await t.server.createDatabase());
    try {
      expect(await ctx.pipeline.ingestBatch([item('r1', 'r@x.example', MAILERS[0]!, NOW - 3 * DAY)])).toMatchObject({ stored: 1 });
      await t.server.restart();
      expect(await ctx.pipeline.ingestBatch([item('r2', 'r@x.example', MAILERS[0]!, NOW - 2 * DAY)])).toMatchObject({ stored: 1 });
      await t.server.halt();
      const during = ctx.pipeline.ingestBatch([item('r3', 'r@x.example', MAILERS[1]!, NOW - DAY)]);
      await new Promise((r) => setTimeout(r, 300));
      await t.server.resume();
      expect(await during).toMatchObject({ stored: 1, duplicates: 0 });
      expect((await ctx.store.getState('r@x.example'))!.messages).toBe(3);
      expect(await ctx.store.getCounters()).toMatchObject({ stored: 3, read: 3 });
    } finally {
      await t.server.resume();
      await ctx.close();
    }
  });

  it('an unreachable server is E_DB at start and unhealthy, without the password in any message', async () => {
    const store = openStore(`postgres://census:${t.server.password}@127.0.0.1:1/census`);
    try {
      await expectRejects(store.ready(), 'E_DB', /ECONNREFUSED|connect/);
      const h = await store.health();
      expect(h.ok).toBe(false);
      expect(store.location).not.toContain(t.server.password);
      expect(h.error ?? '').not.toContain(t.server.password);
    } finally {
      await store.close();
    }
  });

  it('a read-only store answers lookups and refuses writes', async () => {
    const db = await t.server.createDatabase();
    const rw = open(db);
    await rw.pipeline.ingestBatch([item('ro1', 'ro@x.example', MAILERS[0]!, NOW - DAY)]);
    await rw.close();
    const ro = openApp({ config: configSchema.parse({ db, erasureKeyFile: join(t.dir, 'erasure.key'), rulesDirs: [RULES] }), logger: silentLogger(), readonly: true });
    try {
      await ro.store.ready();
      expect(ro.store.readonly).toBe(true);
      expect((await ro.store.getState('ro@x.example'))!.messages).toBe(1);
      await expect(ro.pipeline.ingestBatch([item('ro2', 'ro@x.example', MAILERS[0]!, NOW)])).rejects.toMatchObject({ code: 'E_DB' });
    } finally {
      await ro.close();
    }
  });
});

describe('selecting PostgreSQL: the CLI, the password, TLS', () => {
  function cli(args: string[], env: Record<string, string>) {
    const r = spawnSync(process.execPath, [CLI, ...args], {
      encoding: 'utf8',
      env: { ...process.env, CENSUS_LOG_LEVEL: 'info', CENSUS_ERASURE_KEY_FILE: join(t.dir, 'cli-erasure.key'), ...env },
      timeout: 90_000,
    });
    return noStackOnFailure({ code: r.status, stdout: r.stdout, stderr: r.stderr }, { ...process.env, ...env });
  }

  it('--db postgres://… imports into PostgreSQL, with the password from CENSUS_DB_PASSWORD_FILE, never shown', async () => {
    const name = `cli_${++seq}`;
    await t.server.createDatabase(name);
    const mail = join(t.dir, 'cli-mail');
    mkdirSync(mail);
    for (let i = 0; i < 5; i++) writeFileSync(join(mail, `m${i}.eml`), headerBlock({ From: `c${i % 2}@cli.example`, Date: new Date(NOW - i * DAY).toUTCString(), 'Message-ID': `<cli-${i}@test>`, 'X-Mailer': MAILERS[i % 2]! }));
    const pwFile = join(t.dir, 'db-password');
    writeFileSync(pwFile, t.server.password + '\n', { mode: 0o600 });
    const url = t.server.urlWithoutPassword(name);
    const imported = cli(['--db', url, 'import', '--json', mail], { CENSUS_DB_PASSWORD_FILE: pwFile });
    expect(imported.code, imported.stderr).toBe(0);
    expect(JSON.parse(imported.stdout)).toMatchObject({ stored: 5 });
    // The rows are in PostgreSQL (read by psql, not by the code under test), and nothing became a file.
    expect((await t.server.psql(name, 'SELECT count(*) FROM observations')).trim()).toBe('5');
    const stats = cli(['stats', '--json'], { CENSUS_DB: url, CENSUS_DB_PASSWORD_FILE: pwFile });
    expect(stats.code, stats.stderr).toBe(0);
    expect(JSON.parse(stats.stdout)).toMatchObject({ addresses: 2, messages: 5 });
    for (const out of [imported, stats]) expect(out.stdout + out.stderr).not.toContain(t.server.password);

    writeFileSync(pwFile, 'not-the-password\n');
    const refused = cli(['--db', url, 'stats'], { CENSUS_DB_PASSWORD_FILE: pwFile });
    expect(refused.code).toBe(5);
    expect(refused.stderr).toMatch(/password authentication failed/);
    expect(refused.stderr).not.toContain('not-the-password');
  });

  it('db: postgres://… in a config file selects PostgreSQL (it was resolved against the config folder as a SQLite path)', async () => {
    const name = `cfg_${++seq}`;
    await t.server.createDatabase(name);
    const d = join(t.dir, 'cfg-url');
    mkdirSync(join(d, 'mail'), { recursive: true });
    for (let i = 0; i < 3; i++) writeFileSync(join(d, 'mail', `m${i}.eml`), headerBlock({ From: `f${i}@cfg.example`, Date: new Date(NOW - i * DAY).toUTCString(), 'Message-ID': `<cfg-${i}@test>`, 'X-Mailer': MAILERS[i % 2]! }));
    const pwFile = join(d, 'db-password');
    writeFileSync(pwFile, t.server.password + '\n', { mode: 0o600 });
    const config = join(d, 'census.json');
    writeFileSync(config, JSON.stringify({ db: t.server.urlWithoutPassword(name) }));
    const imported = cli(['--config', config, 'import', '--json', join(d, 'mail')], { CENSUS_DB_PASSWORD_FILE: pwFile });
    expect(imported.code, imported.stderr).toBe(0);
    expect((await t.server.psql(name, 'SELECT count(*) FROM observations')).trim()).toBe('3');
    // nothing but what the test wrote: no SQLite file named after the URL beside the config
    expect(readdirSync(d).sort()).toEqual(['census.json', 'db-password', 'mail']);
  });

  it('TLS is verified: sslmode=verify-full with the CA connects over TLS, sslmode=require without the CA is refused', async () => {
    const name = `tls_${++seq}`;
    const plain = await t.server.createDatabase(name);
    const verified = openStore(`${plain}?sslmode=verify-full&sslrootcert=${encodeURIComponent(t.server.caFile!)}&application_name=census-tls-test`);
    try {
      await verified.ready();
      expect(await verified.health()).toEqual({ ok: true });
      const ssl = await t.server.psql(name, `SELECT bool_and(s.ssl) AND count(*) > 0 FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.application_name = 'census-tls-test'`);
      expect(ssl.trim()).toBe('t');
    } finally {
      await verified.close();
    }
    // Same server, certificate not trusted: refused, not silently accepted (libpq's `require` would accept it).
    const unverified = openStore(`${plain}?sslmode=require`);
    try {
      await expectRejects(unverified.ready(), 'E_DB', /self[- ]signed|certificate/i);
    } finally {
      await unverified.close();
    }
    // The CA from the store options works as sslrootcert does.
    const byOption = openStore(`${plain}?sslmode=require`, { tls: { caFile: t.server.caFile! } });
    try {
      await byOption.ready();
    } finally {
      await byOption.close();
    }
    // And from CENSUS_DB_CA_FILE, through the CLI.
    const pwFile = join(t.dir, 'tls-password');
    writeFileSync(pwFile, t.server.password, { mode: 0o600 });
    const env = { CENSUS_DB: `${t.server.urlWithoutPassword(name)}?sslmode=verify-full`, CENSUS_DB_PASSWORD_FILE: pwFile };
    const ok = cli(['stats', '--json'], { ...env, CENSUS_DB_CA_FILE: t.server.caFile! });
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ addresses: 0 });
    const refused = cli(['stats', '--json'], env);
    expect(refused.code).toBe(5);
    expect(refused.stderr).toMatch(/self[- ]signed|certificate/i);
  });

  it('a URL that would weaken TLS or carries an unknown parameter is a configuration error naming it', () => {
    const base = t.server.urlWithoutPassword('x').replace('census@', `census:${t.server.password}@`);
    for (const [query, pattern] of [
      ['?sslmode=prefer', /sslmode=prefer falls back/],
      ['?sslmode=allow', /sslmode=allow falls back/],
      ['?sslmode=bogus', /sslmode=bogus/],
      ['?sslmod=require', /unknown parameter "sslmod"/],
    ] as const) {
      let err: unknown;
      try {
        openStore(base + query);
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ code: 'E_CONFIG' });
      expect((err as Error).message).toMatch(pattern);
      expect((err as Error).message).not.toContain(t.server.password);
    }
  });
});

describe('erasure on PostgreSQL', () => {
  it('no row version and no index entry of an erased address is left (deleted, then vacuumed with index cleanup)', async () => {
    const name = `erase_${++seq}`;
    const ctx = open(await t.server.createDatabase(name));
    const target = 'erin.secret@customer-e.example';
    try {
      const mail: SourceItem[] = [];
      for (let i = 0; i < 200; i++) mail.push(item(`er-${i}`, i % 10 === 0 ? target : `other${i}@customer-o.example`, MAILERS[i % 4]!, NOW - i * DAY));
      await ctx.pipeline.ingestBatch(mail);
      // A census of some size: with the target's rows on under 2% of the pages, PostgreSQL's VACUUM
      // would skip index cleanup unless told (INDEX_CLEANUP ON), leaving the address in index entries.
      await t.server.psql(name, `INSERT INTO observations (source_key, address, message_id, effective_at, fingerprint, kind, smime, confidence, evidence, created_at)
        SELECT 'bulk' || i, 'bulk' || (i % 5000) || '@customer-b.example', 'bulk' || i || '@customer-b.example', ${NOW - DAY}, '{}', 'client', 'verify', 1, 1, ${NOW} FROM generate_series(1, 60000) i; VACUUM ANALYZE observations`);
      // A second batch updates the target's rows: their old versions are dead tuples too.
      await ctx.pipeline.ingestBatch([item('er-late', target, MAILERS[0]!, NOW)]);
      await forget(ctx, target);
      const tables = (await t.server.psql(name, `SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`)).trim().split('\n');
      expect(tables).toEqual(expect.arrayContaining(['addresses', 'observations', 'address_months', 'certificates']));
      // Live rows: no column of any row mentions the address.
      for (const table of tables) expect((await t.server.psql(name, `SELECT count(*) FROM "${table}" t WHERE t::text LIKE '%erin.secret%'`)).trim(), table).toBe('0');
      // Every tuple on every heap page, live or dead: none holds the address (VACUUM made the dead ones unused).
      await t.server.psql(name, 'CREATE EXTENSION IF NOT EXISTS pageinspect');
      const needle = Buffer.from('erin.secret').toString('hex');
      const tuples = await t.server.psql(
        name,
        `SELECT c.relname, count(*) FROM pg_class c, generate_series(0, (pg_relation_size(c.oid) / current_setting('block_size')::int) - 1) AS b,
           heap_page_items(get_raw_page(c.relname, b::int)) h
         WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND h.t_data IS NOT NULL AND position('\\x${needle}'::bytea IN h.t_data) > 0 GROUP BY 1`,
      );
      expect(tuples.trim()).toBe('');
      // Every index entry (the items of B-tree leaf pages, without the page's high key; block 0 is
      // the metapage): none holds the address. VACUUM runs with INDEX_CLEANUP ON: for a few dead
      // rows in a large table PostgreSQL would skip index cleanup and leave these entries.
      // Separator keys (high keys, inner pages) copied from the address are not entries and can
      // remain until the index is rebuilt; the README says so.
      const entries = await t.server.psql(
        name,
        `SELECT c.relname, count(*) FROM pg_class c JOIN pg_am am ON am.oid = c.relam AND am.amname = 'btree',
           generate_series(1, (pg_relation_size(c.oid) / current_setting('block_size')::int) - 1) AS b,
           LATERAL bt_page_stats(c.relname::text, b::int) st, LATERAL bt_page_items(c.relname::text, b::int) i
         WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'i' AND st.type = 'l' AND NOT (st.btpo_next <> 0 AND i.itemoffset = 1)
           AND replace(i.data, ' ', '') LIKE '%${needle}%' GROUP BY 1`,
      );
      expect(entries.trim()).toBe('');
      const others = await picture(ctx, 'other1@customer-o.example');
      expect(others.observations).toHaveLength(1);
    } finally {
      await ctx.close();
    }
  });
});
