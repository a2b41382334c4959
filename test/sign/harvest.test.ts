import { beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  compareCertificates,
  harvestFromMessage,
  harvestFromParts,
  loadSigner,
  loadTrustedCaPems,
  MAX_SIGNED_PART_BYTES,
  type HarvestResult,
  type Signer,
} from '../../src/sign/index.js';
import type { TestLeaf } from '../helpers/pki.js';
import { compose, splitSigned, withSigningPki } from './helpers.js';

const { pki, verified } = withSigningPki();

let ours: Signer;
let trusted: string[];

beforeAll(async () => {
  ours = await loadSigner({ certFile: pki.rsa.certFile, keyFile: pki.rsa.keyFile, chainFiles: [pki.interCertFile] });
  trusted = await loadTrustedCaPems([pki.rootCertFile]);
}, 60_000);

let seq = 0;
/** A message signed by the openssl CLI (its own S/MIME writer), From/To set by openssl. */
function opensslSigned(leaf: TestLeaf, opts: { from?: string; extra?: string[]; body?: string } = {}): Buffer {
  const n = ++seq;
  const content = join(pki.dir, `content-${n}.txt`);
  writeFileSync(content, opts.body ?? 'Content-Type: text/plain; charset=us-ascii\r\n\r\nHello from openssl.\r\nSecond line.\r\n');
  return pki.openssl([
    'cms', '-sign', '-in', content, '-signer', leaf.certFile, '-inkey', leaf.keyFile, '-certfile', pki.interCertFile,
    '-md', 'sha256', '-from', opts.from ?? leaf.email, '-to', 'support@company.test', '-subject', 'Question', ...(opts.extra ?? []),
  ]);
}

/** openssl writes LF header lines around CRLF content; the test splitter wants CRLF throughout. */
function toCrlfForTest(b: Buffer): Buffer {
  return Buffer.from(b.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');
}

function fatalCodes(r: HarvestResult): string[] {
  return r.warnings.map((w) => w.code);
}

describe('harvesting from messages signed by openssl cms -sign', () => {
  it('detached RSA: returns the certificate, its identity fields and the advertised capabilities', async () => {
    const msg = opensslSigned(pki.rsa);
    const r = await harvestFromMessage(msg, { trustedCaPems: trusted });
    expect(r.ok, JSON.stringify(r.warnings)).toBe(true);
    expect(r.kind).toBe('multipart-signed');
    const c = r.certificate!;
    expect(c.address).toBe('alice@example.test');
    const opensslFpr = pki.openssl(['x509', '-in', pki.rsa.certFile, '-noout', '-fingerprint', '-sha256']).toString().split('=')[1]!.trim().replace(/:/g, '').toLowerCase();
    expect(c.fingerprint).toBe(opensslFpr);
    const serial = pki.openssl(['x509', '-in', pki.rsa.certFile, '-noout', '-serial']).toString().split('=')[1]!.trim().toLowerCase().replace(/^(00)+/, '');
    expect(c.serial).toBe(serial);
    const spkiDer = pki.openssl(['pkey', '-in', pki.rsa.keyFile, '-pubout', '-outform', 'DER']);
    expect(c.spkiSha256).toBe(createHash('sha256').update(spkiDer).digest('hex'));
    expect(c.subject).toContain('CN=Alice Example');
    expect(c.issuer).toContain('CN=Test Intermediate CA');
    expect(c.keyAlgorithm).toBe('rsa');
    expect(c.keySize).toBe(2048);
    expect(c.pem.replace(/\s/g, '')).toBe(pki.rsa.certPem.replace(/\s/g, ''));
    expect(c.chainPems.length).toBe(1);
    expect(c.notAfter.getTime()).toBeGreaterThan(Date.now());
    expect(r.capabilities.map((x) => x.name)).toEqual(expect.arrayContaining(['aes256-cbc', 'aes128-cbc']));
    expect(Math.abs(r.signingTime!.getTime() - Date.now())).toBeLessThan(120_000);
    expect(r.trust).toMatchObject({ trusted: true, anchor: 'configured' });
  });

  it('opaque signed-data (-nodetach) is verified from its encapsulated content', async () => {
    const r = await harvestFromMessage(opensslSigned(pki.rsa, { extra: ['-nodetach'] }), { trustedCaPems: trusted });
    expect(r.ok, JSON.stringify(r.warnings)).toBe(true);
    expect(r.kind).toBe('opaque-signed');
    expect(r.certificate?.address).toBe('alice@example.test');
  });

  it('indefinite-length BER from openssl -stream, detached and opaque', async () => {
    for (const extra of [['-stream'], ['-stream', '-nodetach']]) {
      const r = await harvestFromMessage(opensslSigned(pki.rsa, { extra }), { trustedCaPems: trusted });
      expect(r.ok, `${extra.join(' ')}: ${JSON.stringify(r.warnings)}`).toBe(true);
    }
  });

  it('ECDSA P-256, RSASSA-PSS, subjectKeyIdentifier signer id', async () => {
    const e = await harvestFromMessage(opensslSigned(pki.ec), { trustedCaPems: trusted });
    expect(e.ok, JSON.stringify(e.warnings)).toBe(true);
    expect(e.certificate).toMatchObject({ keyAlgorithm: 'ec', curve: 'P-256', keySize: null });
    const pss = await harvestFromMessage(opensslSigned(pki.rsa, { extra: ['-keyopt', 'rsa_padding_mode:pss'] }), { trustedCaPems: trusted });
    expect(pss.ok, JSON.stringify(pss.warnings)).toBe(true);
    const keyid = await harvestFromMessage(opensslSigned(pki.rsa, { extra: ['-keyid'] }), { trustedCaPems: trusted });
    expect(keyid.ok, JSON.stringify(keyid.warnings)).toBe(true);
  });

  it('a message stored with LF line ends still verifies (canonical CRLF is tried)', async () => {
    const lf = Buffer.from(opensslSigned(pki.rsa).toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
    expect((await harvestFromMessage(lf)).ok).toBe(true);
  });

  it('SHA-1 signatures are harvested with a weak-algorithm warning', async () => {
    const r = await harvestFromMessage(opensslSigned(pki.rsa, { extra: ['-md', 'sha1'] }));
    expect(r.ok).toBe(true);
    expect(fatalCodes(r)).toContain('weak-algorithm');
  });
});

describe('harvesting from messages signed by this project', () => {
  it('RSA and ECDSA', async () => {
    const ec = await loadSigner({ certFile: pki.ec.certFile, keyFile: pki.ec.keyFile, chainFiles: [pki.interCertFile] });
    for (const [s, from] of [[ours, pki.rsa.email], [ec, pki.ec.email]] as const) {
      const msg = s.sign(await compose({ from, to: 'c@example.test', subject: 'x', text: 'Grüße', attachments: [{ filename: 'a.txt', content: 'a' }] }));
      expect(verified(msg)).toEqual({ openssl: null, gpgsm: null });
      const r = await harvestFromMessage(msg, { trustedCaPems: trusted });
      expect(r.ok, JSON.stringify(r.warnings)).toBe(true);
      expect(r.certificate?.fingerprint).toBe(s.certificate.fingerprint);
      expect(r.capabilities.map((c) => c.name)).toEqual(['aes256-gcm', 'aes128-gcm', 'aes256-cbc', 'aes128-cbc']);
    }
  });

  it('from the two parts as an IMAP client fetches them (BODY[1.MIME]+BODY[1], BODY[2] base64 text)', async () => {
    const msg = ours.sign(await compose({ from: pki.rsa.email, to: 'c@example.test', subject: 'x', text: 'parts' }));
    expect(verified(msg)).toEqual({ openssl: null, gpgsm: null });
    const { signedPart, boundary } = splitSigned(msg);
    const text = msg.toString('latin1');
    const sigPart = text.slice(text.indexOf(`--${boundary}\r\nContent-Type: application/pkcs7-signature`));
    const sigBody = sigPart.slice(sigPart.indexOf('\r\n\r\n') + 4, sigPart.indexOf(`\r\n--${boundary}--`));
    const r = await harvestFromParts(signedPart, Buffer.from(sigBody, 'latin1'), { from: 'Alice <ALICE@example.test>', trustedCaPems: trusted });
    expect(r.ok, JSON.stringify(r.warnings)).toBe(true);
    expect(r.certificate?.address).toBe('alice@example.test');
    // without From the certificate is not attributed to anyone
    const noFrom = await harvestFromParts(signedPart, Buffer.from(sigBody, 'latin1'), {});
    expect(noFrom.certificate).toBeNull();
    expect(fatalCodes(noFrom)).toContain('no-from');
  });
});

describe('mailing-list wrapping', () => {
  it('a signed message wrapped in multipart/mixed with a list footer (Mailman) is harvested from the first part', async () => {
    const signed = ours.sign(await compose({ from: pki.rsa.email, to: 'list@example.test', subject: 'x', text: 'to the list' })).toString('latin1');
    const headEnd = signed.indexOf('\r\n\r\n');
    const ct = /Content-Type: multipart\/signed[\s\S]*?\r\n(?=\S|$)/.exec(signed.slice(0, headEnd + 2))![0];
    const wrapped = Buffer.from(
      'From: Alice <alice@example.test>\r\nTo: list@example.test\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="LIST"\r\n\r\n' +
        '--LIST\r\n' + ct + '\r\n' + signed.slice(headEnd + 4) + '\r\n--LIST\r\nContent-Type: text/plain\r\n\r\n____\r\nlist footer\r\n--LIST--\r\n',
      'latin1',
    );
    const r = await harvestFromMessage(wrapped, { trustedCaPems: trusted });
    expect(r.ok, JSON.stringify(r.warnings)).toBe(true);
    expect(r.certificate?.address).toBe('alice@example.test');
  });
});

describe('bad signatures and wrong addresses are never the customer certificate', () => {
  it('tampered body: signature-invalid, no certificate', async () => {
    const msg = opensslSigned(pki.rsa);
    const tampered = Buffer.from(msg.toString('latin1').replace('Hello from openssl.', 'Hello from mallory.'), 'latin1');
    const r = await harvestFromMessage(tampered, { trustedCaPems: trusted });
    expect(r.ok).toBe(false);
    expect(r.certificate).toBeNull();
    expect(fatalCodes(r)).toEqual(['signature-invalid']);
    expect(r.rejectedFingerprint).toMatch(/^[0-9a-f]{64}$/);
  });

  it('tampered signature bytes: signature-invalid', async () => {
    const { signedPart, signature } = splitSigned(ours.sign(Buffer.from('From: alice@example.test\r\n\r\nhello\r\n')));
    const bad = Buffer.from(signature);
    bad[bad.length - 10]! ^= 0x01;
    const r = await harvestFromParts(signedPart, bad, { from: 'alice@example.test' });
    expect(fatalCodes(r)).toEqual(['signature-invalid']);
    expect(r.certificate).toBeNull();
  });

  it('valid signature by a certificate for another address: address-mismatch', async () => {
    const r = await harvestFromMessage(opensslSigned(pki.otherAddress, { from: 'alice@example.test' }), { trustedCaPems: trusted });
    expect(r.ok).toBe(false);
    expect(r.certificate).toBeNull();
    expect(fatalCodes(r)).toEqual(['address-mismatch']);
    const override = await harvestFromMessage(opensslSigned(pki.rsa), { from: 'bob@example.test' });
    expect(fatalCodes(override)).toEqual(['address-mismatch']);
  });

  it('signature without the signer certificate: no-certificate', async () => {
    const r = await harvestFromMessage(opensslSigned(pki.rsa, { extra: ['-nocerts'] }));
    expect(fatalCodes(r)).toEqual(['no-certificate']);
    expect(r.certificate).toBeNull();
  });

  it('an unknown digest algorithm: unsupported-algorithm', async () => {
    const { signedPart, signature } = splitSigned(ours.sign(Buffer.from('From: alice@example.test\r\n\r\nhello\r\n')));
    // SHA-256 OID -> SHA-224 OID (same length): a digest we do not accept
    const sha256 = Buffer.from('0609608648016503040201', 'hex');
    const sha224 = Buffer.from('0609608648016503040204', 'hex');
    const hex = signature.toString('hex').split(sha256.toString('hex')).join(sha224.toString('hex'));
    const r = await harvestFromParts(signedPart, Buffer.from(hex, 'hex'), { from: 'alice@example.test' });
    expect(fatalCodes(r)).toEqual(['unsupported-algorithm']);
    expect(r.certificate).toBeNull();
  });

  it('encrypted and unsigned messages are recognised, not harvested', async () => {
    const content = join(pki.dir, 'enc.txt');
    writeFileSync(content, 'Content-Type: text/plain\r\n\r\nsecret\r\n');
    const enc = pki.openssl(['cms', '-encrypt', '-in', content, '-aes256', '-from', 'alice@example.test', pki.rsa.certFile]);
    expect(fatalCodes(await harvestFromMessage(enc))).toEqual(['encrypted']);
    const plain = await compose({ from: 'alice@example.test', to: 'x@example.test', text: 'hi' });
    expect(fatalCodes(await harvestFromMessage(plain))).toEqual(['not-signed']);
  });
});

describe('trust', () => {
  it('chains to the configured CA set; without it (or with only the system store) it is untrusted but still harvested', async () => {
    const msg = opensslSigned(pki.rsa);
    const withCa = await harvestFromMessage(msg, { trustedCaPems: trusted, useSystemTrust: true });
    expect(withCa.trust).toMatchObject({ trusted: true, anchor: 'configured' });
    const none = await harvestFromMessage(msg);
    expect(none.ok).toBe(true);
    expect(none.trust?.trusted).toBe(false);
    expect(fatalCodes(none)).toEqual(['untrusted']);
    const system = await harvestFromMessage(msg, { useSystemTrust: true });
    expect(system.trust).toMatchObject({ trusted: false, anchor: null });
  });

  it('a certificate from an unrelated CA does not chain to the configured set', async () => {
    const r = await harvestFromMessage(opensslSigned(pki.foreign), { trustedCaPems: trusted });
    expect(r.ok).toBe(true);
    expect(r.trust?.trusted).toBe(false);
    expect(fatalCodes(r)).toContain('untrusted');
  });

  it('an expired certificate is harvested with certificate-expired and is not trusted', async () => {
    const r = await harvestFromMessage(opensslSigned(pki.expired), { trustedCaPems: trusted });
    expect(r.ok).toBe(true);
    expect(fatalCodes(r)).toEqual(expect.arrayContaining(['certificate-expired', 'untrusted']));
  });

  it('loadTrustedCaPems names the unreadable file (E_CONFIG)', async () => {
    await expect(loadTrustedCaPems([join(pki.dir, 'nope.pem')])).rejects.toMatchObject({ code: 'E_CONFIG', message: expect.stringContaining('nope.pem') });
    await expect(loadTrustedCaPems([join(pki.dir, 'ca', 'ca.cnf')])).rejects.toMatchObject({ code: 'E_CONFIG' });
  });
});

describe('hostile input never throws', () => {
  it('real-world S/MIME header blocks without bodies (corpus) give warnings, no certificate', async () => {
    const dir = join(import.meta.dirname, '../fixtures/sign');
    const files = readdirSync(dir).filter((f) => f.endsWith('.eml'));
    expect(files.length).toBe(4);
    for (const f of files) {
      const r = await harvestFromMessage(readFileSync(join(dir, f)));
      expect(r.certificate, f).toBeNull();
      expect(r.warnings.length, f).toBeGreaterThan(0);
    }
  });

  it('truncations, garbage and mutations of a valid message', async () => {
    const msg = opensslSigned(pki.rsa);
    const variants: Buffer[] = [Buffer.alloc(0), Buffer.from('garbage'), Buffer.from('Content-Type: multipart/signed\r\n\r\n')];
    for (let cut = 50; cut < msg.length; cut += Math.ceil(msg.length / 40)) variants.push(msg.subarray(0, cut));
    for (let i = 0; i < 60; i++) {
      const m = Buffer.from(msg);
      const pos = Math.floor((i / 60) * m.length);
      m[pos] = (m[pos]! + 1 + i) & 0xff;
      variants.push(m);
    }
    for (const v of variants) {
      const r = await harvestFromMessage(v);
      if (!r.ok) expect(r.certificate).toBeNull();
      expect(Array.isArray(r.warnings)).toBe(true);
    }
    // random bytes as a signature
    const r = await harvestFromParts(Buffer.from('x'), Buffer.from([0x30, 0x82, 0xff, 0xff, 1, 2, 3]), { from: 'a@b.test' });
    expect(fatalCodes(r)).toEqual(['malformed']);
  });

  it('a mutated signature never yields another key as the customer\'s, nor a trusted altered certificate', async () => {
    const msg = opensslSigned(pki.rsa);
    const { signedPart, signature } = splitSigned(toCrlfForTest(msg));
    const opts = { from: 'alice@example.test', trustedCaPems: trusted };
    const good = await harvestFromParts(signedPart, signature, opts);
    expect(good.ok).toBe(true);
    const step = Math.max(1, Math.floor(signature.length / 250));
    for (let i = 0; i < signature.length; i += step) {
      const bad = Buffer.from(signature);
      bad[i] = bad[i]! ^ 0x5a;
      const r = await harvestFromParts(signedPart, bad, opts);
      if (!r.ok) {
        expect(r.certificate).toBeNull();
        continue;
      }
      // the CMS signature binds the key, not the rest of the certificate: a byte changed in the
      // CA's signature still verifies, but only for the same key, and never as trusted
      expect(r.certificate?.spkiSha256, `byte ${i}`).toBe(good.certificate?.spkiSha256);
      if (r.certificate?.fingerprint !== good.certificate?.fingerprint) {
        expect(r.trust?.trusted, `byte ${i}`).toBe(false);
        expect(compareCertificates(good.certificate, r.certificate!)).toBe('renewal');
      }
    }
  }, 60_000);

  it('caps the signed part size (too-large)', async () => {
    const big = Buffer.alloc(MAX_SIGNED_PART_BYTES + 1, 0x61);
    const r = await harvestFromParts(big, Buffer.from([0x30, 0]), { from: 'a@b.test' });
    expect(fatalCodes(r)).toEqual(['too-large']);
  });
});

describe('key continuity (compareCertificates)', () => {
  it('first-seen, same, renewal by key, renewal by issuer+subject, key-changed', async () => {
    const harvest = async (leaf: TestLeaf) => (await harvestFromMessage(opensslSigned(leaf, { from: 'alice@example.test' }))).certificate!;
    const alice = await harvest(pki.rsa);
    const renewed = await harvest(pki.rsaRenewal);
    const rekeyedSame = await harvest(pki.rsaRekeyedSameSubject);
    const rekeyed = await harvest(pki.rsaRekeyed);
    const foreign = await harvest(pki.foreign);
    expect(compareCertificates(null, alice)).toBe('first-seen');
    expect(compareCertificates(alice, alice)).toBe('same');
    expect(renewed.spkiSha256).toBe(alice.spkiSha256);
    expect(renewed.fingerprint).not.toBe(alice.fingerprint);
    expect(compareCertificates(alice, renewed)).toBe('renewal');
    expect(compareCertificates(alice, rekeyedSame)).toBe('renewal');
    expect(compareCertificates(alice, rekeyed)).toBe('key-changed');
    expect(compareCertificates(alice, foreign)).toBe('key-changed');
  });
});

describe('trust edge cases', () => {
  it('a leaf pinned in the configured set is trusted; an intermediate in the set does not make other leaves trusted', async () => {
    const pinned = await harvestFromMessage(opensslSigned(pki.foreign), { trustedCaPems: [pki.foreign.certPem] });
    expect(pinned.trust).toMatchObject({ trusted: true, anchor: 'configured' });
    const viaInter = await harvestFromMessage(opensslSigned(pki.rsa), { trustedCaPems: [pki.interCertPem] });
    expect(viaInter.trust?.trusted).toBe(true);
    const foreignViaInter = await harvestFromMessage(opensslSigned(pki.foreign), { trustedCaPems: [pki.interCertPem] });
    expect(foreignViaInter.trust?.trusted).toBe(false);
  });
});
