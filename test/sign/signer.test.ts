import { beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { isAppError } from '../../src/core/index.js';
import { loadSigner, signerStatus, type Signer } from '../../src/sign/index.js';
import { opensslVerifyMessage, P12_PASSPHRASE } from '../helpers/pki.js';
import { compose, isSevenBitSafe, splitSigned, withSigningPki } from './helpers.js';

const { pki, gpg, verified } = withSigningPki();

let rsa: Signer;
let ec: Signer;

beforeAll(async () => {
  rsa = await loadSigner({ certFile: pki.rsa.certFile, keyFile: pki.rsa.keyFile, chainFiles: [pki.interCertFile] });
  ec = await loadSigner({ certFile: pki.ec.certFile, keyFile: pki.ec.keyFile, chainFiles: [pki.interCertFile] });
}, 60_000);

/** Both independent verifiers must accept the message, and the signed content must be 7-bit. */
function expectVerifies(msg: Buffer): Buffer {
  const o = opensslVerifyMessage(pki, msg);
  expect(o.ok, `openssl: ${o.output}`).toBe(true);
  const { signedPart, signature } = splitSigned(msg);
  const g = gpg.verify(signature, signedPart);
  expect(g.ok, `gpgsm: ${g.output}`).toBe(true);
  expect(isSevenBitSafe(signedPart)).toBe(true);
  return o.content;
}

const png = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);

const cases: Array<{ name: string; build: (from: string) => Promise<Buffer> }> = [
  { name: 'single-part ASCII text', build: (from) => compose({ from, to: 'c@example.test', subject: 'Hello', text: 'Hello there.\nSecond line.\n' }) },
  {
    name: 'UTF-8 headers and body',
    build: (from) => compose({ from: `Jürgen Müller <${from}>`, to: 'Zoë <c@example.test>', subject: 'Grüße aus Köln — 東京', text: 'Grüße, ça va? 日本語のテキスト.\n' }),
  },
  {
    name: 'HTML with text alternative',
    build: (from) => compose({ from, to: 'c@example.test', subject: 'Newsletter', text: 'Plain version', html: '<p>Hallo <b>Welt</b> — äöü</p>' }),
  },
  {
    name: 'multipart with attachments (binary + UTF-8 filename)',
    build: (from) =>
      compose({
        from,
        to: 'c@example.test',
        subject: 'Invoice',
        text: 'See attached.',
        attachments: [
          { filename: 'pixel.png', content: png },
          { filename: 'Rechnung März.txt', content: 'Betrag: 12,50 €\n' },
        ],
      }),
  },
];

describe('signing matrix, verified by openssl cms -verify and gpgsm --verify', () => {
  for (const keyType of ['rsa', 'ec'] as const) {
    for (const c of cases) {
      it(`${keyType}: ${c.name}`, async () => {
        const signer = keyType === 'rsa' ? rsa : ec;
        const from = keyType === 'rsa' ? pki.rsa.email : pki.ec.email;
        const input = await c.build(from);
        const out = signer.sign(input);
        expect(out.toString('latin1')).toMatch(/Content-Type: multipart\/signed; protocol="application\/pkcs7-signature";\r\n micalg=sha-256;/);
        expectVerifies(out);
      });
    }
  }

  it('raw 8-bit input with LF line ends, raw UTF-8 parameter and trailing spaces is made 7-bit and verifies', () => {
    const input = Buffer.from(
      [
        'From: Alice <alice@example.test>',
        'To: c@example.test',
        'Subject: Grüße',
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary="XX"',
        '',
        'preamble',
        '--XX',
        'Content-Type: text/plain; charset=utf-8',
        'Content-Transfer-Encoding: 8bit',
        '',
        'Zeile mit Leerzeichen am Ende   ',
        'From the start of a line, ümlaut.',
        '.',
        '--XX',
        'Content-Type: application/octet-stream; name="größe.bin"',
        'Content-Disposition: attachment; filename="größe.bin"',
        'Content-Transfer-Encoding: binary',
        '',
        'bytes\u00ff\u0001',
        '--XX--',
        '',
      ].join('\n'),
      'utf8',
    );
    const out = rsa.sign(input);
    const content = expectVerifies(out);
    const { signedPart } = splitSigned(out);
    const part = signedPart.toString('latin1');
    expect(part).toContain('Content-Transfer-Encoding: quoted-printable');
    expect(part).toContain('Content-Transfer-Encoding: base64');
    expect(part).toMatch(/filename\*0?\*?=utf-8''/i);
    expect(part).toContain('=46rom the start');
    expect(part).toMatch(/Ende  =20\r\n/);
    expect(content.length).toBeGreaterThan(0);
  });

  it('still verifies after a store rewrites CRLF to LF (openssl canonicalises text)', async () => {
    const out = rsa.sign(await compose({ from: pki.rsa.email, to: 'c@example.test', subject: 'x', text: 'Line 1\nLine 2\n' }));
    const lf = Buffer.from(out.toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
    expect(verified(lf)).toEqual({ openssl: null, gpgsm: null });
  });

  it('uses a fresh random boundary that does not occur in the signed part', async () => {
    const input = await compose({ from: pki.rsa.email, to: 'c@example.test', subject: 'x', text: 'a' });
    const a = splitSigned(rsa.sign(input));
    const b = splitSigned(rsa.sign(input));
    expect(a.boundary).not.toBe(b.boundary);
    expect(a.signedPart.includes(a.boundary)).toBe(false);
    // an explicitly requested boundary that collides with the content is replaced
    const colliding = splitSigned(rsa.sign(Buffer.from('From: alice@example.test\r\n\r\n--COLLIDE\r\n'), { boundary: 'COLLIDE' }));
    expect(colliding.boundary).not.toBe('COLLIDE');
  });

  it('keeps the outer headers outside the signature and Content-* headers inside', async () => {
    const out = rsa.sign(await compose({ from: pki.rsa.email, to: 'c@example.test', subject: 'Outer subject', text: 'x' }));
    const head = out.toString('latin1').slice(0, out.indexOf('\r\n\r\n'));
    expect(head).toContain('Subject: Outer subject');
    expect(head.match(/^MIME-Version:/gim)?.length).toBe(1);
    const { signedPart } = splitSigned(out);
    expect(signedPart.toString('latin1')).toMatch(/^Content-Type: text\/plain/m);
    expect(signedPart.toString('latin1')).not.toMatch(/^Subject:/m);
  });
});

describe('CMS structure', () => {
  it('has the RFC 8551 signed attributes in DER order, SHA-256, the chain, and pkijs re-encodes and verifies it byte-identically', async () => {
    for (const signer of [rsa, ec]) {
      const at = new Date('2026-03-04T05:06:07Z');
      const entity = Buffer.from('Content-Type: text/plain\r\n\r\nhello\r\n');
      const der = signer.signDetached(entity, at);
      const ci = new pkijs.ContentInfo({ schema: asn1js.fromBER(new Uint8Array(der).buffer).result });
      // re-encoding by an independent DER encoder yields exactly our bytes: lengths/tags/sorting are right
      expect(Buffer.from(ci.toSchema().toBER(false)).equals(der)).toBe(true);
      const sd = new pkijs.SignedData({ schema: ci.content });
      expect(sd.certificates?.length).toBe(2);
      const si = sd.signerInfos[0]!;
      expect(si.digestAlgorithm.algorithmId).toBe('2.16.840.1.101.3.4.2.1');
      const attrs = si.signedAttrs!.attributes;
      const types = attrs.map((a) => a.type);
      expect(new Set(types)).toEqual(new Set(['1.2.840.113549.1.9.3', '1.2.840.113549.1.9.5', '1.2.840.113549.1.9.4', '1.2.840.113549.1.9.15']));
      const encoded = attrs.map((a) => Buffer.from(a.toSchema().toBER(false)));
      expect([...encoded].sort(Buffer.compare)).toEqual(encoded);
      const md = attrs.find((a) => a.type === '1.2.840.113549.1.9.4')!.values[0] as asn1js.OctetString;
      expect(Buffer.from(md.valueBlock.valueHexView).equals(createHash('sha256').update(entity).digest())).toBe(true);
      const trusted = new pkijs.Certificate({ schema: asn1js.fromBER(new Uint8Array(Buffer.from(pki.rootCertPem.replace(/-----[^-]+-----|\s/g, ''), 'base64')).buffer).result });
      const r = await sd.verify({ signer: 0, data: new Uint8Array(entity).buffer, trustedCerts: [trusted], checkChain: true, checkDate: new Date() });
      expect(r).toBe(true);
    }
  });
});

describe('key material', () => {
  it('loads PKCS#12 with a passphrase and the signature verifies', async () => {
    const s = await loadSigner({ p12File: pki.rsaP12File, passphrase: P12_PASSPHRASE });
    expect(s.certificate.fingerprint).toBe(rsa.certificate.fingerprint);
    expect(s.chain.length).toBeGreaterThanOrEqual(1);
    expectVerifies(s.sign(await compose({ from: pki.rsa.email, to: 'c@example.test', subject: 'p12', text: 'x' })));
  });

  it('loads a legacy (RC2/3DES) PKCS#12 export and refuses its wrong passphrase with E_SECRET', async () => {
    const s = await loadSigner({ p12File: pki.rsaLegacyP12File, passphrase: P12_PASSPHRASE });
    expect(s.certificate.fingerprint).toBe(rsa.certificate.fingerprint);
    expectVerifies(s.sign(await compose({ from: pki.rsa.email, to: 'c@example.test', subject: 'legacy p12', text: 'x' })));
    await expect(loadSigner({ p12File: pki.rsaLegacyP12File, passphrase: 'wrong' })).rejects.toMatchObject({ code: 'E_SECRET' });
  });

  it('loads an encrypted PKCS#8 key with a passphrase', async () => {
    const s = await loadSigner({ certFile: pki.rsa.certFile, keyFile: pki.rsaEncryptedKeyFile, chainFiles: [pki.interCertFile], passphrase: P12_PASSPHRASE });
    expectVerifies(s.sign(await compose({ from: pki.rsa.email, to: 'c@example.test', subject: 'enc', text: 'x' })));
  });

  it('refuses a wrong or missing passphrase with E_SECRET, a wrong key with E_CERT, a missing file with E_INPUT', async () => {
    await expect(loadSigner({ p12File: pki.rsaP12File, passphrase: 'wrong' })).rejects.toMatchObject({ code: 'E_SECRET' });
    await expect(loadSigner({ certFile: pki.rsa.certFile, keyFile: pki.rsaEncryptedKeyFile })).rejects.toMatchObject({ code: 'E_SECRET' });
    await expect(loadSigner({ certFile: pki.rsa.certFile, keyFile: pki.rsaEncryptedKeyFile, passphrase: 'wrong' })).rejects.toMatchObject({ code: 'E_SECRET' });
    await expect(loadSigner({ certFile: pki.rsa.certFile, keyFile: pki.ec.keyFile })).rejects.toMatchObject({ code: 'E_CERT' });
    await expect(loadSigner({ certFile: pki.dir + '/missing.pem', keyFile: pki.rsa.keyFile })).rejects.toMatchObject({ code: 'E_INPUT' });
  });

  it('accepts key and certificate as PEM strings', async () => {
    const s = await loadSigner({ certPem: pki.rsa.certPem, keyPem: pki.rsa.keyPem });
    expect(s.addresses).toEqual(['alice@example.test']);
  });
});

describe('refusals (E_CERT)', () => {
  const refuse = async (leaf: { certFile: string; keyFile: string }, re: RegExp) => {
    const e = await loadSigner({ certFile: leaf.certFile, keyFile: leaf.keyFile }).then(
      () => null,
      (err: unknown) => err,
    );
    expect(isAppError(e)).toBe(true);
    expect((e as { code: string }).code).toBe('E_CERT');
    expect((e as Error).message).toMatch(re);
  };
  it('refuses an expired certificate', () => refuse(pki.expired, /expired/));
  it('refuses a not-yet-valid certificate', () => refuse(pki.notYetValid, /not valid before/));
  it('refuses a certificate without emailProtection', () => refuse(pki.noEmailProtection, /emailProtection/));

  it('refuses to sign a message whose From is not in the certificate', async () => {
    const s = await loadSigner({ certFile: pki.otherAddress.certFile, keyFile: pki.otherAddress.keyFile });
    const input = await compose({ from: 'alice@example.test', to: 'c@example.test', subject: 'x', text: 'x' });
    expect(() => s.sign(input)).toThrow(expect.objectContaining({ code: 'E_CERT' }));
    expect(s.metrics.refusedTotal).toBe(1);
    await expect(loadSigner({ certFile: pki.rsa.certFile, keyFile: pki.rsa.keyFile, from: 'mallory@example.test' })).rejects.toMatchObject({ code: 'E_CERT' });
  });

  it('refuses to sign once the certificate has expired while the process runs', async () => {
    let now = new Date();
    const s = await loadSigner({ certFile: pki.rsa.certFile, keyFile: pki.rsa.keyFile, now: () => now });
    now = new Date(s.certificate.notAfter.getTime() + 1000);
    expect(() => s.sign(Buffer.from('From: alice@example.test\r\n\r\nx'))).toThrow(expect.objectContaining({ code: 'E_CERT' }));
  });

  it('refuses messages that are already signed or have no From (E_SIGN)', () => {
    const signed = rsa.sign(Buffer.from('From: alice@example.test\r\n\r\nx'));
    expect(() => rsa.sign(signed)).toThrow(expect.objectContaining({ code: 'E_SIGN' }));
    expect(() => rsa.sign(Buffer.from('To: c@example.test\r\n\r\nx'))).toThrow(expect.objectContaining({ code: 'E_SIGN' }));
  });
});

describe('expiry status', () => {
  it('warns from 30 days before expiry: log, signerStatus() and daysLeft', async () => {
    const warnings: object[] = [];
    const s = await loadSigner({ certFile: pki.expiringSoon.certFile, keyFile: pki.expiringSoon.keyFile, logger: { warn: (o) => warnings.push(o) } });
    expect(warnings).toHaveLength(1);
    expect(JSON.stringify(warnings)).not.toContain('carol@');
    const st = signerStatus();
    expect(st?.fingerprint).toBe(s.certificate.fingerprint);
    expect(st?.expiringSoon).toBe(true);
    expect(st?.daysLeft).toBeGreaterThanOrEqual(8);
    expect(st?.daysLeft).toBeLessThanOrEqual(10);
    const fresh = signerStatus(rsa);
    expect(fresh?.expiringSoon).toBe(false);
    expect(fresh?.daysLeft).toBeGreaterThan(300);
  });
});

describe('the independent verifiers are not vacuous', () => {
  it('openssl and gpgsm both reject a signed message whose body was changed by one byte', async () => {
    const out = rsa.sign(await compose({ from: pki.rsa.email, to: 'c@example.test', subject: 'x', text: 'Pay 100 EUR' }));
    const tampered = Buffer.from(out.toString('latin1').replace('Pay 100 EUR', 'Pay 900 EUR'), 'latin1');
    expect(opensslVerifyMessage(pki, tampered).ok).toBe(false);
    const { signedPart, signature } = splitSigned(tampered);
    expect(gpg.verify(signature, signedPart).ok).toBe(false);
  });
});
