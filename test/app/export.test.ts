/**
 * The CSV export re-decides decisions that expired by time before writing them (the CSV is what
 * gets acted upon), in the stream: the CSV is what a refreshed census would give, and the stored
 * row is left as it was (lookups re-decide it too; `stats` refreshes before counting).
 */
import { describe, expect, test } from 'vitest';
import { Writable } from 'node:stream';
import { exportCsv, refreshStale, writeCsv } from '../../src/app/index.js';
import { openStore } from '../../src/store/index.js';
import { PEOPLE, seededAppFor } from '../http/helpers.js';
import { csvLine, type ExportRow } from '../../src/store/csv.js';
import { collect, rawExec, rawQuery } from '../helpers/app.js';

describe('exportCsv with stale decisions', () => {
  const seeded = seededAppFor();
  const row = (a: string) => rawQuery(seeded.app, 'SELECT * FROM addresses WHERE address = ?', a)[0]!;
  const lineOf = (csv: string, a: string) => csv.split('\r\n').find((l) => l.startsWith(a + ','));

  test('an expired decision is written re-decided and the stored row is left as it was', async () => {
    const fresh = await collect(exportCsv(seeded.app.store, seeded.app.config.policy, {}));
    // A cached decision that expired long ago and no longer matches the evidence.
    rawExec(seeded.app, (db) => db.prepare(`UPDATE addresses SET recommendation = 'unknown', reason = 'stale test decision', decided_until = 1 WHERE address = ?`).run(PEOPLE.signer));
    const stored = row(PEOPLE.signer);
    const csv = await collect(exportCsv(seeded.app.store, seeded.app.config.policy, {}));
    expect(lineOf(csv, PEOPLE.signer)).toMatch(new RegExp(`^${PEOPLE.signer.replace(/\./g, '\\.')},sign,thunderbird,`));
    expect(csv).not.toContain('stale test decision');
    expect(csv).toBe(fresh);
    expect(row(PEOPLE.signer)).toEqual(stored);
    // The bytes a refreshed census gives.
    expect(await refreshStale(seeded.app.store, seeded.app.config.policy)).toBe(1);
    expect(await collect(exportCsv(seeded.app.store, seeded.app.config.policy, {}))).toBe(csv);
  });

  test('a recommendation filter applies to the new decision, not the stored one', async () => {
    rawExec(seeded.app, (db) => db.prepare(`UPDATE addresses SET recommendation = 'unknown', reason = 'stale, wrong recommendation', decided_until = 1 WHERE address = ?`).run(PEOPLE.signer));
    const signOnly = await collect(exportCsv(seeded.app.store, seeded.app.config.policy, { recommendation: 'sign' }));
    expect(lineOf(signOnly, PEOPLE.signer)).toMatch(/,sign,/);
    const unknownOnly = await collect(exportCsv(seeded.app.store, seeded.app.config.policy, { recommendation: 'unknown' }));
    expect(lineOf(unknownOnly, PEOPLE.signer)).toBeUndefined();
    expect(unknownOnly).not.toContain('stale, wrong recommendation');
    await refreshStale(seeded.app.store, seeded.app.config.policy);
  });

  test('an expired decision re-decided to the same recommendation gets its new reason, and filters still find it', async () => {
    const before = row(PEOPLE.signer);
    expect(before.recommendation).toBe('sign');
    rawExec(seeded.app, (db) => db.prepare(`UPDATE addresses SET reason = 'stale, same recommendation', decided_until = 1 WHERE address = ?`).run(PEOPLE.signer));
    const csv = await collect(exportCsv(seeded.app.store, seeded.app.config.policy, {}));
    expect(csv).not.toContain('stale, same recommendation');
    const signOnly = await collect(exportCsv(seeded.app.store, seeded.app.config.policy, { recommendation: 'sign' }));
    expect(lineOf(signOnly, PEOPLE.signer)).toBe(lineOf(csv, PEOPLE.signer));
    await refreshStale(seeded.app.store, seeded.app.config.policy);
    expect(row(PEOPLE.signer)).toEqual(before);
  });

  test('a read-only store exports re-decided decisions too', async () => {
    const fresh = await collect(exportCsv(seeded.app.store, seeded.app.config.policy, {}));
    rawExec(seeded.app, (db) => db.prepare(`UPDATE addresses SET recommendation = 'unknown', reason = 'stale test decision', decided_until = 1 WHERE address = ?`).run(PEOPLE.signer));
    const ro = openStore(seeded.app.config.db, { readonly: true });
    try {
      expect(await collect(exportCsv(ro, seeded.app.config.policy, {}))).toBe(fresh);
    } finally {
      await ro.close();
    }
    await refreshStale(seeded.app.store, seeded.app.config.policy);
  });
});

describe('SQLite formats a line in SQL as csv.ts does in JS', () => {
  const seeded = seededAppFor();

  // Every formula trigger and the code points beside each end of the ranges that SQL rules out
  // with two comparisons ([., =) and [A, U+200B)), a four-byte UTF-8 one, and the empty string.
  const FIRST = [
    '', '\t', '\r', '\n', ' ', '"', '+', ',', '-', '.', '/', '0', '9', '<', '=', '>', '?', '@', 'A', 'z', '\u00e9', '\u2000', '\u200A', '\u200B', '\u200C', '\u200D',
    '\u200E', '\u205F', '\u2060', '\u2061', '\u2211', '\u2212', '\u2213', '\uFE61', '\uFE62', '\uFE63', '\uFE64', '\uFE66', '\uFE6B', '\uFEFE', '\uFEFF', '\uFF00',
    '\uFF0B', '\uFF0D', '\uFF1D', '\uFF20', '\uFF21', '\uFFFF', '\u{1F600}',
  ];

  test('every formula trigger and its neighbours, in address, product, version and reason, with every time edge', async () => {
    const template = rawQuery(seeded.app, 'SELECT * FROM addresses ORDER BY address LIMIT 1')[0]!;
    const cols = Object.keys(template);
    const insert = `INSERT INTO addresses (${cols.join(', ')}) VALUES (${cols.map((c) => '@' + c).join(', ')})`;
    const times = [0, -1_000, 1_700_000_000_999, 253_402_300_799_000, 253_402_300_800_000, -62_167_219_200_000];
    const rows: ExportRow[] = [];
    rawExec(seeded.app, (db) => {
      const st = db.prepare(insert);
      FIRST.forEach((c, i) => {
        const row = {
          ...template,
          address: `${c}edge${String(i).padStart(2, '0')}@formula.example`,
          product: `${c}Mail`,
          version: c ? `${c}1.2` : null,
          reason: `${c}seen with "${c}", twice`,
          last_seen: times[i % times.length]!,
          decided_until: null,
        };
        st.run(row);
        rows.push(row as unknown as ExportRow);
      });
    });
    const lines = new Map((await collect(exportCsv(seeded.app.store, seeded.app.config.policy, {}))).split('\r\n').map((l) => [l, true]));
    const missing = rows.map((r) => csvLine(r)).filter((l) => !lines.has(l));
    expect(missing).toEqual([]);
    expect(rows.length).toBe(FIRST.length);
  });

  // csvCell's shortcut: a cell that json_quote leaves unescaped is searched for a comma only;
  // any escape (quote, LF, CR, backslash, another control character) falls back to the four
  // searches. Values in both classes, none starting like a formula.
  const MIDDLES = ['plain', 'a,b', 'a"b', 'a\nb', 'a\rb', 'a\r\nb', 'a\\b', 'a\\,b', 'a\u0001b', 'a\u001fb,', 'a\u007fb', '\u00e9,\u00fc', 'x\u{1F600}"', 'x\u2028y', 'end,', 'end"', 'end\n'];

  test('cells with and without characters to quote, and with others json_quote escapes, in product, version and reason', async () => {
    const template = rawQuery(seeded.app, 'SELECT * FROM addresses ORDER BY address LIMIT 1')[0]!;
    const cols = Object.keys(template);
    const insert = `INSERT INTO addresses (${cols.join(', ')}) VALUES (${cols.map((c) => '@' + c).join(', ')})`;
    const rows: ExportRow[] = [];
    rawExec(seeded.app, (db) => {
      const st = db.prepare(insert);
      MIDDLES.forEach((m, i) => {
        const other = MIDDLES[(i + 5) % MIDDLES.length]!;
        const row = { ...template, address: `quote${String(i).padStart(2, '0')}@cells.example`, product: m, version: other, reason: `Seen ${m} and ${other}`, decided_until: null };
        st.run(row);
        rows.push(row as unknown as ExportRow);
      });
    });
    // Whole lines, found in the text (a quoted CRLF inside a cell would break a split into lines).
    const csv = await collect(exportCsv(seeded.app.store, seeded.app.config.policy, {}));
    const missing = rows.map((r) => csvLine(r)).filter((l) => !csv.includes('\r\n' + l + '\r\n'));
    expect(missing).toEqual([]);
  });

  test('writeCsv writes the bytes of exportCsv (SQLite hands them over as BLOBs), an expired decision included', async () => {
    rawExec(seeded.app, (db) => db.prepare(`UPDATE addresses SET recommendation = 'unknown', reason = 'stale test decision', decided_until = 1 WHERE address = ?`).run(PEOPLE.signer));
    const now = Date.now();
    const chunks: Buffer[] = [];
    const out = new Writable({ write: (c: Buffer, _e, done) => { chunks.push(c); done(); } });
    const bytes = await writeCsv(out, seeded.app.store, seeded.app.config.policy, {}, now);
    const written = Buffer.concat(chunks);
    const csv = await collect(exportCsv(seeded.app.store, seeded.app.config.policy, {}, now));
    expect(written.toString('utf8')).toBe(csv);
    expect(bytes).toBe(written.length);
    expect(csv).not.toContain('stale test decision');
    expect(csv).toContain('\u00e9');
    await refreshStale(seeded.app.store, seeded.app.config.policy);
  });
});
