/**
 * What a fingerprint holds of a DKIM-Signature (issue 14: the per-message row; issue 15: classify
 * reads whole blocks): the tags that describe the sender's setup stay (d=, s=, h=, a=, c=), the
 * per-message signature and body hash (b=, bh=: ~400 bytes of base64 per observation, no rule can
 * use them) are dropped where parse builds the fingerprint, before classify and the store — and recompute
 * on the stored fingerprint still reaches the verdict ingest reached (the dkim-d rules).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestApp, headerBlock } from '../helpers/app.js';
import { tempDir } from '../helpers/tmp.js';
import { fingerprintSelector, recompute, type AppContext } from '../../src/app/index.js';
import { fingerprintFromFields } from '../../src/classify/index.js';
import { parseHeaderBlock, parseMessage } from '../../src/parse/index.js';
import { withoutDkimSignatureBytes } from '../../src/core/index.js';

// A Gmail consumer account's signature (the shape of corpus message headers; values shortened).
const GMAIL_DKIM =
  'v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n        d=gmail.com; s=20230601; t=1755069934; x=1755674734; darn=company.example;\r\n' +
  '        h=mime-version:subject:message-id:to:from:date;\r\n        bh=0c3nV89t+p+rr7JA8piElTZrLtchsiad85mVw2J8uVE=;\r\n' +
  '        b=iPcmqPJIMmRtd2m4yK4/cou/889A/U4yDvpwcrzX7VbolTkuE4/e05tWo3fXnwvGSN\r\n         w0Wff9N3rUaQIyiULaD5bVYJqywyxemrNlz67+w9k3s3vFMHvYlFKN1j6swn2A7Uy5vn';

let t: ReturnType<typeof tempDir>;
let ctx: AppContext;
beforeEach(() => {
  t = tempDir();
  ctx = openTestApp(t.dir);
});
afterEach(async () => {
  await ctx.close();
  t.cleanup();
});

describe('stored fingerprint: DKIM-Signature without its per-message bytes', () => {
  it('drops b= and bh= and keeps every other tag as written', () => {
    const v = withoutDkimSignatureBytes('v=1; a=rsa-sha256; d=example.org; s=sel; bh=AAAA; h=from:to; b=BBBB');
    expect(v).toBe('v=1; a=rsa-sha256; d=example.org; s=sel; h=from:to');
    expect(withoutDkimSignatureBytes('v=1; d=example.org; B = x ;s=k')).toBe('v=1; d=example.org;s=k');
    expect(withoutDkimSignatureBytes('no tags at all')).toBe('no tags at all');
  });

  it('keeps exactly the tags a split on ";", a filter of b= and bh= and a join would keep', () => {
    // The reference is the plain tag-list reading (RFC 6376 3.2): names trimmed, case-insensitive.
    const reference = (value: string): string =>
      value
        .split(';')
        .filter((t) => {
          const eq = t.indexOf('=');
          const name = eq < 0 ? null : t.slice(0, eq).trim().toLowerCase();
          return name !== 'b' && name !== 'bh';
        })
        .join(';');
    const cases = [
      GMAIL_DKIM,
      'b=first; v=1; d=x.example',
      'v=1; d=x.example; bh=a; b=b',
      'v=1; bh=a; d=x.example; b=b; s=sel',
      'bh=only',
      'b=x;',
      ';;b=x;;v=1;',
      ' \t\r\n BH = a ;d=x',
      'bb=1; hb=2; b; =b; x=b=2; v=1',
      '\u00a0b=nbsp-trimmed; d=x',
      'v=1; ' + ' '.repeat(90) + 'b=long-space-before-name; d=x',
      '',
      ';',
    ];
    for (const c of cases) expect(withoutDkimSignatureBytes(c), JSON.stringify(c)).toBe(reference(c));
  });

  it('parse drops them where it builds the fingerprint, so classify never reads them either (ingest and eval paths)', () => {
    const msg = headerBlock({ From: 'kim@gmail.com', 'Message-ID': '<a@b.example>', 'DKIM-Signature': GMAIL_DKIM });
    const parsed = parseMessage(msg, { fingerprint: fingerprintSelector() });
    expect(parsed.ok).toBe(true);
    const fromIngest = parsed.ok ? parsed.message.fingerprint['dkim-signature']![0]! : '';
    const block = parseHeaderBlock(msg);
    const fromEval = block.ok ? fingerprintFromFields(block.fields)['dkim-signature']![0]! : '';
    for (const v of [fromIngest, fromEval]) {
      expect(v).toContain('d=gmail.com');
      expect(v).not.toMatch(/\bbh=|\bb=/);
    }
    expect(fromEval).toBe(fromIngest);
  });

  it('stores the DKIM setup without signature bytes, and recompute on it keeps the verdict ingest gave', async () => {
    const msg = headerBlock({
      From: 'Kim <kim@gmail.com>',
      Date: new Date().toUTCString(),
      'Message-ID': '<CAJJ9bXyTZRNUzSy5Y10zbx+1LyLguobgGm7FdGPO0foSzunLpw@mail.gmail.com>',
      'MIME-Version': '1.0',
      'DKIM-Signature': GMAIL_DKIM,
    });
    const c = await ctx.pipeline.ingestBatch([{ sourceKey: 'k1', headerBytes: msg, receivedAt: new Date() }]);
    expect(c.stored).toBe(1);
    const [obs] = await ctx.store.observationsOf('kim@gmail.com');
    const stored = JSON.parse(obs!.fingerprint) as Record<string, string[]>;
    const dkim = stored['dkim-signature']![0]!;
    expect(dkim).toContain('d=gmail.com');
    expect(dkim).toContain('s=20230601');
    expect(dkim).toContain('h=mime-version:subject:message-id:to:from:date');
    expect(dkim).not.toMatch(/\bbh=|\bb=/);
    expect(obs).toMatchObject({ family: 'gmail', platform: 'consumer' });
    const r = await recompute(ctx);
    expect(r.changed).toBe(0);
    const [again] = await ctx.store.observationsOf('kim@gmail.com');
    expect(again).toMatchObject({ family: 'gmail', platform: 'consumer', ruleId: obs!.ruleId });
  });
});
