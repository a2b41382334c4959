/**
 * Mail pushed in by an MTA (issue #13): `smime-census import -` exits 0 or 75 (EX_TEMPFAIL)
 * only, and the README's Postfix pipe(8) recipe, run by a real throwaway Postfix, stores every
 * message once — also across a database that was unwritable for a while (Postfix defers and
 * retries, nothing is bounced, lost or doubled).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { startPostfix, type PostfixServer } from '../helpers/postfix.js';
import { ensureBuilt, tempDir, waitFor } from '../source/imap/helpers.js';
import { loadTemplates, makeMessages } from '../source/imap/messages.js';
import { builtBin, builtCliForOtherUsers } from '../helpers/built.js';
import { runBuiltCli, type CliResult } from '../helpers/cli.js';

const run = promisify(execFile);
const EX_TEMPFAIL = 75;

/** Runs `import -` with `input` on stdin, through the package's bin, as an MTA recipe's `smime-census` does. */
function importStdin(args: string[], input: Buffer | string, flags: string[] = []): Promise<CliResult> {
  return runBuiltCli([...args, 'import', '-', ...flags], input, [], {}, builtBin());
}

/**
 * Waits until `count()` reaches `target`, giving up only when it has not grown for `stallMs`:
 * deliveries that keep arriving on a slow machine are progress, a stuck queue is not.
 */
async function waitWhileProgressing(count: () => number, target: number, stallMs: number): Promise<{ reached: boolean; count: number }> {
  let last = count();
  let lastChange = Date.now();
  while (last < target) {
    if (Date.now() - lastChange > stallMs) return { reached: false, count: last };
    await new Promise((r) => setTimeout(r, 500));
    const now = count();
    if (now !== last) [last, lastChange] = [now, Date.now()];
  }
  return { reached: true, count: last };
}

function observationCount(db: string): { rows: number; distinct: number } {
  if (!existsSync(db)) return { rows: 0, distinct: 0 };
  const h = new Database(db, { readonly: true, fileMustExist: true });
  try {
    const r = h.prepare('SELECT count(*) AS rows, count(DISTINCT message_id) AS distinct_ids FROM observations').get() as { rows: number; distinct_ids: number };
    return { rows: r.rows, distinct: r.distinct_ids };
  } catch {
    return { rows: 0, distinct: 0 };
  } finally {
    h.close();
  }
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
beforeAll(() => {
  ensureBuilt();
  // Postfix's pipe(8) runs the census as nobody.
  builtCliForOtherUsers();
});

describe('import - (standard input)', () => {
  it('stores one message, is idempotent on Message-ID, reads an mbox with --mbox, and exits 75 when the database cannot be written', async () => {
    const d = tempDir('stdin-');
    dirs.push(d);
    const db = join(d, 'census.db');
    const [m1, m2, m3] = makeMessages(loadTemplates(), 500, 3);
    const first = await importStdin(['--db', db], m1!, ['--json']);
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ read: 1, stored: 1, duplicates: 0 });
    expect(JSON.parse((await importStdin(['--db', db], m1!, ['--json'])).stdout)).toMatchObject({ read: 1, stored: 0, duplicates: 1 });
    const mbox = [m2!, m3!].map((m) => `From sender@customer.example Mon Jan  1 00:00:00 2024\n${m.toString('latin1').replace(/\r\n/g, '\n').replace(/^From /gm, '>From ')}\n`).join('');
    expect(JSON.parse((await importStdin(['--db', db], mbox, ['--json', '--mbox'])).stdout)).toMatchObject({ read: 2, stored: 2 });
    // An unreadable message is skipped (counted), never a failure the MTA would bounce.
    expect((await importStdin(['--db', db], 'this is not mail\n')).code).toBe(0);
    // Our own problems are temporary failures: a database folder that does not exist, a bad config, a usage error.
    writeFileSync(join(d, 'a-file'), '');
    for (const args of [['--db', join(d, 'a-file', 'census.db')], ['--config', join(d, 'no-such-config.yaml')], ['--db', db, '--no-such-flag']]) {
      const r = await importStdin(args, m1!);
      expect(r.code, args.join(' ')).toBe(EX_TEMPFAIL);
      expect(r.stderr.trim().split('\n').filter((l) => l.startsWith('smime-census:')).length || r.stderr.length).toBeGreaterThan(0);
    }
  });
});

describe('Postfix pipe(8) recipe', () => {
  let pf: PostfixServer;
  let d: string;
  let censusDir: string;
  let db: string;
  // The number: 500 deliveries, one `import -` process each (two at a time, as the
  // transport allows). Each costs ~0.3 s of CPU idle and well over 2 s at load ~34, so no fixed
  // budget fits: the first WARM_UP deliveries measure this machine's cost per delivery now, and
  // the rest may take STALL_FACTOR times that per delivery between two stored messages, however
  // long all of them take. The test's own timeout is only the last resort against a hang.
  const N = Number(process.env.CENSUS_TEST_PIPE_MESSAGES ?? 500);
  const WARM_UP = 10;
  const STALL_FACTOR = 30;
  const MIN_STALL_MS = 60_000;
  const LAST_RESORT_MS = N * 20_000;
  beforeAll(async () => {
    d = tempDir('postfix-pipe-');
    dirs.push(d);
    chmodSync(d, 0o755);
    // The pipe runs as an unprivileged user (the recipe: a `census` system user; here nobody).
    censusDir = join(d, 'census');
    mkdirSync(censusDir, { mode: 0o755 });
    chownSync(censusDir, 65534, 65534);
    db = join(censusDir, 'census.db');
    const config = join(d, 'census.json');
    writeFileSync(config, JSON.stringify({ db, logLevel: 'warn' }), { mode: 0o644 });
    const transport = join(d, 'transport');
    writeFileSync(transport, 'support@example.test census:\n');
    pf = await startPostfix({
      mailboxes: ['support', 'alice'],
      mainCf: [`transport_maps = texthash:${transport}`, 'census_destination_recipient_limit = 1', 'census_destination_concurrency_limit = 2'].join('\n'),
      masterCf: `census unix - n n - 2 pipe\n  flags=Rq user=nobody argv=${process.execPath} ${builtBin()} --config ${config} import -`,
    });
  });
  afterAll(async () => {
    await pf?.stop();
  });

  async function sendmail(messages: Buffer[]): Promise<void> {
    for (const m of messages) {
      await new Promise<void>((resolve, reject) => {
        const p = execFile('/usr/sbin/sendmail', ['-C', pf.configDir, '-f', 'sender@customer.example', '-i', '--', 'support@example.test'], { env: { ...process.env, MAIL_CONFIG: pf.configDir } }, (e) => (e ? reject(e) : resolve()));
        p.stdin!.end(m);
      });
    }
  }

  it(`${N} messages sent with sendmail are all stored once`, async () => {
    const msgs = makeMessages(loadTemplates(), 20_000, N);
    const t0 = Date.now();
    await sendmail(msgs.slice(0, WARM_UP));
    expect(await waitFor(() => observationCount(db).rows >= WARM_UP, 120_000, 100)).toBe(true);
    const perDeliveryMs = (Date.now() - t0) / WARM_UP;
    const stallMs = Math.max(MIN_STALL_MS, perDeliveryMs * STALL_FACTOR);
    await sendmail(msgs.slice(WARM_UP));
    const waited = await waitWhileProgressing(() => observationCount(db).rows, N, stallMs);
    expect(waited, `${perDeliveryMs.toFixed(0)} ms per delivery in the warm-up; no delivery for ${stallMs} ms`).toMatchObject({ reached: true });
    expect(await waitFor(() => pf.queued() === 0, stallMs, 500)).toBe(true);
    console.info(`${N} deliveries: ${perDeliveryMs.toFixed(0)} ms each in the warm-up, ${((Date.now() - t0) / N).toFixed(0)} ms each overall`);
    expect(observationCount(db)).toEqual({ rows: N, distinct: N });
    expect(pf.log().match(/relay=census, .*status=sent/g)?.length).toBe(N);
    expect(pf.log()).not.toMatch(/status=bounced/);
  }, LAST_RESORT_MS);

  it('an unwritable database: Postfix defers (EX_TEMPFAIL), then delivers once it is writable; nothing lost or doubled', async () => {
    const before = observationCount(db).rows;
    const files = ['', '-wal', '-shm', '.key'].map((s) => db + s).filter((f) => existsSync(f));
    for (const f of files) chmodSync(f, 0o444);
    chmodSync(censusDir, 0o555);
    const M = 5;
    await sendmail(makeMessages(loadTemplates(), 30_000, M));
    expect(await waitFor(() => (pf.log().match(/relay=census, .*status=deferred/g)?.length ?? 0) >= M, 120_000, 200)).toBe(true);
    expect(pf.log()).not.toMatch(/status=bounced/);
    expect(observationCount(db).rows).toBe(before);
    expect(pf.queued()).toBeGreaterThanOrEqual(M);
    chmodSync(censusDir, 0o755);
    for (const f of files) chmodSync(f, 0o644);
    await run('/usr/sbin/postqueue', ['-c', pf.configDir, '-f'], { env: { ...process.env, MAIL_CONFIG: pf.configDir } });
    expect(await waitFor(() => observationCount(db).rows >= before + M && pf.queued() === 0, 120_000, 200)).toBe(true);
    expect(observationCount(db)).toEqual({ rows: before + M, distinct: before + M });
    expect(pf.log()).not.toMatch(/status=bounced/);
    expect(readFileSync(join(pf.dir, 'maillog'), 'utf8')).toMatch(/status=deferred \(temporary failure/);
  });
});
