import { describe, it, expect } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseMessage, splitHeaderBlock, effectiveDate, smimeKindOf, dmarcResult, normalizeMessageId } from '../../src/parse/index.js';
import { MAX_HEADER_BYTES, MAX_HEADER_FIELDS, MAX_HEADER_VALUE_BYTES } from '../../src/core/index.js';
import { fingerprintSelector } from '../../src/app/index.js';
import { headerBlock } from '../helpers/app.js';

const opts = { fingerprint: fingerprintSelector(), ownDomains: ['our-company.example'] };
const FIX = join(import.meta.dirname, '..', 'fixtures', 'messages');

function parse(fields: Record<string, string | string[]>) {
  return parseMessage(headerBlock(fields), opts);
}

describe('parse: header block splitting', () => {
  it('unfolds continuation lines and keeps order and repeated fields', () => {
    const r = splitHeaderBlock(Buffer.from('Received: a\r\n\tb\r\nX-Test: 1\r\nReceived: c\r\n\r\nbody: not a header\r\n'));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.fields).toEqual([
      { name: 'received', value: 'a\tb' },
      { name: 'x-test', value: '1' },
      { name: 'received', value: 'c' },
    ]);
  });

  it('stops at the first empty line, with LF-only line endings too', () => {
    const r = splitHeaderBlock(Buffer.from('A: 1\nB: 2\n\nC: 3\n'));
    expect(r.ok && r.fields.map((f) => f.name)).toEqual(['a', 'b']);
  });

  it('decodes RFC 2047 encoded words in values', () => {
    const r = parse({ From: '=?utf-8?q?J=C3=BCrgen?= <j@x.example>', 'X-Mailer': '=?iso-8859-1?q?K=F6nig_Mail?=', 'Message-ID': '<a@b>' });
    expect(r.ok && r.message.fingerprint['x-mailer']).toEqual(['König Mail']);
  });

  it('skips a header block over the byte limit with a reason instead of failing', () => {
    const big = Buffer.concat([Buffer.from('From: a@b.example\r\n'), Buffer.alloc(MAX_HEADER_BYTES + 10, 'X-Pad: yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\r\n')]);
    const r = parseMessage(big, opts);
    expect(r).toMatchObject({ ok: false, reason: 'too-large' });
  });

  it('skips a message with too many fields', () => {
    const lines = ['From: a@b.example'];
    for (let i = 0; i <= MAX_HEADER_FIELDS; i++) lines.push(`X-N${i}: ${i}`);
    const r = parseMessage(Buffer.from(lines.join('\n') + '\n\n'), opts);
    expect(r).toMatchObject({ ok: false, reason: 'too-many-fields' });
  });

  it('skips a message whose single value is over the per-value limit (also when folded)', () => {
    const folded = 'x'.repeat(1000) + ('\r\n ' + 'y'.repeat(1000)).repeat(Math.ceil(MAX_HEADER_VALUE_BYTES / 1000));
    const r = parse({ From: 'a@b.example', 'X-Mailer': folded });
    expect(r).toMatchObject({ ok: false, reason: 'value-too-long' });
  });

  it('treats binary garbage as malformed, never throwing', () => {
    const junk = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) % 256));
    const r = parseMessage(junk, opts);
    expect(r.ok).toBe(false);
  });
});

describe('parse: skip reasons', () => {
  const base = { From: 'Customer <c@customer.example>', Date: 'Tue, 3 Apr 2012 16:55:26 +0400', 'Message-ID': '<x@y>' };
  it.each([
    [{ 'Auto-Submitted': 'auto-replied' }, 'auto-submitted'],
    [{ 'Auto-Submitted': 'auto-generated; foo' }, 'auto-submitted'],
    [{ 'Content-Type': 'multipart/report; report-type=delivery-status; boundary="b"' }, 'report'],
    [{ Precedence: 'bulk' }, 'bulk'],
    [{ Precedence: 'junk' }, 'bulk'],
    [{ Precedence: 'list' }, 'bulk'],
  ])('%o -> %s', (extra, reason) => {
    expect(parse({ ...base, ...extra })).toMatchObject({ ok: false, reason });
  });
  it('Auto-Submitted: no is a person', () => {
    expect(parse({ ...base, 'Auto-Submitted': 'no' }).ok).toBe(true);
  });
  it('bounces from mailer-daemon and postmaster', () => {
    expect(parse({ ...base, From: 'Mail Delivery System <MAILER-DAEMON@mx.example>' })).toMatchObject({ ok: false, reason: 'bounce' });
    expect(parse({ ...base, From: 'postmaster@mx.example' })).toMatchObject({ ok: false, reason: 'bounce' });
    expect(parse({ ...base, 'Return-Path': '<>' })).toMatchObject({ ok: false, reason: 'bounce' });
  });
  it('no From, an empty From, and several From mailboxes', () => {
    const { From: _f, ...noFrom } = base;
    expect(parse(noFrom)).toMatchObject({ ok: false, reason: 'no-from' });
    expect(parse({ ...base, From: 'undisclosed-recipients:;' })).toMatchObject({ ok: false, reason: 'no-from' });
    expect(parse({ ...base, From: 'a@x.example, b@x.example' })).toMatchObject({ ok: false, reason: 'multiple-from' });
    expect(parse({ ...base, From: ['a@x.example', 'b@x.example'] })).toMatchObject({ ok: false, reason: 'multiple-from' });
  });
  it("the company's own domains and their subdomains", () => {
    expect(parse({ ...base, From: 'me@our-company.example' })).toMatchObject({ ok: false, reason: 'own-domain' });
    expect(parse({ ...base, From: 'me@eu.our-company.example' })).toMatchObject({ ok: false, reason: 'own-domain' });
    expect(parse({ ...base, From: 'me@notour-company.example' }).ok).toBe(true);
  });
});

describe('parse: extracted fields', () => {
  it('lower-cases the sender and normalises the Message-ID', () => {
    const r = parse({ From: '"Doe, John" <John.Doe@Example.COM>', 'Message-ID': ' <ABC@host> ' });
    expect(r.ok && r.message.from).toBe('john.doe@example.com');
    expect(r.ok && r.message.messageId).toBe('ABC@host');
    expect(normalizeMessageId(undefined)).toBeNull();
  });
  it('takes the first <id> of at most 900 characters, skipping broken and over-long ones', () => {
    expect(normalizeMessageId('<abc<def@h> <x@y>')).toBe('def@h');
    expect(normalizeMessageId(`<${'a'.repeat(901)}> <ok@h>`)).toBe('ok@h');
    expect(normalizeMessageId(`<${'a'.repeat(900)}>`)).toBe('a'.repeat(900));
    expect(normalizeMessageId('< spaced@h > bare@h')).toBe('<');
    expect(normalizeMessageId('  bare@h  trailing')).toBe('bare@h');
  });
  it('recognises S/MIME messages by their top-level Content-Type', () => {
    expect(smimeKindOf('multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="x"')).toBe('signed');
    expect(smimeKindOf('multipart/signed; protocol="application/x-pkcs7-signature"; boundary=x')).toBe('signed');
    expect(smimeKindOf('multipart/signed; protocol="application/pgp-signature"; boundary=x')).toBeNull();
    expect(smimeKindOf('application/pkcs7-mime; smime-type=signed-data; name="smime.p7m"')).toBe('opaque-signed');
    expect(smimeKindOf('application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"')).toBe('encrypted');
    expect(smimeKindOf('text/plain')).toBeNull();
  });
  it('effective date: Date header, or receipt time when it is missing or in the future (Autocrypt)', () => {
    const rx = new Date('2026-01-10T00:00:00Z');
    const now = new Date('2026-02-01T00:00:00Z');
    expect(effectiveDate(new Date('2026-01-09T00:00:00Z'), rx, now).toISOString()).toBe('2026-01-09T00:00:00.000Z');
    expect(effectiveDate(new Date('2030-01-01T00:00:00Z'), rx, now)).toEqual(rx);
    expect(effectiveDate(null, rx, now)).toEqual(rx);
    expect(effectiveDate(null, null, now)).toEqual(now);
  });
  it('DMARC from the trusted authserv-id only', () => {
    const fields = [
      { name: 'authentication-results', value: 'mx.our-company.example; dkim=pass; dmarc=fail (p=reject) header.from=customer.example' },
      { name: 'authentication-results', value: 'evil.example; dmarc=pass header.from=customer.example' },
    ];
    expect(dmarcResult(fields, 'mx.our-company.example', 'customer.example')).toBe(false);
    expect(dmarcResult(fields, 'evil.example', 'customer.example')).toBe(true);
    expect(dmarcResult(fields, undefined, 'customer.example')).toBeNull();
    expect(dmarcResult(fields, 'other.example', 'customer.example')).toBeNull();
  });
});

describe('parse: real corpus header blocks', () => {
  const files = readdirSync(FIX).filter((f) => f.endsWith('.eml'));
  it.each(files)('%s parses or is skipped with a reason', (f) => {
    const r = parseMessage(readFileSync(join(FIX, f)), { fingerprint: fingerprintSelector() });
    if (r.ok) {
      expect(r.message.from).toMatch(/@/);
      expect(Object.keys(r.message.fingerprint).length).toBeGreaterThan(0);
    } else {
      expect(['bulk', 'auto-submitted', 'bounce', 'multiple-from', 'no-from']).toContain(r.reason);
    }
  });
  it('the four S/MIME fixtures are recognised as S/MIME messages', () => {
    const kinds = files.filter((f) => /^3[5-8]-/.test(f)).map((f) => {
      const text = readFileSync(join(FIX, f), 'utf8').replace(/^Precedence:.*\r?\n/gim, '');
      const r = parseMessage(Buffer.from(text), { fingerprint: fingerprintSelector() });
      return r.ok ? r.message.smime : r.reason;
    });
    expect(kinds).toEqual(['signed', 'signed', 'signed', 'opaque-signed']);
  });
});
