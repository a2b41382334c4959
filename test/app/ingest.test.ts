import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { openTestApp, headerBlock, mailItem, rawQuery, rawExec, collect } from '../helpers/app.js';
import { tempDir } from '../helpers/tmp.js';
import { importPaths, lookupOne, recompute, forget, show, exportCsv, type AppContext } from '../../src/app/index.js';
import { MAX_BATCH_BYTES, MAX_SMIME_MESSAGE_BYTES, type SourceItem } from '../../src/core/index.js';
import { detached } from '../../src/app/ingest.js';

const RULES = join(import.meta.dirname, '..', 'fixtures', 'rules');
const DAY = 86_400_000;
const NOW = Date.now();

const item = (key: string, from: string, mailer: string, daysAgo: number, extra: Record<string, string> = {}): SourceItem => mailItem(NOW, key, from, mailer, daysAgo, extra);

let t: ReturnType<typeof tempDir>;
let ctx: AppContext;
beforeEach(async () => {
  t = tempDir();
  ctx = openTestApp(t.dir, { rulesDirs: [RULES] });
});
afterEach(async () => {
  await ctx.close();
  t.cleanup();
});

describe('ingest and store', () => {
  it('stores one observation per message and address, with the verdict and raw fingerprint', async () => {
    const c = await ctx.pipeline.ingestBatch([item('m1', 'A <a@x.example>', 'TestMail Verify/1.0', 1)]);
    expect(c).toMatchObject({ read: 1, stored: 1, duplicates: 0 });
    const obs = await ctx.store.observationsOf('a@x.example');
    expect(obs).toHaveLength(1);
    expect(obs[0]).toMatchObject({ family: 'test-verify', smime: 'verify', ruleId: 'test-verify-mail', messageId: 'm1@test' });
    expect(JSON.parse(obs[0]!.fingerprint)['x-mailer']).toEqual(['TestMail Verify/1.0']);
  });

  it('importing the same mail twice changes nothing (source key and Message-ID + address)', async () => {
    const batch = [item('m1', 'a@x.example', 'TestMail Verify/1.0', 3), item('m2', 'a@x.example', 'TestMail Tolerate/2.0', 2)];
    await ctx.pipeline.ingestBatch(batch);
    const before = await show(ctx, 'a@x.example');
    const again = await ctx.pipeline.ingestBatch(batch);
    expect(again).toMatchObject({ stored: 0, duplicates: 2 });
    // Same message under another source key (e.g. copied to another folder): still a duplicate.
    const copy = { ...batch[0]!, sourceKey: 'other-folder/1' };
    expect(await ctx.pipeline.ingestBatch([copy])).toMatchObject({ stored: 0, duplicates: 1 });
    expect(await show(ctx, 'a@x.example')).toEqual(before);
  });

  it('a message without Message-ID is deduplicated by a hash of its header block', async () => {
    const bytes = headerBlock({ From: 'n@x.example', Date: new Date(NOW - DAY).toUTCString(), 'X-Mailer': 'TestMail Verify/1.0' });
    await ctx.pipeline.ingestBatch([{ sourceKey: 'k1', headerBytes: bytes, receivedAt: null }]);
    expect(await ctx.pipeline.ingestBatch([{ sourceKey: 'k2', headerBytes: bytes, receivedAt: null }])).toMatchObject({ duplicates: 1 });
  });

  it('older mail arriving later never overrides newer evidence (order independence)', async () => {
    const newer = item('n', 'a@x.example', 'TestMail Tolerate/2.0', 5);
    const older = item('o', 'a@x.example', 'TestMail Verify/1.0', 50);
    await ctx.pipeline.ingestBatch([newer]);
    await ctx.pipeline.ingestBatch([older]);
    const r1 = await lookupOne(ctx.store, ctx.config.policy, 'a@x.example');
    const t2 = tempDir();
    const ctx2 = openTestApp(t2.dir, { rulesDirs: [RULES] });
    await ctx2.pipeline.ingestBatch([older]);
    await ctx2.pipeline.ingestBatch([newer]);
    const r2 = await lookupOne(ctx2.store, ctx2.config.policy, 'a@x.example');
    await ctx2.close();
    t2.cleanup();
    expect(r1.recommendation).toBe('do-not-sign');
    expect(r1).toEqual(r2);
    expect(await ctx.store.getState('a@x.example')).toMatchObject({ family: 'test-tolerate', messages: 2 });
  });

  it('counts every skip reason', async () => {
    const c = await ctx.pipeline.ingestBatch([
      { sourceKey: 's1', headerBytes: headerBlock({ From: 'a@x.example', 'Auto-Submitted': 'auto-replied' }), receivedAt: null },
      { sourceKey: 's2', headerBytes: headerBlock({ From: 'MAILER-DAEMON@x.example' }), receivedAt: null },
      { sourceKey: 's3', headerBytes: headerBlock({ From: 'a@x.example', Precedence: 'bulk' }), receivedAt: null },
      { sourceKey: 's4', headerBytes: headerBlock({ To: 'a@x.example' }), receivedAt: null },
      { sourceKey: 's5', headerBytes: Buffer.from(''), receivedAt: null },
    ]);
    expect(c.read).toBe(5);
    expect(c.skipped).toEqual({ 'auto-submitted': 1, bounce: 1, bulk: 1, 'no-from': 1, malformed: 1 });
    expect(await ctx.store.getCounters()).toMatchObject({ read: 5, 'skipped:bounce': 1 });
  });

  it('lookup is case-insensitive and rejects invalid addresses with E_ADDRESS', async () => {
    await ctx.pipeline.ingestBatch([item('m1', 'Alice <Alice@X.Example>', 'TestMail Verify/1.0', 1)]);
    expect((await lookupOne(ctx.store, ctx.config.policy, 'ALICE@x.example')).recommendation).toBe('sign');
    await expect(lookupOne(ctx.store, ctx.config.policy, 'not an address')).rejects.toMatchObject({ code: 'E_ADDRESS' });
    expect(await lookupOne(ctx.store, ctx.config.policy, 'nobody@x.example')).toMatchObject({ recommendation: 'unknown', clients: [] });
  });

  it('automated and forged-looking mail do not move an address towards sign or do-not-sign', async () => {
    await ctx.pipeline.ingestBatch([item('a1', 'b@x.example', 'TestBulkSender 1', 1)]);
    expect((await lookupOne(ctx.store, ctx.config.policy, 'b@x.example')).recommendation).toBe('unknown');
    await ctx.pipeline.ingestBatch([item('a2', 'b@x.example', 'TestMail Verify/1.0', 10)]);
    await ctx.pipeline.ingestBatch([item('a3', 'b@x.example', 'TestBulkSender 2', 0)]);
    expect((await lookupOne(ctx.store, ctx.config.policy, 'b@x.example')).recommendation).toBe('sign');
  });

  it('a signed-looking header without a checked signature is no S/MIME evidence: an unrecognised program still blocks sign (issue 12.13)', async () => {
    await ctx.pipeline.ingestBatch([
      item('s1', 'c@x.example', 'TestMail Verify/1.0', 3),
      item('s2', 'c@x.example', 'Unknown Program 1', 1, { 'Content-Type': 'multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="b"' }),
    ]);
    const r = await lookupOne(ctx.store, ctx.config.policy, 'c@x.example');
    expect(r.recommendation).not.toBe('sign');
    const o = (await ctx.store.observationsOf('c@x.example'))[1]!;
    expect(o.smimeMessage).toBe('signed');
    expect(JSON.parse(o.warnings)).toContain('smime:unverified-signature');
  });

  it('DMARC failure at the trusted server stores the mail as unauthenticated, without effect', async () => {
    await ctx.close();
    ctx = openTestApp(t.dir, { rulesDirs: [RULES], trustedAuthservId: 'mx.us.example' }, 'auth.db');
    await ctx.pipeline.ingestBatch([
      item('d1', 'd@x.example', 'TestMail Broken/3.0', 1, { 'Authentication-Results': 'mx.us.example; dmarc=fail header.from=x.example' }),
    ]);
    const o = (await ctx.store.observationsOf('d@x.example'))[0]!;
    expect(o.authenticated).toBe(0);
    expect(JSON.parse(o.warnings)).toContain('unauthenticated:dmarc-fail');
    expect((await lookupOne(ctx.store, ctx.config.policy, 'd@x.example')).recommendation).toBe('unknown');
  });

  it('recompute re-runs the rules from stored fingerprints and rebuilds the same state', async () => {
    await ctx.pipeline.ingestBatch([item('r1', 'e@x.example', 'TestMail Verify/1.0', 30), item('r2', 'e@x.example', 'TestMail Tolerate/2.0', 20), item('r3', 'f@x.example', 'TestMail Verify/1.0', 1)]);
    const before = [await show(ctx, 'e@x.example'), await show(ctx, 'f@x.example')];
    const r = await recompute(ctx);
    expect(r).toMatchObject({ observations: 3, changed: 0, addresses: 2 });
    const after = [await show(ctx, 'e@x.example'), await show(ctx, 'f@x.example')];
    expect(after.map((s) => s.state)).toEqual(before.map((s) => s.state));
    expect(after.map((s) => s.clients)).toEqual(before.map((s) => s.clients));
  });

  it('forget erases every row and keeps old mail from coming back; newer mail starts fresh', async () => {
    const old = item('f1', 'g@x.example', 'TestMail Verify/1.0', 10);
    await ctx.pipeline.ingestBatch([old]);
    const res = await forget(ctx, 'G@x.example');
    expect(res.rowsDeleted).toBeGreaterThanOrEqual(3);
    expect(await show(ctx, 'g@x.example')).toMatchObject({ state: null, observations: [], clients: [] });
    const again = await ctx.pipeline.ingestBatch([{ ...old, sourceKey: 'resync/f1' }]);
    expect(again.skipped).toEqual({ erased: 1 });
    const hash = ctx.erasureHash('g@x.example');
    const [dump] = rawQuery<{ n: number }>(ctx, `SELECT count(*) AS n FROM observations WHERE address = 'g@x.example'`);
    expect(dump!.n).toBe(0);
    expect(hash).not.toContain('g@x.example');
    const fresh = item('f2', 'g@x.example', 'TestMail Tolerate/2.0', -0.01); // written after the erasure
    expect((await ctx.pipeline.ingestBatch([fresh])).stored).toBe(1);
    expect((await lookupOne(ctx.store, ctx.config.policy, 'g@x.example')).recommendation).toBe('do-not-sign');
  });

  it('imports an .eml folder and a Maildir', async () => {
    const eml = join(t.dir, 'eml');
    const md = join(t.dir, 'md');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(eml, 'sub'), { recursive: true });
    for (const d of ['cur', 'new', 'tmp']) mkdirSync(join(md, d), { recursive: true });
    writeFileSync(join(eml, 'a.eml'), item('e1', 'h@x.example', 'TestMail Verify/1.0', 2).headerBytes);
    writeFileSync(join(eml, 'sub', 'b.eml'), item('e2', 'i@x.example', 'TestMail Verify/1.0', 2).headerBytes);
    writeFileSync(join(md, 'cur', '1700000000.1.host:2,S'), item('e3', 'j@x.example', 'TestMail Verify/1.0', 2).headerBytes);
    writeFileSync(join(md, 'new', '1700000001.2.host'), item('e4', 'k@x.example', 'TestMail Verify/1.0', 2).headerBytes);
    const c = await importPaths(ctx, [eml, md]);
    expect(c).toMatchObject({ read: 4, stored: 4 });
    expect((await importPaths(ctx, [eml, md])).duplicates).toBe(4);
  });
});

describe('strings kept past the message (detached)', () => {
  it('are equal copies of the slices they replace, null and short strings as they are', () => {
    const block = 'From: someone.with.a.long.name@customer.example\nUser-Agent: Mozilla Thunderbird 128.3.1\n'.repeat(50);
    const slice = block.slice(6, 46);
    expect(detached(slice)).toBe(slice);
    expect(detached(slice).length).toBe(40);
    expect(detached(null)).toBeNull();
    expect(detached('')).toBe('');
    expect(detached('short@x.ex')).toBe('short@x.ex');
  });

  it('the stored row carries the same address, Message-ID, product and version', async () => {
    await ctx.pipeline.ingestBatch([item('long-message-id-0001', 'Someone <someone.with.a.long.name@customer.example>', 'TestMail Verify/1.0', 1)]);
    const [o] = await ctx.store.observationsOf('someone.with.a.long.name@customer.example');
    expect(o).toMatchObject({ address: 'someone.with.a.long.name@customer.example', messageId: 'long-message-id-0001@test', family: 'test-verify' });
  });
});

describe('batch bounds', () => {
  it('a batch is bounded by bytes, not only by count: large signed messages are kept whole but never pile up in one batch (issue 12.11)', async () => {
    const MESSAGE = 12 * 1024 * 1024;
    const path = join(t.dir, 'big-signed.mbox');
    const fd = openSync(path, 'w');
    try {
      for (let i = 0; i < 6; i++) {
        const head = `From big${i}@x.example Mon Nov  2 10:00:00 2026\nFrom: big${i}@x.example\nMessage-ID: <big${i}@x.example>\nX-Mailer: TestMail Verify/1.0\nMIME-Version: 1.0\nContent-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="b"\n\n--b\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n`;
        writeSync(fd, head);
        writeSync(fd, Buffer.alloc(MESSAGE, 'QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB\n'));
        writeSync(fd, '\n--b--\n');
      }
    } finally {
      closeSync(fd);
    }
    const perBatch: number[] = [];
    let seen = 0;
    const c = await importPaths(ctx, [path], (p) => {
      perBatch.push(p.counts.read - seen);
      seen = p.counts.read;
    });
    expect(c).toMatchObject({ read: 6, stored: 6 });
    // Each message is kept whole (12 MiB); at most two fit under MAX_BATCH_BYTES (32 MiB).
    expect(MAX_BATCH_BYTES).toBeGreaterThanOrEqual(MAX_SMIME_MESSAGE_BYTES);
    expect(Math.max(...perBatch) * MESSAGE).toBeLessThanOrEqual(MAX_BATCH_BYTES);
    expect(perBatch.length).toBeGreaterThanOrEqual(3);
  });
});

describe('statistics', () => {
  it('monthly activity kept by ingest equals a count over all observations, also after recompute and erasure', async () => {
    await ctx.pipeline.ingestBatch([
      item('s1', 'a@x.example', 'TestMail Verify/1.0', 40),
      item('s2', 'a@x.example', 'TestMail Tolerate/1.0', 41),
      item('s3', 'b@x.example', 'TestMail Tolerate/1.0', 2),
      item('s4', 'c@x.example', 'TestBulkSender 1', 2),
      item('s5', 'c@x.example', 'TestMail Verify/2.0', 70),
    ]);
    const direct = () =>
      rawQuery(
          ctx,
          `SELECT strftime('%Y-%m', effective_at / 1000, 'unixepoch') AS month, count(*) AS messages, count(DISTINCT address) AS activeAddresses,
                  count(DISTINCT CASE WHEN evidence = 1 AND (smime = 'verify' OR smime_message IN ('signed','opaque-signed')) THEN address END) AS signable
           FROM observations GROUP BY month ORDER BY month`,
        );
    expect((await ctx.store.stats()).byMonth).toEqual(direct());
    await recompute(ctx);
    expect((await ctx.store.stats()).byMonth).toEqual(direct());
    await forget(ctx, 'a@x.example');
    expect((await ctx.store.stats()).byMonth).toEqual(direct());
    expect(await ctx.store.stats()).toMatchObject({ addresses: 2, messages: 3 });
  });

  it('migration 0001 backfills the monthly activity of a database made before it', async () => {
    await ctx.pipeline.ingestBatch([item('m1', 'a@x.example', 'TestMail Verify/1.0', 40), item('m2', 'b@x.example', 'Unknown Thing 1', 2), item('m3', 'b@x.example', 'TestMail Tolerate/1.0', 70)]);
    const expected = (await ctx.store.stats()).byMonth;
    // Make it a pre-0001 database: no table, no record of the migration, and the client lists in
    // their own table as 0000 made it (0004 moves them into the address rows).
    await ctx.close();
    rawExec(ctx, (db) =>
      db.exec(`DROP TABLE address_months; DROP TABLE erased_messages; DROP TABLE leases; DELETE FROM __drizzle_migrations WHERE created_at > (SELECT min(created_at) FROM __drizzle_migrations);
        ALTER TABLE addresses DROP COLUMN clients;
        CREATE TABLE address_clients (address text NOT NULL, client_key text NOT NULL, family text, product text, version text, platform text, smime text NOT NULL,
          count integer NOT NULL, last_seen integer NOT NULL, PRIMARY KEY (address, client_key)) WITHOUT ROWID;
        CREATE INDEX address_clients_family ON address_clients (family);`),
    );
    ctx = openTestApp(t.dir, { rulesDirs: [RULES] });
    expect((await ctx.store.stats()).byMonth).toEqual(expected);
  });
});

describe('CSV export', () => {
  it('quotes per RFC 4180 and neutralises formula cells (OWASP)', async () => {
    rawExec(ctx, (s) => {
      const ins = s.prepare(`INSERT INTO addresses (address, first_seen, last_seen, messages, family, product, version, smime, recommendation, reason) VALUES (?, 0, 86400000, 1, ?, ?, ?, 'verify', 'sign', ?)`);
      ins.run('plain@x.example', 'fam', 'Prod', '1.0', 'simple');
      ins.run('=cmd@x.example', 'fam', '=HYPERLINK("http://evil")', '+1', 'a "quoted", comma\r\nnewline');
      ins.run('@at@x.example', 'fam', '-2', '\tx', 'tab');
    });
    const csv = await collect(exportCsv(ctx.store, ctx.config.policy, {}));
    const lines = csv.split('\r\n');
    expect(lines[0]).toBe('address,recommendation,family,product,version,smime,last_seen,messages,reason,key_changed');
    expect(csv).toContain(`plain@x.example,sign,fam,Prod,1.0,verify,1970-01-02T00:00:00Z,1,simple,0\r\n`);
    expect(csv).toContain(`"'=cmd@x.example",sign,fam,"'=HYPERLINK(""http://evil"")","'+1",verify,1970-01-02T00:00:00Z,1,"a ""quoted"", comma\r\nnewline",0`);
    expect(csv).toContain(`"'@at@x.example",sign,fam,"'-2","'\tx"`);
  });

  it('filters by recommendation, family and since', async () => {
    await ctx.pipeline.ingestBatch([item('x1', 'v@x.example', 'TestMail Verify/1.0', 2), item('x2', 't@x.example', 'TestMail Tolerate/1.0', 200), item('x3', 'u@x.example', 'TestMail Tolerate/1.0', 1)]);
    const rows = async (f: object) => (await collect(exportCsv(ctx.store, ctx.config.policy, f))).trim().split('\r\n').slice(1).map((l) => l.split(',')[0]);
    expect(await rows({ recommendation: 'sign' })).toEqual(['v@x.example']);
    expect(await rows({ family: 'test-tolerate' })).toEqual(['t@x.example', 'u@x.example']);
    expect(await rows({ since: NOW - 10 * DAY })).toEqual(['u@x.example', 'v@x.example']);
  });
});
