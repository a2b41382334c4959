/**
 * Helpers for the multi-process tests: long-running CLI children (pollers, servers) that a test
 * can signal and wait for, and a read of the lease table from the outside.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { CLI, ROOT } from '../source/imap/helpers.js';

export interface Child {
  proc: ChildProcess;
  pid: number;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code (null after a signal) and signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts the built CLI in the background (secrets only through env and files, never argv). */
export function startCli(args: string[], env: Record<string, string> = {}): Child {
  const proc = spawn(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  // A test that fails half-way must not leave pollers running on the machine.
  const onExit = () => proc.kill('SIGKILL');
  process.once('exit', onExit);
  void exited.then(() => process.off('exit', onExit));
  return { proc, pid: proc.pid!, stdout: () => out, stderr: () => err, exited };
}

/** Stops a child gracefully (SIGTERM) and returns how it ended. */
export async function stopChild(c: Child): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGTERM');
  return c.exited;
}

export interface LeaseRow {
  account: string;
  folder: string;
  owner: string;
  token: number;
  expires_at: number;
}

/** The lease rows of a SQLite census (empty while the file or table does not exist yet). */
export function leaseRows(dbFile: string): LeaseRow[] {
  if (!existsSync(dbFile)) return [];
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    return db.prepare(`SELECT account, folder, owner, token, expires_at FROM leases WHERE account NOT LIKE '~%' ORDER BY account, folder`).all() as LeaseRow[];
  } catch {
    return [];
  } finally {
    db.close();
  }
}

/** The pid in a default lease owner id (`host:pid:random`). */
export function ownerPid(owner: string): number {
  return Number(owner.split(':').at(-2));
}
