/**
 * The IMAP poller against a real Dovecot (started here on free loopback ports, implicit TLS
 * with a self-signed certificate that the client verifies).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { join } from 'node:path';
import { rmSync, writeFileSync } from 'node:fs';
import { looksSmime } from '../../../src/source/smime-hint.js';
import { startDovecot, type DovecotServer } from '../../helpers/dovecot.js';
import { loadTemplates, makeMessages, type Template } from './messages.js';
import {
  canonicalDump,
  checkpoints,
  ensureBuilt,
  runCli,
  tempDir,
  testAccount,
  testApp,
  testPoll,
  waitFor,
  writeCliConfig,
} from './helpers.js';
import { Poller, appSink, type PollerState } from '../../../src/app/poll.js';
import { silentLogger } from '../../../src/app/logger.js';
import { POLL_DEFAULTS } from '../../../src/config/imap.js';
import { pino, type Logger } from 'pino';
import { addCounts, emptyCounts } from '../../../src/app/ingest.js';
import { MAX_HEADER_BYTES, type SourceItem } from '../../../src/core/index.js';
import { EXIT_CODES } from '../../../src/cli/exit-codes.js';

const ENV = (s: DovecotServer) => ({ CENSUS_TEST_IMAP_PASSWORD: s.password });

let s: DovecotServer;
let templates: Template[];
const dirs: string[] = [];
const dir = (): string => {
  const d = tempDir();
  dirs.push(d);
  return d;
};

beforeAll(async () => {
  ensureBuilt();
  s = await startDovecot();
  templates = loadTemplates();
});
afterAll(async () => {
  await s?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A pino logger whose lines are kept (parsed) for assertions. */
function captureLogger(level: string): { logger: Logger; lines: Array<Record<string, unknown> & { level: number; msg?: string }> } {
  const lines: Array<Record<string, unknown> & { level: number; msg?: string }> = [];
  const logger = pino({ level }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines };
}

/** Sends a signal to a server process that may have ended meanwhile. */
function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
  }
}

/** Ingests the same bytes without IMAP: what the store must hold after polling them. */
/**
 * The fixtures' S/MIME header blocks carry synthetic bodies, so harvesting rejects them either
 * way; the diagnostic differs with what was fetched (whole message: not-signed; IMAP parts:
 * malformed signature part). Compare "rejected" as such, not its diagnostic.
 */
function sameHarvestVerdict(d: ReturnType<typeof canonicalDump>): ReturnType<typeof canonicalDump> {
  const observations = d.observations.map((o) => {
    const r = o as Record<string, unknown>;
    const w = JSON.parse(String(r.warnings)) as string[];
    const norm = w.map((x) => (x.startsWith('smime-cert:') ? 'smime-cert:rejected' : x));
    return { ...r, warnings: JSON.stringify([...new Set(norm)]) };
  });
  return { ...d, observations };
}

/** What ingesting the whole messages gives (as a file import would: S/MIME ones with their bytes, for harvesting). */
async function referenceDump(messages: Buffer[], seed: string): Promise<ReturnType<typeof canonicalDump>> {
  const d = dir();
  const app = testApp(d, 'reference.db');
  try {
    for (let i = 0; i < messages.length; i += 500) {
      const items: SourceItem[] = messages.slice(i, i + 500).map((b, k) => ({
        sourceKey: `ref:${seed}/${i + k}`,
        headerBytes: b,
        receivedAt: null,
        ...(looksSmime(b) ? { smimeBytes: { kind: 'message' as const, message: b } } : {}),
      }));
      await app.pipeline.ingestBatchAsync(items);
    }
  } finally {
    await app.close();
  }
  return canonicalDump(join(d, 'reference.db'));
}

describe('IMAP poller against Dovecot', () => {
  it('backfills 5,000 messages in two folders read-only: store matches a direct ingest, \\Seen flags unchanged, a second pass adds nothing', async () => {
    const inbox = makeMessages(templates, 0, 3000, { attachmentEvery: 10, attachmentBytes: 4_000 });
    // The archive repeats 500 inbox messages (same Message-ID and sender): they must count once.
    const archive = [...makeMessages(templates, 3000, 1500, { attachmentEvery: 10, attachmentBytes: 4_000 }), ...inbox.slice(0, 500)];
    await s.deliver('INBOX', inbox.map((bytes, i) => (i % 3 === 0 ? { bytes, flags: 'S' } : bytes)));
    await s.deliver('Archive', archive.map((bytes, i) => (i % 4 === 0 ? { bytes, flags: 'S' } : bytes)));
    const before = { inbox: s.flags('INBOX'), archive: s.flags('Archive') };
    expect([...before.inbox.values()].filter((f) => f.includes('S'))).toHaveLength(1000);

    const d = dir();
    const app = testApp(d);
    const states: PollerState[] = [];
    const poller = new Poller({
      accounts: [testAccount(s, { folders: ['INBOX', 'Archive'] })],
      poll: testPoll({ batchSize: 400 }),
      sink: appSink(app),
      logger: silentLogger(),
      env: ENV(s),
      once: true,
    });
    poller.on('state', (st) => states.push(st.state));
    const summary = await poller.run();
    expect(summary.failures).toEqual([]);
    const [fi, fa] = summary.folders;
    expect(fi).toMatchObject({ account: 'support', folder: 'INBOX', state: 'stopped', lag: 0 });
    expect(fi!.counts.read).toBe(3000);
    expect(fa!.counts.read).toBe(2000);
    expect(fa!.counts.duplicates).toBeGreaterThanOrEqual(500);
    for (const f of [fi!, fa!]) {
      const skipped = Object.values(f.counts.skipped).reduce((a, b) => a + (b ?? 0), 0);
      expect(f.counts.stored + f.counts.duplicates + skipped).toBe(f.counts.read);
    }
    expect(states).toContain('backfilling');
    const cps = await app.store.listCheckpoints();
    expect(cps.map((c) => [c.folder, c.lastUid])).toEqual([
      ['Archive', 2000],
      ['INBOX', 3000],
    ]);
    // Lookups: the address state counts each distinct message once.
    const st = await app.store.getState('user7@customer7.example');
    const obs = await app.store.observationsOf('user7@customer7.example');
    expect(st).not.toBeNull();
    expect(obs.length).toBeGreaterThan(0);
    expect(new Set(obs.map((o) => o.messageId)).size).toBe(obs.length);
    await app.close();

    // Header-only fetch of the listed fields gives exactly what ingesting the whole messages gives.
    const got = sameHarvestVerdict(canonicalDump(join(d, 'census.db')));
    const want = sameHarvestVerdict(await referenceDump([...inbox, ...archive], 'backfill'));
    expect(got.observations.length).toBe(want.observations.length);
    expect(got).toEqual(want);

    // EXAMINE + BODY.PEEK: no flag changed on the server.
    expect(s.flags('INBOX')).toEqual(before.inbox);
    expect(s.flags('Archive')).toEqual(before.archive);

    // A second pass starts at the checkpoint: nothing read, nothing changed.
    const app2 = testApp(d);
    const again = await new Poller({
      accounts: [testAccount(s, { folders: ['INBOX', 'Archive'] })],
      poll: testPoll(),
      sink: appSink(app2),
      logger: silentLogger(),
      env: ENV(s),
      once: true,
    }).run();
    app2.close();
    expect(again.folders.map((f) => f.counts.read)).toEqual([0, 0]);
    expect(sameHarvestVerdict(canonicalDump(join(d, 'census.db')))).toEqual(got);
  });

  it('stores a message delivered while the poller idles within 5 s (IDLE folder and STATUS-polled folder), and stops gracefully', async () => {
    await s.deliver('Live', makeMessages(templates, 10_000, 20));
    await s.deliver('LiveOther', makeMessages(templates, 10_100, 5));
    const d = dir();
    const app = testApp(d);
    const poller = new Poller({
      accounts: [testAccount(s, { name: 'live', folders: ['Live', 'LiveOther'] })],
      poll: testPoll({ statusIntervalMs: 1_000 }),
      sink: appSink(app),
      logger: silentLogger(),
      env: ENV(s),
    });
    poller.start();
    const idle = () => poller.status().every((f) => f.state === 'idle');
    expect(await waitFor(idle, 20_000)).toBe(true);
    expect(poller.status().map((f) => f.counts.read)).toEqual([20, 5]);
    expect(poller.status()[0]!.lastSyncAt).toBeInstanceOf(Date);

    const [msg] = makeMessages(templates, 10_050, 1);
    const t0 = Date.now();
    await s.deliver('Live', [msg!]);
    const stored = await waitFor(async () => (await app.store.observationsOf(`user${10_050 % 500}@customer${(10_050 % 500) % 97}.example`)).some((o) => o.sourceKey.startsWith('imap:live/Live/')), 5_000);
    expect(stored, `IDLE delivery not stored after ${Date.now() - t0} ms`).toBe(true);

    const [other] = makeMessages(templates, 10_150, 1);
    await s.deliver('LiveOther', [other!]);
    expect(await waitFor(() => (poller.status()[1]?.counts.read ?? 0) === 6, 5_000)).toBe(true);

    await poller.stop();
    expect(poller.status().map((f) => f.state)).toEqual(['stopped', 'stopped']);
    expect((await app.store.getCheckpoint('live', 'Live'))?.lastUid).toBe(21);
    await app.close();
  });

  it('with two connections IDLEs on both folders, and notices a silently dead connection (no answer to NOOP) and reconnects', async () => {
    await s.deliver('Dead', makeMessages(templates, 12_000, 5));
    await s.deliver('DeadOther', makeMessages(templates, 12_100, 5));
    const d = dir();
    const app = testApp(d);
    const states: PollerState[] = [];
    const poller = new Poller({
      accounts: [testAccount(s, { name: 'dead', folders: ['Dead', 'DeadOther'], connections: 2 })],
      poll: testPoll({ idleRestartMs: 1_000, noopTimeoutMs: 500, statusIntervalMs: 60_000 }),
      sink: appSink(app),
      logger: silentLogger(),
      env: ENV(s),
    });
    poller.on('state', (st) => states.push(st.state));
    poller.start();
    try {
      expect(await waitFor(() => poller.status().every((f) => f.state === 'idle'), 20_000)).toBe(true);
      const before = s.sessions();
      expect(before.length).toBeGreaterThanOrEqual(2);
      // Both folders are IDLE-watched: new mail in the second one arrives without STATUS polling.
      await s.deliver('DeadOther', makeMessages(templates, 12_150, 1));
      expect(await waitFor(() => poller.status()[1]!.counts.read === 6, 5_000)).toBe(true);
      // Freeze the server's session processes: TCP stays up, nothing answers (a half-dead link).
      for (const pid of before) signal(pid, 'SIGSTOP');
      try {
        expect(await waitFor(() => states.includes('backoff'), 10_000)).toBe(true);
      } finally {
        for (const pid of before) {
          signal(pid, 'SIGCONT');
          signal(pid, 'SIGKILL');
        }
      }
      expect(await waitFor(() => poller.status().every((f) => f.state === 'idle'), 15_000)).toBe(true);
      // The abandoned connections are closed: once the frozen sessions are gone, the server
      // counts exactly the poller's two connections, not one more per reconnect.
      expect(await waitFor(() => s.loggedIn() === 2, 15_000)).toBe(true);
      await s.deliver('Dead', makeMessages(templates, 12_050, 1));
      expect(await waitFor(() => poller.status()[0]!.counts.read === 6, 5_000)).toBe(true);
    } finally {
      await poller.stop();
      await app.close();
    }
  });

  it('reconnects with backoff when the server crashes mid-backfill (three times) and finishes: nothing lost, nothing doubled, no login left behind', async () => {
    const mail = makeMessages(templates, 20_000, 3000);
    await s.deliver('Restart', mail);
    // Logins of earlier tests are gone before this one counts its own.
    expect(await waitFor(() => s.loggedIn() === 0, 30_000)).toBe(true);
    const d = dir();
    const app = testApp(d);
    const states: PollerState[] = [];
    const poller = new Poller({
      accounts: [testAccount(s, { name: 'restart', folders: ['Restart'] })],
      // Short connect and command deadlines: a connection or command that the crash left
      // hanging fails within seconds and is retried, instead of outlasting the test.
      poll: testPoll({ batchSize: 100, onceMaxAttempts: 30, connectTimeoutMs: 5_000, idleRestartMs: 5_000, socketTimeoutMs: 10_000 }),
      sink: appSink(app),
      logger: silentLogger(),
      env: ENV(s),
      once: true,
    });
    const CRASH_AT = [500, 1200, 1900];
    /** Logins the server counted just before each crash: the poller's one connection, however many reconnects came before. */
    const loggedInAtCrash: number[] = [];
    let down = false;
    const resumes: Array<Promise<void>> = [];
    poller.on('state', (st) => {
      states.push(st.state);
      // The server comes back once the poller has noticed the outage (not after a fixed time).
      if (st.state === 'backoff' && down && resumes.length < loggedInAtCrash.length) {
        resumes.push(s.resume().then(() => void (down = false)));
      }
    });
    poller.on('batch', ({ total }) => {
      const next = CRASH_AT[loggedInAtCrash.length];
      if (!down && next !== undefined && total.read >= next) {
        loggedInAtCrash.push(s.loggedIn());
        down = true;
        // Synchronous, inside the batch loop: the next FETCH certainly meets a dead server.
        s.crash();
      }
    });
    const summary = await poller.run();
    await Promise.all(resumes);
    expect(summary.failures).toEqual([]);
    expect(loggedInAtCrash).toEqual([1, 1, 1]);
    expect(resumes).toHaveLength(3);
    expect(states).toContain('backoff');
    // Every login ended with the run (LOGOUT, or a closed socket), as the server sees it.
    expect(await waitFor(() => s.loggedIn() === 0, 30_000)).toBe(true);
    expect((await app.store.getCheckpoint('restart', 'Restart'))?.lastUid).toBe(3000);
    const total = addCounts(emptyCounts(), summary.folders[0]!.counts);
    // Batches are committed with their checkpoint, so nothing is read twice across the outages.
    expect(total.read).toBe(3000);
    expect(total.duplicates).toBe(0);
    await app.close();
    expect(sameHarvestVerdict(canonicalDump(join(d, 'census.db')))).toEqual(sameHarvestVerdict(await referenceDump(mail, 'restart')));
  });

  it('after an outage reconnects within 5 s of the server coming back, logs one warn line per attempt without stacks, and clears the health verdict (lastError kept with its time)', async () => {
    await s.deliver('Outage', makeMessages(templates, 70_000, 5));
    const d = dir();
    const app = testApp(d);
    const log = captureLogger('debug');
    // Service defaults for the back-off (1 s doubling to 60 s): only the probe makes recovery fast.
    const poller = new Poller({ accounts: [testAccount(s, { name: 'outage', folders: ['Outage'] })], poll: { ...POLL_DEFAULTS }, sink: appSink(app), logger: log.logger, env: ENV(s) });
    poller.start();
    try {
      expect(await waitFor(() => poller.status()[0]!.state === 'idle', 20_000)).toBe(true);
      expect(poller.status()[0]).toMatchObject({ healthy: true, lastError: null });
      const okBefore = poller.status()[0]!.lastSuccessAt!.getTime();
      const outageStart = log.lines.length;
      await s.halt();
      expect(await waitFor(() => poller.status()[0]!.healthy === false, 20_000)).toBe(true);
      expect(poller.status()[0]!.lastError?.code).toBe('E_IMAP_CONNECT');
      // Down long enough for the back-off to have grown past 5 s (attempts at ~1, 2, 4 s ...).
      const grown = () => log.lines.some((l) => l.msg === 'IMAP connection failed; retrying' && Number(l.retryInMs) > 6_000);
      expect(await waitFor(grown, 30_000)).toBe(true);
      await s.deliver('Outage', makeMessages(templates, 70_010, 1));
      await s.resume();
      const back = Date.now();
      expect(await waitFor(() => poller.status()[0]!.healthy && poller.status()[0]!.counts.read === 6, 15_000)).toBe(true);
      const recoveredMs = Date.now() - back;
      expect(recoveredMs, `recovered ${recoveredMs} ms after the server came back`).toBeLessThan(5_000);
      const st = poller.status()[0]!;
      expect(st.state).toBe('idle');
      // The error stays on record with its time; the verdict is about now.
      expect(st.lastError).toMatchObject({ code: 'E_IMAP_CONNECT', at: expect.any(String) });
      expect(st.lastSuccessAt!.getTime()).toBeGreaterThan(Date.parse(st.lastError!.at));
      expect(st.lastSuccessAt!.getTime()).toBeGreaterThan(okBefore);

      const outage = log.lines.slice(outageStart);
      const warns = outage.filter((l) => l.level === 40);
      const attempts = warns.filter((l) => l.msg === 'IMAP connection failed; retrying').map((l) => l.attempt);
      expect(attempts.length).toBeGreaterThanOrEqual(3);
      // One warn line per attempt, nothing else at warn or above, and no stack anywhere.
      expect(attempts).toEqual(attempts.map((_, i) => i + 1));
      expect(warns.length).toBe(attempts.length);
      expect(outage.filter((l) => l.level >= 50)).toEqual([]);
      const text = JSON.stringify(outage);
      expect(text).not.toContain('"stack"');
      expect(text).not.toContain('\\n    at ');
      expect(outage.filter((l) => l.level === 30).map((l) => l.msg)).toEqual(['reconnected']);
    } finally {
      await poller.stop();
      app.close();
    }
  });

  it('stays quiet while idle: new mail one message at a time is caught up at debug level, without info lines or a flip to backfilling', async () => {
    await s.deliver('Quiet', makeMessages(templates, 71_000, 3));
    const d = dir();
    const app = testApp(d);
    const log = captureLogger('debug');
    const states: PollerState[] = [];
    const poller = new Poller({ accounts: [testAccount(s, { name: 'quiet', folders: ['Quiet'] })], poll: testPoll(), sink: appSink(app), logger: log.logger, env: ENV(s) });
    poller.start();
    try {
      expect(await waitFor(() => poller.status()[0]!.state === 'idle', 20_000)).toBe(true);
      const from = log.lines.length;
      poller.on('state', (st) => states.push(st.state));
      for (let i = 0; i < 5; i++) {
        await s.deliver('Quiet', makeMessages(templates, 71_100 + i, 1));
        expect(await waitFor(() => poller.status()[0]!.counts.read === 4 + i, 10_000)).toBe(true);
      }
      const during = log.lines.slice(from);
      expect(during.filter((l) => l.level >= 30)).toEqual([]);
      expect(during.filter((l) => l.msg === 'folder caught up' && l.level === 20).length).toBe(5);
      expect(states.filter((x) => x === 'backfilling')).toEqual([]);
      expect(poller.status()[0]).toMatchObject({ state: 'idle', healthy: true });
      // A stop that lands while a watch round is starting (EXAMINE) ends it at once, not at the next IDLE restart.
      const t0 = Date.now();
      await poller.stop();
      expect(Date.now() - t0).toBeLessThan(10_000);
    } finally {
      await poller.stop();
      app.close();
    }
  });

  it('survives SIGKILL of `poll` (ingest in its worker thread) at several points: the final state equals an uninterrupted in-thread run', async () => {
    await s.deliver('Kill', makeMessages(templates, 30_000, 3000, { attachmentEvery: 7, attachmentBytes: 2_000 }));
    const account = { name: 'kill', folders: ['Kill'] };
    const ref = dir();
    // The reference ingests on the main thread (--no-worker); the killed runs in the worker.
    const refRun = await runCli(['--config', writeCliConfig(ref, s, [account], { batchSize: 200 }), 'poll', '--once', '--no-worker']);
    expect(refRun.code, refRun.stderr).toBe(0);

    const d = dir();
    const cfg = writeCliConfig(d, s, [account], { batchSize: 200 });
    const db = join(d, 'census.db');
    const kills: number[] = [];
    for (const target of [1, 900, 2100]) {
      const r = await runCli(['--config', cfg, 'poll', '--once'], {
        onSpawn: (_pid, kill) => {
          void waitFor(() => (checkpoints(db)[0]?.last_uid ?? -1) >= target, 60_000, 5).then(() => kill('SIGKILL'));
        },
      });
      if (r.signal === 'SIGKILL') kills.push(checkpoints(db)[0]?.last_uid ?? -1);
    }
    // At least the kills before the end landed mid-backfill.
    expect(kills.filter((u) => u < 3000).length).toBeGreaterThanOrEqual(2);
    const last = await runCli(['--config', cfg, 'poll', '--once', '--json']);
    expect(last.code, last.stderr).toBe(0);
    expect(checkpoints(db)[0]?.last_uid).toBe(3000);
    expect(canonicalDump(db, { sourceKeys: true })).toEqual(canonicalDump(join(ref, 'census.db'), { sourceKeys: true }));
  });

  it('on SIGTERM mid-backfill commits the current batch, logs out and exits 0; the next run continues where it stopped', async () => {
    await s.deliver('Term', makeMessages(templates, 35_000, 2000));
    const d = dir();
    const cfg = writeCliConfig(d, s, [{ name: 'term', folders: ['Term'] }], { batchSize: 100 });
    const db = join(d, 'census.db');
    const first = await runCli(['--config', cfg, 'poll', '--json'], {
      onSpawn: (_pid, kill) => {
        void waitFor(() => (checkpoints(db)[0]?.last_uid ?? 0) >= 300, 60_000, 5).then(() => kill('SIGTERM'));
      },
    });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/stopping: finishing the current batch/);
    const read1 = (JSON.parse(first.stdout) as { folders: Array<{ counts: { read: number }; state: string }> }).folders[0]!;
    expect(read1.state).toBe('stopped');
    const stoppedAt = checkpoints(db)[0]!.last_uid;
    expect(stoppedAt).toBe(read1.counts.read);
    expect(stoppedAt).toBeLessThan(2000);
    const second = await runCli(['--config', cfg, 'poll', '--once', '--json']);
    expect(second.code, second.stderr).toBe(0);
    const read2 = (JSON.parse(second.stdout) as { folders: Array<{ counts: { read: number } }> }).folders[0]!.counts.read;
    expect(read1.counts.read + read2).toBe(2000);
    expect(checkpoints(db)[0]!.last_uid).toBe(2000);
  });

  it('resyncs a folder whose UIDVALIDITY changed (deleted and recreated with the same mail) without double counting', async () => {
    const mail = makeMessages(templates, 40_000, 300);
    await s.deliver('Recreated', mail);
    const d = dir();
    const run = async () => {
      const app = testApp(d);
      try {
        const summary = await new Poller({
          accounts: [testAccount(s, { name: 'uv', folders: ['Recreated'] })],
          poll: testPoll(),
          sink: appSink(app),
          logger: silentLogger(),
          env: ENV(s),
          once: true,
        }).run();
        return { summary, cp: await app.store.getCheckpoint('uv', 'Recreated') };
      } finally {
        await app.close();
      }
    };
    const first = await run();
    const dump1 = canonicalDump(join(d, 'census.db'));
    s.removeFolder('Recreated');
    await s.deliver('Recreated', mail);
    const second = await run();
    expect(second.cp!.uidValidity).not.toBe(first.cp!.uidValidity);
    expect(second.summary.folders[0]!.counts).toMatchObject({ read: 300, stored: 0, duplicates: first.summary.folders[0]!.counts.stored });
    expect(second.cp!.lastUid).toBe(300);
    // Same observations and address state; only the source keys moved to the new UIDVALIDITY.
    expect(canonicalDump(join(d, 'census.db'))).toEqual(dump1);
  });

  it('reads whole header blocks: one past MAX_HEADER_BYTES is skipped as too-large (as from a file), one just within it is stored as an import of the whole message stores it', async () => {
    const mail = makeMessages(templates, 45_000, 3).map((m) => Buffer.from(m));
    // Pads the header block of a message to `target` bytes with X-Padding fields (1,000 bytes each).
    const padded = (m: Buffer, target: number): Buffer => {
      const text = m.toString('latin1');
      const end = text.indexOf('\r\n\r\n') + 2;
      let pad = '';
      while (end + pad.length + 1012 <= target) pad += `X-Padding: ${'p'.repeat(1000)}\r\n`;
      pad += `X-Padding: ${'p'.repeat(Math.max(1, target - end - pad.length - 13))}\r\n`;
      return Buffer.from(text.slice(0, end) + pad + text.slice(end), 'latin1');
    };
    const headerBytes = (m: Buffer): number => {
      const end = m.indexOf('\r\n\r\n');
      expect(end).toBeGreaterThan(0);
      return end + 2;
    };
    const big = padded(mail[0]!, MAX_HEADER_BYTES + 500);
    const within = padded(mail[1]!, MAX_HEADER_BYTES - 500);
    expect(headerBytes(big)).toBeGreaterThan(MAX_HEADER_BYTES);
    expect(headerBytes(within)).toBeLessThanOrEqual(MAX_HEADER_BYTES);
    await s.deliver('Headers', [big, within, mail[2]!]);
    const d = dir();
    const app = testApp(d);
    try {
      const summary = await new Poller({
        accounts: [testAccount(s, { name: 'hdr', folders: ['Headers'] })],
        poll: testPoll(),
        sink: appSink(app),
        logger: silentLogger(),
        env: ENV(s),
        once: true,
      }).run();
      expect(summary.failures).toEqual([]);
      expect(summary.folders[0]!.counts).toMatchObject({ read: 3, stored: 2, skipped: { 'too-large': 1 } });
      // The same two observations an import of the whole messages stores.
      const want = await referenceDump([big, within, mail[2]!], 'headers');
      expect(canonicalDump(join(d, 'census.db')).observations).toEqual(want.observations);
    } finally {
      await app.close();
    }
  });

  it('reports a wrong password, an unknown folder, an untrusted certificate and a dead server with their codes; other accounts still finish', async () => {
    await s.deliver('Errors', makeMessages(templates, 50_000, 10));
    const d = dir();
    const cfg = writeCliConfig(d, s, [{ name: 'good', folders: ['Errors', 'NoSuchFolder'] }]);
    const r1 = await runCli(['--config', cfg, 'poll', '--once']);
    expect(r1.code).toBe(EXIT_CODES.E_IMAP_FOLDER);
    expect(r1.stderr).toMatch(/account good .*folder "NoSuchFolder".*\[E_IMAP_FOLDER\]/);
    expect(r1.stdout).toMatch(/good\/Errors\t10\t/);
    // Expected failures are one line each: no stack traces without CENSUS_DEBUG.
    // A stack line, printed raw or inside a JSON log line ("\n    at fn (file:1:2)").
    const STACK = /(?:^|\\n)\s+at [^\n]*:\d+:\d+/m;
    expect(r1.stderr).not.toMatch(STACK);

    const bad = join(d, 'wrong-password');
    writeFileSync(bad, 'not-the-password\n');
    const cfg2 = writeCliConfig(
      d,
      s,
      [
        { name: 'bad', passwordFile: bad, folders: ['INBOX'] },
        { name: 'fine', folders: ['Errors'] },
      ],
      {},
      'two-accounts.json',
    );
    const r2 = await runCli(['--config', cfg2, '--log-level', 'trace', 'poll', '--once']);
    expect(r2.code).toBe(EXIT_CODES.E_IMAP_AUTH);
    expect(r2.stderr).toMatch(/account bad .*login failed.*\[E_IMAP_AUTH\]/);
    expect(r2.stdout).toMatch(/fine\/Errors\t10\t/);
    // Secrets never reach the logs, even at trace level.
    expect(r2.stderr).not.toContain(s.password);
    expect(r2.stderr).not.toContain('not-the-password');
    expect(r2.stderr).not.toMatch(STACK);

    const cfg3 = writeCliConfig(d, s, [{ name: 'tls', caFile: undefined, folders: ['INBOX'] }], {}, 'tls.json');
    // The same failure with ingest on the main thread.
    const r3 = await runCli(['--config', cfg3, 'poll', '--once', '--no-worker']);
    expect(r3.code).toBe(EXIT_CODES.E_IMAP_TLS);
    expect(r3.stderr).toMatch(/account tls .*TLS failed.*\[E_IMAP_TLS\]/);
    expect(r3.stderr).not.toMatch(STACK);

    const cfg4 = writeCliConfig(d, s, [{ name: 'gone', port: 1, folders: ['INBOX'] }], { onceMaxAttempts: 2 }, 'gone.json');
    const r4 = await runCli(['--config', cfg4, 'poll', '--once']);
    expect(r4.code).toBe(EXIT_CODES.E_IMAP_CONNECT);
    expect(r4.stderr).toMatch(/account gone .*connection failed.*\[E_IMAP_CONNECT\]/);
    expect(r4.stderr).not.toMatch(STACK);
    expect(r4.stderr).not.toMatch(/"level":50/);

    // config check: effective config without secrets, then a real login per account.
    const r5 = await runCli(['--config', cfg2, 'config', 'check']);
    expect(r5.code, r5.stdout + r5.stderr).toBe(EXIT_CODES.E_IMAP_AUTH);
    expect(r5.stdout).toContain('"passwordFile"');
    expect(r5.stdout).not.toContain(s.password);
    expect(r5.stdout).toMatch(/ok {4}fine folder "Errors": 10 messages/);
    expect(r5.stdout).toMatch(/FAIL {2}account bad/);
  });

  it('takes a single account from CENSUS_IMAP_* environment variables', async () => {
    await s.deliver('EnvFolder', makeMessages(templates, 60_000, 10));
    const d = dir();
    const pw = join(d, 'pw');
    writeFileSync(pw, s.password);
    const r = await runCli(['--db', join(d, 'env.db'), 'poll', '--once', '--json'], {
      env: {
        CENSUS_IMAP_URL: `imaps://${s.user}@${s.host}:${s.port}`,
        CENSUS_IMAP_FOLDERS: 'EnvFolder',
        CENSUS_IMAP_PASSWORD_FILE: pw,
        CENSUS_IMAP_CA_FILE: s.caFile,
      },
    });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { folders: Array<{ account: string; folder: string; counts: { read: number } }> };
    expect(out.folders).toEqual([expect.objectContaining({ account: `${s.user}@${s.host}`, folder: 'EnvFolder', counts: expect.objectContaining({ read: 10 }) })]);

    // imap:// means STARTTLS on the plain port, certificate verified the same way.
    const r2 = await runCli(['--db', join(d, 'env2.db'), 'config', 'check'], {
      env: { CENSUS_IMAP_URL: `imap://${s.user}@${s.host}:${s.plainPort}`, CENSUS_IMAP_FOLDERS: 'EnvFolder', CENSUS_IMAP_PASSWORD: s.password, CENSUS_IMAP_CA_FILE: s.caFile },
    });
    expect(r2.code, r2.stdout + r2.stderr).toBe(0);
    expect(r2.stdout).toMatch(/"tls": "starttls"/);
    expect(r2.stdout).toMatch(/ok {4}\S+: login as census \(TLS\)/);
    expect(r2.stdout).not.toContain(s.password);
  });
});
