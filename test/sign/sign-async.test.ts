/**
 * signAsync (the relay's path: the private-key operation on the thread pool) gives exactly the
 * bytes sign() gives, and refuses exactly what sign() refuses.
 */
import { describe, expect, it } from 'vitest';
import { loadSigner } from '../../src/sign/index.js';
import { withSigningPki } from './helpers.js';

const { pki, verified } = withSigningPki();

const msg = (from: string) => Buffer.from(`From: ${from}\r\nTo: bob@customer.test\r\nSubject: async\r\n\r\nHallo, schöne Grüße.\r\n`);

describe('Signer.signAsync', () => {
  it('is byte-identical to sign() for RSA (deterministic PKCS#1 v1.5) at the same time and boundary', async () => {
    const s = await loadSigner({ certFile: pki.rsa.certFile, keyFile: pki.rsa.keyFile, chainFiles: [pki.interCertFile] });
    // one time for both calls, inside the test certificate's validity (it starts a day before
    // the run): a fixed date became a failure once the calendar passed it (seen on 2026-12-02)
    const opts = { signingTime: new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000), boundary: 'fixed-boundary-1' };
    const a = await s.signAsync(msg(pki.rsa.email), opts);
    expect(a.equals(s.sign(msg(pki.rsa.email), opts))).toBe(true);
    expect(verified(a)).toEqual({ openssl: null, gpgsm: null });
  });

  it('signs with ECDSA P-256 (openssl and gpgsm verify) and refuses a From the certificate does not cover', async () => {
    const s = await loadSigner({ certFile: pki.ec.certFile, keyFile: pki.ec.keyFile, chainFiles: [pki.interCertFile] });
    const out = await s.signAsync(msg(pki.ec.email));
    expect(verified(out)).toEqual({ openssl: null, gpgsm: null });
    await expect(s.signAsync(msg('mallory@example.test'))).rejects.toMatchObject({ code: 'E_CERT' });
    expect(s.metrics).toMatchObject({ signedTotal: 1, refusedTotal: 1 });
  });
});
