/**
 * The store contract suite (issue 10): the same tests, unchanged, against the embedded SQLite
 * store (a real file, migrations applied) and the PostgreSQL store (a real server started by
 * the test setup, a fresh database per test), through the app's use cases as the poller, the
 * importer, the API and the CLI use them. A last group feeds both stores the same mail and
 * compares what they answer and export, byte for byte.
 */
import { describe, it, expect, beforeAll, afterAll, beforeEach, afterEach } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { headerBlock, mailItem, collect } from '../helpers/app.js';
import { storeKinds, withPostgres } from '../helpers/postgres-suite.js';
import { makeTestPki, type TestPki, type TestLeaf } from '../helpers/pki.js';
import { configSchema } from '../../src/config/index.js';
import { openApp, silentLogger, lookupOne, lookupMany, recompute, forget, show, exportCsv, importPaths, refreshStale, censusStats, type AppContext } from '../../src/app/index.js';
import { recommend, type AddressState } from '../../src/policy/index.js';
import type { SourceItem } from '../../src/core/index.js';

const RULES = join(import.meta.dirname, '..', 'fixtures', 'rules');
const DAY = 86_400_000;
const NOW = Date.now();

const pg = withPostgres('census-contract-');
/** Test-only rules whose product and version need CSV quoting and formula neutralisation. */
const ODD_RULES = join(pg.dir, 'odd-rules');
mkdirSync(join(ODD_RULES, 'clients'), { recursive: true });
writeFileSync(
  join(ODD_RULES, 'clients', 'odd.yaml'),
  `- id: test-odd-mail
  priority: 1
  match:
    x-mailer: '^Odd Mailer (?<version>\\S+)$'
  client: { family: test-odd, kind: client, product: 'Odd "Mail", Inc.', version: '$<version>' }
  examples:
    - headers: { x-mailer: 'Odd Mailer 1.0' }
      expect: { family: test-odd, version: '1.0' }
`,
);

let pki: TestPki;
beforeAll(() => {
  pki = makeTestPki();
});
afterAll(() => {
  pki?.cleanup();
});

const kinds = storeKinds(pg, { rulesDirs: [RULES, ODD_RULES] });

const item = (key: string, from: string, mailer: string, daysAgo: number, extra: Record<string, string> = {}): SourceItem => mailItem(NOW, key, from, mailer, daysAgo, extra);

/** A varied census: clients of every S/MIME level, automated mail, unrecognised programs, addresses that need CSV care. */
function mixedMail(): SourceItem[] {
  const mailers = ['TestMail Verify/1.0', 'TestMail Tolerate/2.0', 'TestMail Broken/3.0', 'Unknown Program 7', 'TestBulkSender 1', 'Odd Mailer =1+2', 'Odd Mailer -3,"x"'];
  const out: SourceItem[] = [];
  for (let i = 0; i < 60; i++) {
    const local = ['user', '=eq', '-dash', '+plus', '@at'][i % 5]!;
    out.push(item(`mix-${i}`, `${local}${i % 17}@mix${i % 3}.example`, mailers[(i * 5) % mailers.length]!, (i * 13) % 400));
  }
  return out;
}

let pkiSeq = 0;
/** A customer message signed by the openssl CLI. */
function signedMail(leaf: TestLeaf, date: string): Buffer {
  const content = join(pki.dir, `contract-content-${++pkiSeq}.txt`);
  writeFileSync(content, 'Content-Type: text/plain; charset=us-ascii\r\n\r\nHello, a question about my invoice.\r\n');
  const signed = pki.openssl(['cms', '-sign', '-in', content, '-signer', leaf.certFile, '-inkey', leaf.keyFile, '-certfile', pki.interCertFile, '-md', 'sha256', '-from', leaf.email, '-to', 'support@company.test', '-subject', 'Question']);
  return Buffer.concat([Buffer.from(`Date: ${date}\r\nMessage-ID: <contract-signed-${pkiSeq}@customer.test>\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:102.0) Gecko/20100101 Thunderbird/102.10.0\r\n`), signed]);
}

/** What an address looks like from outside, without the times that depend on when the test ran. */
async function picture(ctx: AppContext, address: string) {
  const s = await show(ctx, address);
  return { ...s, observations: s.observations.map(({ id: _id, createdAt: _c, ...o }) => o) };
}

describe.each(kinds)('store contract on $name', (kind) => {
  let ctx: AppContext;
  beforeEach(async () => {
    ctx = await kind.open();
  });
  afterEach(async () => {
    await ctx.close();
  });

  it('the same message twice, or the same message from two sources, is stored once and changes nothing', async () => {
    const batch = [item('m1', 'a@x.example', 'TestMail Verify/1.0', 3), item('m2', 'a@x.example', 'TestMail Tolerate/2.0', 2)];
    expect(await ctx.pipeline.ingestBatch(batch)).toMatchObject({ stored: 2, duplicates: 0 });
    const before = await picture(ctx, 'a@x.example');
    expect(await ctx.pipeline.ingestBatch(batch)).toMatchObject({ stored: 0, duplicates: 2 });
    // Another folder, another source key: the same Message-ID and address.
    expect(await ctx.pipeline.ingestBatch([{ ...batch[0]!, sourceKey: 'other-folder/1' }])).toMatchObject({ stored: 0, duplicates: 1 });
    // Within one batch too: a repeat and a copy under another key.
    const m3 = item('m3', 'a@x.example', 'TestMail Verify/1.0', 1);
    expect(await ctx.pipeline.ingestBatch([m3, m3, { ...m3, sourceKey: 'copy-of-m3' }])).toMatchObject({ stored: 1, duplicates: 2 });
    const after = await picture(ctx, 'a@x.example');
    expect(after.observations).toHaveLength(3);
    expect(after.state!.messages).toBe(3);
    expect(after.observations.slice(0, 2)).toEqual(before.observations);
    expect(await ctx.store.getCounters()).toMatchObject({ stored: 3, duplicates: 5 });
  });

  it('older mail arriving later never overrides newer evidence (order independence)', async () => {
    const mail = [item('n', 'o@x.example', 'TestMail Tolerate/2.0', 5), item('o', 'o@x.example', 'TestMail Verify/1.0', 50), item('p', 'o@x.example', 'TestMail Broken/3.0', 400)];
    for (const m of mail) await ctx.pipeline.ingestBatch([m]);
    const other = await kind.open();
    try {
      for (const m of [...mail].reverse()) await other.pipeline.ingestBatch([m]);
      const r1 = await lookupOne(ctx.store, ctx.config.policy, 'o@x.example', NOW);
      expect(r1.recommendation).toBe('do-not-sign');
      expect(await lookupOne(other.store, other.config.policy, 'o@x.example', NOW)).toEqual(r1);
      expect((await picture(other, 'o@x.example')).state).toEqual((await picture(ctx, 'o@x.example')).state);
      expect(await ctx.store.getState('o@x.example')).toMatchObject({ family: 'test-tolerate', messages: 3 });
    } finally {
      await other.close();
    }
  });

  it('an erasure deletes every row of the address, and its old mail cannot bring it back', async () => {
    const target = 'erin@customer.example';
    const mine = [item('e1', target, 'TestMail Verify/1.0', 30), item('e2', target, 'TestMail Tolerate/2.0', 20)];
    await ctx.pipeline.ingestBatch([...mine, item('k1', 'keep@customer.example', 'TestMail Verify/1.0', 10)]);
    const f = await forget(ctx, target, NOW - DAY);
    expect(f.rowsDeleted).toBeGreaterThanOrEqual(2 + 2 + 1 + 1);
    expect(await picture(ctx, target)).toMatchObject({ state: null, clients: [], observations: [], certificates: [] });
    expect((await lookupOne(ctx.store, ctx.config.policy, target)).recommendation).toBe('unknown');
    // The same mail again, under new source keys, and with a forged Date after the erasure.
    const again = await ctx.pipeline.ingestBatch([
      ...mine.map((m) => ({ ...m, sourceKey: m.sourceKey + '-again' })),
      { sourceKey: 'e1-forged', headerBytes: headerBlock({ From: target, Date: new Date(NOW).toUTCString(), 'Message-ID': '<e1@test>', 'X-Mailer': 'TestMail Verify/1.0' }), receivedAt: new Date(NOW) },
    ]);
    expect(again).toMatchObject({ stored: 0 });
    expect(await ctx.store.getCounters()).toMatchObject({ 'skipped:erased': 3 });
    expect(await picture(ctx, target)).toMatchObject({ state: null, observations: [] });
    const csv = await collect(exportCsv(ctx.store, ctx.config.policy, {}));
    expect(csv).not.toContain('erin');
    expect(csv).toContain('keep@customer.example');
    // New mail, written after the erasure, starts afresh.
    expect(await ctx.pipeline.ingestBatch([item('e-new', target, 'TestMail Verify/1.0', 0)])).toMatchObject({ stored: 1 });
    expect((await ctx.store.getState(target))!.messages).toBe(1);
  });

  it('recompute with unchanged rules changes nothing and rebuilds the same states, clients and statistics', async () => {
    await ctx.pipeline.ingestBatch(mixedMail());
    const addresses = await ctx.store.addressPage('', 1000);
    expect(addresses.length).toBeGreaterThan(20);
    const before = { pictures: await Promise.all(addresses.map((a) => picture(ctx, a))), stats: await ctx.store.stats() };
    const r = await recompute(ctx);
    expect(r).toMatchObject({ observations: 60, changed: 0, addresses: addresses.length });
    expect({ pictures: await Promise.all(addresses.map((a) => picture(ctx, a))), stats: await ctx.store.stats() }).toEqual(before);
  });

  it('recompute after a rule change rewrites the verdicts and the states', async () => {
    await ctx.pipeline.ingestBatch([item('u1', 'u@x.example', 'Odd Mailer 9', 2)]);
    expect((await ctx.store.getState('u@x.example'))!.family).toBe('test-odd');
    await ctx.close();
    // The same database without the odd rules: the program is no longer recognised.
    ctx = openApp({ config: { ...ctx.config, rulesDirs: [RULES] }, logger: silentLogger() });
    const r = await recompute(ctx);
    expect(r).toMatchObject({ observations: 1, changed: 1, addresses: 1 });
    expect((await ctx.store.getState('u@x.example'))!.family).toBeNull();
    expect((await ctx.store.observationsOf('u@x.example'))[0]!.ruleId).toBeNull();
  });

  it('harvests certificates with key continuity: first seen, renewal, key changed (alert kept by recompute)', async () => {
    await ctx.close();
    ctx = await kind.open({ sign: { trustedCaFiles: [pki.rootCertFile], chainFiles: [] } });
    const dir = join(pg.dir, `certs-${kind.name}`);
    mkdirSync(dir, { recursive: true });
    const files = [
      [pki.rsa, 'Mon, 02 Nov 2026 10:00:00 +0000'],
      [pki.rsaRenewal, 'Tue, 10 Nov 2026 10:00:00 +0000'],
    ] as const;
    files.forEach(([leaf, date], i) => writeFileSync(join(dir, `c${i}.eml`), signedMail(leaf, date)));
    await importPaths(ctx, [join(dir, 'c0.eml')]);
    await importPaths(ctx, [join(dir, 'c1.eml')]);
    expect((await ctx.store.certificatesOf('alice@example.test')).map((c) => c.continuity)).toEqual(['renewal', 'first-seen']);
    expect((await lookupOne(ctx.store, ctx.config.policy, 'alice@example.test')).keyChanged).toBe(false);
    writeFileSync(join(dir, 'c2.eml'), signedMail(pki.rsaRekeyed, 'Fri, 20 Nov 2026 10:00:00 +0000'));
    await importPaths(ctx, [join(dir, 'c2.eml')]);
    const certs = await ctx.store.certificatesOf('alice@example.test');
    expect(certs.map((c) => c.continuity)).toEqual(['key-changed', 'renewal', 'first-seen']);
    expect(certs[0]!.pem).toContain('BEGIN CERTIFICATE');
    expect((await lookupOne(ctx.store, ctx.config.policy, 'alice@example.test')).keyChanged).toBe(true);
    expect(await ctx.store.getCounters()).toMatchObject({ 'certificates:first-seen': 1, 'certificates:renewal': 1, 'certificates:key-changed': 1 });
    // Re-reading the same signed mail changes nothing.
    await importPaths(ctx, [join(dir, 'c2.eml')]);
    expect(await ctx.store.certificatesOf('alice@example.test')).toEqual(certs);
    expect((await recompute(ctx)).changed).toBe(0);
    expect((await lookupOne(ctx.store, ctx.config.policy, 'alice@example.test')).keyChanged).toBe(true);
  });

  it('certificates in one batch end as they do imported one message at a time (continuity against the rows as each write leaves them)', async () => {
    // A renewal, a new key, and the first key again later: each decided against the address's
    // latest row as the batch's earlier writes left it; the last one widens an existing row.
    const seq: Array<[typeof pki.rsa, string]> = [
      [pki.rsa, 'Mon, 02 Nov 2026 10:00:00 +0000'],
      [pki.rsaRenewal, 'Tue, 10 Nov 2026 10:00:00 +0000'],
      [pki.rsaRekeyed, 'Fri, 20 Nov 2026 10:00:00 +0000'],
      [pki.rsa, 'Wed, 25 Nov 2026 10:00:00 +0000'],
      [pki.rsaRekeyed, 'Thu, 26 Nov 2026 10:00:00 +0000'],
    ];
    const picture = async (c: AppContext): Promise<unknown> => ({
      certs: (await c.store.certificatesOf('alice@example.test')).map(({ id, ...row }) => (expect(id).toBeGreaterThan(0), row)),
      counters: Object.fromEntries(Object.entries(await c.store.getCounters()).filter(([k]) => k.startsWith('certificates:'))),
      keyChanged: (await lookupOne(c.store, c.config.policy, 'alice@example.test')).keyChanged,
    });
    const open = (): Promise<AppContext> => kind.open({ sign: { trustedCaFiles: [pki.rootCertFile], chainFiles: [] } });
    const base = join(pg.dir, `certs-batch-${kind.name}`);
    const oneByOne = join(base, 'one-by-one');
    const together = join(base, 'together');
    mkdirSync(oneByOne, { recursive: true });
    mkdirSync(together, { recursive: true });
    seq.forEach(([leaf, date], i) => {
      const mail = signedMail(leaf, date);
      writeFileSync(join(oneByOne, `c${i}.eml`), mail);
      writeFileSync(join(together, `c${i}.eml`), mail);
    });
    await ctx.close();
    ctx = await open();
    for (let i = 0; i < seq.length; i++) await importPaths(ctx, [join(oneByOne, `c${i}.eml`)]);
    const expected = await picture(ctx);
    expect((expected as { certs: unknown[] }).certs).toHaveLength(3);
    await ctx.close();
    ctx = await open();
    expect(await importPaths(ctx, [together])).toMatchObject({ stored: seq.length });
    expect(await picture(ctx)).toEqual(expected);
  });

  it('checkpoints commit with their batch, list in order, and restart from 0 on a UIDVALIDITY change', async () => {
    expect(await ctx.store.getCheckpoint('acct', 'INBOX')).toBeNull();
    await ctx.pipeline.ingestBatchAsync([item('c1', 'c@x.example', 'TestMail Verify/1.0', 1)], { account: 'acct', folder: 'INBOX', uidValidity: '42', lastUid: 7 });
    await ctx.pipeline.ingestBatchAsync([], { account: 'acct', folder: 'Archive', uidValidity: '9', lastUid: 3 });
    await ctx.pipeline.ingestBatchAsync([item('c2', 'c@x.example', 'TestMail Verify/1.0', 0)], { account: 'acct', folder: 'INBOX', uidValidity: '42', lastUid: 12 });
    expect(await ctx.store.getCheckpoint('acct', 'INBOX')).toEqual({ uidValidity: '42', lastUid: 12 });
    expect((await ctx.store.listCheckpoints()).map(({ updatedAt, ...c }) => (expect(updatedAt).toBeGreaterThan(0), c))).toEqual([
      { account: 'acct', folder: 'Archive', uidValidity: '9', lastUid: 3 },
      { account: 'acct', folder: 'INBOX', uidValidity: '42', lastUid: 12 },
    ]);
    await ctx.store.resetCheckpoint('acct', 'INBOX', '43');
    expect(await ctx.store.getCheckpoint('acct', 'INBOX')).toEqual({ uidValidity: '43', lastUid: 0 });
    expect((await ctx.store.getState('c@x.example'))!.messages).toBe(2);
  });

  it('lookups of one and many, statistics, counters, unknown programs and health', async () => {
    await ctx.pipeline.ingestBatch(mixedMail());
    const [first] = await ctx.store.addressPage('', 1);
    const one = await lookupOne(ctx.store, ctx.config.policy, first!, NOW);
    const many = await lookupMany(ctx.store, ctx.config.policy, [first!, 'nobody@x.example', first!], NOW, true);
    expect(many[0]).toEqual(one);
    expect(many[2]).toEqual(one);
    expect(many[1]).toMatchObject({ recommendation: 'unknown', clients: [] });
    const stats = await ctx.store.stats();
    expect(stats.addresses).toBe(await ctx.store.countAddresses());
    expect(stats.messages).toBe(60);
    expect(stats.byRecommendation.sign + stats.byRecommendation['do-not-sign'] + stats.byRecommendation.unknown).toBe(stats.addresses);
    expect(stats.byMonth.reduce((n, m) => n + m.messages, 0)).toBe(stats.messages);
    expect(stats.counters).toMatchObject({ stored: stats.messages });
    expect((await ctx.store.unknownFingerprints(5)).map((u) => u.value)).toContain('Unknown Program 7');
    expect(await ctx.store.health()).toEqual({ ok: true });
    await ctx.close();
    expect((await ctx.store.health()).ok).toBe(false);
    ctx = await kind.open();
  });
});

/**
 * One census on each store, fed the fixture's mail by `feed` before the group's tests and closed
 * after them. The getters are read inside tests, once beforeAll has opened the stores.
 */
function bothStores(feed: (ctx: AppContext, mail: SourceItem[], i: number) => Promise<void>): { sqlite: () => AppContext; postgres: () => AppContext } {
  let pair: AppContext[] = [];
  beforeAll(async () => {
    pair = await Promise.all([kinds[0]!.open(), kinds[1]!.open()]);
    const mail = mixedMail();
    for (const [i, ctx] of pair.entries()) await feed(ctx, mail, i);
  });
  afterAll(async () => {
    for (const ctx of pair) await ctx.close();
  });
  return { sqlite: () => pair[0]!, postgres: () => pair[1]! };
}

describe('both stores, the same mail: the same answers and the same export bytes', () => {
  let sqlite: AppContext;
  let postgres: AppContext;
  const stores = bothStores(async (ctx, mail, i) => {
    // Different batch boundaries on each side: the result must not depend on them.
    if (i === 0) await ctx.pipeline.ingestBatch(mail);
    else for (let k = 0; k < mail.length; k += 7) await ctx.pipeline.ingestBatch(mail.slice(k, k + 7));
  });
  beforeEach(() => {
    [sqlite, postgres] = [stores.sqlite(), stores.postgres()];
  });

  it('exports the same bytes, with and without filters', async () => {
    for (const filter of [{}, { recommendation: 'sign' as const }, { family: 'test-odd' }, { since: NOW - 100 * DAY }]) {
      const a = await collect(exportCsv(sqlite.store, sqlite.config.policy, filter, NOW));
      const b = await collect(exportCsv(postgres.store, postgres.config.policy, filter, NOW));
      expect(b).toBe(a);
      expect(a.split('\r\n').length).toBeGreaterThan(1);
    }
    const all = await collect(exportCsv(sqlite.store, sqlite.config.policy, {}, NOW));
    // The fixture exercises quoting and neutralisation.
    expect(all).toContain(`"'=eq`);
    expect(all).toContain(`"Odd ""Mail"", Inc.","'=1+2"`);
  });

  it('answers the same lookups, states, client lists, statistics and counters', async () => {
    const addresses = await sqlite.store.addressPage('', 1000);
    expect(await postgres.store.addressPage('', 1000)).toEqual(addresses);
    for (const a of addresses) expect(await picture(postgres, a)).toEqual(await picture(sqlite, a));
    expect(await lookupMany(postgres.store, postgres.config.policy, addresses, NOW, true)).toEqual(await lookupMany(sqlite.store, sqlite.config.policy, addresses, NOW, true));
    expect(await postgres.store.stats()).toEqual(await sqlite.store.stats());
    expect(await postgres.store.unknownFingerprints(10)).toEqual(await sqlite.store.unknownFingerprints(10));
  });

  it("one-address lookups (GET's statement) answer as the batch lookups and the other store, also once every cached decision has expired", async () => {
    // One address with three programs (the fixture's addresses have one each): the list's order.
    const multi = ['TestMail Verify/1.0', 'TestMail Tolerate/2.0', 'TestMail Broken/3.0', 'TestMail Verify/1.0'].map((ua, k) => item(`multi-${k}`, 'multi@mix.example', ua, [30, 5, 300, 2][k]!));
    for (const ctx of [sqlite, postgres]) await ctx.pipeline.ingestBatch(multi);
    const addresses = await sqlite.store.addressPage('', 1000);
    const answers = new Map<number, Awaited<ReturnType<typeof lookupOne>>[]>();
    for (const at of [NOW, NOW + 1000 * DAY]) {
      const batch = await lookupMany(sqlite.store, sqlite.config.policy, addresses, at, true);
      const ones = [];
      for (const [i, a] of addresses.entries()) {
        const s = await lookupOne(sqlite.store, sqlite.config.policy, a, at);
        expect(await lookupOne(postgres.store, postgres.config.policy, a, at)).toEqual(s);
        expect(s).toEqual(batch[i]);
        ones.push(s);
      }
      answers.set(at, ones);
    }
    // The fixture covers the client list's order and the expired-decision path (decided again from the state).
    expect(answers.get(NOW)!.some((r) => r.clients.length > 1)).toBe(true);
    expect(answers.get(NOW + 1000 * DAY)!.filter((r, i) => r.reason !== answers.get(NOW)![i]!.reason).length).toBeGreaterThan(0);
  });
});

describe('both stores, expired decisions: the export and the statistics give what a refreshed census would', () => {
  let sqlite: AppContext;
  let postgres: AppContext;
  const stores = bothStores((ctx, mail) => ctx.pipeline.ingestBatch(mail).then(() => undefined));
  beforeEach(() => {
    [sqlite, postgres] = [stores.sqlite(), stores.postgres()];
  });

  const FILTERS = [{}, { recommendation: 'sign' as const }, { recommendation: 'do-not-sign' as const }, { recommendation: 'unknown' as const }, { family: 'test-odd' }, { since: NOW - 100 * DAY }];
  const staleAt = (ctx: AppContext, at: number) => ({ now: at, decide: (s: AddressState) => recommend(s, at, ctx.config.policy) });
  const withoutHeader = (csv: string) => csv.slice(csv.indexOf('\r\n') + 2);

  // Each time later than the last: by then more of the decisions made at ingest have expired.
  it.each([30, 120, 250])('%i days later: the same bytes and statistics from both stores, before and after refreshing the stored decisions', async (days) => {
    const at = NOW + days * DAY;
    // Statistics as of `at`, read without writing: both stores agree, and differ from the stored decisions' counts.
    const current = await censusStats(sqlite, at);
    expect(await censusStats(postgres, at)).toEqual(current);
    expect(current.byRecommendation).not.toEqual((await sqlite.store.stats()).byRecommendation);
    const streamed: string[] = [];
    for (const filter of FILTERS) {
      const a = await collect(exportCsv(sqlite.store, sqlite.config.policy, filter, at));
      expect(await collect(exportCsv(postgres.store, postgres.config.policy, filter, at))).toBe(a);
      // Pages of 3 rows (pages the filter empties, page ends inside runs of stale rows): the same bytes.
      for (const ctx of [sqlite, postgres]) expect(await collect(ctx.store.exportCsv(filter, staleAt(ctx, at), 3))).toBe(withoutHeader(a));
      streamed.push(a);
    }
    // The fixture really holds expired decisions that change the CSV.
    expect(await collect(sqlite.store.exportCsv({}))).not.toBe(withoutHeader(streamed[0]!));
    const refreshed = await Promise.all([refreshStale(sqlite.store, sqlite.config.policy, at), refreshStale(postgres.store, postgres.config.policy, at)]);
    expect(refreshed[0]).toBeGreaterThan(0);
    expect(refreshed[1]).toBe(refreshed[0]);
    for (const [i, filter] of FILTERS.entries()) {
      expect(await collect(exportCsv(sqlite.store, sqlite.config.policy, filter, at))).toBe(streamed[i]);
      expect(await collect(exportCsv(postgres.store, postgres.config.policy, filter, at))).toBe(streamed[i]);
    }
    // What is stored now is exactly that: the stored-decision export (the store copy's) and counts agree.
    for (const ctx of [sqlite, postgres]) {
      expect(await collect(ctx.store.exportCsv({}))).toBe(withoutHeader(streamed[0]!));
      expect(await ctx.store.stats()).toEqual(current);
    }
  });
});
