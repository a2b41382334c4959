/**
 * The CSV export re-decides decisions that expired by time before writing them (the CSV is what
 * gets acted upon), and that refresh changes only the decision: the evidence columns stay.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { exportCsv, type AppContext } from '../../src/app/index.js';
import { PEOPLE, seededApp, tempDir } from '../http/helpers.js';

describe('exportCsv with stale decisions', () => {
  const t = tempDir();
  let app: AppContext;
  beforeAll(async () => {
    app = await seededApp(t.dir);
  });
  afterAll(() => {
    app.close();
    t.cleanup();
  });

  test('an expired decision is re-decided and stored; the address row keeps its evidence', () => {
    const row = (a: string) => app.store.sqlite.prepare('SELECT * FROM addresses WHERE address = ?').get(a) as Record<string, unknown>;
    const before = row(PEOPLE.signer);
    // A cached decision that expired long ago and no longer matches the evidence.
    app.store.sqlite.prepare(`UPDATE addresses SET recommendation = 'unknown', reason = 'stale test decision', decided_until = 1 WHERE address = ?`).run(PEOPLE.signer);
    const csv = [...exportCsv(app.store, app.config.policy, {})].join('');
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
});
