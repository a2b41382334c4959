/**
 * The relay logs in to its upstream: a real Postfix submission service that checks SMTP AUTH
 * against a real Dovecot (Postfix's `smtpd_sasl_type = dovecot`), the way a mail provider's
 * submission port does. The password comes from a file; it is sent only inside TLS; a refused
 * login is the relay's own configuration problem, so the application hears 4xx and keeps the
 * message queued instead of bouncing it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/app/index.js';
import { startRelay, type Relay } from '../../src/relay/index.js';
import { startDovecot, type DovecotServer } from '../helpers/dovecot.js';
import { freePorts, startPostfix, type PostfixServer } from '../helpers/postfix.js';
import { crlf, relayConfig, submit } from './helpers.js';

const SENDER = 'billing@example.test';
const USER = 'relay-login';
const PASSWORD = 'upstream-s3cret';

let dir: string;
let dovecot: DovecotServer;
let pf: PostfixServer;
/** Submission with STARTTLS; AUTH only after STARTTLS; relaying only when authenticated. */
let submissionPort: number;
/** A misconfigured (or stripped) submission service: AUTH offered without any TLS. */
let cleartextPort: number;

function msg(to: string, subject: string): Buffer {
  return crlf([`From: Billing <${SENDER}>`, `To: ${to}`, `Subject: ${subject}`, `Message-ID: <${subject.replace(/\W+/g, '-')}-${Date.now()}@example.test>`, 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', '', 'Hello.']);
}

function submissionService(port: number, tls: 'encrypt' | 'none', saslPath: string): string {
  return [
    `127.0.0.1:${port} inet n - n - - smtpd`,
    `  -o smtpd_tls_security_level=${tls === 'encrypt' ? 'may' : 'none'}`,
    `  -o smtpd_tls_auth_only=${tls === 'encrypt' ? 'yes' : 'no'}`,
    '  -o smtpd_sasl_auth_enable=yes',
    '  -o smtpd_sasl_type=dovecot',
    `  -o smtpd_sasl_path=${saslPath}`,
    '  -o smtpd_sasl_authenticated_header=yes',
    '  -o smtpd_client_restrictions=',
    '  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject',
    '  -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject',
  ].join('\n');
}

async function relayWith(port: number, extra: Record<string, unknown>): Promise<Relay> {
  return startRelay({ config: relayConfig(port, { mode: 'never', upstreamCaFile: pf.caFile, ...extra }), signer: null, census: null, logger: silentLogger() });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'census-relay-auth-'));
  dovecot = await startDovecot({ user: USER, password: PASSWORD, sasl: true });
  [submissionPort, cleartextPort] = (await freePorts(2)) as [number, number];
  pf = await startPostfix({
    domain: 'customer.example',
    mailboxes: ['authed', 'wrongpw', 'cleartext', 'anon'],
    tls: true,
    masterCf: [submissionService(submissionPort, 'encrypt', dovecot.saslSocket!), submissionService(cleartextPort, 'none', dovecot.saslSocket!)].join('\n'),
  });
}, 180_000);

afterAll(async () => {
  await pf?.stop();
  await dovecot?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('relay: SMTP AUTH to the upstream (Postfix submission, Dovecot SASL)', () => {
  it('logs in after STARTTLS with the password from upstreamPasswordFile and delivers', async () => {
    const passwordFile = join(dir, 'upstream-password');
    writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
    const relay = await relayWith(submissionPort, { upstreamUser: USER, upstreamPasswordFile: passwordFile });
    try {
      const r = await submit({ port: relay.port, from: SENDER, to: ['authed@customer.example'], data: msg('authed@customer.example', 'authenticated') });
      expect(r.code).toBe(250);
      const [got] = await pf.waitForMessages('authed', 1);
      const text = got!.toString('latin1');
      // Postfix records the SASL login in its Received header, and the hop was encrypted
      expect(text).toContain(`(Authenticated sender: ${USER})`);
      expect(text).toMatch(/with ESMTPSA id/);
    } finally {
      await relay.close();
    }
  });

  it('the upstream refuses anonymous relaying on that port (so the login above is what let the mail through)', async () => {
    const relay = await relayWith(submissionPort, {});
    try {
      const r = await submit({ port: relay.port, from: SENDER, to: ['anon@customer.example'], data: msg('anon@customer.example', 'anonymous') });
      expect(r.code).toBeGreaterThanOrEqual(500);
      expect(r.text).toMatch(/upstream: .*(Relay access denied|Access denied)/i);
      expect(pf.messages('anon')).toHaveLength(0);
    } finally {
      await relay.close();
    }
  });

  it('a refused login is temporary for the application (451, message stays queued there), not a bounce', async () => {
    const passwordFile = join(dir, 'wrong-password');
    writeFileSync(passwordFile, 'not-the-password\n', { mode: 0o600 });
    const relay = await relayWith(submissionPort, { upstreamUser: USER, upstreamPasswordFile: passwordFile });
    try {
      const r = await submit({ port: relay.port, from: SENDER, to: ['wrongpw@customer.example'], data: msg('wrongpw@customer.example', 'wrong password') });
      expect(r.code).toBe(451);
      expect(r.text).toMatch(/upstream refused the relay's login/);
      expect(r.text).not.toContain('not-the-password');
      expect(pf.messages('wrongpw')).toHaveLength(0);
    } finally {
      await relay.close();
    }
  });

  it('never sends the password without TLS: an upstream that offers AUTH in cleartext gets no login and no mail', async () => {
    const passwordFile = join(dir, 'upstream-password-2');
    writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
    const relay = await relayWith(cleartextPort, { upstreamUser: USER, upstreamPasswordFile: passwordFile });
    try {
      const r = await submit({ port: relay.port, from: SENDER, to: ['cleartext@customer.example'], data: msg('cleartext@customer.example', 'cleartext') });
      // the correct password would have been accepted here: no delivery means it was never sent
      expect(r.code).toBe(451);
      expect(r.text).toMatch(/STARTTLS/i);
      expect(pf.messages('cleartext')).toHaveLength(0);
    } finally {
      await relay.close();
    }
  });
});
