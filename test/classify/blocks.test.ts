import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { classify, defaultRulesDir, FINGERPRINT_FIELDS, loadRules } from '../../src/classify/index.js';
import { parseMessage } from '../../src/parse/index.js';
import { fingerprintSelector } from '../../src/app/index.js';
import { imapFetchFields } from '../../src/app/poll.js';
import type { Verdict } from '../../src/core/index.js';
import { classifyBlock } from '../helpers/classify.js';

// source: test/fixtures/classify/corpus/blocks is a copy of /work/shared/corpus/blocks; each block's
// public source (repository@commit:path) is its row in blocks/labels.tsv.
const blocks = fileURLToPath(new URL('../fixtures/classify/corpus/blocks', import.meta.url));
const rules = loadRules([defaultRulesDir()]);

function block(file: string): Verdict {
  return classifyBlock(rules, readFileSync(join(blocks, file)));
}

describe('whole header blocks: the signals in the combination of headers', () => {
  it('Samsung Email through a Gmail account: the Gmail-SMTP Message-ID is a provider stamp, SavedFromEmail tells the program (055)', () => {
    const v = block('055.hdr');
    expect(v.family).toBe('samsung-email');
    expect(v.warnings).toContain('provider:stamped-message-id');
  });

  it('a Python script sending through Gmail SMTP (===…== boundary, mx.google.com id) is automated, not gmail (197)', () => {
    const v = block('197.hdr');
    expect(v.kind).toBe('automated');
    expect(v.family).toBeNull();
  });

  it('Yahoo SMTP stamps its own X-Mailer on Mutt mail: the verdict says so and the Message-ID decides (160)', () => {
    const v = block('160.hdr');
    expect(v.family).toBe('mutt');
    expect(v.warnings).toContain('provider:stamped-x-mailer');
  });

  it('Yahoo and AOL mail is not flagged as truncated: X-YMail-OSG (2-3 KB, opaque, per message) is kept as presence only (092, 097)', () => {
    for (const [file, family] of [['092.hdr', 'yahoo-mail'], ['097.hdr', 'aol-mail']] as const) {
      const bytes = readFileSync(join(blocks, file));
      expect(bytes.toString('latin1')).toMatch(/^X-YMail-OSG: /im);
      const v = block(file);
      expect(v.family).toBe(family);
      expect(v.warnings).not.toContain('input:value-truncated');
      // As ingest and the store see it too (the block itself is list mail, which ingest skips as
      // bulk: its X-YMail-OSG in a message of a person's own): the field is there, its text is not.
      const osg = /^X-YMail-OSG:[^\n]*(?:\r?\n[ \t][^\n]*)*/im.exec(bytes.toString('latin1'))![0];
      const own = Buffer.from(`From: kim@yahoo.com\r\nMessage-ID: <1.2.3@mail.yahoo.com>\r\n${osg.replace(/\r?\n/g, '\r\n')}\r\n\r\n`, 'latin1');
      const parsed = parseMessage(own, { fingerprint: fingerprintSelector() });
      expect(parsed.ok).toBe(true);
      if (parsed.ok) expect(parsed.message.fingerprint['x-ymail-osg']).toEqual(['']);
    }
  });

  it('"Thunderbird Daily" (and Beta) are Thunderbird (036)', () => {
    expect(block('036.hdr').family).toBe('thunderbird');
    expect(classify(rules, { 'user-agent': ['Mozilla Thunderbird Beta'], 'message-id': ['<3f0b8e21-6c4d-4a8e-9d2f-7b1e5c6a9d30@example.org>'] }).family).toBe('thunderbird');
  });

  it('Python make_msgid tools and Google service mail are automated by their Message-ID shape (202, 203, 225)', () => {
    for (const f of ['202.hdr', '203.hdr', '225.hdr']) expect(block(f).kind, f).toBe('automated');
  });

  it('ESP infrastructure Message-IDs and bulk id shapes are automated (211, 219)', () => {
    for (const f of ['211.hdr', '219.hdr']) expect(block(f).kind, f).toBe('automated');
  });

  it("a person's mail rewrapped by Mailman (Python boundary + X-Mailman-Version) keeps its client (002, 063, 068, 133, 137, 146)", () => {
    const want: Record<string, string> = { '002.hdr': 'gmail', '063.hdr': 'outlook-windows', '068.hdr': 'outlook-mobile', '133.hdr': 'foxmail', '137.hdr': 'em-client', '146.hdr': 'superhuman' };
    for (const [f, family] of Object.entries(want)) {
      const v = block(f);
      expect(v.kind, f).not.toBe('automated');
      expect(v.family, f).toBe(family);
    }
  });

  it('a forged iPhone Mail X-Mailer with a non-RFC-4122 UUID gets no confident verify (230)', () => {
    const v = block('230.hdr');
    expect(v.confidence).toBeLessThan(0.5);
    expect(v.warnings).toContain('forged:apple-message-id');
  });

  it('an Apple client on Outlook.com (MIME rewritten, X-Mailer dropped, X-MS-Has-Attach added) is Apple-shaped, not exchange-server', () => {
    const v = classify(rules, { 'message-id': ['<3C2B9E8A-5D14-4F7B-A0E6-91B2C4D7E8F3@hotmail.com>'], 'x-ms-has-attach': [''], 'x-ms-tnef-correlator': [''] });
    expect(v.family).toBe('apple-mail');
    expect(v.candidates).toEqual(expect.arrayContaining(['apple-mail', 'ios-mail']));
  });

  it('Gmail consumer vs Google Workspace is told by DKIM d= (002 is Workspace on redhat.com)', () => {
    expect(block('002.hdr').platform).toBe('Workspace');
    const consumer = classify(rules, { 'message-id': ['<CAJJ9bXy@mail.gmail.com>'], 'dkim-signature': ['v=1; a=rsa-sha256; d=gmail.com; s=20230601; bh=x; b=y'] });
    expect(consumer.platform).toBe('consumer');
    expect(consumer.product).toBe('Gmail (consumer account)');
  });

  it('a provider stamp alone is the answer when nothing else matches, with low confidence', () => {
    const v = classify(rules, { 'x-mailer': ['WebService/1.1.21000 mail.backend.jedi.jws.acl:role.jedi.acl.token.atz.jws.hermes.yahoo'] });
    expect(v.family).toBe('yahoo-mail');
    expect(v.confidence).toBeLessThan(0.5);
    expect(v.warnings).toEqual(['provider:stamped-x-mailer']);
  });
});

describe('the new block signals reach classify on every path', () => {
  // The block came through a mailing list; parse skips list mail (Precedence: list), so the list's
  // Precedence line is dropped to feed it as the sender's own mail would arrive.
  const raw = Buffer.from(readFileSync(join(blocks, '055.hdr'), 'latin1').replace(/^Precedence: list\r?\n/m, ''), 'latin1');

  it('IMAP fetches every fingerprint field (SavedFromEmail, DKIM-Signature, List-Unsubscribe-Post …)', () => {
    const fetched = new Set(imapFetchFields());
    for (const f of FINGERPRINT_FIELDS) expect(fetched.has(f), f).toBe(true);
  });

  it('parse (file import, IMAP, pipe) keeps them in the fingerprint, so ingest classifies like `classify` with {"raw"}', () => {
    const parsed = parseMessage(raw, { fingerprint: fingerprintSelector() });
    if (!parsed.ok) throw new Error(parsed.detail);
    expect(parsed.message.fingerprint['savedfromemail']).toBeDefined();
    expect(classify(rules, parsed.message.fingerprint).family).toBe('samsung-email');
  });
});
