import { describe, expect, it } from 'vitest';
import { FILTERS, expandTemplate } from '../../src/classify/filters.js';

describe('template filters', () => {
  it.each([
    ['21E236', '17'],
    ['20B101', '16'],
    ['9B176', '5'],
    ['14G60', '10'],
    ['22G100', '18'],
    ['23A341', '26'],
  ])('iOS build %s -> iOS %s', (b, v) => expect(FILTERS['ios-major']!(b)).toBe(v));

  it.each([
    ['10.1a.0.190609', '16.26'],
    ['10.1d.0.190908', '16.29'],
    ['16.64.22081401', '16.64'],
  ])('Outlook for Mac %s -> %s', (raw, v) => expect(FILTERS['mac-outlook-version']!(raw)).toBe(v));

  it.each([
    ['2.3774.400.31', 'macOS 14'],
    ['2.3826.600.51.1.1', 'macOS 15'],
    ['2.3731.700.6', 'macOS 13'],
    ['2.3696.100.31', 'macOS 12'],
    ['2.3654.60.0.2.21', 'macOS 11'],
    ['2.1257', 'macOS 10.7'],
    ['2.3445.104.8', 'macOS 10.14'],
  ])('Apple Mail build %s -> %s', (b, os) => expect(FILTERS['macos-from-mail-build']!(b)).toBe(os));

  it('a template with a missing group or a failing filter yields null, not a half value', () => {
    expect(expandTemplate('$<version>', {})).toBeNull();
    expect(expandTemplate('$<b|ios-major>', { b: 'garbage' })).toBeNull();
    expect(expandTemplate('$<device> Mail', { device: 'iPad' })).toBe('iPad Mail');
  });
});
