/**
 * Helpers for the IMAP tests: app/DB setup, a canonical dump of what the store learned, a
 * reference ingest of the same bytes without IMAP, and running the built CLI as a child.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { loadConfig } from '../../../src/config/index.js';
import { imapAccountSchema, POLL_DEFAULTS, type ImapAccountConfig, type PollConfig } from '../../../src/config/imap.js';
import { openApp, type AppContext } from '../../../src/app/context.js';
import { silentLogger } from '../../../src/app/logger.js';
import type { DovecotServer } from '../../helpers/dovecot.js';
import { built } from '../../helpers/built.js';
import { noStackOnFailure } from '../../helpers/cli.js';

export const ROOT = resolve(import.meta.dirname, '..', '..', '..');
export const CLI = join(ROOT, 'dist', 'cli', 'main.js');

/** Fails (with the command to run) when dist/, which the child-process tests run, is missing or older than src/. */
export function ensureBuilt(): void {
  built('cli/commands/poll.js');
}

export function tempDir(prefix = 'imap-test-'): string {
  return mkdtempSync(join(tmpdir(), `smime-census-${prefix}`));
}

/** An account on the test server; the password comes from env CENSUS_TEST_IMAP_PASSWORD. */
export function testAccount(s: DovecotServer, over: Record<string, unknown> = {}): ImapAccountConfig {
  return imapAccountSchema.parse({
    name: 'support',
    host: s.host,
    port: s.port,
    user: s.user,
    passwordEnv: 'CENSUS_TEST_IMAP_PASSWORD',
    caFile: s.caFile,
    ...over,
  });
}

export function testPoll(over: Partial<PollConfig> = {}): PollConfig {
  return { ...POLL_DEFAULTS, backoffInitialMs: 100, backoffMaxMs: 1_000, ...over };
}

/** A fresh app on a real SQLite file (migrations applied by the store). */
export function testApp(dir: string, name = 'census.db'): AppContext {
  const config = loadConfig({ env: {} });
  return openApp({ config, logger: silentLogger(), dbPath: join(dir, name) });
}

/**
 * Everything the store learned, in a canonical order, without ids and processing timestamps:
 * two runs over the same mail must produce identical dumps.
 */
export function canonicalDump(dbFile: string, opts: { sourceKeys?: boolean } = {}): { observations: unknown[]; addresses: unknown[]; clients: unknown[] } {
  const db = new Database(dbFile, { readonly: true });
  try {
    const observations = (db.prepare('SELECT * FROM observations ORDER BY address, message_id').all() as Array<Record<string, unknown>>).map((r) => {
      const { id: _id, created_at: _c, received_at: _r, source_key, ...rest } = r;
      return opts.sourceKeys ? { source_key, ...rest } : rest;
    });
    const addresses = (db.prepare('SELECT * FROM addresses ORDER BY address').all() as Array<Record<string, unknown>>).map((r) => {
      const { updated_at: _u, ...rest } = r;
      return rest;
    });
    const clients = db.prepare('SELECT address, clients FROM addresses ORDER BY address').all();
    return { observations, addresses, clients };
  } finally {
    db.close();
  }
}

export function checkpoints(dbFile: string): Array<{ account: string; folder: string; uid_validity: string; last_uid: number }> {
  if (!existsSync(dbFile)) return [];
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT account, folder, uid_validity, last_uid FROM checkpoints ORDER BY account, folder').all() as never;
  } catch {
    return [];
  } finally {
    db.close();
  }
}

/** Writes a config file for the CLI (password in a 0600 file, never in argv). */
export function writeCliConfig(dir: string, s: DovecotServer, accounts: Array<Record<string, unknown>>, poll: Record<string, unknown> = {}, name = 'census.json'): string {
  const pw = join(dir, 'imap-password');
  writeFileSync(pw, s.password + '\n', { mode: 0o600 });
  const file = join(dir, name);
  writeFileSync(
    file,
    JSON.stringify(
      {
        db: join(dir, 'census.db'),
        accounts: accounts.map((a) => ({ host: s.host, port: s.port, user: s.user, passwordFile: pw, caFile: s.caFile, ...a })),
        poll: { backoffInitialMs: 100, backoffMaxMs: 1000, ...poll },
      },
      null,
      2,
    ),
  );
  return file;
}

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI; `onSpawn` may kill it. */
export function runCli(args: string[], opts: { env?: Record<string, string>; onSpawn?: (pid: number, kill: (s: NodeJS.Signals) => void) => void } = {}): Promise<CliRun> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    // 'close', not 'exit': stderr is complete only once the pipes are closed.
    child.once('close', (code, signal) => {
      try {
        resolvePromise(noStackOnFailure({ code, signal, stdout, stderr }, opts.env));
      } catch (e) {
        reject(e);
      }
    });
    opts.onSpawn?.(child.pid!, (s) => child.kill(s));
  });
}

export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, stepMs = 25): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
