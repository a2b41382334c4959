/**
 * Right to erasure reaches the process's memory too: `forget` drops the memoised descriptions
 * of the erased customer's certificates (sign/cert-info.ts keeps up to 5,000, each with its
 * addresses), and leaves other customers' alone.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.js';
import { openTestApp } from '../helpers/app.js';
import { makeTestPki } from '../helpers/pki.js';
import { forget } from '../../src/app/index.js';
import { describeCertificate, pemBlocks } from '../../src/sign/cert-info.js';

const t = tempDir('census-forget-memo-');
const pki = makeTestPki();
afterAll(() => t.cleanup());

describe('forget and the certificate memo', () => {
  it('a described certificate of the erased address is decoded afresh afterwards; another address stays memoised', async () => {
    const app = openTestApp(t.dir);
    try {
      const der = (pem: string): Buffer => pemBlocks(pem, ['CERTIFICATE'])[0]!;
      const alice = describeCertificate(der(pki.rsa.certPem));
      const mallory = describeCertificate(der(pki.otherAddress.certPem));
      expect(alice.emails).toContain(pki.rsa.email);
      // Memoised: the same frozen description again.
      expect(describeCertificate(der(pki.rsa.certPem))).toBe(alice);

      await forget(app, pki.rsa.email.toUpperCase());

      const again = describeCertificate(der(pki.rsa.certPem));
      expect(again).not.toBe(alice);
      expect(again).toEqual(alice);
      expect(describeCertificate(der(pki.otherAddress.certPem))).toBe(mallory);
    } finally {
      await app.close();
    }
  });
});
