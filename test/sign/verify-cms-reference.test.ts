/**
 * Our CMS verifier (src/sign/verify-cms.ts, kept for speed) held against pkijs's own
 * SignedData.verify on the same bytes: openssl-made signatures of every kind we accept, and
 * byte mutations of them. Both must agree on whether a signature verifies and on who signed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { verifySignedData } from '../../src/sign/verify-cms.js';
import { makeTestPki, type TestLeaf, type TestPki } from '../helpers/pki.js';
import { pkijsVerifySignedData } from './pkijs-verify.js';

let pki: TestPki;
beforeAll(() => {
  pki = makeTestPki();
});
afterAll(() => pki?.cleanup());

const CONTENT = Buffer.from('Content-Type: text/plain; charset=us-ascii\r\n\r\nHello from openssl.\r\n');

/** A DER signature made by the openssl CLI over CONTENT. */
function sign(leaf: TestLeaf, extra: string[] = []): Buffer {
  const file = join(pki.dir, 'reference-content.txt');
  writeFileSync(file, CONTENT);
  return pki.openssl(['cms', '-sign', '-binary', '-in', file, '-signer', leaf.certFile, '-inkey', leaf.keyFile, '-certfile', pki.interCertFile, '-outform', 'DER', ...extra]);
}

async function both(der: Buffer, detached: Buffer[] | null) {
  const ours = verifySignedData(der, detached);
  const ref = await pkijsVerifySignedData(der, detached);
  return { ours, ref };
}

describe('verify-cms against pkijs SignedData.verify', () => {
  it('agree on openssl signatures (RSA, ECDSA, RSASSA-PSS, keyid signer, SHA-1, opaque, BER stream): valid, same signer, time and capabilities', async () => {
    const cases: Array<[string, Buffer, Buffer[] | null]> = [
      ['rsa', sign(pki.rsa, ['-md', 'sha256']), [CONTENT]],
      ['ec', sign(pki.ec, ['-md', 'sha384']), [CONTENT]],
      ['pss', sign(pki.rsa, ['-keyopt', 'rsa_padding_mode:pss']), [CONTENT]],
      ['keyid', sign(pki.rsa, ['-keyid']), [CONTENT]],
      ['sha1', sign(pki.rsa, ['-md', 'sha1']), [CONTENT]],
      ['opaque', sign(pki.rsa, ['-nodetach']), null],
      ['stream', sign(pki.ec, ['-stream', '-nodetach']), null],
    ];
    for (const [name, der, detached] of cases) {
      const { ours, ref } = await both(der, detached);
      expect(ours.valid, `${name}: ours ${JSON.stringify(ours.warnings)}`).toBe(true);
      expect(ref.valid, `${name}: pkijs ${JSON.stringify(ref.warnings)}`).toBe(true);
      expect(ours.signer?.fingerprint, name).toBe(ref.signer?.fingerprint);
      expect(ours.others.map((c) => c.fingerprint).sort(), name).toEqual(ref.others.map((c) => c.fingerprint).sort());
      expect(ours.signingTime?.getTime(), name).toBe(ref.signingTime?.getTime());
      expect(ours.capabilities, name).toEqual(ref.capabilities);
      expect(ours.warnings.map((w) => w.code), name).toEqual(ref.warnings.map((w) => w.code));
      expect(ours.eContent?.equals(ref.eContent!) ?? ref.eContent === null, name).toBe(true);
    }
  });

  it('agree on refusals: other content, no signer certificate, encrypted data', async () => {
    const der = sign(pki.rsa);
    const tampered = await both(der, [Buffer.from(CONTENT.toString().replace('Hello', 'Hullo'))]);
    expect([tampered.ours.valid, tampered.ref.valid]).toEqual([false, false]);
    expect(tampered.ours.warnings[0]?.code).toBe('signature-invalid');
    expect(tampered.ref.warnings[0]?.code).toBe('signature-invalid');
    const nocerts = await both(sign(pki.rsa, ['-nocerts']), [CONTENT]);
    expect(nocerts.ours.warnings[0]?.code).toBe('no-certificate');
    expect(nocerts.ref.warnings[0]?.code).toBe('no-certificate');
    const file = join(pki.dir, 'reference-content.txt');
    const enc = await both(pki.openssl(['cms', '-encrypt', '-in', file, '-outform', 'DER', '-aes256', pki.rsa.certFile]), null);
    expect(enc.ours.warnings[0]?.code).toBe('encrypted');
    expect(enc.ref.warnings[0]?.code).toBe('encrypted');
  });

  it('60 single-byte mutations: where pkijs finds the signature invalid ours does too, and ours never accepts another key', async () => {
    const der = sign(pki.rsa);
    const intact = verifySignedData(der, [CONTENT]);
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    let agree = 0;
    for (let i = 0; i < 60; i++) {
      const m = Buffer.from(der);
      const at = next() % m.length;
      m[at] = m[at]! ^ (1 + (next() % 255));
      const { ours, ref } = await both(m, [CONTENT]);
      const why = `mutation at ${at}: ours ${JSON.stringify(ours.warnings)} pkijs ${JSON.stringify(ref.warnings)}`;
      if (ref.warnings[0]?.code === 'signature-invalid') expect(ours.valid, why).toBe(false);
      // A mutated certificate may still carry the signing key (its fingerprint changes, its key does not).
      if (ours.valid) expect(ours.signer?.spkiSha256, why).toBe(intact.signer?.spkiSha256);
      if (ours.valid && ref.valid) expect(ours.signer?.fingerprint, why).toBe(ref.signer?.fingerprint);
      // They differ only on structure outside what the signature covers: pkijs refuses the whole
      // SignedData when any part does not decode (a digest-algorithm entry, an extra
      // certificate), ours reads only what it verifies and drops a certificate it cannot decode.
      if (ours.valid === ref.valid) agree++;
    }
    expect(agree, 'verdicts agree on most mutations').toBeGreaterThanOrEqual(50);
  });
});
