/**
 * The CSV export re-decides decisions that expired by time before writing them (the CSV is what
 * gets acted upon), in the stream: the CSV is what a refreshed census would give, and the stored
 * row is left as it was (lookups re-decide it too; `stats` refreshes before counting).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { exportCsv, refreshStale, type AppContext } from '../../src/app/index.js';
import { openStore } from '../../src/store/index.js';
import { PEOPLE, seededApp, tempDir } from '../http/helpers.js';
import { collect, rawExec, rawQuery } from '../helpers/app.js';

describe('exportCsv with stale decisions', () => {
  const t = tempDir();
  let app: AppContext;
  beforeAll(async () => {
    app = await seededApp(t.dir);
  });
  afterAll(async () => {
    await app.close();
    t.cleanup();
  });
  const row = (a: string) => rawQuery(app, 'SELECT * FROM addresses WHERE address = ?', a)[0]!;
  const lineOf = (csv: string, a: string) => csv.split('\r\n').find((l) => l.startsWith(a + ','));

  test('an expired decision is written re-decided and the stored row is left as it was', async () => {
    const fresh = await collect(exportCsv(app.store, app.config.policy, {}));
    // A cached decision that expired long ago and no longer matches the evidence.
    rawExec(app, (db) => db.prepare(`UPDATE addresses SET recommendation = 'unknown', reason = 'stale test decision', decided_until = 1 WHERE address = ?`).run(PEOPLE.signer));
    const stored = row(PEOPLE.signer);
    const csv = await collect(exportCsv(app.store, app.config.policy, {}));
    expect(lineOf(csv, PEOPLE.signer)).toMatch(new RegExp(`^${PEOPLE.signer.replace(/\./g, '\\.')},sign,thunderbird,`));
    expect(csv).not.toContain('stale test decision');
    expect(csv).toBe(fresh);
    expect(row(PEOPLE.signer)).toEqual(stored);
    // The bytes a refreshed census gives.
    expect(await refreshStale(app.store, app.config.policy)).toBe(1);
    expect(await collect(exportCsv(app.store, app.config.policy, {}))).toBe(csv);
  });

  test('a recommendation filter applies to the new decision, not the stored one', async () => {
    rawExec(app, (db) => db.prepare(`UPDATE addresses SET recommendation = 'unknown', reason = 'stale, wrong recommendation', decided_until = 1 WHERE address = ?`).run(PEOPLE.signer));
    const signOnly = await collect(exportCsv(app.store, app.config.policy, { recommendation: 'sign' }));
    expect(lineOf(signOnly, PEOPLE.signer)).toMatch(/,sign,/);
    const unknownOnly = await collect(exportCsv(app.store, app.config.policy, { recommendation: 'unknown' }));
    expect(lineOf(unknownOnly, PEOPLE.signer)).toBeUndefined();
    expect(unknownOnly).not.toContain('stale, wrong recommendation');
    await refreshStale(app.store, app.config.policy);
  });

  test('an expired decision re-decided to the same recommendation gets its new reason, and filters still find it', async () => {
    const before = row(PEOPLE.signer);
    expect(before.recommendation).toBe('sign');
    rawExec(app, (db) => db.prepare(`UPDATE addresses SET reason = 'stale, same recommendation', decided_until = 1 WHERE address = ?`).run(PEOPLE.signer));
    const csv = await collect(exportCsv(app.store, app.config.policy, {}));
    expect(csv).not.toContain('stale, same recommendation');
    const signOnly = await collect(exportCsv(app.store, app.config.policy, { recommendation: 'sign' }));
    expect(lineOf(signOnly, PEOPLE.signer)).toBe(lineOf(csv, PEOPLE.signer));
    await refreshStale(app.store, app.config.policy);
    expect(row(PEOPLE.signer)).toEqual(before);
  });

  test('a read-only store exports re-decided decisions too', async () => {
    const fresh = await collect(exportCsv(app.store, app.config.policy, {}));
    rawExec(app, (db) => db.prepare(`UPDATE addresses SET recommendation = 'unknown', reason = 'stale test decision', decided_until = 1 WHERE address = ?`).run(PEOPLE.signer));
    const ro = openStore(app.config.db, { readonly: true });
    try {
      expect(await collect(exportCsv(ro, app.config.policy, {}))).toBe(fresh);
    } finally {
      await ro.close();
    }
    await refreshStale(app.store, app.config.policy);
  });
});
