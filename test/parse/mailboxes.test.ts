import { describe, it, expect } from 'vitest';
import addressparser from 'nodemailer/lib/addressparser';
import { parseMailboxes } from '../../src/parse/index.js';
import { cpuTimeMs } from '../helpers/hostile.js';

/** What parseMailboxes gave before its shortcut: nodemailer's parser alone, groups flattened. */
function viaParser(value: string): string[] {
  let list: Array<{ address?: string; group?: unknown[] }>;
  try {
    list = addressparser(value) as typeof list;
  } catch {
    return [];
  }
  const out: string[] = [];
  const walk = (items: typeof list): void => {
    for (const a of items) {
      if (a.group) walk(a.group as typeof list);
      else if (a.address) out.push(a.address);
    }
  };
  walk(list);
  return out;
}

/** Deterministic (mulberry32): a failure names an input that reproduces. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('parse: From mailboxes', () => {
  it("the shortcut for plain shapes gives exactly nodemailer's result, on plain, near-plain and hostile values", () => {
    const shapes = [
      'a@b', ' a@b ', '\ta@b', 'A B <a@b>', 'A.B <a@b>', 'J. Smith <j.s@x.example>', '<a@b>', '  <a@b>', 'name<a@b>', 'Ä Ö <ä@ö.example>',
      'a.@b', '.a@b', 'a@b.', 'a@.b', 'a..b@c', 'a+b@c', "o'neil@x", 'a!b#c@d', 'a/b@c', 'a=b@c', 'a?b@c', 'n = <a@b>', '-- <a@b>', "'n' <a@b>",
      'a@b <c@d>', 'x <a@b@c>', 'a <b>', '<a@b>x', 'a@b>', '<a@b', '"A, B" <a@b>', 'A (c) <a@b>', 'a@b, c@d', 'g: a@b;', 'a@[1.2.3.4]', 'a\\@b@c',
    ];
    const alphabet = ['a', 'Z', '.', '@', '<', '>', ' ', '\t', '"', '(', ')', ',', ';', ':', '\\', '[', ']', '-', '=', '?', 'é', '中', '+', "'", '/', '1'];
    const next = random(14);
    const inputs = [...shapes];
    for (let i = 0; i < 20_000; i++) {
      let s = '';
      const n = 1 + Math.floor(next() * 14);
      for (let j = 0; j < n; j++) s += alphabet[Math.floor(next() * alphabet.length)];
      inputs.push(s, `N ${s} <${s}@d.example>`, `${s}@${s}`);
    }
    const differ = inputs.filter((s) => JSON.stringify(parseMailboxes(s)) !== JSON.stringify(viaParser(s)));
    expect(differ).toEqual([]);
  });

  it('a long hostile From still goes to the parser and comes back bounded in time', () => {
    const v = 'a'.repeat(15_000) + ' <' + 'b'.repeat(500) + '@c>';
    let got: ReturnType<typeof parseMailboxes> | undefined;
    expect(cpuTimeMs(() => (got = parseMailboxes(v)))).toBeLessThan(1000);
    expect(got).toEqual(viaParser(v));
  });
});
