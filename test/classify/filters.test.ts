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

  it.each([
    ['X11; Linux x86_64; rv:102.0', 'Linux/Unix'],
    ['Windows NT 10.0; Win64; x64; rv:102.0', 'Windows'],
    ['Macintosh; Intel Mac OS X 10.15; rv:91.0', 'macOS'],
    ['X11; FreeBSD amd64; rv:102.0', 'Linux/Unix'],
    ['X11; U; SunOS sun4u; en-US; rv:1.8.1', 'Linux/Unix'],
    ['Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36', 'Android'],
  ])('UA platform %s -> %s (ua-parser-js 1.x)', (ua, os) => expect(FILTERS['os-from-ua']!(ua)).toBe(os));

  it.each([
    ['Mozilla/5.0 (Linux; Android 4.2.2; C6833) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/71.0.3578.99 Mobile Safari/537.36', 'Android 4.2.2, Chrome 71'],
    ['Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1', 'iOS 17.1, Mobile Safari 17'],
    ['Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0', 'Linux/Unix, Firefox 121'],
  ])('webmail browser UA %s -> %s', (ua, p) => expect(FILTERS['browser-platform']!(ua)).toBe(p));

  it('OS with version from a UA comment', () => {
    expect(FILTERS['os-version-from-ua']!('Windows NT 6.1; Win64; x64; rv:102.0')).toBe('Windows 7');
    expect(FILTERS['os-version-from-ua']!('X11; Linux x86_64')).toBe('Linux/Unix');
  });

  it('a template with a missing group or a failing filter yields null, not a half value', () => {
    expect(expandTemplate('$<version>', {})).toBeNull();
    expect(expandTemplate('$<b|ios-major>', { b: 'garbage' })).toBeNull();
    expect(expandTemplate('$<device> Mail', { device: 'iPad' })).toBe('iPad Mail');
  });
});
