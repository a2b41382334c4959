/**
 * Several pollers on one SQLite file against a real Dovecot (issue 10 item 4): folders are
 * shared through leases, a graceful stop hands folders over at once, and a poller cut off from
 * the database stops committing before the new owner starts (the fenced commit).
 * Multi-process runs (real `poll` processes, SIGKILL) are in test/scale/.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { pino, type Logger } from 'pino';
import { startDovecot, type DovecotServer } from '../../helpers/dovecot.js';
import { loadTemplates, makeMessages, type Template } from './messages.js';
import { canonicalDump, checkpoints, tempDir, testAccount, testApp, testPoll, waitFor } from './helpers.js';
import { Poller, appSink, type PollSink } from '../../../src/app/poll.js';
import { MEMBERS_ACCOUNT } from '../../../src/app/poll-leases.js';
import { silentLogger } from '../../../src/app/logger.js';
import type { AppContext } from '../../../src/app/index.js';

const ENV = (s: DovecotServer) => ({ CENSUS_TEST_IMAP_PASSWORD: s.password });
/** Short leases so that the tests run in seconds; the defaults are 15 s / 5 s. */
const LEASES = { leaseTtlMs: 2_000, leaseRenewMs: 250, statusIntervalMs: 1_000 };

let s: DovecotServer;
let templates: Template[];
const dirs: string[] = [];
const dir = (): string => {
  const d = tempDir('leases-');
  dirs.push(d);
  return d;
};

beforeAll(async () => {
  s = await startDovecot();
  templates = loadTemplates();
});
afterAll(async () => {
  await s?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function captureLogger(): { logger: Logger; lines: Array<Record<string, unknown> & { level: number; msg?: string }>; text: () => string } {
  const lines: Array<Record<string, unknown> & { level: number; msg?: string }> = [];
  const raw: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void (raw.push(line), lines.push(JSON.parse(line))) });
  return { logger, lines, text: () => raw.join('') };
}

/** What one poller alone stores from the same folders (the census every multi-poller run must equal). */
async function singlePollerDump(account: string, folders: string[]): Promise<ReturnType<typeof canonicalDump>> {
  const d = dir();
  const app = testApp(d);
  const summary = await new Poller({ accounts: [testAccount(s, { name: account, folders })], poll: testPoll(), sink: appSink(app), logger: silentLogger(), env: ENV(s), once: true }).run();
  expect(summary.failures).toEqual([]);
  await app.close();
  return canonicalDump(join(d, 'census.db'), { sourceKeys: true });
}

function poller(app: AppContext, account: string, folders: string[], o: { sink?: PollSink; logger?: Logger; owner: string }): Poller {
  return new Poller({
    accounts: [testAccount(s, { name: account, folders })],
    poll: testPoll({ batchSize: 100, ...LEASES }),
    sink: o.sink ?? appSink(app),
    logger: o.logger ?? silentLogger(),
    env: ENV(s),
    progressLog: false,
    leaseOwner: o.owner,
  });
}

async function folderOwners(app: AppContext): Promise<Map<string, string>> {
  const now = Date.now();
  return new Map((await app.store.listLeases()).filter((l) => l.account !== MEMBERS_ACCOUNT && l.expiresAt > now).map((l) => [l.folder, l.owner]));
}

describe('several pollers on one database (leases)', () => {
  it('two pollers share three folders (each folder one owner), the census equals one poller alone, and a graceful stop hands the folders over at once', async () => {
    const folders = ['ShareA', 'ShareB', 'ShareC'];
    for (const [i, f] of folders.entries()) await s.deliver(f, makeMessages(templates, 30_000 + i * 1000, 400));
    const d = dir();
    const appA = testApp(d);
    const appB = testApp(d);
    const a = poller(appA, 'share', folders, { owner: 'poller-a' });
    const b = poller(appB, 'share', folders, { owner: 'poller-b' });
    a.start();
    b.start();
    try {
      const done = () => checkpoints(join(d, 'census.db')).filter((c) => c.last_uid === 400).length === 3;
      expect(await waitFor(done, 60_000)).toBe(true);
      // The load is shared: both pollers own a folder once each has seen the other.
      expect(await waitFor(async () => new Set((await folderOwners(appA)).values()).size === 2, 20_000)).toBe(true);
      const owners = await folderOwners(appA);
      expect([...owners.keys()].sort()).toEqual(folders);
      for (const f of folders) {
        const mine = [a, b].filter((p) => p.status().find((x) => x.folder === f)!.state !== 'standby');
        expect(mine, `${f} is synced by exactly one poller`).toHaveLength(1);
      }

      // A graceful stop releases: B owns A's folders within a renewal round, not after the ttl.
      const t0 = Date.now();
      await a.stop();
      expect(await waitFor(async () => [...(await folderOwners(appB)).values()].every((o) => o === 'poller-b') && (await folderOwners(appB)).size === 3, 10_000)).toBe(true);
      expect(Date.now() - t0).toBeLessThan(LEASES.leaseTtlMs);
      // ... and stores new mail there.
      await s.deliver('ShareA', makeMessages(templates, 30_900, 1));
      expect(await waitFor(() => checkpoints(join(d, 'census.db')).some((c) => c.folder === 'ShareA' && c.last_uid === 401), 15_000)).toBe(true);
    } finally {
      await a.stop();
      await b.stop();
      await appA.close();
      await appB.close();
    }
    // Nothing lost, nothing doubled across the handovers.
    const want = await singlePollerDump('share', folders);
    expect(canonicalDump(join(d, 'census.db'), { sourceKeys: true })).toEqual(want);
  });

  it('a poller cut off from the database stops committing before the new owner starts: its late batch is refused (E_LEASE_LOST), logged at warn without addresses, and it does not crash', async () => {
    const folders = ['Fence', 'FenceOther'];
    await s.deliver('Fence', makeMessages(templates, 40_000, 600));
    await s.deliver('FenceOther', makeMessages(templates, 41_000, 50));
    const d = dir();
    const appA = testApp(d);
    const appB = testApp(d);
    const log = captureLogger();
    let partitioned = false;
    let release!: () => void;
    const healed = new Promise<void>((r) => (release = r));
    const base = appSink(appA);
    let batches = 0;
    const cut = <T>(f: () => Promise<T>): Promise<T> => (partitioned ? Promise.reject(new Error('connection to database lost')) : f());
    // The link to the database fails for lease renewals, and one commit hangs meanwhile (as a
    // write would on a broken connection) until the partition heals.
    const sink: PollSink = {
      ...base,
      leases: {
        renew: (k, ttl, now) => cut(() => base.leases!.renew(k, ttl, now)),
        acquire: (...x) => cut(() => base.leases!.acquire(...x)),
        release: (k) => cut(() => base.leases!.release(k)),
        list: () => cut(() => base.leases!.list()),
      },
      async ingestBatch(items, cp, lease) {
        if (cp.folder === 'Fence' && ++batches === 3) {
          partitioned = true;
          await healed;
        }
        return base.ingestBatch(items, cp, lease);
      },
    };
    const a = poller(appA, 'fence', folders, { sink, logger: log.logger, owner: 'poller-a' });
    const b = poller(appB, 'fence', ['Fence'], { owner: 'poller-b' });
    a.start();
    try {
      expect(await waitFor(() => partitioned, 30_000)).toBe(true);
      // A's lease expires (it cannot renew); B, which can reach the database, takes the folder over.
      b.start();
      expect(await waitFor(async () => (await folderOwners(appB)).get('Fence') === 'poller-b', 20_000)).toBe(true);
      partitioned = false;
      release();
      // A's held-back batch reaches the store after the takeover and is refused; A carries on with its other folder.
      expect(await waitFor(() => log.lines.some((l) => l.code === 'E_LEASE_LOST'), 20_000)).toBe(true);
      expect(await waitFor(() => checkpoints(join(d, 'census.db')).some((c) => c.folder === 'Fence' && c.last_uid === 600), 30_000)).toBe(true);
      const fence = a.status().find((f) => f.folder === 'Fence')!;
      expect(fence.state).toBe('standby');
      await s.deliver('FenceOther', makeMessages(templates, 41_100, 1));
      expect(await waitFor(() => checkpoints(join(d, 'census.db')).some((c) => c.folder === 'FenceOther' && c.last_uid === 51), 15_000)).toBe(true);
    } finally {
      release();
      await a.stop();
      await b.stop();
      await appA.close();
      await appB.close();
    }
    const lost = log.lines.filter((l) => l.code === 'E_LEASE_LOST');
    expect(lost.every((l) => l.level === 40 && l.folder === 'Fence' && l.account === 'fence')).toBe(true);
    // Customer addresses are debug-level data: none at info or above.
    expect(log.text()).not.toMatch(/@customer\d*\.example/);
    expect(log.lines.filter((l) => l.level >= 50)).toEqual([]);
    const want = await singlePollerDump('fence', folders);
    expect(canonicalDump(join(d, 'census.db'), { sourceKeys: true })).toEqual(want);
  });
});
