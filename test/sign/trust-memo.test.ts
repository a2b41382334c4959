// The chain verdict and certificate decoding are memoised (src/sign/trust.ts, cert-info.ts):
// a signer's every message carries the same chain, and pkijs costs milliseconds per message.
// These tests protect the memo's key: the same chain checked at another date must get the
// verdict for that date, not the cached one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { harvestFromMessage, loadTrustedCaPems } from '../../src/sign/index.js';
import { makeTestPki, type TestLeaf, type TestPki } from '../helpers/pki.js';

let pki: TestPki;
let trusted: string[];

beforeAll(async () => {
  pki = makeTestPki();
  trusted = await loadTrustedCaPems([pki.rootCertFile]);
}, 60_000);

afterAll(() => pki?.cleanup());

/** Signed without signed attributes, so there is no signing time and validity is judged at `now`. */
function signedNoAttributes(leaf: TestLeaf): Buffer {
  const content = join(pki.dir, 'memo-content.txt');
  writeFileSync(content, 'Content-Type: text/plain; charset=us-ascii\r\n\r\nHello.\r\n');
  return pki.openssl(['cms', '-sign', '-noattr', '-in', content, '-signer', leaf.certFile, '-inkey', leaf.keyFile, '-certfile', pki.interCertFile, '-md', 'sha256', '-from', leaf.email, '-to', 'support@company.test', '-subject', 'Hi']);
}

describe('memoised chain verdicts', () => {
  it('the same chain is trusted today, untrusted after the leaf expires, and trusted again today', async () => {
    // carol's certificate expires in 10 days
    const msg = signedNoAttributes(pki.expiringSoon);
    const today = new Date();
    const later = new Date(Date.now() + 20 * 86_400_000);
    const a = await harvestFromMessage(msg, { trustedCaPems: trusted, now: today });
    const b = await harvestFromMessage(msg, { trustedCaPems: trusted, now: later });
    const c = await harvestFromMessage(msg, { trustedCaPems: trusted, now: today });
    expect(a.trust?.trusted).toBe(true);
    expect(b.trust?.trusted).toBe(false);
    expect(b.warnings.map((w) => w.code)).toEqual(expect.arrayContaining(['certificate-expired', 'untrusted']));
    expect(c.trust?.trusted).toBe(true);
    expect(c.certificate?.fingerprint).toBe(a.certificate?.fingerprint);
  });

  it('the same chain is trusted with the CA configured and untrusted without it', async () => {
    const msg = signedNoAttributes(pki.rsa);
    expect((await harvestFromMessage(msg, { trustedCaPems: trusted })).trust?.trusted).toBe(true);
    expect((await harvestFromMessage(msg, { trustedCaPems: [pki.foreignRootCertPem] })).trust?.trusted).toBe(false);
    expect((await harvestFromMessage(msg, { trustedCaPems: trusted })).trust?.trusted).toBe(true);
  });
});
