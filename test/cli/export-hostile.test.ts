/**
 * Issue 12, item 4 and the CSV weakness: the export must never lose an address, whatever date a
 * sender wrote, and a cell that a spreadsheet could read as a formula (including the full-width
 * and zero-width forms some spreadsheets normalise) is neutralised. Run through the built CLI.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { tempDir } from '../helpers/tmp.js';
import { builtCli } from '../helpers/built.js';
import { noStackOnFailure } from '../helpers/cli.js';

const CLI = builtCli();
const t = tempDir('census-export-hostile-');
afterAll(() => t.cleanup());

function run(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, CENSUS_LOG_LEVEL: 'warn' } });
  return noStackOnFailure({ code: r.status, stdout: r.stdout, stderr: r.stderr }, process.env);
}

const TB = 'User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.3.1\n';
const msg = (sep: string, from: string, date: string | null, id: string) =>
  `From ${sep}\nFrom: ${from}\nTo: support@company.test\n${date === null ? '' : `Date: ${date}\n`}Message-ID: <${id}@customer.test>\nSubject: hi\n${TB}\nhello\n\n`;

describe('export with hostile dates and cells (issue 12)', () => {
  const db = join(t.dir, 'c.db');
  const mbox = join(t.dir, 'in.mbox');

  it('every address stats counts is a row of the export, whatever its Date said', () => {
    writeFileSync(
      mbox,
      msg('a@customer.test Mon Nov  2 10:00:00 2026', 'Ann <ann@customer.test>', 'Mon, 02 Nov 2026 10:00:00 +0000', 'm1') +
        msg('b@customer.test Mon Nov  2 10:00:00 2026', 'Ben <ben@customer.test>', '-005000-01-01T00:00:00Z', 'm2') +
        msg('c@customer.test Sat Jan  1 00:00:00 12026', 'Cy <cy@customer.test>', null, 'm3'),
    );
    const imp = run(['--db', db, 'import', '--json', mbox]);
    expect(imp.code, imp.stderr).toBe(0);
    const stats = JSON.parse(run(['--db', db, 'stats', '--json']).stdout) as { addresses: number };
    expect(stats.addresses).toBe(3);
    const out = run(['--db', db, 'export']);
    expect(out.code, out.stderr).toBe(0);
    const rows = out.stdout.trimEnd().split('\r\n').slice(1);
    expect(rows.map((r) => r.split(',')[0]).sort()).toEqual(['ann@customer.test', 'ben@customer.test', 'cy@customer.test']);
    // No row carries a date outside 1990 .. now + 1 day.
    for (const r of rows) {
      const m = /,(\d{4})-\d\d-\d\dT/.exec(r);
      if (m) expect(Number(m[1])).toBeGreaterThanOrEqual(1990);
      if (m) expect(Number(m[1])).toBeLessThanOrEqual(new Date().getUTCFullYear() + 1);
    }
  });

  it('cells starting with full-width or zero-width formula triggers are neutralised', () => {
    const triggers = ['\uFF1D1+1', '\uFF0B1', '\uFF0D1', '\uFF20SUM(A1)', '\u200B=1+1'];
    const d = new Database(db);
    try {
      const addresses = d.prepare(`SELECT address FROM addresses ORDER BY address`).pluck().all() as string[];
      triggers.slice(0, addresses.length).forEach((p, i) => d.prepare(`UPDATE addresses SET product = ? WHERE address = ?`).run(p, addresses[i]));
    } finally {
      d.close();
    }
    const out = run(['--db', db, 'export']);
    expect(out.code, out.stderr).toBe(0);
    const header = out.stdout.split('\r\n')[0]!.split(',');
    const col = header.indexOf('product');
    expect(col).toBeGreaterThan(0);
    const cells = out.stdout.trimEnd().split('\r\n').slice(1).map((r) => r.split(',')[col]!);
    expect(cells).toHaveLength(3);
    for (const c of cells) {
      const text = c.startsWith('"') ? c.slice(1, -1).replace(/""/g, '"') : c;
      expect(text.startsWith("'"), `cell ${JSON.stringify(c)} is not neutralised`).toBe(true);
    }
  });
});
