/**
 * Regression tests for issue #12 items 1 (quadratic Date regex) and the multiple-From short cut:
 * each hostile block must parse in time linear in its size. The bounds are medians of several
 * runs and two orders of magnitude above what a linear parse takes, so a loaded machine passes;
 * the old code took ~185 ms for one such Date value.
 */
import { describe, expect, it } from 'vitest';
import { parseMessage } from '../../src/parse/index.js';
import { fingerprintSelector } from '../../src/app/index.js';

const opts = { fingerprint: fingerprintSelector() };

function medianMs(fn: () => void, runs = 7): number {
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    t.push(performance.now() - t0);
  }
  return t.sort((a, b) => a - b)[runs >> 1]!;
}

describe('parse: hostile header values cost linear time', () => {
  it('a Date of 16,300 "(" parses in well under 50 ms (was ~185 ms: /\\s*\\([^)]*\\)\\s*$/ backtracked)', () => {
    const block = Buffer.from('From: a@b.example\r\nDate: ' + '('.repeat(16_300) + '\r\n\r\n');
    const r = parseMessage(block, opts);
    expect(r.ok).toBe(true);
    expect(r.ok && r.message.headerDate).toBeNull();
    expect(medianMs(() => parseMessage(block, opts))).toBeLessThan(50);
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
    expect(medianMs(() => parseMessage(block, opts))).toBeLessThan(50);
  });
});
