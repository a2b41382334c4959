/**
 * Several processes on one census, on SQLite and on PostgreSQL (issue 10):
 * - 4 concurrent `smime-census import` processes whose files share sender addresses: the
 *   per-address state (and the export) equals a sequential import of the same files — no lost
 *   update when two processes update one address at the same moment;
 * - 2 `serve` processes on one database: the same answers, and an erasure through one is seen
 *   by the other at once (nothing is cached in a process's memory).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { loadTemplates, makeMessages } from '../source/imap/messages.js';
import { canonicalDump, ensureBuilt, runCli, tempDir, waitFor } from '../source/imap/helpers.js';
import { startCli, stopChild, type Child } from './helpers.js';

const FILES = 4;
const PER_FILE = 200;

let pg: PostgresServer;
let root: string;
const importDirs: string[] = [];
/** The sequential SQLite import everything is compared with. */
let reference: { dump: ReturnType<typeof canonicalDump>; csv: string };

interface Census {
  /** Config file of the census (db, erasure key). */
  cfg: string;
  env: Record<string, string>;
  sqliteFile: string | null;
}

let seq = 0;
async function census(kind: 'sqlite' | 'postgres'): Promise<Census> {
  const d = join(root, `c${++seq}`);
  mkdirSync(d);
  const cfg = join(d, 'census.json');
  if (kind === 'sqlite') {
    writeFileSync(cfg, JSON.stringify({ db: join(d, 'census.db') }));
    return { cfg, env: { CENSUS_LOG_LEVEL: 'warn' }, sqliteFile: join(d, 'census.db') };
  }
  const url = await pg.createDatabase();
  // The password from a secret file, never in argv or the config file.
  const pw = join(d, 'db-password');
  writeFileSync(pw, decodeURIComponent(new URL(url).password) + '\n', { mode: 0o600 });
  writeFileSync(cfg, JSON.stringify({ db: pg.urlWithoutPassword(new URL(url).pathname.slice(1)), erasureKeyFile: join(d, 'erasure.key') }));
  return { cfg, env: { CENSUS_LOG_LEVEL: 'warn', CENSUS_DB_PASSWORD_FILE: pw }, sqliteFile: null };
}

async function cli(c: Census, args: string[]): Promise<string> {
  const r = await runCli(['--config', c.cfg, ...args], { env: c.env });
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

beforeAll(async () => {
  ensureBuilt();
  root = tempDir('scale-import-');
  const templates = loadTemplates();
  // makeMessages cycles through 500 sender addresses: every file has mail of the same people.
  for (let k = 0; k < FILES; k++) {
    const d = join(root, `mail${k}`);
    mkdirSync(d);
    for (const [i, m] of makeMessages(templates, 200_000 + k * PER_FILE, PER_FILE).entries()) writeFileSync(join(d, `${i}.eml`), m);
    importDirs.push(d);
  }
  pg = await startPostgres();
  const ref = await census('sqlite');
  for (const d of importDirs) await cli(ref, ['import', d]);
  reference = { dump: canonicalDump(ref.sqliteFile!, { sourceKeys: true }), csv: await cli(ref, ['export']) };
  expect(reference.dump.addresses.length).toBeGreaterThan(100);
}, 300_000);

afterAll(async () => {
  await pg?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe.each(['sqlite', 'postgres'] as const)('several processes on one %s census', (kind) => {
  it(`${FILES} concurrent importers of files sharing addresses: per-address state and export equal a sequential import`, async () => {
    const c = await census(kind);
    // The first open migrates; the importers then start together.
    const runs = await Promise.all(importDirs.map((d) => runCli(['--config', c.cfg, 'import', d], { env: c.env })));
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    if (c.sqliteFile) expect(canonicalDump(c.sqliteFile, { sourceKeys: true })).toEqual(reference.dump);
    // Export bytes are the same on both stores for the same input (the contract suite), so the
    // sequential SQLite import is the reference for PostgreSQL too.
    expect(await cli(c, ['export'])).toBe(reference.csv);
  }, 300_000);

  it('2 serve processes on one database give the same answers; an erasure through one is seen by the other', async () => {
    const c = await census(kind);
    for (const d of importDirs.slice(0, 2)) await cli(c, ['import', d]);
    const servers: Child[] = [0, 1].map(() => startCli(['--config', c.cfg, 'serve', '--no-poll', '--port', '0'], { ...c.env, CENSUS_LOG_LEVEL: 'info' }));
    try {
      const urls: string[] = [];
      for (const s of servers) {
        expect(await waitFor(() => /"url":"(http:[^"]+)"/.test(s.stdout() + s.stderr()), 60_000), s.stderr()).toBe(true);
        urls.push(/"url":"(http:[^"]+)"/.exec(s.stdout() + s.stderr())![1]!);
      }
      const addresses = reference.dump.addresses.slice(0, 40).map((a) => (a as { address: string }).address);
      const answers = async (u: string) => {
        const r = await fetch(`${u}/v1/recipients/lookup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ addresses, clients: true }) });
        expect(r.status).toBe(200);
        return r.json();
      };
      const stats = async (u: string) => {
        const { generatedAt: _at, ...figures } = (await (await fetch(`${u}/v1/stats`)).json()) as Record<string, unknown>;
        return figures;
      };
      expect(await answers(urls[1]!)).toEqual(await answers(urls[0]!));
      // The dashboard's figures come from the database, not from one process's memory.
      expect(await stats(urls[1]!)).toEqual(await stats(urls[0]!));

      const victim = addresses[3]!;
      const one = async (u: string) => (await (await fetch(`${u}/v1/recipients/${encodeURIComponent(victim)}`)).json()) as { reason: string; recommendation: string };
      expect((await one(urls[1]!)).reason).not.toBe('never seen');
      const del = await fetch(`${urls[0]}/v1/recipients/${encodeURIComponent(victim)}`, { method: 'DELETE' });
      expect(del.status).toBe(200);
      expect(await one(urls[1]!)).toMatchObject({ recommendation: 'unknown', reason: 'never seen' });
      expect(await answers(urls[1]!)).toEqual(await answers(urls[0]!));
      // New mail of the other files arrives through an importer while both serve: both see it.
      await cli(c, ['import', importDirs[2]!]);
      expect(await answers(urls[1]!)).toEqual(await answers(urls[0]!));
      expect(await stats(urls[1]!)).toEqual(await stats(urls[0]!));
    } finally {
      const ends = await Promise.all(servers.map(stopChild));
      for (const [i, e] of ends.entries()) expect(e.code, servers[i]!.stderr()).toBe(0);
    }
  }, 300_000);
});
