import { beforeAll, describe, expect, it } from 'vitest';
import nodemailer, { type SendMailOptions, type Transporter } from 'nodemailer';
import { createSmimePlugin, harvestFromMessage, loadSigner, type CensusRecommender, type Signer, type SignPolicy } from '../../src/sign/index.js';
import type { Recommendation } from '../../src/core/index.js';
import { opensslVerifyMessage } from '../helpers/pki.js';
import { splitSigned, withSigningPki } from './helpers.js';

const { pki, gpg, verified } = withSigningPki();

let signer: Signer;

beforeAll(async () => {
  signer = await loadSigner({ certFile: pki.rsa.certFile, keyFile: pki.rsa.keyFile, chainFiles: [pki.interCertFile] });
}, 60_000);


/** An in-memory census with the recommender interface; records what it was asked. */
function census(map: Record<string, Recommendation>): CensusRecommender & { asked: string[][] } {
  const asked: string[][] = [];
  return {
    asked,
    async recommendMany(addresses) {
      asked.push(addresses);
      return addresses.map((address) => ({ address, recommendation: map[address] ?? 'unknown' }));
    },
  };
}

/** A real nodemailer transport that hands back the produced message bytes. */
function transport(policy: SignPolicy, c?: CensusRecommender, onCensusError?: 'send-unsigned' | 'fail') {
  const t = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
  const plugin = createSmimePlugin({ signer, census: c, policy, onCensusError });
  t.use('stream', plugin);
  return { t, plugin };
}

async function send(t: Transporter, to: string[], extra: Partial<SendMailOptions> = {}): Promise<Buffer> {
  const info = await t.sendMail({ from: 'Alice <alice@example.test>', to, subject: 'Ihre Rechnung März', text: 'Grüße!\n', html: '<p>Grüße!</p>', ...extra });
  return info.message as Buffer;
}

const isSigned = (m: Buffer) => /^Content-Type: multipart\/signed/im.test(m.toString('latin1').slice(0, m.indexOf('\r\n\r\n')));

describe('nodemailer plugin with a real streamTransport', () => {
  it('policy all: signs when every recipient is sign; openssl and gpgsm verify the bytes nodemailer produced', async () => {
    const c = census({ 'a@customer.test': 'sign', 'b@customer.test': 'sign' });
    const { t, plugin } = transport('all', c);
    const msg = await send(t, ['a@customer.test', 'B@customer.test'], { attachments: [{ filename: 'Rechnung.pdf', content: Buffer.from('%PDF-1.4 fake') }] });
    expect(isSigned(msg)).toBe(true);
    expect(c.asked).toEqual([['a@customer.test', 'b@customer.test']]);
    const o = opensslVerifyMessage(pki, msg);
    expect(o.ok, o.output).toBe(true);
    const { signedPart, signature } = splitSigned(msg);
    const g = gpg.verify(signature, signedPart);
    expect(g.ok, g.output).toBe(true);
    expect(plugin.metrics).toMatchObject({ signed: 1, unsigned: 0 });
    // and our own harvester accepts it as Alice's certificate
    const h = await harvestFromMessage(msg, { trustedCaPems: [pki.rootCertPem] });
    expect(h.certificate?.fingerprint).toBe(signer.certificate.fingerprint);
  });

  it('policy all: one do-not-sign or unknown recipient (incl. Bcc) leaves the message untouched', async () => {
    const c = census({ 'a@customer.test': 'sign', 'b@customer.test': 'do-not-sign' });
    const { t, plugin } = transport('all', c);
    const m1 = await send(t, ['a@customer.test', 'b@customer.test']);
    expect(isSigned(m1)).toBe(false);
    const m2 = await send(t, ['a@customer.test'], { bcc: 'hidden@customer.test' });
    expect(isSigned(m2)).toBe(false);
    expect(c.asked[1]).toContain('hidden@customer.test');
    expect(plugin.metrics).toMatchObject({ signed: 0, unsigned: 2 });
    // nothing S/MIME was added
    expect(m1.toString('latin1')).not.toContain('pkcs7');
  });

  it('a transport that rewrites line ends to LF (newline: unix) still yields a verifying message', async () => {
    const t = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
    t.use('stream', createSmimePlugin({ signer, policy: 'always' }));
    const msg = await send(t, ['a@customer.test']);
    expect(msg.includes('\r\n')).toBe(false);
    expect(verified(msg)).toEqual({ openssl: null, gpgsm: null });
    expect((await harvestFromMessage(msg)).ok).toBe(true);
  });

  it('policy any: signs when at least one recipient is sign', async () => {
    const c = census({ 'a@customer.test': 'sign' });
    const { t } = transport('any', c);
    const signed = await send(t, ['a@customer.test', 'x@customer.test']);
    expect(isSigned(signed)).toBe(true);
    expect(verified(signed)).toEqual({ openssl: null, gpgsm: null });
    expect(isSigned(await send(t, ['x@customer.test', 'y@customer.test']))).toBe(false);
  });

  it('policy always: signs without asking a census', async () => {
    const { t } = transport('always');
    const msg = await send(t, ['anyone@customer.test']);
    expect(isSigned(msg)).toBe(true);
    expect(verified(msg)).toEqual({ openssl: null, gpgsm: null });
  });

  it('census failure: sends unsigned by default, fails the send when configured to', async () => {
    const broken: CensusRecommender = { recommendMany: async () => Promise.reject(new Error('census down')) };
    const { t, plugin } = transport('all', broken);
    expect(isSigned(await send(t, ['a@customer.test']))).toBe(false);
    expect(plugin.metrics.censusErrors).toBe(1);
    const strict = transport('all', broken, 'fail');
    await expect(send(strict.t, ['a@customer.test'])).rejects.toMatchObject({ code: 'E_SIGN' });
  });

  it('a From the certificate does not cover fails the send with E_CERT instead of sending a bad signature', async () => {
    const { t } = transport('always');
    await expect(send(t, ['a@customer.test'], { from: 'mallory@example.test' })).rejects.toMatchObject({ code: 'E_CERT' });
  });

  it('invalid configuration is refused at creation (E_CONFIG)', () => {
    expect(() => createSmimePlugin({ signer, policy: 'all' })).toThrow(expect.objectContaining({ code: 'E_CONFIG' }));
    expect(() => createSmimePlugin({ signer, policy: 'sometimes' as SignPolicy, census: census({}) })).toThrow(expect.objectContaining({ code: 'E_CONFIG' }));
  });
});
