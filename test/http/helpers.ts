/**
 * Shared setup for the HTTP and library tests: a real SQLite database filled by importPaths
 * from header blocks written to a temp dir, with real client header values from the corpus
 * (test/fixtures/http/clients.json).
 */
import { afterAll, beforeAll } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { request as httpRequest, type Agent } from 'node:http';
import { loadConfig, type Config } from '../../src/config/index.js';
import { importPaths, openApp, silentLogger, type AppContext } from '../../src/app/index.js';

export const CLIENTS = JSON.parse(readFileSync(new URL('../fixtures/http/clients.json', import.meta.url), 'utf8')) as Record<
  'thunderbird' | 'outlook' | 'yahoo',
  { header: string; value: string; source: string }
>;

export type ClientName = keyof typeof CLIENTS;

export function tempDir(prefix = 'census-http-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

const hex = (n: number): string => randomBytes(Math.ceil(n / 2)).toString('hex').slice(0, n);

/** A Message-ID of the shape the client really writes (rules check it to spot forged headers). */
export function messageIdFor(client: ClientName): string {
  switch (client) {
    case 'thunderbird':
      return `${randomUUID()}@customer.example`;
    case 'outlook':
      return `${hex(12)}$${hex(8)}$${hex(8)}$@customer.example`;
    case 'yahoo':
      return `${Math.floor(Date.now() / 1000)}.${randomInt(10000, 99999)}.YahooMailNeo@web114411.mail.gq1.yahoo.com`;
  }
}

/** One header block from `from`, sent by `client`, `daysAgo` days ago. */
export function message(from: string, client: ClientName, daysAgo: number, id = messageIdFor(client)): string {
  const c = CLIENTS[client];
  const date = new Date(Date.now() - daysAgo * 86_400_000).toUTCString().replace('GMT', '+0000');
  return [
    `From: Customer <${from}>`,
    'To: Support <support@company.example>',
    `Date: ${date}`,
    `Message-ID: <${id}>`,
    'Subject: (subject removed)',
    'MIME-Version: 1.0',
    `${c.header}: ${c.value}`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    'body',
    '',
  ].join('\r\n');
}

/** Writes .eml files into a new folder under `dir` and returns the folder. */
export function writeMail(dir: string, name: string, messages: readonly string[]): string {
  const folder = join(dir, name);
  mkdirSync(folder, { recursive: true });
  messages.forEach((m, i) => writeFileSync(join(folder, `${String(i).padStart(4, '0')}.eml`), m));
  return folder;
}

/** Config for a test database (no file, no env: only the defaults plus what is given). */
export function testConfig(db: string, http: Partial<Config['http']> = {}): Config {
  const base = loadConfig({ env: {} });
  return { ...base, db, http: { ...base.http, ...http } };
}

export const PEOPLE = {
  signer: 'alice.tb@customer.example',
  outlook: 'bob.outlook@customer.example',
  noSign: 'carol.yahoo@customer.example',
} as const;

/** A database with three customers: Thunderbird (sign), Outlook (sign), Yahoo web (do-not-sign). */
export async function seededApp(dir: string, http: Partial<Config['http']> = {}): Promise<AppContext> {
  const db = join(dir, 'census.db');
  const app = openApp({ config: testConfig(db, http), logger: silentLogger() });
  const folder = writeMail(dir, 'seed', [
    message(PEOPLE.signer, 'thunderbird', 10),
    message(PEOPLE.signer, 'thunderbird', 3),
    message(PEOPLE.outlook, 'outlook', 5),
    message(PEOPLE.noSign, 'yahoo', 2),
  ]);
  await importPaths(app, [folder]);
  return app;
}

/**
 * A seededApp for the enclosing describe block: opened in its own temp dir before the block's
 * tests, closed and deleted after them. Read `app` inside hooks and tests.
 */
export function seededAppFor(http: Partial<Config['http']> = {}): { readonly app: AppContext; readonly dir: string } {
  const t = tempDir();
  let app: AppContext | undefined;
  beforeAll(async () => {
    app = await seededApp(t.dir, http);
  });
  afterAll(async () => {
    await app?.close();
    t.cleanup();
  });
  return {
    dir: t.dir,
    get app(): AppContext {
      if (!app) throw new Error('seededAppFor: the app opens in beforeAll; read it inside a hook or test');
      return app;
    },
  };
}

/**
 * Inserts `n` synthetic addresses straight into the tables with one bulk INSERT (a recursive
 * CTE): fast enough for 100k-1M rows, where importing mail would take minutes. Every row is a
 * valid address with a current `sign` or `do-not-sign` decision and no expiry.
 */
export function bulkAddresses(sqlite: import('better-sqlite3').Database, n: number, opts: { reasonPad?: number; clients?: boolean } = {}): void {
  const now = Date.now();
  const pad = 'x'.repeat(opts.reasonPad ?? 0);
  sqlite.exec('BEGIN');
  sqlite
    .prepare(
      `WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i + 1 < @n)
       INSERT INTO addresses (address, first_seen, last_seen, messages, last_verify_at, family, product, version, smime, client_at, recommendation, reason, decided_until, key_changed)
       SELECT printf('user%07d@bulk.example', i), @now, @now, 1, CASE WHEN i % 3 = 0 THEN NULL ELSE @now END,
              CASE WHEN i % 3 = 0 THEN 'yahoo-mail' ELSE 'thunderbird' END, CASE WHEN i % 3 = 0 THEN 'Yahoo Mail' ELSE 'Thunderbird' END, '102.10.0',
              CASE WHEN i % 3 = 0 THEN 'unknown' ELSE 'verify' END, @now,
              CASE WHEN i % 3 = 0 THEN 'do-not-sign' ELSE 'sign' END, 'bulk test row ' || @pad, NULL, 0
       FROM seq`,
    )
    .run({ n, now, pad });
  if (opts.clients) {
    sqlite
      .prepare(
        `UPDATE addresses SET clients = json_array(json_array(family, product, version, NULL, smime, 1, last_seen)) WHERE address LIKE '%@bulk.example'`,
      )
      .run();
  }
  sqlite.exec('COMMIT');
}

/** GET over a real socket (the agent's keep-alive pool): status and the body's bytes as sent. */
export function getOverSocket(url: string, agent: Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}
