import { describe, expect, it } from 'vitest';
import { classify, defaultRulesDir, loadRules } from '../../src/classify/index.js';

// Message-ID shapes that a person's program and a mail library share. Each case names where the
// value was read (find_string file id, or the library source that makes the shape).
const rules = loadRules([defaultRulesDir()]);

describe('Message-ID shapes shared by a client and a library', () => {
  it("aerc's go-message id is still aerc", () => {
    // an aerc 0.20.1 user's earlier message, in the References of file id 6877935526
    const v = classify(rules, { 'message-id': ['<DA7WJYNAN5AI.2HE6B953GR16A@kernel.org>'] });
    expect(v.family).toBe('aerc');
  });

  it("MimeKit's look-alike id (ticks written least-significant digit first, so its first part ends in 4) is not called aerc", () => {
    // jstedfast/MimeKit@9610c4e MimeUtils.GenerateMessageId: base36 of DateTime.Now.Ticks digit by digit from
    // the lowest, '.', base36 of 8 random bytes; 2026's ticks (~6.39e17) end the first part in "U4"
    const v = classify(rules, { 'message-id': ['<K3WXYPFUETU4.3KZ1M0R8D2XQW@mailer.example-shop.de>'] });
    expect(v.family).not.toBe('aerc');
  });

  it('an md5 id alone names no family: Roundcube, RainLoop and PHPMailer 5 all make it', () => {
    // PHPMailer 5.2.22 mail (its X-Mailer left out; rules/clients/automated.yaml php example); PHPMailer 5's
    // md5(uniqid(time())) id: file id 27770877137
    const v = classify(rules, { 'message-id': ['<309b4cd3cb26b10ce1e530d78f8e750a@taiyodo3.heteml.net>'], 'content-type': ['text/plain; charset=iso-8859-1'] });
    expect(v.family).toBeNull();
    expect(v.kind).not.toBe('automated');
    expect(v.candidates).toEqual(expect.arrayContaining(['roundcube']));
  });

  it("an md5 id with Roundcube's format=flowed text is Roundcube", () => {
    // corpus blocks/166.hdr (Roundcube Webmail 1.4.15) with its User-Agent left out
    const v = classify(rules, { 'message-id': ['<bda6baa41b6b4511830603138d896add@tuxedocomputers.com>'], 'content-type': ['text/plain; charset=US-ASCII; format=flowed'] });
    expect(v.family).toBe('roundcube');
    expect(v.confidence).toBeGreaterThanOrEqual(0.5);
  });

  it("nmh's <pid.seconds@host> id is nmh mail (MH-E or exmh send through it), not unknown", () => {
    // netdev archive 2021-08-07, X-Mailer: MH-E 8.6+git; nmh 1.6 (file id 20116542113); the id shape is
    // nmh's message_id() (mcr/nmh@5a9a8b7 sbr/message_id.c)
    const v = classify(rules, { 'message-id': ['<22626.1628376134@famine>'] });
    expect(v.family).toBe('mh');
    expect(v.candidates).toEqual(['mh', 'emacs-other']);
  });
});
