/**
 * Bulk seeding for the scaling benchmarks (src/store/seed.ts), on both stores: the big census a
 * 10M point measures must answer like the real one it stands for.
 * - growByCopies: every copy of an ingested census answers lookups, `show` and stats exactly as
 *   the ingested original does (only the address and source keys renamed), a partial copy
 *   carries its addresses' whole state, and new mail ingested afterwards folds into the original
 *   addresses exactly as into the ungrown census;
 * - seedSynthetic: both dialects build the same census from the same spec (the same lookups and
 *   the same export bytes), its expired decisions are re-decided by lookups and exports, and
 *   ingest on top of a seeded address folds into its state like into any stored one.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { mailItem, collect } from '../helpers/app.js';
import { storeKinds, withPostgres } from '../helpers/postgres-suite.js';
import { configSchema } from '../../src/config/index.js';
import { openApp, silentLogger, lookupMany, show, exportCsv, refreshStale, type AppContext } from '../../src/app/index.js';
import { seedSynthetic, growByCopies, syntheticAddress, SYNTHETIC_EXPIRED_SHARE } from '../../src/store/index.js';
import type { SourceItem } from '../../src/core/index.js';

const RULES = join(import.meta.dirname, '..', 'fixtures', 'rules');
const NOW = Date.now();

const pg = withPostgres('census-seed-');
const kinds = storeKinds(pg, { rulesDirs: [RULES] });

/** 40 messages from 12 addresses: several clients and S/MIME levels each, over a year. */
function mail(prefix: string, days = 0): SourceItem[] {
  const mailers = ['TestMail Verify/1.0', 'TestMail Tolerate/2.0', 'TestMail Broken/3.0', 'Unknown Program 7', 'TestBulkSender 1'];
  return Array.from({ length: 40 }, (_, i) => mailItem(NOW, `${prefix}-${i}`, `user${i % 12}@seed${i % 3}.example`, mailers[(i * 3) % mailers.length]!, ((i * 37) % 380) + days));
}
const ADDRESSES = Array.from({ length: 12 }, (_, i) => `user${i}@seed${i % 3}.example`);

/** `show` of an address with its own name and source keys taken out, and without insertion times and row ids. */
async function picture(ctx: AppContext, address: string, prefix = '') {
  const s = await show(ctx, prefix + address);
  return {
    state: s.state && { ...s.state, address: s.state.address.slice(prefix.length) },
    clients: s.clients,
    observations: s.observations.map(({ id: _id, createdAt: _c, address: a, sourceKey, ...o }) => ({ ...o, address: a.slice(prefix.length), sourceKey: sourceKey.slice(prefix.replace(/\.$/, ':').length) })),
  };
}

describe.each(kinds)('growByCopies on $name: copies answer as the ingested census does', (kind) => {
  let ctx: AppContext;
  beforeAll(async () => {
    ctx = await kind.open();
    await ctx.pipeline.ingestBatch(mail('m'));
  });
  afterAll(async () => {
    await ctx?.close();
  });

  it('grows to the target: whole copies, then a partial one with its addresses whole state', async () => {
    // 40 template rows: copies 1 and 2 whole, copy 3 the first 10 rows by id.
    expect(await growByCopies(ctx.store, 130)).toBe(130);
    expect(await ctx.store.countRows('observations')).toBe(130);
    const original = await lookupMany(ctx.store, ctx.config.policy, ADDRESSES, NOW, true);
    for (const j of [1, 2]) {
      const prefix = `copy${j}.`;
      for (const a of ADDRESSES) expect(await picture(ctx, a, prefix)).toEqual(await picture(ctx, a));
      const copied = await lookupMany(ctx.store, ctx.config.policy, ADDRESSES.map((a) => prefix + a), NOW, true);
      expect(copied.map((r) => ({ ...r, address: r.address.slice(prefix.length) }))).toEqual(original);
    }
    // The partial copy: only the addresses of the template's first 10 rows, each with its whole state and clients.
    const partial = (await ctx.store.addressPage('copy3.', 1000)).filter((a) => a.startsWith('copy3.'));
    expect(partial.length).toBeGreaterThan(0);
    expect(partial.length).toBeLessThan(ADDRESSES.length);
    for (const p of partial) {
      const a = p.slice('copy3.'.length);
      const [c, o] = [await picture(ctx, a, 'copy3.'), await picture(ctx, a)];
      expect(c.state).toEqual(o.state);
      expect(c.clients).toEqual(o.clients);
    }
  });

  it('continues with the next copy number, and the stats count every copy', async () => {
    expect(await growByCopies(ctx.store, 200)).toBe(200);
    expect((await ctx.store.addressPage('copy4.', 1000)).some((a) => a.startsWith('copy4.'))).toBe(true);
    const stats = await ctx.store.stats();
    expect(stats.messages).toBe(200);
    // 3 whole copies besides the original by 200 rows (copy 3 topped up by copy 4 and 5 partial).
    expect(stats.addresses).toBeGreaterThanOrEqual(4 * ADDRESSES.length);
    expect(await growByCopies(ctx.store, 150)).toBe(200);
  });

  it('new mail folds into the original addresses as into the census before it grew', async () => {
    const plain = await kind.open();
    try {
      await plain.pipeline.ingestBatch(mail('m'));
      const more = mail('n');
      await plain.pipeline.ingestBatch(more);
      await ctx.pipeline.ingestBatch(more);
      for (const a of ADDRESSES) expect(await picture(ctx, a)).toEqual(await picture(plain, a));
    } finally {
      await plain.close();
    }
  });
});

describe('seedSynthetic: the same census in both stores, read and written like a stored one', () => {
  const N = 400;
  let stores: AppContext[] = [];
  beforeAll(async () => {
    stores = await Promise.all(kinds.map((k) => k.open()));
    for (const s of stores) expect(await seedSynthetic(s.store, { shape: 'lookup', addresses: N, now: NOW })).toBe(N);
  });
  afterAll(async () => {
    for (const s of stores) await s.close();
  });

  it('gives the same lookups and export bytes on SQLite and PostgreSQL, expired decisions re-decided', async () => {
    const [sqlite, postgres] = stores as [AppContext, AppContext];
    const addresses = [...Array.from({ length: N }, (_, i) => syntheticAddress(i)), 'nobody@unknown.example'];
    const a = await lookupMany(sqlite.store, sqlite.config.policy, addresses, NOW, true);
    expect(await lookupMany(postgres.store, postgres.config.policy, addresses, NOW, true)).toEqual(a);
    expect(a.filter((r) => r.lastSeen !== null)).toHaveLength(N);
    expect(a.every((r) => r.lastSeen === null || r.clients.length === 1)).toBe(true);
    for (const s of stores) expect(await s.store.countAddresses()).toBe(N);
    const csv = await collect(exportCsv(sqlite.store, sqlite.config.policy, {}, NOW));
    expect(await collect(exportCsv(postgres.store, postgres.config.policy, {}, NOW))).toBe(csv);
    expect(csv.trim().split('\n')).toHaveLength(N + 1);
    // The expired share is stored as such; the stream re-decides those rows as policy does when
    // it stores new decisions (refreshStale), so the seeded state is what policy reads.
    const expired = (await sqlite.store.readRows('addresses', null, N)).filter((r) => (r.decided_until as number) <= NOW).length;
    expect(expired / N).toBeCloseTo(SYNTHETIC_EXPIRED_SHARE.lookup, 1);
    for (const s of stores) {
      expect(await refreshStale(s.store, s.config.policy, NOW)).toBe(expired);
      expect(await collect(exportCsv(s.store, s.config.policy, {}, NOW))).toBe(csv);
    }
  });

  it('builds the export shape alike in both stores', async () => {
    const fresh = await Promise.all(kinds.map((k) => k.open()));
    try {
      for (const s of fresh) await seedSynthetic(s.store, { shape: 'export', addresses: 500, now: NOW });
      const [x, y] = await Promise.all(fresh.map((s) => collect(exportCsv(s.store, s.config.policy, {}, NOW))));
      expect(y).toBe(x);
      expect(x!.trim().split('\n')).toHaveLength(501);
      expect(await fresh[0]!.store.getClients(syntheticAddress(1))).toEqual([]);
    } finally {
      for (const s of fresh) await s.close();
    }
  });

  it('ingest on a seeded address folds into its stored state (one more message, a second client)', async () => {
    for (const s of stores) {
      const address = syntheticAddress(5);
      const before = await s.store.getState(address);
      await s.pipeline.ingestBatch([mailItem(NOW, 'seeded-5', address, 'TestMail Tolerate/2.0', 0)]);
      const after = await s.store.getState(address);
      expect(after!.messages).toBe(before!.messages + 1);
      expect(after!.firstSeen).toBe(before!.firstSeen);
      expect((await s.store.getClients(address)).map((c) => c.product).sort()).toHaveLength(2);
    }
  });

  it('refuses a census that is not empty, and sizes it cannot number', async () => {
    await expect(seedSynthetic(stores[0]!.store, { shape: 'lookup', addresses: 10, now: NOW })).rejects.toThrow(/not empty/);
    const fresh = await kinds[0]!.open();
    try {
      await expect(seedSynthetic(fresh.store, { shape: 'lookup', addresses: 10_000_001, now: NOW })).rejects.toThrow(/addresses must be/);
      await expect(seedSynthetic(fresh.store, { shape: 'lookup', addresses: 0, now: NOW })).rejects.toThrow(/addresses must be/);
    } finally {
      await fresh.close();
    }
  });
});
