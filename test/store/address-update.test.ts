/**
 * Ingest writes an address already stored with one of two UPDATEs (store/sqlite/store.ts): the
 * whole row when a column that an addresses index holds changed (recommendation, family, smime,
 * decided_until), or every other column alone when none did, leaving the index entries as they
 * are. Whichever was taken, the row and every index must agree afterwards: queries answered
 * from an index (the dashboard's per-family counts, the export's filter, refreshStale's expiry
 * scan) see the same values as the row, and SQLite's integrity check finds nothing.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { join } from 'node:path';
import { tempDir } from '../helpers/tmp.js';
import { getTableConfig, type SQLiteColumn } from 'drizzle-orm/sqlite-core';
import { mailItem, openTestApp, rawQuery } from '../helpers/app.js';
import { addresses } from '../../src/store/sqlite/schema.js';
import { INDEXED_ADDRESS_COLUMNS } from '../../src/store/sqlite/store.js';

const RULES = join(import.meta.dirname, '..', 'fixtures', 'rules');
const NOW = Date.now();
const t = tempDir('census-address-update-');
afterAll(() => t.cleanup());

describe('updating a stored address in place', () => {
  it('keeps the row and its indexes in agreement, with or without a change of the indexed columns', async () => {
    const ctx = openTestApp(t.dir, { rulesDirs: [RULES] });
    try {
      const a = 'alice@x.example';
      const b = 'bob@x.example';
      // 1: both new (INSERT); 2: another message from the same clients (indexed columns unchanged);
      // 3: alice moves to a broken client (family, smime and recommendation change), bob's unchanged.
      expect(await ctx.pipeline.ingestBatch([mailItem(NOW, 'm1', a, 'TestMail Verify/1.0', 20), mailItem(NOW, 'm2', b, 'TestMail Verify/1.0', 20)])).toMatchObject({ stored: 2 });
      const first = rawQuery<{ address: string; recommendation: string; family: string; decided_until: number | null }>(ctx, `SELECT address, recommendation, family, decided_until FROM addresses ORDER BY address`);
      expect(await ctx.pipeline.ingestBatch([mailItem(NOW, 'm3', a, 'TestMail Verify/1.0', 10), mailItem(NOW, 'm4', b, 'TestMail Verify/1.0', 10)])).toMatchObject({ stored: 2 });
      const second = rawQuery<{ address: string; messages: number; last_seen: number; recommendation: string; family: string }>(ctx, `SELECT address, messages, last_seen, recommendation, family FROM addresses ORDER BY address`);
      expect(second.map((r) => [r.address, r.messages, r.recommendation, r.family])).toEqual(first.map((r) => [r.address, 2, r.recommendation, r.family]));
      // The Date header holds whole seconds.
      expect(second[0]!.last_seen).toBe(Math.floor((NOW - 10 * 86_400_000) / 1000) * 1000);
      expect(await ctx.pipeline.ingestBatch([mailItem(NOW, 'm5', a, 'TestMail Broken/3.0', 1), mailItem(NOW, 'm6', b, 'TestMail Verify/1.0', 5)])).toMatchObject({ stored: 2 });

      const rows = rawQuery<{ address: string; recommendation: string; family: string; smime: string; decided_until: number | null; messages: number }>(ctx, `SELECT address, recommendation, family, smime, decided_until, messages FROM addresses ORDER BY address`);
      expect(rows.map((r) => r.messages)).toEqual([3, 3]);
      expect(rows[0]!.family).not.toBe(rows[1]!.family);
      expect(rows[0]!.recommendation).toBe('do-not-sign');
      for (const r of rows) {
        // Each read through one index only (INDEXED BY fails the statement if the index cannot answer it).
        expect(rawQuery(ctx, `SELECT address FROM addresses INDEXED BY addresses_family WHERE family = ? AND recommendation = ? AND smime = ?`, r.family, r.recommendation, r.smime)).toEqual([{ address: r.address }]);
        expect(rawQuery(ctx, `SELECT address FROM addresses INDEXED BY addresses_recommendation WHERE recommendation = ? AND address = ?`, r.recommendation, r.address)).toHaveLength(1);
        if (r.decided_until !== null) expect(rawQuery(ctx, `SELECT address FROM addresses INDEXED BY addresses_decided_until WHERE decided_until = ? AND address = ?`, r.decided_until, r.address)).toHaveLength(1);
      }
      const stats = await ctx.store.stats();
      expect(stats.byFamily.map((f) => f.addresses)).toEqual([1, 1]);
      expect(rawQuery(ctx, `PRAGMA integrity_check`)).toEqual([{ integrity_check: 'ok' }]);
    } finally {
      await ctx.close();
    }
  });

  it('names as indexed exactly the columns that the schema and the migrated file index (a new index cannot be missed by the in-place update)', async () => {
    const fromSchema = getTableConfig(addresses).indexes.flatMap((i) => i.config.columns.map((c) => (c as SQLiteColumn).name));
    expect([...new Set(fromSchema)].sort()).toEqual([...INDEXED_ADDRESS_COLUMNS].sort());
    const ctx = openTestApp(t.dir, { rulesDirs: [RULES] });
    try {
      // every index on the table in the real file, the primary key's autoindex aside (its column is the WHERE)
      const indexes = rawQuery<{ name: string; origin: string }>(ctx, `SELECT name, origin FROM pragma_index_list('addresses')`).filter((i) => i.origin !== 'pk');
      const inFile = indexes.flatMap((i) => rawQuery<{ name: string }>(ctx, `SELECT name FROM pragma_index_info(?)`, i.name).map((c) => c.name));
      expect([...new Set(inFile)].sort()).toEqual([...INDEXED_ADDRESS_COLUMNS].sort());
    } finally {
      await ctx.close();
    }
  });
});
