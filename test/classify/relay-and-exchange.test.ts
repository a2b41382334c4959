import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { classify, defaultRulesDir, fingerprintFromFields, loadRules } from '../../src/classify/index.js';
import { parseHeaderBlock, smimeKindOf } from '../../src/parse/index.js';

// Header values from public mailing-list archives in the code index; each case names the file id
// (find_string) it was read from. Where a case combines values of two messages it says so.
const rules = loadRules([defaultRulesDir()]);
const messages = fileURLToPath(new URL('../fixtures/classify/corpus/messages', import.meta.url));

describe("a relay's headers never make a person's mail automated", () => {
  it("Mutt mail relayed by Mailgun (X-Mailgun-Sid) keeps Mutt's Message-ID hint", () => {
    // linux-hwmon archive 2026-06-02, file id 56147099369 (Content-Disposition inline, no User-Agent)
    const v = classify(rules, {
      'x-mailgun-sid': ['WyJkOWUwNSIsImxpbnV4LWh3bW9uQHZnZXIua2VybmVsLm9yZyIsIjkzZDVhYiJd'],
      'message-id': ['<ah6O_CIALz137OU_@equiv.tech>'],
      'content-type': ['text/plain; charset=utf-8'],
      'dkim-signature': ['a=rsa-sha256; v=1; c=relaxed/relaxed; d=equiv.tech; q=dns/txt; s=pdk2; bh=AAAA; b=BBBB'],
    });
    expect(v.kind).not.toBe('automated');
    expect(v.family).toBe('mutt');
  });

  it('Outlook on Exchange Online relayed through SendGrid (X-SG-EID, d=sendgrid.net) is Exchange Online mail', () => {
    // Message-ID: intel.com, 2024-01-23, file id 28765062937; relay headers: a company relaying its staff's mail, file id 7113845049
    const v = classify(rules, {
      'message-id': ['<DS0PR11MB7459FFF4552871CC5EEEFA3ECC742@DS0PR11MB7459.namprd11.prod.outlook.com>'],
      'x-ms-has-attach': [''],
      'x-sg-eid': ['=?us-ascii?Q?YCLURHX+pjNDm1i7d69iKyMnQi=2FdvWah9veFa8nllaoUC0ScIWrCgiaWGu43Vg?='],
      'dkim-signature': ['v=1; a=rsa-sha256; c=relaxed/relaxed; d=sendgrid.net; h=from:subject:to:cc:content-type:content-transfer-encoding; s=smtpapi; bh=AAAA; b=BBBB'],
      'return-path': ['<bounces+16159052-3d09-qemu-devel=nongnu.org@sendgrid.net>'],
    });
    expect(v.kind).not.toBe('automated');
    expect(v.family).toBe('microsoft-365');
  });

  it("Thunderbird mail relayed by Amazon SES (its id replaced, X-SES-Outgoing) keeps Thunderbird's boundary", () => {
    // SES headers: cip-testing-results archive 2023-11-02, file id 32638643156; boundary: Thunderbird's
    // boundary: a Thunderbird message quoted in rules/clients/mozilla.yaml (thunderbird-js-boundary, novagrid.com)
    const v = classify(rules, {
      'message-id': ['<0101018b9150141c-78fd5ca0-fb6d-46d8-bc92-a0aa4cb76646-000000@us-west-2.amazonses.com>'],
      'x-ses-outgoing': ['2023.11.02-54.240.27.50'],
      'feedback-id': ['1.us-west-2.dpZ3+4zb8Tw1/c7xkFZPskvGKx/SAg98+h1xxHxUxV4=:AmazonSES'],
      'content-type': ['multipart/alternative; boundary="------------5ZMh8CnubcZ1gsJs4dhXbQRA"'],
    });
    expect(v.kind).not.toBe('automated');
    expect(v.family).toBe('thunderbird');
  });

  it('bulk mail through the same relays is still automated', () => {
    // cip-testing-results LAVA notification (SES, file id 32638643156); order confirmation (SendGrid API, file id 6305645608)
    const ses = classify(rules, {
      'message-id': ['<0101018b9150141c-78fd5ca0-fb6d-46d8-bc92-a0aa4cb76646-000000@us-west-2.amazonses.com>'],
      'x-ses-outgoing': ['2023.11.02-54.240.27.50'],
    });
    const sendgrid = classify(rules, {
      'message-id': ['<tNy8oHcwQki0f7IUqPwUOQ@ismtpd0008p1sjc2.sendgrid.net>'],
      'x-sg-eid': ['=?us-ascii?Q?ani9f=2FEkEkcxY2fVjWmQeI7N6IUiJJhs9O5YoUuWRJ4AO=2FR2JwdnK4t0=2FT6eD9?='],
    });
    expect(ses.kind).toBe('automated');
    expect(sendgrid.kind).toBe('automated');
  });
});

describe("Brevo's SMTP relay: what it adds to every message says nothing about the program", () => {
  // Brevo (Sendinblue) replaces the Message-ID with <uuid@smtp-relay.sendinblue.com>, keeps the sender's
  // own id in Origin-messageId and adds List-Unsubscribe-Post, X-CSA-Complaints, Feedback-ID and
  // X-Mailin-EID to people's mail as well (git patches on vger lists, file ids 55166686966, 40588991644).
  const block = (lines: string[]): ReturnType<typeof classify> => {
    const parsed = parseHeaderBlock(Buffer.from(`${lines.join('\r\n')}\r\n\r\n`));
    if (!parsed.ok) throw new Error(parsed.detail);
    return classify(rules, fingerprintFromFields(parsed.fields));
  };

  it("a company's Exchange mail sent through Brevo is Exchange mail, not automated", () => {
    // OVHcloud's guide to an Exchange send connector through Brevo shows the delivered headers (file id 23147623436)
    const v = block([
      'X-Mailin-EID: MjAxMTY0NTkwfm5vLXJlcGx5QHRlc3QtbXV0dS5jb21%2BPDE2N2U1NdkfOTQ3MzQ1YWFiNzY3NWY3ZmJkMWUzZGJkQHRlYW1qZXJlbS5vdmg%2B25ead5LmQuc2VuZGVyLXNpYi5jb20%3D',
      'Date: Tue, 28 Feb 2023 07:50:56 +0000',
      'Message-Id: <12185193-354a-4762-b3ee-a40484d30975e@smtp-relay.smtp.example.com>',
      'Origin-messageId: <167e568a947345aab7675f7fbd1e3dbd@mydomain.ovh>',
      'Thread-Index: AQHZS0ljK1OFDltwD80S81Qo68wiBIQ==',
      'X-MS-Has-Attach:',
      'X-MS-TNEF-Correlator:',
      'MIME-Version: 1.0',
      'X-CSA-Complaints: csa-complaints@eco.de',
      'List-Unsubscribe-Post: List-Unsubscribe=One-Click',
    ]);
    expect(v.kind).not.toBe('automated');
    expect(v.family).toBe('exchange-server');
  });

  it("a person's mail through Brevo with only a Message-ID hint keeps that hint, not automated", () => {
    // relay headers: linux-hyperv archive 2026-04-25 (file id 55166686966); the original id is Thunderbird's
    // lower-case UUID shape (htecgroup.com, file id 44745034312): two messages combined
    const v = block([
      'X-Mailin-EID: NDQzNzMzMzgyfmxpbnV4LWh5cGVydkB2Z2VyLmtlcm5lbC5vcmd%2BPDIwMjYwNDI1MTEzNTU3LjI0LTEtZGV2QHVua25vd25iYnFyLnh5ej5%2BZ3ouZC5zZW5kZXItc2liLmNvbQ%3D%3D',
      'Origin-messageId: <20d90961-59ca-4b4f-8d2c-fc0fe4d2ed37@htecgroup.com>',
      'List-Unsubscribe-Post: List-Unsubscribe=One-Click',
      'X-CSA-Complaints: csa-complaints@eco.de',
      'Message-Id: <ea7d7850-fdb8-49a7-90fd-89432dfe555a@smtp-relay.sendinblue.com>',
      'Feedback-ID: 77.32.148.26:10473219_-1:10473219:Sendinblue',
      'Content-Type: text/plain; charset=UTF-8; format=flowed',
    ]);
    expect(v.kind).not.toBe('automated');
    expect(v.family).toBe('thunderbird');
  });

  it('transactional mail Brevo made itself is still automated', () => {
    // a booking confirmation sent with Brevo's API, 2025-10-23 (file id 37346935118)
    const v = block([
      'List-Unsubscribe-Post: List-Unsubscribe=One-Click',
      'Feedback-ID: 212.146.199.187:2694517_-1:2694517:Sendinblue',
      'X-CSA-Complaints: csa-complaints@eco.de',
      'X-Mailin-EID: OTE5MTA4MzB%2Bc2hvcnRkZXNlb3NAZ21haWwuY29tfjwyMDI1MTAyMzA5NDIuNzI1NTM2ODA3NjNAc210cC1yZWxheS5tYWlsaW4uZnI%2BfmVtYWlsLnNjaWRvby5jb20%3D',
      'Message-Id: <202510230942.72553680763@smtp-relay.mailin.fr>',
      'Content-Type: multipart/alternative; boundary=d0f619190f98c5d9ad868dadafd7017c04575fbbda18d99e7bdb312dfceb',
      'Mime-Version: 1.0',
    ]);
    expect(v.kind).toBe('automated');
  });
});

describe('X-MS-Has-Attach says "through Exchange", not which program', () => {
  it('Thunderbird mail through Exchange Online with its User-Agent hidden gets the Thunderbird hint, not exchange-server', () => {
    // htecgroup.com, 2025-10-18, file id 44745034312 (which also carried User-Agent: Mozilla Thunderbird)
    const v = classify(rules, {
      'message-id': ['<20d90961-59ca-4b4f-8d2c-fc0fe4d2ed37@htecgroup.com>'],
      'x-ms-has-attach': [''],
      'content-type': ['text/plain; charset=UTF-8; format=flowed'],
    });
    expect(v.family).toBe('thunderbird');
  });

  it("Thunderbird's MIME boundary decides over X-MS-Has-Attach", () => {
    const v = classify(rules, {
      'message-id': ['<20d90961-59ca-4b4f-8d2c-fc0fe4d2ed37@htecgroup.com>'],
      'x-ms-has-attach': [''],
      'content-type': ['multipart/alternative; boundary="------------5ZMh8CnubcZ1gsJs4dhXbQRA"'],
    });
    expect(v.family).toBe('thunderbird');
  });

  it('an Exchange-made id that does not show the program names no family, only candidates', () => {
    // intel-gvt-dev archive, 2019-03-01, file id 44247865356 (Exchange 2010)
    const v = classify(rules, {
      'message-id': ['<8082FF9BCB2B054996454E47167FF4EC27543C82@SHSMSX104.ccr.corp.intel.com>'],
      'x-ms-has-attach': [''],
    });
    expect(v.family).toBeNull();
    expect(v.kind).not.toBe('automated');
    expect(v.candidates).toEqual(expect.arrayContaining(['outlook-windows', 'exchange-server']));
  });

  it("Exchange 2013+'s <32 hex@server> id with X-MS-Has-Attach is exchange-server", () => {
    // usrp-users archive 2021-03-12, file id 48332700011
    const v = classify(rules, { 'message-id': ['<6ef5d9a0ee0c47018174fec87644c38b@gmvnsl.com>'], 'x-ms-has-attach': [''] });
    expect(v.family).toBe('exchange-server');
  });

  it('corpus message 38 (opaque-signed Outlook through Exchange 2010, labelled OTHER) is given no family', () => {
    const parsed = parseHeaderBlock(readFileSync(join(messages, '38-smime-opaque-signed-outlook-exchange.eml')));
    if (!parsed.ok) throw new Error(parsed.detail);
    const ct = parsed.fields.find((f) => f.name === 'content-type')?.value;
    const v = classify(rules, fingerprintFromFields(parsed.fields), { smimeMessage: smimeKindOf(ct) });
    expect(v.family).toBeNull();
    expect(v.kind).not.toBe('automated');
  });
});
