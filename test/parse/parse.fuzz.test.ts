/**
 * Property/fuzz suite for parse (issue #12 harness): on any hostile header block parseMessage
 * returns (never throws), a skip carries one known reason, and the time per block is bounded.
 * Fixed seed in `npm test`; `npm run fuzz` runs many more cases with a fresh seed (FUZZ_SEED
 * replays one).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseMessage, splitHeaderBlock } from '../../src/parse/index.js';
import { fingerprintSelector } from '../../src/app/index.js';
import { MAX_HEADER_BYTES, SKIP_REASONS } from '../../src/core/index.js';
import { FUZZ_TIMEOUT_MS, fullBlock, fuzzParams, hostileBlock, SPECIAL_UNITS, withinBound, medianMs } from '../helpers/hostile.js';

const opts = { fingerprint: fingerprintSelector(), ownDomains: ['our-company.example'] };
/** Per-block bound for a 256 KiB block, in CPU time (helpers/hostile.ts says why not wall time). */
const PARSE_BOUND_MS = 5;
const reasons = new Set<string>(SKIP_REASONS);

function checkOne(block: Buffer): void {
  const r = parseMessage(block, opts);
  if (r.ok) {
    expect(r.message.from).toMatch(/@/);
    expect(r.message.headerDate === null || Number.isFinite(r.message.headerDate.getTime())).toBe(true);
  } else {
    expect(reasons.has(r.reason)).toBe(true);
    expect(typeof r.detail).toBe('string');
  }
}

describe('parse fuzz: hostile header blocks', { timeout: FUZZ_TIMEOUT_MS }, () => {
  it('never throws, answers ok or one known skip reason', () => {
    fc.assert(
      fc.property(hostileBlock, (block) => {
        checkOne(block);
      }),
      fuzzParams(300),
    );
  });

  it(`parses every full 256 KiB block of one character class within ${PARSE_BOUND_MS} ms (or 20x splitting the same bytes, under load)`, () => {
    // Linear work on as many bytes: a block of plain fields that parse counts but never reads.
    const plain = fullBlock('a'.repeat(16_000), MAX_HEADER_BYTES, 'Received');
    const baseline = () => parseMessage(plain, opts);
    let worst = { ms: 0, unit: '', field: '' };
    for (const field of ['From', 'Date', 'Content-Type', 'Message-ID', 'User-Agent', 'X-Mailer', 'Authentication-Results', 'Return-Path', 'Received']) {
      for (const u of SPECIAL_UNITS) {
        const block = fullBlock(u.repeat(Math.ceil(16_000 / u.length)), MAX_HEADER_BYTES, field);
        expect(block.length).toBeLessThanOrEqual(MAX_HEADER_BYTES + 2);
        // The floor for this very block: decoding and splitting its bytes (linear, native).
        const r = withinBound(() => parseMessage(block, opts), PARSE_BOUND_MS, () => splitHeaderBlock(block));
        if (r.ms > worst.ms) worst = { ms: r.ms, unit: u, field };
        expect(r.ok, `${field}: ${JSON.stringify(u)} x 256 KiB took ${r.ms.toFixed(2)} ms (limit ${r.limit.toFixed(2)})`).toBe(true);
      }
    }
    console.info(`parse worst case over 256 KiB blocks: ${worst.ms.toFixed(2)} ms (${worst.field}: ${JSON.stringify(worst.unit)}); plain 256 KiB block ${medianMs(baseline, 9).toFixed(2)} ms`);
  });

  it(`generated blocks stay within the time bound too`, () => {
    let worst = 0;
    fc.assert(
      fc.property(hostileBlock, (block) => {
        const r = withinBound(() => parseMessage(block, opts), PARSE_BOUND_MS, () => splitHeaderBlock(block));
        worst = Math.max(worst, r.ms);
        return r.ok;
      }),
      fuzzParams(150),
    );
    console.info(`parse worst generated block: ${worst.toFixed(2)} ms`);
  });

  it('splitHeaderBlock agrees with parse on what is too large or malformed', () => {
    fc.assert(
      fc.property(hostileBlock, (block) => {
        const s = splitHeaderBlock(block);
        const r = parseMessage(block, opts);
        if (!s.ok) expect(r).toMatchObject({ ok: false, reason: s.reason });
      }),
      fuzzParams(200),
    );
  });

  it('a typical real block parses in a fraction of the bound (reference figure)', () => {
    const block = Buffer.from(
      'From: Alice <alice@customer.example>\r\nDate: Tue, 3 Apr 2012 16:55:26 +0200 (CEST)\r\nMessage-ID: <c812e638-8a66-4dc0-8b0e-c971134bb413@customer.example>\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Thunderbird/115.3.1\r\nContent-Type: text/plain; charset=UTF-8; format=flowed\r\n\r\n',
    );
    const ms = medianMs(() => parseMessage(block, opts), 51);
    expect(ms).toBeLessThan(PARSE_BOUND_MS);
  });
});
