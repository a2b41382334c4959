/**
 * Regression tests for issue #12 items 2 and 3: the mbox separator line is read in linear time
 * before any regex sees it, and an overlong separator line is one counted skip wherever the
 * 1 MiB read chunk happens to end (it used to abort the import with E_INPUT, exit 4).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/tmp.js';
import { fromLineDate, readMbox } from '../../src/source/file/index.js';
import { builtCli } from '../helpers/built.js';
import { noStackOnFailure } from '../helpers/cli.js';
import { cpuMs } from '../helpers/hostile.js';

const t = tempDir('census-mbox-hostile-');
afterAll(() => t.cleanup());
const CLI = builtCli();
const CHUNK = 1 << 20;

function importJson(path: string, db: string) {
  const r = spawnSync(process.execPath, [CLI, '--db', db, 'import', '--json', path], { encoding: 'utf8', env: { ...process.env, CENSUS_LOG_LEVEL: 'warn' } });
  return noStackOnFailure({ code: r.status, counts: r.status === 0 ? JSON.parse(r.stdout) : null, stderr: r.stderr }, process.env);
}

const msg = (n: number, body = 'body\n') => `From: c${n}@customer.example\nMessage-ID: <m${n}@customer.example>\nDate: Tue, 3 Apr 2012 16:55:26 +0000\n\n${body}`;

/** An mbox of three messages whose middle separator line is `longLine` bytes and starts at byte `at`. */
function mboxWithLongSeparator(at: number, longLine: number): string {
  const head = 'From a@x Tue Apr  3 16:55:26 2012\n' + msg(1);
  const pad = at - head.length - 1;
  const sep = 'From b@x ' + 'y'.repeat(longLine - 9);
  const text = head + 'p'.repeat(pad) + '\n' + sep + '\n' + msg(2) + 'From c@x Tue Apr  3 16:55:26 2012\n' + msg(3);
  expect(text.indexOf(sep)).toBe(at);
  return text;
}

describe('mbox: hostile separator lines', () => {
  it('reads "From a b" + 100,000 spaces + "x" in linear time (the old regex took ~9 s)', () => {
    const line = 'From a b' + ' '.repeat(100_000) + 'x';
    const t0 = cpuMs();
    expect(fromLineDate(line)).toBeNull();
    expect(fromLineDate('From a ' + ' '.repeat(4000) + 'Tue Apr  3 16:55:26 2012' + ' '.repeat(50))?.toISOString()).toBe('2012-04-03T16:55:26.000Z');
    expect(cpuMs() - t0, 'CPU ms').toBeLessThan(2000);
    expect(fromLineDate('From sender@host Tue Apr  3 16:55:26 2012')?.toISOString()).toBe('2012-04-03T16:55:26.000Z');
    expect(fromLineDate('From sender@host')).toBeNull();
  });

  it('an overlong separator line yields one skip item, the messages around it are read', async () => {
    const p = join(t.dir, 'inner.mbox');
    writeFileSync(p, mboxWithLongSeparator(5000, 9000));
    const items = [];
    for await (const i of readMbox(p, p)) items.push(i);
    expect(items).toHaveLength(3);
    expect(items[1]!.skip).toMatchObject({ reason: 'malformed' });
    expect(items.filter((i) => i.skip)).toHaveLength(1);
  });

  for (const [name, at] of [
    ['straddles the 1 MiB read boundary', CHUNK - 4500],
    ['starts right before the boundary', CHUNK - 3],
    ['lies inside the first chunk', 100_000],
  ] as const) {
    it(`a 9 KB separator line that ${name} is one counted skip and the import goes on (exit 0)`, () => {
      const p = join(t.dir, `long-${at}.mbox`);
      writeFileSync(p, mboxWithLongSeparator(at, 9000));
      const r = importJson(p, join(t.dir, `long-${at}.db`));
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.counts).toMatchObject({ read: 3, stored: 2, skipped: { malformed: 1 } });
    });
  }
});
