/**
 * `smime-census store copy` (issue 10 item 6): a SQLite census copied into another SQLite file
 * and into PostgreSQL through the store contract — everything equal (rows, export bytes,
 * erasures that still hold), resumable after an interruption without doubles, and the copy
 * keeps working as a census (new mail gets fresh ids).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { loadTemplates, makeMessages } from '../source/imap/messages.js';
import { canonicalDump, ensureBuilt, runCli, tempDir } from '../source/imap/helpers.js';
import { copyCensus } from '../../src/app/copy.js';
import { openStore, type CensusStore } from '../../src/store/index.js';
import { EXIT_CODES } from '../../src/cli/exit-codes.js';

let pg: PostgresServer;
let root: string;
let source: string;
let mailA: string;
let mailB: string;
const ENV = { CENSUS_LOG_LEVEL: 'warn' };
let erased = '';

async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runCli(args, { env: { ...ENV, ...env } });
}

function writeMail(dir: string, from: number, n: number): string {
  mkdirSync(dir);
  for (const [i, m] of makeMessages(loadTemplates(), from, n).entries()) writeFileSync(join(dir, `${i}.eml`), m);
  return dir;
}

beforeAll(async () => {
  ensureBuilt();
  root = tempDir('scale-copy-');
  pg = await startPostgres();
  source = join(root, 'census.db');
  mailA = writeMail(join(root, 'mailA'), 300_000, 600);
  mailB = writeMail(join(root, 'mailB'), 301_000, 100);
  const r = await cli(['--db', source, 'import', mailA]);
  expect(r.code, r.stderr).toBe(0);
  // An erased address: the copy must keep it erased (erasure list and key).
  erased = (canonicalDump(source).addresses[5] as { address: string }).address;
  const f = await cli(['--db', source, 'forget', erased]);
  expect(f.code, f.stderr).toBe(0);
}, 300_000);

afterAll(async () => {
  await pg?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

async function exportOf(db: string, env: Record<string, string> = {}): Promise<string> {
  const r = await cli(['--db', db, 'export'], env);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

describe('store copy', () => {
  it('SQLite to SQLite: every row, the export and the erasures are the same in the copy', async () => {
    const target = join(root, 'copy.db');
    const r = await cli(['store', 'copy', '--from', source, '--to', target, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { verified: boolean; tables: Array<{ table: string; rows: number; copied: number }> };
    expect(report.verified).toBe(true);
    expect(report.tables.find((t) => t.table === 'observations')!.copied).toBeGreaterThan(500);
    expect(canonicalDump(target, { sourceKeys: true })).toEqual(canonicalDump(source, { sourceKeys: true }));
    expect(await exportOf(target)).toBe(await exportOf(source));
    expect(readFileSync(`${target}.key`, 'utf8')).toBe(readFileSync(`${source}.key`, 'utf8'));
    // Re-reading the erased address's mail into the copy stores nothing of it.
    expect((await cli(['--db', target, 'import', mailA])).code).toBe(0);
    expect(canonicalDump(target).addresses.some((a) => (a as { address: string }).address === erased)).toBe(false);
    // A second copy into the now non-empty target is refused (exit 2) instead of mixing two censuses.
    const again = await cli(['store', 'copy', '--from', source, '--to', target]);
    expect(again.code).toBe(EXIT_CODES.E_USAGE);
    expect(again.stderr).toMatch(/--resume/);
  });

  it('an interrupted copy resumes where it stopped, with no row twice, and is then verified', async () => {
    const target = join(root, 'resumed.db');
    const from = openStore(source, { readonly: true });
    const to = openStore(target);
    let pages = 0;
    // The target's connection breaks after a few pages (a crash of the copying process, as the store sees it).
    const breaking: CensusStore = Object.assign(Object.create(to) as CensusStore, {
      writeRows: async (...a: Parameters<CensusStore['writeRows']>) => {
        if (++pages === 4) throw new Error('connection lost');
        return to.writeRows(...a);
      },
    });
    await expect(copyCensus(from, breaking, { pageSize: 100 })).rejects.toThrow('connection lost');
    await from.close();
    const partial = await to.countRows('observations');
    await to.close();
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(canonicalDump(source).observations.length);
    writeFileSync(`${target}.key`, readFileSync(`${source}.key`));

    const r = await cli(['store', 'copy', '--from', source, '--to', target, '--resume', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { tables: Array<{ table: string; rows: number; copied: number }> };
    const obs = report.tables.find((t) => t.table === 'observations')!;
    // Only what was missing was written.
    expect(obs.copied).toBe(obs.rows - partial);
    expect(canonicalDump(target, { sourceKeys: true })).toEqual(canonicalDump(source, { sourceKeys: true }));
  });

  it('SQLite to PostgreSQL: the copy answers and exports the same, and carries on as a census (new mail, fresh ids)', async () => {
    const url = await pg.createDatabase();
    const pw = join(root, 'pg-password');
    writeFileSync(pw, decodeURIComponent(new URL(url).password) + '\n', { mode: 0o600 });
    const db = pg.urlWithoutPassword(new URL(url).pathname.slice(1));
    const env = { CENSUS_DB_PASSWORD_FILE: pw, CENSUS_ERASURE_KEY_FILE: join(root, 'pg-erasure.key') };
    const r = await cli(['store', 'copy', '--from', source, '--to', db], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/verified: row counts equal, export identical/);
    // Without a progress bar (no terminal), and never the password.
    expect(r.stdout + r.stderr).not.toContain(decodeURIComponent(new URL(url).password));
    expect(await exportOf(db, env)).toBe(await exportOf(source));
    const someone = (canonicalDump(source).addresses[0] as { address: string }).address;
    const look = async (d: string, e: Record<string, string> = {}) => (await cli(['--db', d, 'lookup', someone, '--json'], e)).stdout;
    expect(await look(db, env)).toBe(await look(source));

    // New mail into both: the copy stays equal (identity sequences continue after the copied ids).
    const target2 = join(root, 'continued.db');
    expect((await cli(['store', 'copy', '--from', source, '--to', target2])).code).toBe(0);
    expect((await cli(['--db', db, 'import', mailB], env)).code).toBe(0);
    expect((await cli(['--db', target2, 'import', mailB])).code).toBe(0);
    expect(await exportOf(db, env)).toBe(await exportOf(target2));
    // The erased address stays erased in PostgreSQL too (same key, same list).
    expect((await cli(['--db', db, 'import', mailA], env)).code).toBe(0);
    expect(await exportOf(db, env)).not.toContain(erased);
  });
});
