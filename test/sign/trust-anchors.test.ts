// Trust anchors are indexed by subject and only those that can be in a chain's path go to pkijs
// (src/sign/trust.ts: parsing the whole system bundle with pkijs cost up to a second per process).
// These tests protect what the index must never change: a chain validates against a bundle of
// many anchors whichever of them is its root, a pinned leaf still counts, an unrelated bundle
// trusts nothing, and the verdict for the same chain is the same on every message.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { harvestFromMessage } from '../../src/sign/index.js';
import { makeTestPki, type TestLeaf, type TestPki } from '../helpers/pki.js';

let pki: TestPki;
beforeAll(() => {
  pki = makeTestPki();
}, 60_000);
afterAll(() => pki?.cleanup());

let seq = 0;
function signed(leaf: TestLeaf): Buffer {
  const content = join(pki.dir, `anchors-${++seq}.txt`);
  writeFileSync(content, 'Content-Type: text/plain; charset=us-ascii\r\n\r\nHello.\r\n');
  return pki.openssl(['cms', '-sign', '-in', content, '-signer', leaf.certFile, '-inkey', leaf.keyFile, '-certfile', pki.interCertFile, '-md', 'sha256', '-from', leaf.email, '-to', 'support@company.test', '-subject', 'Hi']);
}

describe('trust anchors indexed by subject', () => {
  it('a chain validates against a many-anchor bundle (one PEM text) whichever anchor is its root, on every message', async () => {
    const bundle = [pki.foreignRootCertPem, pki.expired.certPem, pki.rootCertPem].join('\n');
    for (let i = 0; i < 3; i++) {
      const r = await harvestFromMessage(signed(pki.rsa), { trustedCaPems: [bundle] });
      expect(r.trust).toMatchObject({ trusted: true, anchor: 'configured' });
      const f = await harvestFromMessage(signed(pki.foreign), { trustedCaPems: [bundle] });
      expect(f.trust).toMatchObject({ trusted: true, anchor: 'configured' });
    }
  });

  it('a bundle without the chain\'s root or any of its certificates trusts nothing; a pinned leaf in a bundle is trusted', async () => {
    const unrelated = await harvestFromMessage(signed(pki.rsa), { trustedCaPems: [pki.foreignRootCertPem] });
    expect(unrelated.trust?.trusted).toBe(false);
    expect(unrelated.warnings.map((w) => w.code)).toContain('untrusted');
    const pinned = await harvestFromMessage(signed(pki.otherAddress), { trustedCaPems: [[pki.foreignRootCertPem, pki.otherAddress.certPem].join('\n')] });
    expect(pinned.trust).toMatchObject({ trusted: true, anchor: 'configured' });
  });
});
