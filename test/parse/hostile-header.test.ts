/**
 * Regression tests for issue #12 items 1 (quadratic Date regex) and the multiple-From short cut:
 * each hostile block must parse in time linear in its size. The bounds are medians of several
 * runs of CPU time (not wall time, which load inflates) and two orders of magnitude above what a
 * linear parse takes; the old code took ~185 ms for one such Date value.
 */
import { describe, expect, it } from 'vitest';
import { parseMessage, splitHeaderBlock } from '../../src/parse/index.js';
import { fingerprintSelector } from '../../src/app/index.js';
import { cpuTimeMs, medianMs } from '../helpers/hostile.js';

const opts = { fingerprint: fingerprintSelector() };

describe('parse: hostile header values cost linear time', () => {
  it('a Date of 16,300 "(" parses in well under 50 ms (was ~185 ms: /\\s*\\([^)]*\\)\\s*$/ backtracked)', () => {
    const block = Buffer.from('From: a@b.example\r\nDate: ' + '('.repeat(16_300) + '\r\n\r\n');
    const r = parseMessage(block, opts);
    expect(r.ok).toBe(true);
    expect(r.ok && r.message.headerDate).toBeNull();
    expect(medianMs(() => parseMessage(block, opts), 7)).toBeLessThan(50);
  });

  it('a trailing Date comment is still removed, and only a trailing one', () => {
    const withComment = parseMessage(Buffer.from('From: a@b.example\r\nDate: Tue, 3 Apr 2012 16:55:26 +0200 (CEST)\r\n\r\n'), opts);
    expect(withComment.ok && withComment.message.headerDate?.toISOString()).toBe('2012-04-03T14:55:26.000Z');
    const nested = parseMessage(Buffer.from('From: a@b.example\r\nDate: Tue, 3 Apr 2012 16:55:26 +0000 (x (y)\r\n\r\n'), opts);
    expect(nested.ok && nested.message.headerDate?.toISOString()).toBe('2012-04-03T16:55:26.000Z');
  });

  it('sixteen 16 KB From fields are one multiple-from skip without parsing each of them', () => {
    const block = Buffer.from(Array.from({ length: 16 }, () => 'From: ' + '"'.repeat(16_000)).join('\r\n') + '\r\n\r\n');
    const r = parseMessage(block, opts);
    expect(r).toMatchObject({ ok: false, reason: 'multiple-from' });
    expect(medianMs(() => parseMessage(block, opts), 7)).toBeLessThan(50);
  });
});

describe('parse: fields nothing reads are skipped, not cut out', () => {
  /** Deterministic blocks of fields, folds, garbage lines and stray colons, some past the limits. */
  function blocks(): Buffer[] {
    let a = 14;
    const next = (): number => {
      a = (a * 1103515245 + 12345) & 0x7fffffff;
      return a / 0x7fffffff;
    };
    const pieces = ['Received: from x\r\n', '\tby y with z\r\n', ' folded\r\n', 'X-Mailer: M 1.0\r\n', 'From: a@b.example\r\n', 'no colon line\r\n', ':leading colon\r\n', 'Bad Name: v\r\n', 'DKIM-Signature: v=1;\n', '\t b=' + 'Q'.repeat(9000) + '\n', 'x-long: ' + 'z'.repeat(17_000) + '\r\n', 'Subject: \r\n', 'A:\n', '\r\n'];
    const out: Buffer[] = [];
    for (let i = 0; i < 3000; i++) {
      let s = '';
      const n = 1 + Math.floor(next() * 12);
      for (let j = 0; j < n; j++) s += pieces[Math.floor(next() * pieces.length)];
      out.push(Buffer.from(s));
    }
    return out;
  }

  it('a field want() rejects counts against every limit exactly as a kept one does, and the kept fields are the same', () => {
    const want = (n: string): boolean => n === 'from' || n === 'x-mailer' || n === 'subject';
    for (const b of blocks()) {
      const all = splitHeaderBlock(b);
      const some = splitHeaderBlock(b, want);
      if (!all.ok) expect(some).toEqual(all);
      else expect(some).toEqual({ ok: true, fields: all.fields.filter((f) => want(f.name)) });
    }
  });

  it('19,000 lines without a colon are split in linear time (the colon search is not repeated per line)', () => {
    const block = Buffer.from('From: a@b.example\n' + 'garbage line\n'.repeat(19_000) + 'X-Mailer: M: 1\n\n');
    let r: ReturnType<typeof splitHeaderBlock> | undefined;
    expect(cpuTimeMs(() => (r = splitHeaderBlock(block, () => true)))).toBeLessThan(500);
    expect(r?.ok && r.fields.map((f) => f.name)).toEqual(['from', 'x-mailer']);
  });
});
