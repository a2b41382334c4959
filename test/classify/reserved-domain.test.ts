import { describe, it, expect } from 'vitest';
import { classify, defaultRulesDir, loadRules } from '../../src/classify/index.js';

const rules = loadRules([defaultRulesDir()]);

// Two spam samples of shared/corpus/headers.tsv (FORGED; source: github.com/apache/spamassassin
// f7fe7b82a2db63ee1406d74d88ce564b69881954 t/data/spam/extracttext/gtube_b64_oct.eml line 6, t/data/spam/utf16.eml line 10).
// Their header values are well-formed; only the Message-ID's reserved documentation domain gives them away.
const FORGED_TB = { 'user-agent': ['Mozilla/5.0 (X11; Linux x86_64; rv:78.0) Gecko/20100101 Thunderbird/78.7.0'], 'message-id': ['<ed48fad8-753c-458b-4433-76b5659a0f9e@example.com>'] };
const FORGED_OE = { 'x-mailer': ['Microsoft Outlook Express 6.00.3790.4548'], 'message-id': ['<214E0E71FF854E5E82EA205D48BF41DE@example.org>'] };

describe('a person-client verdict on a Message-ID at a documentation domain (RFC 2606: example.com/.net/.org) is not confident', () => {
  it('the two forged corpus rows that got a confident verify no longer do', () => {
    for (const fp of [FORGED_TB, FORGED_OE]) {
      const v = classify(rules, fp);
      expect(v.warnings).toContain('forged:reserved-domain-message-id');
      expect(v.confidence).toBeLessThan(0.5);
    }
  });

  it('covers example.com/.net/.org and their subdomains, not look-alikes, the reserved TLDs or localhost', () => {
    const ua = 'Mozilla/5.0 (X11; Linux x86_64; rv:78.0) Gecko/20100101 Thunderbird/78.7.0';
    const at = (host: string) => classify(rules, { 'user-agent': [ua], 'message-id': [`<ed48fad8-753c-458b-4433-76b5659a0f9e@${host}>`] });
    for (const h of ['mail.example.net', 'EXAMPLE.ORG', 'example.com']) expect(at(h).warnings, h).toContain('forged:reserved-domain-message-id');
    for (const h of ['roeck-us.net', 'myexample.com', 'example.co.uk', 'example.com.au', 'localhost', 'host.example', 'ci.test']) {
      const v = at(h);
      expect(v.warnings, h).not.toContain('forged:reserved-domain-message-id');
      expect(v.confidence, h).toBeGreaterThanOrEqual(0.5);
    }
  });

  it('leaves automated verdicts alone (a newsletter fixture at example.com is still automated)', () => {
    const v = classify(rules, { 'x-mailer': ['MailChimp/Pro 12.345'], 'message-id': ['<newsletter-123@example.com>'] });
    expect(v.kind).toBe('automated');
    expect(v.warnings).not.toContain('forged:reserved-domain-message-id');
  });
});
