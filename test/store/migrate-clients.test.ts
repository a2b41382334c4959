/**
 * The client list moved from its own table (address_clients) into the address row (SQLite
 * migration 0004, PostgreSQL 0002). A census written by the previous version — its migrations
 * applied by drizzle's migrator from a copy of the folder without the new one, then rows put
 * into address_clients as that version wrote them — is opened by today's store on both
 * dialects: every list must come back complete and in lookup order (most recent first, then
 * most messages, then the client key by its bytes), the old table and its index must be gone,
 * and the next ingest must add to the backfilled list.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { drizzle as drizzleSqlite } from 'drizzle-orm/better-sqlite3';
import { migrate as migrateSqlite } from 'drizzle-orm/better-sqlite3/migrator';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import { mailItem } from '../helpers/app.js';
import { withPostgres } from '../helpers/postgres-suite.js';
import { configSchema } from '../../src/config/index.js';
import { openApp, silentLogger, lookupOne } from '../../src/app/index.js';
import { clientKeyOf, openStore, type ClientRow } from '../../src/store/index.js';

const RULES = join(import.meta.dirname, '..', 'fixtures', 'rules');
const MIGRATIONS = join(import.meta.dirname, '..', '..', 'src', 'store');
const NOW = Date.now();
const T = NOW - 10 * 86_400_000;

const t = withPostgres('census-migrate-clients-');

/** A copy of a dialect's migrations folder with only the migrations before `firstNew`. */
function migrationsBefore(dialect: 'sqlite' | 'postgres', firstNew: string): string {
  const from = join(MIGRATIONS, dialect, 'migrations');
  const to = join(t.dir, `${dialect}-old-migrations`);
  mkdirSync(join(to, 'meta'), { recursive: true });
  const journal = JSON.parse(readFileSync(join(from, 'meta', '_journal.json'), 'utf8')) as { entries: Array<{ tag: string }> };
  const cut = journal.entries.findIndex((e) => e.tag === firstNew);
  expect(cut, `${firstNew} in the journal`).toBeGreaterThan(0);
  journal.entries = journal.entries.slice(0, cut);
  writeFileSync(join(to, 'meta', '_journal.json'), JSON.stringify(journal));
  for (const e of journal.entries) copyFileSync(join(from, `${e.tag}.sql`), join(to, `${e.tag}.sql`));
  for (const f of readdirSync(join(from, 'meta'))) if (f.endsWith('_snapshot.json')) copyFileSync(join(from, 'meta', f), join(to, 'meta', f));
  return to;
}

/** The old table's rows of `many@x.example`, in no particular order. */
const OLD_CLIENTS: ClientRow[] = [
  { family: 'thunderbird', product: 'Thunderbird', version: '115.0', platform: 'linux', smime: 'verify', count: 2, lastSeen: T },
  { family: 'outlook-windows', product: 'Microsoft Outlook', version: '16.0', platform: 'windows', smime: 'verify', count: 5, lastSeen: T + 1000 },
  { family: 'apple-mail', product: 'Apple Mail', version: null, platform: 'macos', smime: 'tolerate', count: 3, lastSeen: T },
  // Same time and count as Thunderbird: the client key decides ('a-mail…' before 'thunderbird…').
  { family: 'a-mail', product: null, version: null, platform: null, smime: 'unknown', count: 2, lastSeen: T },
];
/** getClients' order. */
const IN_ORDER = [OLD_CLIENTS[1], OLD_CLIENTS[2], OLD_CLIENTS[3], OLD_CLIENTS[0]];

const STATE_COLUMNS = 'address, first_seen, last_seen, messages, family, product, version, smime, client_at, recommendation, reason, decided_until, key_changed';
function oldRows(): { addresses: unknown[][]; clients: unknown[][] } {
  const state = (address: string) => [address, T - 1000, T + 1000, 12, 'outlook-windows', 'Microsoft Outlook', '16.0', 'verify', T + 1000, 'sign', 'all evidence is from clients that verify S/MIME', null, 0];
  return {
    addresses: [state('many@x.example'), state('one@x.example')],
    clients: [
      ...OLD_CLIENTS.map((c) => ['many@x.example', clientKeyOf(c), c.family, c.product, c.version, c.platform, c.smime, c.count, c.lastSeen]),
      ['one@x.example', clientKeyOf(OLD_CLIENTS[1]!), 'outlook-windows', 'Microsoft Outlook', '16.0', 'windows', 'verify', 12, T + 1000],
    ],
  };
}

const CLIENT_COLUMNS = 'address, client_key, family, product, version, platform, smime, count, last_seen';

let oldSeq = 0;
/** An old-version census of the dialect, with OLD_CLIENTS in address_clients; returns its `db`. */
async function oldCensus(dialect: 'sqlite' | 'postgres'): Promise<string> {
  const { addresses, clients } = oldRows();
  if (dialect === 'sqlite') {
    const file = join(t.dir, `old-${++oldSeq}.db`);
    const db = new Database(file);
    try {
      migrateSqlite(drizzleSqlite(db), { migrationsFolder: migrationsBefore('sqlite', '0004_clients_in_address_row') });
      const a = db.prepare(`INSERT INTO addresses (${STATE_COLUMNS}) VALUES (${STATE_COLUMNS.split(', ').map(() => '?').join(', ')})`);
      const c = db.prepare(`INSERT INTO address_clients (${CLIENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`);
      for (const r of addresses) a.run(...r);
      for (const r of clients) c.run(...r);
    } finally {
      db.close();
    }
    return file;
  }
  const url = await t.server.createDatabase();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await migratePg(drizzlePg({ client }), { migrationsFolder: migrationsBefore('postgres', '0002_clients_in_address_row') });
    for (const r of addresses) await client.query(`INSERT INTO addresses (${STATE_COLUMNS}) VALUES (${STATE_COLUMNS.split(', ').map((_, i) => `$${i + 1}`).join(', ')})`, r);
    for (const r of clients) await client.query(`INSERT INTO address_clients (${CLIENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, r);
  } finally {
    await client.end();
  }
  return url;
}

/** Tables and indexes of the census (old ones must be gone after the migration). */
async function relations(dialect: 'sqlite' | 'postgres', db: string): Promise<string[]> {
  if (dialect === 'sqlite') {
    const d = new Database(db, { readonly: true });
    try {
      return d.prepare(`SELECT name FROM sqlite_master WHERE type IN ('table', 'index') ORDER BY name`).pluck().all() as string[];
    } finally {
      d.close();
    }
  }
  const name = new URL(db).pathname.slice(1);
  return (await t.server.psql(name, `SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' ORDER BY 1`)).trim().split('\n');
}

describe('a SQLite census of the previous version opened read-only (the library beside an old poller)', () => {
  it('is refused with E_DB saying how to migrate it, and left as it was', async () => {
    const file = await oldCensus('sqlite');
    expect(() => openStore(file, { readonly: true })).toThrow(expect.objectContaining({ code: 'E_DB', message: expect.stringMatching(/older smime-census: open it once for writing/) }));
    const d = new Database(file, { readonly: true });
    try {
      expect(d.prepare(`SELECT count(*) FROM address_clients`).pluck().get()).toBe(OLD_CLIENTS.length + 1);
    } finally {
      d.close();
    }
  });
});

describe.each(['sqlite', 'postgres'] as const)('the client list moves into the address row on %s', (dialect) => {
  it('an existing census keeps every client list, in lookup order, and the next ingest adds to it', async () => {
    const db = await oldCensus(dialect);
    const ctx = openApp({ config: configSchema.parse({ db, rulesDirs: [RULES], erasureKeyFile: join(t.dir, `${dialect}.key`) }), logger: silentLogger() });
    try {
      await ctx.store.ready();
      expect(await ctx.store.getClients('many@x.example')).toEqual(IN_ORDER);
      expect(await ctx.store.getClients('one@x.example')).toEqual([{ ...OLD_CLIENTS[1], count: 12 }]);
      const looked = await lookupOne(ctx.store, ctx.config.policy, 'many@x.example', NOW);
      expect(looked.clients.map((c) => [c.family, c.count, c.lastSeen])).toEqual(IN_ORDER.map((c) => [c!.family, c!.count, new Date(c!.lastSeen).toISOString()]));
      const names = await relations(dialect, db);
      expect(names).toContain('addresses');
      expect(names.filter((n) => n.startsWith('address_clients'))).toEqual([]);

      // New mail of the address: its client joins the backfilled list at the top (latest), the rest unchanged.
      expect(await ctx.pipeline.ingestBatch([mailItem(NOW, 'new-1', 'many@x.example', 'TestMail Verify/1.0', 1)])).toMatchObject({ stored: 1 });
      const after = await ctx.store.getClients('many@x.example');
      expect(after).toHaveLength(5);
      expect(after[0]!.count).toBe(1);
      expect(after[0]!.lastSeen).toBeGreaterThan(T + 1000);
      expect(after.slice(1)).toEqual(IN_ORDER);
    } finally {
      await ctx.close();
    }
  });
});
