/**
 * Regression test for issue #12 (weakness): terminal escape sequences from customer headers must
 * not reach the terminal through `lookup`'s (and `certs`') human output.
 */
import { describe, expect, it } from 'vitest';
import { formatLookups } from '../../src/cli/format.js';
import { printable } from '../../src/cli/light.js';
import type { LookupResult } from '../../src/app/index.js';

const OSC_TITLE = '\x1b]0;owned\x07';
const CLEAR = '\x1b[2J\x1b[H';
const C1_CSI = '\x9b31m';
const RLO = '\u202e';

describe('lookup: human output is free of control characters', () => {
  it('strips OSC, CSI (7- and 8-bit), clear-screen, BEL, CR and bidi overrides from every cell', () => {
    const r: LookupResult = {
      address: 'a@b.example',
      recommendation: 'unknown',
      reason: `seen ${CLEAR}only`,
      lastSeen: '2024-01-01T00:00:00.000Z',
      keyChanged: false,
      clients: [{ family: 'x', product: `Evil${OSC_TITLE}Mailer\r`, version: `1${C1_CSI}${RLO}`, platform: null, smime: 'unknown', count: 1, lastSeen: '2024-01-01T00:00:00.000Z' }],
    };
    const text = formatLookups([r]);
    expect(text).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e]/);
    expect(text).toContain('Evil');
    expect(text).toContain('Mailer');
    expect(text.split('\n').filter(Boolean)).toHaveLength(2);
  });

  it('printable keeps ordinary text, tabs become U+FFFD like every control', () => {
    expect(printable('Thunderbird 115.3.1 – Müller')).toBe('Thunderbird 115.3.1 – Müller');
    expect(printable('a\tb\x1bc')).toBe('a\ufffdb\ufffdc');
  });
});
