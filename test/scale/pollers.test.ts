/**
 * Several `smime-census poll` processes on one census against one real Dovecot with two
 * accounts of three folders each (issue 10): the folders are shared through leases, and the
 * final database equals a single poller's — also when one poller is SIGKILLed mid-backfill
 * (its folders are taken over within 30 s), and, on PostgreSQL, when the database server is
 * restarted mid-backfill (every poller reconnects and finishes). Folders share sender
 * addresses, so pollers update the same addresses at the same moment: a lost update would show
 * in the comparison. On old main (postgres.js) the restart test fails: a poller dies of the
 * driver's uncaught TypeError on a cut connection (porsager/postgres#1154).
 *
 * Size: CENSUS_SCALE_MESSAGES messages per folder (default 600, to stay within the test budget;
 * the full size is 3,000: CENSUS_SCALE_MESSAGES=3000, a few minutes on 2 cores).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { startDovecot, type DovecotServer } from '../helpers/dovecot.js';
import { loadTemplates, makeMessages } from '../source/imap/messages.js';
import { canonicalDump, checkpoints, ensureBuilt, runCli, tempDir, waitFor, writeCliConfig } from '../source/imap/helpers.js';
import { leaseRows, ownerPid, startCli, stopChild, type Child } from './helpers.js';
import { startPostgres } from '../helpers/postgres.js';

const N = Number(process.env.CENSUS_SCALE_MESSAGES ?? 600);
const FOLDERS = ['Orders', 'Returns', 'Billing'];
const USERS = ['census', 'census2'];
const ACCOUNTS = USERS.map((user, i) => ({ name: `support-${i + 1}`, user, folders: FOLDERS }));
const BATCH = 50;
/** The default ttl (15 s): the takeover bound under test is the real one. Renewal every 500 ms spreads the folders quickly. */
const POLL = { batchSize: BATCH, leaseTtlMs: 15_000, leaseRenewMs: 500, statusIntervalMs: 1_000 };

let s: DovecotServer;
const dirs: string[] = [];
const dir = (): string => {
  const d = tempDir('scale-');
  dirs.push(d);
  return d;
};
let reference: { dump: ReturnType<typeof canonicalDump>; csv: string };

function config(d: string): string {
  return writeCliConfig(d, s, ACCOUNTS, POLL);
}

async function exportCsv(cfg: string): Promise<string> {
  const r = await runCli(['--config', cfg, 'export'], { env: { CENSUS_LOG_LEVEL: 'warn' } });
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

const allDone = (db: string) => () => checkpoints(db).filter((c) => c.last_uid === N).length === USERS.length * FOLDERS.length;

/** What the census and the pollers say, for a failure message. */
function diagnosis(db: string, pollers: Child[]): string {
  const tail = (c: Child) => (c.stdout() + c.stderr()).split('\n').slice(-15).join('\n');
  return [JSON.stringify(checkpoints(db)), JSON.stringify(leaseRows(db)), ...pollers.map((p) => `--- poller ${p.pid}\n${tail(p)}`)].join('\n');
}

/**
 * Waits until the folders are spread over all three pollers and one of them is part-way
 * through a folder (at least one batch committed, several to go), then signals that poller.
 */
async function hitBusyPoller(db: string, pollers: Child[], sig: NodeJS.Signals): Promise<{ victim: Child; owner: string; folders: string[] }> {
  let hit: { victim: Child; owner: string } | undefined;
  const found = await waitFor(() => {
    const now = Date.now();
    const rows = leaseRows(db).filter((r) => r.expires_at > now);
    if (new Set(rows.map((r) => r.owner)).size < 3) return false;
    const cps = new Map(checkpoints(db).map((c) => [`${c.account}/${c.folder}`, c.last_uid]));
    const busy = rows.find((r) => {
      const at = cps.get(`${r.account}/${r.folder}`) ?? 0;
      return at >= BATCH && at <= N - 3 * BATCH;
    });
    const victim = busy && pollers.find((p) => p.pid === ownerPid(busy.owner));
    if (!busy || !victim) return false;
    victim.proc.kill(sig);
    hit = { victim, owner: busy.owner };
    return true;
  }, 120_000, 20);
  expect(found, `no poller was part-way through a folder once the folders were spread: raise CENSUS_SCALE_MESSAGES\n${diagnosis(db, pollers)}`).toBe(true);
  const folders = leaseRows(db).filter((r) => r.owner === hit!.owner).map((r) => `${r.account}/${r.folder}`);
  const cps = new Map(checkpoints(db).map((c) => [`${c.account}/${c.folder}`, c.last_uid]));
  // Mid-backfill indeed: at least one of its folders was not finished.
  expect(folders.some((k) => (cps.get(k) ?? 0) < N)).toBe(true);
  return { ...hit!, folders };
}

/** Resolves with the time taken until every folder in `folders` is held, unexpired, by another owner than `owner`. */
async function takeover(db: string, owner: string, folders: string[], since: number): Promise<number> {
  const takenOver = () => {
    const now = Date.now();
    const rows = leaseRows(db);
    return folders.every((k) => rows.some((r) => `${r.account}/${r.folder}` === k && r.owner !== owner && r.expires_at > now));
  };
  expect(await waitFor(takenOver, 40_000, 50)).toBe(true);
  return Date.now() - since;
}

/** No error lines in a poller's log (JSON lines on stdout or stderr). */
function errorLines(c: Child): string[] {
  return (c.stdout() + c.stderr()).split('\n').filter((l) => /"level":(50|60)/.test(l));
}

beforeAll(async () => {
  ensureBuilt();
  s = await startDovecot({ extraUsers: USERS.slice(1) });
  const templates = loadTemplates();
  // Folders overlap in senders (makeMessages cycles through 500 addresses) and the second
  // account repeats some of the first one's mail (stored once, from whichever folder commits
  // first, so source keys are not compared): the same address is updated from several folders at once.
  for (const [u, user] of USERS.entries()) {
    for (const [i, f] of FOLDERS.entries()) await s.deliver(f, makeMessages(templates, 100_000 + (u % 2) * 500 + i * N, N), user);
  }
  const d = dir();
  const cfg = config(d);
  const r = await runCli(['--config', cfg, 'poll', '--once'], { env: { CENSUS_LOG_LEVEL: 'warn' } });
  expect(r.code, r.stderr).toBe(0);
  expect(allDone(join(d, 'census.db'))()).toBe(true);
  reference = { dump: canonicalDump(join(d, 'census.db')), csv: await exportCsv(cfg) };
  expect(reference.dump.observations.length).toBeGreaterThan(N);
}, 300_000);

afterAll(async () => {
  await s?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('several poller processes on one SQLite census', () => {
  it(`3 pollers, 2 accounts x 3 folders x ${N} messages: every folder one owner at a time, final database and export equal a single poller's`, async () => {
    const d = dir();
    const cfg = config(d);
    const db = join(d, 'census.db');
    const pollers = [0, 1, 2].map(() => startCli(['--config', cfg, 'poll'], { CENSUS_LOG_LEVEL: 'info' }));
    const owners = new Set<string>();
    try {
      expect(
        await waitFor(() => {
          for (const r of leaseRows(db)) if (r.expires_at > Date.now()) owners.add(r.owner);
          return allDone(db)();
        }, 180_000, 50),
        diagnosis(db, pollers),
      ).toBe(true);
      // The folders were spread over the pollers (not all done by the first one to start).
      expect(await waitFor(() => (leaseRows(db).forEach((r) => r.expires_at > Date.now() && owners.add(r.owner)), owners.size >= 2), 10_000)).toBe(true);
    } finally {
      const ends = await Promise.all(pollers.map(stopChild));
      for (const [i, e] of ends.entries()) expect(e.code, pollers[i]!.stderr()).toBe(0);
    }
    for (const p of pollers) expect(errorLines(p)).toEqual([]);
    // A graceful stop released every lease.
    expect(leaseRows(db).every((r) => r.expires_at === 0)).toBe(true);
    expect(canonicalDump(db)).toEqual(reference.dump);
    expect(await exportCsv(cfg)).toBe(reference.csv);
  }, 300_000);

  it('one of 3 pollers SIGKILLed mid-backfill: its folders are taken over within 30 s and the final database still equals a single poller\'s', async () => {
    const d = dir();
    const cfg = config(d);
    const db = join(d, 'census.db');
    const pollers = [0, 1, 2].map(() => startCli(['--config', cfg, 'poll'], { CENSUS_LOG_LEVEL: 'info' }));
    let victim: Child | undefined;
    try {
      const hit = await hitBusyPoller(db, pollers, 'SIGKILL');
      const killedAt = Date.now();
      victim = hit.victim;
      await victim.exited;
      const ms = await takeover(db, hit.owner, hit.folders, killedAt);
      // On one host the survivors see that the holder's process is gone and take over at once;
      // a poller that dies on another host is covered by the ttl (next test).
      console.log(`takeover after SIGKILL: ${ms} ms for ${hit.folders.length} folder(s) (lease ttl ${POLL.leaseTtlMs} ms, renewal every ${POLL.leaseRenewMs} ms)`);
      expect(ms).toBeLessThan(30_000);
      expect(await waitFor(allDone(db), 180_000, 50)).toBe(true);
    } finally {
      const ends = await Promise.all(pollers.map(stopChild));
      for (const [i, e] of ends.entries()) if (pollers[i] !== victim) expect(e.code, pollers[i]!.stderr()).toBe(0);
    }
    for (const p of pollers) if (p !== victim) expect(errorLines(p)).toEqual([]);
    expect(canonicalDump(db)).toEqual(reference.dump);
    expect(await exportCsv(cfg)).toBe(reference.csv);
  }, 300_000);

  it('one of 3 pollers frozen mid-backfill (SIGSTOP: a pause or partition, its process still alive): its leases expire and are taken over within 30 s; resumed, it stops committing for them (its renewal or late batch is refused) and the final database still equals a single poller\'s', async () => {
    const d = dir();
    const cfg = config(d);
    const db = join(d, 'census.db');
    const pollers = [0, 1, 2].map(() => startCli(['--config', cfg, 'poll'], { CENSUS_LOG_LEVEL: 'info' }));
    let frozen: Child | undefined;
    try {
      const hit = await hitBusyPoller(db, pollers, 'SIGSTOP');
      const stoppedAt = Date.now();
      frozen = hit.victim;
      const ms = await takeover(db, hit.owner, hit.folders, stoppedAt);
      console.log(`takeover of a frozen poller's folders: ${ms} ms for ${hit.folders.length} folder(s) (lease ttl ${POLL.leaseTtlMs} ms, renewal every ${POLL.leaseRenewMs} ms)`);
      expect(ms).toBeLessThan(30_000);
      frozen.proc.kill('SIGCONT');
      expect(await waitFor(allDone(db), 180_000, 50), diagnosis(db, pollers)).toBe(true);
      // It woke up to lost leases: stopped those folders without an error.
      expect(await waitFor(() => /lease lost|lease expired/.test(frozen!.stdout() + frozen!.stderr()), 20_000)).toBe(true);
    } finally {
      frozen?.proc.kill('SIGCONT');
      const ends = await Promise.all(pollers.map(stopChild));
      for (const [i, e] of ends.entries()) expect(e.code, pollers[i]!.stderr()).toBe(0);
    }
    for (const p of pollers) expect(errorLines(p)).toEqual([]);
    expect(canonicalDump(db)).toEqual(reference.dump);
    expect(await exportCsv(cfg)).toBe(reference.csv);
  }, 300_000);
});

describe('several poller processes on one PostgreSQL census', () => {
  it('3 pollers; PostgreSQL restarted three times mid-backfill (every connection cut): each poller reconnects and finishes without exiting or logging an error, and the final database and export equal a single poller\'s, nothing doubled', async () => {
    const pg = await startPostgres();
    const pollers: Child[] = [];
    try {
      const name = 'pollers';
      const url = await pg.createDatabase(name);
      const d = dir();
      const cfg = config(d);
      const env = { CENSUS_LOG_LEVEL: 'info', CENSUS_DB: url, CENSUS_ERASURE_KEY_FILE: join(d, 'erasure.key') };
      // Read through psql on the harness's socket, not through the code under test; '' while the server is down.
      const sql = async (q: string): Promise<string> => (await pg.psql(name, q).catch(() => '')).trim();
      const table = async (q: string): Promise<Array<Record<string, unknown>>> => JSON.parse((await pg.psql(name, `SELECT coalesce(json_agg(t), '[]') FROM (${q}) t`)).trim() || '[]');
      const progress = async () => {
        const rows = await table('SELECT l.owner, l.expires_at, coalesce(c.last_uid, 0) AS last_uid FROM leases l LEFT JOIN checkpoints c USING (account, folder)').catch(() => []);
        return rows as Array<{ owner: string; expires_at: number; last_uid: number }>;
      };
      const finished = async () => Number((await sql(`SELECT count(*) FROM checkpoints WHERE last_uid = ${N}`)) || 0) === USERS.length * FOLDERS.length;
      const tail = () => pollers.map((p) => `--- poller ${p.pid}\n` + (p.stdout() + p.stderr()).split('\n').slice(-12).join('\n')).join('\n');
      for (let i = 0; i < 3; i++) pollers.push(startCli(['--config', cfg, 'poll'], env));
      // Mid-backfill, with every poller busy: all three hold a folder, and a held folder is
      // part-way, so each poller has connections (and transactions) that the restart cuts.
      // Three restarts, each once the pollers committed more since the last one (they reconnected):
      // the driver's crash on a cut connection (postgres.js, see the README) is a race that one
      // restart does not always hit.
      const TOTAL = USERS.length * FOLDERS.length * N;
      let committed = 0;
      for (const share of [0.1, 0.3, 0.5]) {
        const busy = await waitFor(async () => {
          if (pollers.some((p) => p.proc.exitCode !== null)) return true;
          const rows = await progress();
          const live = rows.filter((r) => r.expires_at > Date.now());
          committed = rows.reduce((n, r) => n + r.last_uid, 0);
          if (new Set(live.map((r) => r.owner)).size < 3 || committed < share * TOTAL) return false;
          return live.some((r) => r.last_uid > 0 && r.last_uid < N);
        }, 120_000, 50);
        expect(busy, `the pollers did not get to ${share * 100}% with a folder part-way\n${tail()}`).toBe(true);
        for (const p of pollers) expect(p.proc.exitCode, tail()).toBeNull();
        expect(committed).toBeLessThan(TOTAL);
        await pg.restart();
      }
      expect(await waitFor(finished, 180_000, 200), tail()).toBe(true);
      // Nobody died on the way (a crashed poller would have left the others to finish its folders).
      for (const p of pollers) expect(p.proc.exitCode, tail()).toBeNull();
      const ends = await Promise.all(pollers.map(stopChild));
      for (const [i, e] of ends.entries()) expect(e, pollers[i]!.stderr()).toEqual({ code: 0, signal: null });
      for (const p of pollers) expect(errorLines(p)).toEqual([]);
      // A graceful stop released every lease; the census equals the single poller's, row for row.
      expect(await sql('SELECT count(*) FROM leases WHERE expires_at > 0')).toBe('0');
      const strip = (r: Record<string, unknown>, ...cols: string[]) => Object.fromEntries(Object.entries(r).filter(([k]) => !cols.includes(k)));
      const observations = (await table('SELECT * FROM observations ORDER BY address, message_id')).map((r) => strip(r, 'id', 'created_at', 'received_at', 'source_key'));
      const addresses = (await table('SELECT * FROM addresses ORDER BY address')).map((r) => strip(r, 'updated_at'));
      const clients = await table('SELECT address, clients FROM addresses ORDER BY address');
      expect(observations.length).toBe(reference.dump.observations.length);
      expect({ observations, addresses, clients }).toEqual(reference.dump);
      const exported = await runCli(['--config', cfg, 'export'], { env: { ...env, CENSUS_LOG_LEVEL: 'warn' } });
      expect(exported.code, exported.stderr).toBe(0);
      expect(exported.stdout).toBe(reference.csv);
    } finally {
      await Promise.all(pollers.map(stopChild));
      await pg.stop();
    }
  }, 300_000);
});
