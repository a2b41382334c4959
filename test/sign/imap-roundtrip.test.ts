/**
 * Round trip through a real Dovecot: what this project signs is stored by an MDA (as CRLF and as
 * LF, the way Maildir usually holds it), fetched over IMAP the way the poller will (BODYSTRUCTURE,
 * then BODY.PEEK[1.MIME] + BODY.PEEK[1] and BODY.PEEK[2]) and harvested; the fetched bytes are
 * also verified by openssl.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { ImapFlow, type MessageStructureObject } from 'imapflow';
import { harvestFromMessage, harvestFromParts, loadSigner, type Signer } from '../../src/sign/index.js';
import { startDovecot, type DovecotServer } from '../helpers/dovecot.js';
import { makeTestPki, opensslVerifyMessage, type TestPki } from '../helpers/pki.js';
import { compose } from './helpers.js';

let pki: TestPki;
let server: DovecotServer;
let signer: Signer;

beforeAll(async () => {
  pki = makeTestPki();
  server = await startDovecot();
  signer = await loadSigner({ certFile: pki.rsa.certFile, keyFile: pki.rsa.keyFile, chainFiles: [pki.interCertFile] });
}, 120_000);

afterAll(async () => {
  await server?.stop();
  pki?.cleanup();
});

function client(): ImapFlow {
  return new ImapFlow({
    host: server.host,
    port: server.port,
    secure: true,
    auth: { user: server.user, pass: server.password },
    tls: { ca: [readFileSync(server.caFile)] },
    logger: false,
  });
}

describe('S/MIME through a real IMAP server', () => {
  it('harvests from the parts the poller fetches and from the whole message, for CRLF and LF storage', async () => {
    const signed = signer.sign(
      await compose({ from: 'Alice <alice@example.test>', to: 'support@company.test', subject: 'Grüße', text: 'Hallo — schöne Grüße\n', attachments: [{ filename: 'a.bin', content: Buffer.from([0, 1, 2, 250]) }] }),
    );
    const lf = Buffer.from(signed.toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
    await server.deliver('INBOX', [signed, lf]);

    const c = client();
    await c.connect();
    try {
      await c.mailboxOpen('INBOX');
      // collect first: no IMAP command may run inside a fetch loop
      const messages = [];
      for await (const m of c.fetch('1:*', { uid: true, bodyStructure: true, source: true, envelope: true })) messages.push(m);
      expect(messages.length).toBe(2);
      for (const m of messages) {
        const bs = m.bodyStructure as MessageStructureObject;
        expect(bs.type).toBe('multipart/signed');
        const [p1, p2] = bs.childNodes ?? [];
        expect(p2?.type).toBe('application/pkcs7-signature');
        const parts = await c.fetchOne(String(m.uid), { bodyParts: [`${p1!.part}.MIME`, p1!.part!, p2!.part!] }, { uid: true });
        if (!parts) throw new Error('fetchOne returned nothing');
        const get = (k: string) => parts.bodyParts?.get(k) ?? parts.bodyParts?.get(k.toLowerCase());
        const mime = get(`${p1!.part}.MIME`);
        const body = get(p1!.part!);
        const sig = get(p2!.part!);
        expect(mime && body && sig).toBeTruthy();
        const from = m.envelope?.from?.[0]?.address ?? '';
        const r = await harvestFromParts(Buffer.concat([mime!, body!]), sig!, { from, trustedCaPems: [pki.rootCertPem] });
        expect(r.ok, JSON.stringify(r.warnings)).toBe(true);
        expect(r.certificate?.fingerprint).toBe(signer.certificate.fingerprint);
        expect(r.trust?.trusted).toBe(true);

        const whole = await harvestFromMessage(m.source!, { trustedCaPems: [pki.rootCertPem] });
        expect(whole.ok, JSON.stringify(whole.warnings)).toBe(true);
        expect(opensslVerifyMessage(pki, m.source!).ok).toBe(true);
      }
    } finally {
      await c.logout();
    }
  }, 60_000);
});
