/**
 * The README's Sieve recipe (issue #13): Dovecot's LDA runs a Sieve script that hands each
 * message to `smime-census import -` (vnd.dovecot.execute :pipe). Sieve cannot make the MTA
 * retry — a failed action ends in implicit keep and LDA exit 0 — so the recipe files what the
 * census could not take into a folder as well, and the census imports that folder later:
 * nothing lost, nothing doubled.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startDovecot, type DovecotServer } from '../helpers/dovecot.js';
import { CLI, ensureBuilt, runCli } from '../source/imap/helpers.js';
import { loadTemplates, makeMessages } from '../source/imap/messages.js';
import { builtCliForOtherUsers } from '../helpers/built.js';

let s: DovecotServer;
let conf: string;
let db: string;
let censusDir: string;

beforeAll(async () => {
  ensureBuilt();
  // Dovecot's LDA runs the census as the mail user.
  builtCliForOtherUsers();
  s = await startDovecot();
  const owner = statSync(s.maildir);
  censusDir = join(s.dir, 'census');
  mkdirSync(censusDir, { mode: 0o755 });
  chownSync(censusDir, owner.uid, owner.gid);
  db = join(censusDir, 'census.db');
  const bin = join(s.dir, 'sieve-bin');
  mkdirSync(bin, { mode: 0o755 });
  // The recipe's wrapper: Sieve runs programs from sieve_execute_bin_dir by name, without arguments of its own.
  writeFileSync(join(bin, 'smime-census-import'), `#!/bin/sh\nexec ${process.execPath} ${CLI} --db ${db} import -\n`, { mode: 0o755 });
  const script = join(s.dir, 'census.sieve');
  writeFileSync(script, readFileSync(new URL('../fixtures/sieve/census.sieve', import.meta.url)));
  conf = join(s.dir, 'lda.conf');
  writeFileSync(
    conf,
    readFileSync(join(s.dir, 'dovecot.conf'), 'utf8') +
      `\nprotocol lda {\n  mail_plugins = sieve\n}\nplugin {\n  sieve_before = ${script}\n  sieve_plugins = sieve_extprograms\n  sieve_global_extensions = +vnd.dovecot.execute\n  sieve_execute_bin_dir = ${bin}\n}\n`,
  );
  execFileSync('sievec', ['-c', conf, script]);
});
afterAll(async () => {
  await s?.stop();
});

function lda(msg: Buffer): number | null {
  return spawnSync('/usr/lib/dovecot/dovecot-lda', ['-c', conf, '-d', s.user, '-f', 'sender@customer.example'], { input: msg }).status;
}

function stored(): { rows: number; distinct: number } {
  const h = new Database(db, { readonly: true });
  try {
    const r = h.prepare('SELECT count(*) AS n, count(DISTINCT message_id) AS d FROM observations').get() as { n: number; d: number };
    return { rows: r.n, distinct: r.d };
  } finally {
    h.close();
  }
}

const retryDir = () => join(s.maildir, '.Census-Retry');
const count = (dir: string) => ['new', 'cur'].reduce((n, sub) => n + (existsSync(join(dir, sub)) ? readdirSync(join(dir, sub)).length : 0), 0);

describe('Sieve recipe (vnd.dovecot.execute :pipe)', () => {
  it('every delivered message is stored once; with the database unwritable the copies wait in Census-Retry and are imported once later', async () => {
    const ok = makeMessages(loadTemplates(), 40_000, 5);
    for (const m of ok) expect(lda(m)).toBe(0);
    expect(stored()).toEqual({ rows: 5, distinct: 5 });
    expect(count(retryDir())).toBe(0);

    for (const f of readdirSync(censusDir)) chmodSync(join(censusDir, f), 0o444);
    chmodSync(censusDir, 0o555);
    const later = makeMessages(loadTemplates(), 41_000, 3);
    // The mailbox still gets every message (implicit keep): the customer is never bounced.
    for (const m of later) expect(lda(m)).toBe(0);
    expect(count(retryDir())).toBe(3);
    expect(readFileSync(join(s.dir, 'dovecot.log'), 'utf8')).toMatch(/Terminated with non-zero exit code 75/);

    chmodSync(censusDir, 0o755);
    for (const f of readdirSync(censusDir)) chmodSync(join(censusDir, f), 0o644);
    const r = await runCli(['--db', db, 'import', retryDir(), '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ read: 3, stored: 3 });
    // Importing the whole mailbox again doubles nothing.
    const again = await runCli(['--db', db, 'import', s.maildir, '--json']);
    expect(JSON.parse(again.stdout)).toMatchObject({ stored: 0, duplicates: 8 });
    expect(stored()).toEqual({ rows: 8, distinct: 8 });
  });
});
