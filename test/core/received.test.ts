import { describe, it, expect } from 'vitest';
import { receivedHop } from '../../src/core/index.js';
import { parseMessage } from '../../src/parse/index.js';
import { fingerprintSelector } from '../../src/app/index.js';
import { classify, defaultRulesDir, loadRules } from '../../src/classify/index.js';

// A submission hop as Gmail's SMTP server writes it (shape of shared/corpus/blocks/055.hdr; addresses are examples).
const GMAIL_SUBMISSION =
  'from [192.168.1.23] (dynamic-2a02-908-1-2--3.example.net. [2a02:908:1:2::3])\r\n' +
  '        by smtp.gmail.com with ESMTPSA id a1b2c3d4e5f6.2026.12.01.09.00.00\r\n' +
  '        for <support@our-company.example>\r\n' +
  '        (version=TLS1_3 cipher=TLS_AES_128_GCM_SHA256 bits=128/128);\r\n' +
  '        Tue, 01 Dec 2026 09:00:00 -0800 (PST)';

describe('Received headers are reduced to the hop that accepted the message', () => {
  it('keeps by-host and protocol, drops the from-part, id, for <address> and date', () => {
    expect(receivedHop(GMAIL_SUBMISSION)).toBe('by smtp.gmail.com with ESMTPSA');
  });

  it('keeps a software comment after the host, drops one with digits (an address or a user id)', () => {
    expect(receivedHop('from x (y [198.51.100.7]) by webmail.example.org (Horde Framework) with HTTPS; Fri, 13 Sep 2019 21:50:38 -0400')).toBe('by webmail.example.org (Horde Framework) with HTTPS');
    expect(receivedHop('from a.example (a.example [203.0.113.5]) by mail.gmx.net (mrgmx005 [212.227.17.190]) with ESMTPSA (Nemesis) id 1Msq24')).toBe('by mail.gmx.net with ESMTPSA');
    expect(receivedHop('by host.example (Postfix, from userid 1000) id 30E13B4; Sat, 31 Jul 2021 18:40:59 +0200 (CEST)')).toBe('by host.example');
  });

  it('ignores "by" and "with" inside (nested) comments and after the date separator', () => {
    expect(receivedHop('from a (b (by evil.example with X) c) by real.example with ESMTP; by late.example with HTTP')).toBe('by real.example with ESMTP');
    expect(receivedHop('from a.example ([203.0.113.5]) id 42; Tue, 1 Dec 2026')).toBeNull();
  });

  it('is idempotent, so stored (already reduced) fingerprints classify as fresh mail does', () => {
    for (const v of [GMAIL_SUBMISSION, 'by webmail.example.org (Horde Framework) with HTTP', 'by host.example']) {
      const once = receivedHop(v)!;
      expect(receivedHop(once)).toBe(once);
    }
  });

  it('stays linear on hostile input (unclosed comments, a long token)', () => {
    const hostile = '('.repeat(200_000) + ' by x with y';
    const t0 = performance.now();
    expect(receivedHop(hostile)).toBeNull();
    expect(receivedHop('by ' + 'a'.repeat(300) + ' with ESMTP')).toBeNull();
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('parse stores only the reduced hop: no client IP, HELO name or recipient address reaches the fingerprint', () => {
    const block = Buffer.from(`Received: ${GMAIL_SUBMISSION}\r\nFrom: Ann <ann@example.net>\r\nMessage-ID: <x1@example.net>\r\nDate: Tue, 1 Dec 2026 09:00:00 -0800\r\n\r\n`);
    const r = parseMessage(block, { fingerprint: fingerprintSelector() });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.message.fingerprint['received']).toEqual(['by smtp.gmail.com with ESMTPSA']);
    expect(JSON.stringify(r.message.fingerprint)).not.toMatch(/192\.168|2a02|support@|dynamic-/);
  });

  it('classify reduces a caller\'s raw Received the same way (Gmail SMTP submission is not Gmail web)', () => {
    const rules = loadRules([defaultRulesDir()]);
    // The program's own Message-ID: without one (and without a boundary or program name), a
    // submission through smtp.gmail.com is a script's (automated-gmail-smtp-no-message-id).
    const v = classify(rules, { 'x-gm-message-state': ['AOJu0YwRZ1tXoUlJ7Xx2CHV9kR3C7mNpD1vXbYoGxFEm'], 'message-id': ['<x1@example.net>'], received: [GMAIL_SUBMISSION] });
    expect(v.ruleId).toBe('gmail-smtp-submission');
    expect(v.family).toBeNull();
    expect(v.warnings).toContain('provider:smtp-submission');
  });
});
