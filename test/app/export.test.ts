/**
 * The CSV export re-decides decisions that expired by time before writing them (the CSV is what
 * gets acted upon), and that refresh changes only the decision: the evidence columns stay.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { exportCsv, type AppContext } from '../../src/app/index.js';
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

  test('an expired decision is re-decided and stored; the address row keeps its evidence', async () => {
    const row = (a: string) => rawQuery(app, 'SELECT * FROM addresses WHERE address = ?', a)[0]!;
    const before = row(PEOPLE.signer);
    // A cached decision that expired long ago and no longer matches the evidence.
    rawExec(app, (db) => db.prepare(`UPDATE addresses SET recommendation = 'unknown', reason = 'stale test decision', decided_until = 1 WHERE address = ?`).run(PEOPLE.signer));
    const csv = await collect(exportCsv(app.store, app.config.policy, {}));
    const line = csv.split('\r\n').find((l) => l.startsWith(PEOPLE.signer + ','));
    expect(line).toMatch(new RegExp(`^${PEOPLE.signer.replace(/\./g, '\\.')},sign,thunderbird,`));
    expect(csv).not.toContain('stale test decision');
    const after = row(PEOPLE.signer);
    expect(after.recommendation).toBe('sign');
    expect(after.decided_until).toBe(before.decided_until);
    expect(after.reason).toBe(before.reason);
    const { recommendation: _r, reason: _s, decided_until: _d, ...evidenceBefore } = before;
    const { recommendation: _r2, reason: _s2, decided_until: _d2, ...evidenceAfter } = after;
    expect(evidenceAfter).toEqual(evidenceBefore);
  });

  test('an expired decision re-decided to the same recommendation gets its new reason and expiry, and filters still find it', async () => {
    const row = (a: string) => rawQuery(app, 'SELECT * FROM addresses WHERE address = ?', a)[0]!;
    const before = row(PEOPLE.signer);
    expect(before.recommendation).toBe('sign');
    rawExec(app, (db) => db.prepare(`UPDATE addresses SET reason = 'stale, same recommendation', decided_until = 1 WHERE address = ?`).run(PEOPLE.signer));
    const csv = await collect(exportCsv(app.store, app.config.policy, {}));
    expect(csv).not.toContain('stale, same recommendation');
    const after = row(PEOPLE.signer);
    expect(after).toEqual(before);
    const signOnly = await collect(exportCsv(app.store, app.config.policy, { recommendation: 'sign' }));
    expect(signOnly.split('\r\n').some((l) => l.startsWith(PEOPLE.signer + ',sign,'))).toBe(true);
  });
});
