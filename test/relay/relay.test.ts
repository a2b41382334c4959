/**
 * The signing relay against a real Postfix upstream (test/helpers/postfix.ts): per-recipient
 * decisions from a real census, split copies, openssl + gpgsm on every signed delivery, byte
 * identity of the unsigned side, 8-bit/UTF-8 mail, a 25 MB message, upstream outages and
 * permanent refusals, and the certificate failure modes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importPaths, type AppContext } from '../../src/app/index.js';
import { loadSigner, type Signer } from '../../src/sign/index.js';
import { censusOf, startRelay, type Relay } from '../../src/relay/index.js';
import { startPostfix, submittedBytes, type PostfixServer } from '../helpers/postfix.js';
import { makeGpgsmHome, makeTestPki, opensslVerifyMessage, type GpgsmHome, type TestPki } from '../helpers/pki.js';
import { message, seededApp, writeMail, PEOPLE } from '../http/helpers.js';
import { isSevenBitSafe, splitSigned, verifyWithBoth } from '../sign/helpers.js';
import { crlf, relayConfig, submit } from './helpers.js';

const SENDER = 'alice@example.test'; // the address in pki.rsa
const SIGN = PEOPLE.signer; // alice.tb@customer.example: Thunderbird -> sign
const SIGN2 = PEOPLE.outlook; // bob.outlook@customer.example: Outlook -> sign
const NOSIGN = PEOPLE.noSign; // carol.yahoo@customer.example: Yahoo web -> do-not-sign
const UNKNOWN = 'dave@customer.example'; // never seen
const local = (a: string) => a.split('@')[0]!;

let pki: TestPki;
let gpg: GpgsmHome;
let pf: PostfixServer;
let app: AppContext;
let signer: Signer;
let relay: Relay;
let dir: string;
let policy: { port: number; refuse: Set<string>; close(): void };
const logLines: Array<Record<string, unknown>> = [];
const logger = pino(
  { level: 'debug' },
  new Writable({
    write(chunk: Buffer, _e, cb) {
      for (const l of chunk.toString().split('\n')) if (l) logLines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  }),
);
const verified = (msg: Buffer) => verifyWithBoth({ opensslOk: (m) => opensslVerifyMessage(pki, m), gpgsmOk: (sig, part) => gpg.verify(sig, part) }, msg);
const OK = { openssl: null, gpgsm: null };
let seq = 0;

function appMessage(to: string[], subject: string, body = 'Your invoice is attached.\r\n', extraHeaders: string[] = []): Buffer {
  seq++;
  return crlf([
    `From: Billing <${SENDER}>`,
    `To: ${to.join(', ')}`,
    `Subject: ${subject}`,
    `Message-ID: <relay-test-${seq}-${Date.now()}@example.test>`,
    'Date: Tue, 01 Dec 2026 10:00:00 +0000',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    ...extraHeaders,
    '',
    ...body.replace(/\r\n$/, '').split('\r\n'),
  ]);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'census-relay-'));
  pki = makeTestPki();
  gpg = makeGpgsmHome(pki);
  policy = await startPolicyService();
  pf = await startPostfix({
    domain: 'customer.example',
    mailboxes: ['alice.tb', 'bob.outlook', 'carol.yahoo', 'dave', 'erin', 'frank', 'grace'],
    // a policy service lets a test refuse one recipient temporarily (450) while the others are accepted
    mainCf: `smtpd_recipient_restrictions = check_policy_service inet:127.0.0.1:${policy.port}`,
  });
  app = await seededApp(dir);
  signer = await loadSigner({ certFile: pki.rsa.certFile, keyFile: pki.rsa.keyFile, chainFiles: [pki.interCertFile] });
  relay = await startRelay({ config: relayConfig(pf.port), signer, census: censusOf(app), logger });
}, 180_000);

afterAll(async () => {
  await relay?.close();
  await pf?.stop();
  policy?.close();
  app?.close();
  gpg?.cleanup();
  pki?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('relay: decisions per envelope recipient', () => {
  it('splits a message whose recipients disagree: signed copy verifies, the unsigned copy is byte-identical', async () => {
    const sent = appMessage([SIGN, NOSIGN], 'Invoice 1001');
    const before = { split: relay.metrics.counters.split, signed: relay.metrics.counters.signed };
    // Bcc-like: UNKNOWN is only in the envelope, not in the To header
    const r = await submit({ port: relay.port, from: SENDER, to: [SIGN, NOSIGN, UNKNOWN], data: sent });
    expect(r).toMatchObject({ code: 250 });
    const [signedCopy] = await pf.waitForMessages(local(SIGN), 1);
    const [plainCopy] = await pf.waitForMessages(local(NOSIGN), 1);
    const [unknownCopy] = await pf.waitForMessages(local(UNKNOWN), 1);
    const signedBytes = submittedBytes(signedCopy!);
    expect(signedBytes.toString('latin1')).toMatch(/Content-Type: multipart\/signed; protocol="application\/pkcs7-signature"/);
    expect(verified(signedBytes)).toEqual(OK);
    // the others get exactly what the application sent (Maildir stores LF; submittedBytes restores CRLF)
    expect(submittedBytes(plainCopy!).equals(sent)).toBe(true);
    expect(submittedBytes(unknownCopy!).equals(sent)).toBe(true);
    // each copy had its own envelope: one recipient per Delivered-To, and the signed copy went to SIGN only
    expect(pf.log()).toMatch(/nrcpt=1 /);
    expect(relay.metrics.counters.split).toBe(before.split + 1);
    expect(relay.metrics.counters.signed).toBe(before.signed + 1);
  });

  it('signs one copy for several sign recipients and does not split when all agree', async () => {
    const sent = appMessage([SIGN, SIGN2], 'Invoice 1002');
    const split = relay.metrics.counters.split;
    const r = await submit({ port: relay.port, from: SENDER, to: [SIGN, SIGN2], data: sent });
    expect(r.code).toBe(250);
    const a = (await pf.waitForMessages(local(SIGN), 2))[1]!;
    const b = (await pf.waitForMessages(local(SIGN2), 1))[0]!;
    expect(verified(submittedBytes(a))).toEqual(OK);
    expect(verified(submittedBytes(b))).toEqual(OK);
    // one signed copy with two recipients: the very same signature bytes at both
    expect(splitSigned(submittedBytes(a)).signature.equals(splitSigned(submittedBytes(b)).signature)).toBe(true);
    expect(relay.metrics.counters.split).toBe(split);
  });

  it('accepts SMTPUTF8 and 8BITMIME: UTF-8 headers and an 8-bit body; the signed part is 7-bit, the unsigned copy keeps its 8-bit bytes', async () => {
    const sent = appMessage([SIGN, NOSIGN], 'Rechnung für Grüße – 請求書', 'Grüße aus Köln, schöne Rechnung: 42 €.\r\nЗдравствуйте.\r\n', []);
    const r = await submit({ port: relay.port, from: SENDER, to: [SIGN, NOSIGN], data: sent, mailOptions: ['SMTPUTF8', 'BODY=8BITMIME'] });
    expect(r.code).toBe(250);
    const signedCopy = submittedBytes((await pf.waitForMessages(local(SIGN), 3))[2]!);
    const plainCopy = submittedBytes((await pf.waitForMessages(local(NOSIGN), 2))[1]!);
    expect(verified(signedCopy)).toEqual(OK);
    expect(isSevenBitSafe(splitSigned(signedCopy).signedPart)).toBe(true);
    expect(signedCopy.toString('utf8')).toContain('Subject: Rechnung für Grüße – 請求書');
    expect(plainCopy.equals(sent)).toBe(true);
  });

  it('relays a 25 MB message with attachments; the signed copy verifies', async () => {
    const boundary = 'big-boundary-0001';
    const att = (name: string, bytes: number) => {
      const b64 = Buffer.from(Buffer.alloc(bytes).map((_, i) => (i * 131 + name.charCodeAt(0)) & 0xff)).toString('base64');
      return [`--${boundary}`, `Content-Type: application/octet-stream; name="${name}"`, 'Content-Transfer-Encoding: base64', `Content-Disposition: attachment; filename="${name}"`, '', ...(b64.match(/.{1,76}/g) ?? [])];
    };
    const sent = crlf([
      `From: Billing <${SENDER}>`,
      `To: ${SIGN}, ${NOSIGN}`,
      'Subject: Quarterly archive',
      `Message-ID: <big-${Date.now()}@example.test>`,
      'MIME-Version: 1.0',
      `Content-Type: multipart/mixed; boundary="${boundary}"`,
      '',
      `--${boundary}`,
      'Content-Type: text/plain; charset=utf-8',
      '',
      'Two attachments.',
      ...att('archive-1.bin', 9_000_000),
      ...att('archive-2.bin', 9_000_000),
      `--${boundary}--`,
    ]);
    expect(sent.length).toBeGreaterThan(24_000_000);
    expect(sent.length).toBeLessThan(25 * 1024 * 1024 - 64 * 1024);
    const r = await submit({ port: relay.port, from: SENDER, to: [SIGN, NOSIGN], data: sent });
    expect(r.code).toBe(250);
    const signedCopy = submittedBytes((await pf.waitForMessages(local(SIGN), 4, 120_000))[3]!);
    const plainCopy = submittedBytes((await pf.waitForMessages(local(NOSIGN), 3, 120_000))[2]!);
    expect(plainCopy.length).toBe(sent.length);
    expect(plainCopy.equals(sent)).toBe(true);
    // the verified content goes to /dev/null: 25 MB on stdout would overflow spawnSync's buffer
    const v = opensslVerifyMessage(pki, signedCopy, ['-out', '/dev/null']);
    expect(v.output).toMatch(/Verification successful/);
    expect(v.ok).toBe(true);
  });
});

describe('relay: the upstream decides the reply', () => {
  it('passes a permanent upstream refusal on as 5xx with the upstream text', async () => {
    const r = await submit({ port: relay.port, from: SENDER, to: ['nobody@customer.example'], data: appMessage(['nobody@customer.example'], 'x') });
    expect(r.code).toBe(550);
    expect(r.text).toMatch(/upstream: .*User unknown in virtual mailbox table/);
  });

  it('answers 4xx while Postfix is down; the application retries and every message arrives exactly once', async () => {
    const deliveredBefore = pf.messages('erin').length;
    const noSignBefore = pf.messages(local(NOSIGN)).length;
    await pf.halt();
    const down = await submit({ port: relay.port, from: SENDER, to: ['erin@customer.example'], data: appMessage(['erin@customer.example'], 'while down') });
    expect(down.code).toBeGreaterThanOrEqual(400);
    expect(down.code).toBeLessThan(500);
    expect(down.text).toMatch(/upstream MTA unavailable/);
    // six applications keep submitting (with their own retry queue) while Postfix comes back
    const jobs = Array.from({ length: 6 }, (_, i) => {
      const data = appMessage(['erin@customer.example', NOSIGN], `outage ${i}`);
      return { id: /Message-ID: <([^>]+)>/.exec(data.toString())![1]!, result: submit({ port: relay.port, from: SENDER, to: ['erin@customer.example', NOSIGN], data, retryForMs: 60_000 }) };
    });
    // wait until every client has been refused at least once, then bring Postfix back
    await waitFor(() => (relay.metrics.counters.refused['upstream-temporary'] ?? 0) >= 7, 30_000);
    await pf.resume();
    const results = await Promise.all(jobs.map((j) => j.result));
    for (const r of results) expect(r.code).toBe(250);
    expect(results.some((r) => r.attempts > 1)).toBe(true);
    await pf.waitForMessages('erin', deliveredBefore + 6);
    // the copies share queue files with NOSIGN's: only an empty queue means nothing more comes
    await pf.drained();
    const idsOf = (got: Buffer[]) => got.map((m) => /Message-ID: <([^>]+)>/i.exec(m.toString('latin1'))![1]!).sort();
    // each recipient has every message exactly once (nothing lost, nothing queued twice)
    expect(idsOf(pf.messages('erin').slice(deliveredBefore))).toEqual(jobs.map((j) => j.id).sort());
    expect(idsOf(pf.messages(local(NOSIGN)).slice(noSignBefore))).toEqual(jobs.map((j) => j.id).sort());
  });
});

describe('relay: partial acceptance', () => {
  it('answers 4xx when one copy is refused for now, and the retry goes only to the recipients still missing it', async () => {
    policy.refuse.add('grace@customer.example');
    const sent = appMessage([SIGN, 'grace@customer.example'], 'partial');
    const id = /Message-ID: <([^>]+)>/.exec(sent.toString())![1]!;
    const signBefore = pf.messages(local(SIGN)).length;
    const first = await submit({ port: relay.port, from: SENDER, to: [SIGN, 'grace@customer.example'], data: sent });
    expect(first.code).toBe(450);
    expect(first.text).toMatch(/upstream: .*mailbox busy/);
    // the signed copy for SIGN was accepted upstream already
    await pf.waitForMessages(local(SIGN), signBefore + 1);
    policy.refuse.delete('grace@customer.example');
    const retry = await submit({ port: relay.port, from: SENDER, to: [SIGN, 'grace@customer.example'], data: sent });
    expect(retry.code).toBe(250);
    const [graceCopy] = await pf.waitForMessages('grace', 1);
    expect(submittedBytes(graceCopy!).equals(sent)).toBe(true);
    // SIGN has that message exactly once: the retry did not send the signed copy again
    await pf.drained();
    const signCopies = pf.messages(local(SIGN)).filter((m) => m.includes(id));
    expect(signCopies).toHaveLength(1);
  });
});

describe('relay: the signing certificate', () => {
  it('answers 4xx for an expired certificate or a From it does not cover, logged once per minute, not per message', async () => {
    const expired = await expiredSigner();
    const r2 = await startRelay({ config: relayConfig(pf.port, { mode: 'always' }), signer: expired, census: null, logger });
    try {
      const logged = () => logLines.filter((l) => l.msg === 'cannot sign with the configured certificate').length;
      const before = logged();
      for (let i = 0; i < 3; i++) {
        const r = await submit({ port: r2.port, from: SENDER, to: ['frank@customer.example'], data: appMessage(['frank@customer.example'], `expired ${i}`) });
        expect(r.code).toBe(451);
        expect(r.text).toMatch(/cannot sign right now .*expired/);
      }
      expect(logged() - before).toBe(1);
      expect(pf.messages('frank')).toHaveLength(0);
    } finally {
      await r2.close();
    }
    // mismatched: the From is not in the certificate
    const mismatch = await submit({ port: relay.port, from: 'mallory@example.test', to: [SIGN], data: appMessage([SIGN], 'forged').toString().replace(`Billing <${SENDER}>`, 'mallory@example.test') });
    expect(mismatch.code).toBe(451);
    expect(mismatch.text).toMatch(/does not cover the From address/);
  });

  it('passes the mail unsigned instead when onSignError is pass-unsigned', async () => {
    const expired = await expiredSigner();
    const r3 = await startRelay({ config: relayConfig(pf.port, { mode: 'always', onSignError: 'pass-unsigned' }), signer: expired, census: null, logger });
    try {
      const sent = appMessage(['frank@customer.example'], 'pass unsigned');
      const r = await submit({ port: r3.port, from: SENDER, to: ['frank@customer.example'], data: sent });
      expect(r.code).toBe(250);
      const [got] = await pf.waitForMessages('frank', 1);
      expect(submittedBytes(got!).equals(sent)).toBe(true);
    } finally {
      await r3.close();
    }
  });
});

describe('relay: listener limits', () => {
  it('refuses a message over the size limit with 552 and delivers nothing', async () => {
    const r4 = await startRelay({ config: relayConfig(pf.port, { maxMessageBytes: 4096 }), signer, census: censusOf(app), logger });
    try {
      const r = await submit({ port: r4.port, from: SENDER, to: [NOSIGN], data: appMessage([NOSIGN], 'too big', 'x'.repeat(70) + '\r\n'.repeat(1) + ('y'.repeat(76) + '\r\n').repeat(80)) });
      expect(r.code).toBe(552);
    } finally {
      await r4.close();
    }
  });

  it('learns new census evidence without a restart (the census is asked per message)', async () => {
    const folder = writeMail(dir, 'later', [message('dave@customer.example', 'thunderbird', 1)]);
    await importPaths(app, [folder]);
    const r = await submit({ port: relay.port, from: SENDER, to: [UNKNOWN], data: appMessage([UNKNOWN], 'now known') });
    expect(r.code).toBe(250);
    const copies = await pf.waitForMessages(local(UNKNOWN), 2);
    expect(verified(submittedBytes(copies[1]!))).toEqual(OK);
  });
});

/**
 * A Postfix policy service (SMTPD_POLICY_README: attribute lines, a blank line, `action=...`):
 * answers 450 for the recipients in `refuse`, DUNNO for everyone else, decided per request.
 */
async function startPolicyService(): Promise<{ port: number; refuse: Set<string>; close(): void }> {
  const refuse = new Set<string>();
  const server = createServer((sock) => {
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      let end: number;
      while ((end = buf.indexOf('\n\n')) !== -1) {
        const req = buf.slice(0, end);
        buf = buf.slice(end + 2);
        const rcpt = /^recipient=(.*)$/m.exec(req)?.[1]?.toLowerCase() ?? '';
        sock.write(refuse.has(rcpt) ? 'action=450 4.2.0 mailbox busy, try later\n\n' : 'action=DUNNO\n\n');
      }
    });
    sock.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as import('node:net').AddressInfo).port, refuse, close: () => server.close() };
}

/** The expired test certificate, loaded while it was still valid (2020) and used now (it ended in 2021). */
async function expiredSigner(): Promise<Signer> {
  let clock = new Date('2020-06-01T00:00:00Z');
  const s = await loadSigner({ certFile: pki.expired.certFile, keyFile: pki.expired.keyFile, now: () => clock });
  clock = new Date();
  return s;
}

async function waitFor(cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
