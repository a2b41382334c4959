/**
 * Folder leases (issue 10 item 4), the same tests on SQLite and PostgreSQL: one owner per
 * (account, folder), expiry, renewal, release, takeover of a dead holder, and the fenced
 * commit: a batch whose lease was lost writes nothing. Times come from an injected clock
 * (`now`), so expiry is tested without waiting; the last tests race real processes.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdirSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { headerBlock, openTestApp } from '../helpers/app.js';
import { withPostgres } from '../helpers/postgres-suite.js';
import { configSchema } from '../../src/config/index.js';
import { openApp, silentLogger } from '../../src/app/index.js';
import type { SourceItem } from '../../src/core/index.js';
import type { AppContext } from '../../src/app/index.js';
import { openStore } from '../../src/store/index.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const t = withPostgres('census-leases-');

let n = 0;
const kinds = [
  { name: 'sqlite', open: async (): Promise<AppContext> => openTestApp(t.dir, {}, `leases-${++n}.db`), url: async () => join(t.dir, `race-${++n}.db`) },
  {
    name: 'postgres',
    open: async (): Promise<AppContext> => {
      const dir = join(t.dir, `p${++n}`);
      mkdirSync(dir);
      const ctx = openApp({ config: configSchema.parse({ db: await t.server.createDatabase(), erasureKeyFile: join(dir, 'erasure.key') }), logger: silentLogger() });
      await ctx.store.ready();
      return ctx;
    },
    url: () => t.server.createDatabase(),
  },
] as const;

function item(i: number, folder = 'INBOX'): SourceItem {
  return {
    sourceKey: `imap:support/${folder}/7/${i}`,
    headerBytes: headerBlock({ From: `c${i}@customer.example`, 'Message-ID': `<m${i}@customer.example>`, Date: 'Tue, 01 Dec 2026 10:00:00 +0000', 'User-Agent': 'Thunderbird/115.0' }),
    receivedAt: null,
  };
}

const T0 = 1_800_000_000_000;
const TTL = 15_000;

describe.each(kinds)('folder leases ($name)', ({ open, url }) => {
  const app = open;
  it('one owner at a time: a held lease is refused to others until it expires; the taker gets a new token', async () => {
    const a = await app();
    try {
      const l1 = await a.store.acquireLease('support', 'INBOX', 'poller-a', TTL, T0);
      expect(l1).toMatchObject({ account: 'support', folder: 'INBOX', owner: 'poller-a', token: 1, expiresAt: T0 + TTL });
      expect(await a.store.acquireLease('support', 'INBOX', 'poller-b', TTL, T0 + TTL - 1)).toBeNull();
      // Another folder of the same account is independent.
      expect(await a.store.acquireLease('support', 'Archive', 'poller-b', TTL, T0)).toMatchObject({ owner: 'poller-b', token: 1 });
      // Renewal moves the expiry; B still cannot take it at the old expiry.
      expect(await a.store.renewLease({ account: 'support', folder: 'INBOX', owner: 'poller-a', token: 1 }, TTL, T0 + 5_000)).toMatchObject({ expiresAt: T0 + 5_000 + TTL });
      expect(await a.store.acquireLease('support', 'INBOX', 'poller-b', TTL, T0 + TTL)).toBeNull();
      // A dead owner stops renewing: at expiry the lease is free.
      const l2 = await a.store.acquireLease('support', 'INBOX', 'poller-b', TTL, T0 + 5_000 + TTL);
      expect(l2).toMatchObject({ owner: 'poller-b', token: 2 });
      // The old owner's renewal fails: it lost the folder.
      expect(await a.store.renewLease({ account: 'support', folder: 'INBOX', owner: 'poller-a', token: 1 }, TTL, T0 + 5_000 + TTL + 1)).toBeNull();
      // Even taking it back later gives a new token: the old claim (token 1) never matches again.
      await a.store.releaseLease({ account: 'support', folder: 'INBOX', owner: 'poller-b', token: 2 });
      expect(await a.store.acquireLease('support', 'INBOX', 'poller-a', TTL, T0 + 30_000)).toMatchObject({ owner: 'poller-a', token: 3 });
      expect((await a.store.listLeases()).map((l) => [l.folder, l.owner, l.token])).toEqual([
        ['Archive', 'poller-b', 1],
        ['INBOX', 'poller-a', 3],
      ]);
    } finally {
      await a.close();
    }
  });

  it('release frees the folder at once; only the holder (owner and token) can release or renew it', async () => {
    const a = await app();
    try {
      const l = (await a.store.acquireLease('support', 'INBOX', 'poller-a', TTL, T0))!;
      // A stranger's or a stale release is a no-op.
      await a.store.releaseLease({ ...l, owner: 'poller-b' });
      await a.store.releaseLease({ ...l, token: l.token + 1 });
      expect(await a.store.acquireLease('support', 'INBOX', 'poller-b', TTL, T0 + 1)).toBeNull();
      await a.store.releaseLease(l);
      expect(await a.store.acquireLease('support', 'INBOX', 'poller-b', TTL, T0 + 2)).toMatchObject({ owner: 'poller-b', token: 2 });
      expect(await a.store.renewLease(l, TTL, T0 + 3)).toBeNull();
    } finally {
      await a.close();
    }
  });

  it('takeOver takes an unexpired lease only from exactly the named holder (a crashed process), with a new token', async () => {
    const a = await app();
    try {
      const l = (await a.store.acquireLease('support', 'INBOX', 'host:1:dead', TTL, T0))!;
      expect(await a.store.acquireLease('support', 'INBOX', 'poller-b', TTL, T0 + 1, { owner: 'host:1:dead', token: l.token + 1 })).toBeNull();
      expect(await a.store.acquireLease('support', 'INBOX', 'poller-b', TTL, T0 + 1, { owner: 'someone-else', token: l.token })).toBeNull();
      expect(await a.store.acquireLease('support', 'INBOX', 'poller-b', TTL, T0 + 1, { owner: 'host:1:dead', token: l.token })).toMatchObject({ owner: 'poller-b', token: 2 });
    } finally {
      await a.close();
    }
  });

  it('an expired lease nobody took can be renewed by its owner (the token proves nobody committed meanwhile)', async () => {
    const a = await app();
    try {
      const l = (await a.store.acquireLease('support', 'INBOX', 'poller-a', TTL, T0))!;
      expect(await a.store.renewLease(l, TTL, T0 + TTL + 10_000)).toMatchObject({ token: 1, expiresAt: T0 + 2 * TTL + 10_000 });
    } finally {
      await a.close();
    }
  });

  it('fenced commit: a batch under a lost or expired lease writes nothing (no observation, no checkpoint) and fails with E_LEASE_LOST; the new owner commits', async () => {
    const a = await app();
    try {
      const cp = (lastUid: number) => ({ account: 'support', folder: 'INBOX', uidValidity: '7', lastUid });
      const la = (await a.store.acquireLease('support', 'INBOX', 'poller-a', TTL, Date.now()))!;
      const ok = await a.pipeline.ingestBatch([item(1), item(2)], cp(2), undefined, { owner: la.owner, token: la.token });
      expect(ok.stored).toBe(2);

      // Expired (the owner stopped renewing, e.g. a long GC pause or a partition): even with
      // nobody else holding it, the commit is refused.
      await a.store.renewLease(la, 1, Date.now() - 10_000);
      await expect(a.pipeline.ingestBatch([item(3)], cp(3), undefined, la)).rejects.toMatchObject({ code: 'E_LEASE_LOST' });
      // Taken over by B: A's late batch is refused, B's goes in, with its checkpoint.
      const lb = (await a.store.acquireLease('support', 'INBOX', 'poller-b', TTL, Date.now()))!;
      expect(lb.token).toBe(2);
      await expect(a.pipeline.ingestBatch([item(3)], cp(3), undefined, la)).rejects.toMatchObject({ code: 'E_LEASE_LOST' });
      expect(await a.store.observationsOf('c3@customer.example')).toEqual([]);
      expect(await a.store.getCheckpoint('support', 'INBOX')).toEqual({ uidValidity: '7', lastUid: 2 });
      expect((await a.store.getCounters()).read).toBe(2);
      const okB = await a.pipeline.ingestBatch([item(3)], cp(3), undefined, { owner: lb.owner, token: lb.token });
      expect(okB.stored).toBe(1);
      expect(await a.store.getCheckpoint('support', 'INBOX')).toEqual({ uidValidity: '7', lastUid: 3 });
      // The fence is per folder: B's lease on INBOX does not let it commit Archive.
      await expect(a.pipeline.ingestBatch([item(4, 'Archive')], { ...cp(4), folder: 'Archive' }, undefined, lb)).rejects.toMatchObject({ code: 'E_LEASE_LOST' });
    } finally {
      await a.close();
    }
  });

  it('6 processes opening one fresh database at once: migrations run once, and each folder lease has exactly one winner', async () => {
    const db = await url();
    const storeUrl = pathToFileURL(join(ROOT, 'dist', 'store', 'index.js')).href;
    // Each process opens the (not yet existing) file, then tries to take the same three leases.
    const script = `
      const { openStore } = await import(${JSON.stringify(storeUrl)});
      const s = openStore(process.argv[1]);
      const won = [];
      for (const f of ['A', 'B', 'C']) if (await s.acquireLease('acct', f, 'p' + process.pid, 60000, Date.now())) won.push(f);
      await s.close();
      process.stdout.write(JSON.stringify(won));`;
    const run = () =>
      new Promise<{ code: number | null; out: string; err: string }>((res, rej) => {
        const c = spawn(process.execPath, ['--input-type=module', '-e', script, db], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        c.stdout.on('data', (d: Buffer) => (out += d.toString()));
        c.stderr.on('data', (d: Buffer) => (err += d.toString()));
        c.once('error', rej);
        c.once('exit', (code) => res({ code, out, err }));
      });
    const results = await Promise.all(Array.from({ length: 6 }, run));
    for (const r of results) expect(r.code, r.err).toBe(0);
    const won = results.flatMap((r) => JSON.parse(r.out) as string[]);
    expect(won.sort()).toEqual(['A', 'B', 'C']);
    const s = openStore(db);
    try {
      expect((await s.listLeases()).map((l) => l.token)).toEqual([1, 1, 1]);
    } finally {
      await s.close();
    }
  });
});
