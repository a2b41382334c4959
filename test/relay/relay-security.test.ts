/**
 * The relay's security edges against a real Postfix that offers STARTTLS: DKIM after S/MIME
 * (verified by dkimpy), SMTP AUTH after STARTTLS with scrypt-hashed users, the listener safety
 * rules, and upstream TLS verification.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { relaySchema } from '../../src/config/index.js';
import { silentLogger } from '../../src/app/index.js';
import { loadSigner, type Signer } from '../../src/sign/index.js';
import { assertSafeRelayListener, hashPassword, loadUsers, startRelay, type Relay } from '../../src/relay/index.js';
import { startPostfix, submittedBytes, type PostfixServer } from '../helpers/postfix.js';
import { makeTestPki, opensslVerifyMessage, type TestPki } from '../helpers/pki.js';
import { crlf, PYTHON, relayConfig, submit } from './helpers.js';

const SENDER = 'alice@example.test';
const DKIM_VERIFY = fileURLToPath(new URL('./dkim-verify.py', import.meta.url));

let pki: TestPki;
let pf: PostfixServer;
let signer: Signer;
let dir: string;
let tlsCert: string;
let tlsKey: string;

function msg(to: string, subject: string): Buffer {
  return crlf([`From: Billing <${SENDER}>`, `To: ${to}`, `Subject: ${subject}`, `Message-ID: <${subject.replace(/\W+/g, '-')}-${Date.now()}@example.test>`, 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', '', 'Hello.']);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'census-relay-sec-'));
  pki = makeTestPki();
  pf = await startPostfix({ domain: 'customer.example', mailboxes: ['dkim', 'plain', 'authed', 'tls'], tls: true });
  signer = await loadSigner({ certFile: pki.rsa.certFile, keyFile: pki.rsa.keyFile, chainFiles: [pki.interCertFile] });
  tlsCert = join(dir, 'relay-cert.pem');
  tlsKey = join(dir, 'relay-key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', tlsKey, '-out', tlsCert], { stdio: 'ignore' });
}, 180_000);

afterAll(async () => {
  await pf?.stop();
  pki?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('relay: DKIM after S/MIME', () => {
  it('DKIM-signs the S/MIME-signed message (DKIM outermost); dkimpy verifies DKIM, openssl the S/MIME signature', async () => {
    const keyFile = join(dir, 'dkim.pem');
    execFileSync('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', keyFile], { stdio: 'ignore' });
    const pub = execFileSync('openssl', ['pkey', '-in', keyFile, '-pubout', '-outform', 'DER']).toString('base64');
    const record = join(dir, 'dkim.txt');
    writeFileSync(record, `v=DKIM1; k=rsa; p=${pub}`);
    const relay = await startRelay({
      config: relayConfig(pf.port, { mode: 'always', upstreamCaFile: pf.caFile, dkim: { domain: 'example.test', selector: 's1', keyFile } }),
      signer,
      census: null,
      logger: silentLogger(),
    });
    try {
      const r = await submit({ port: relay.port, from: SENDER, to: ['dkim@customer.example'], data: msg('dkim@customer.example', 'dkim check') });
      expect(r.code).toBe(250);
      const [got] = await pf.waitForMessages('dkim', 1);
      const bytes = submittedBytes(got!);
      // DKIM-Signature is the outermost header: it was added after the S/MIME signature
      expect(bytes.toString('latin1')).toMatch(/^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/relaxed; d=example\.test;/);
      expect(opensslVerifyMessage(pki, bytes).ok).toBe(true);
      const v = spawnSync(PYTHON, [DKIM_VERIFY, record, 's1._domainkey.example.test'], { input: bytes });
      expect(v.stdout.toString().trim()).toBe('pass');
      // and a tampered body fails, so "pass" means something
      const tampered = Buffer.from(bytes.toString('latin1').replace('Hello.', 'Hallo.'), 'latin1');
      expect(spawnSync(PYTHON, [DKIM_VERIFY, record, 's1._domainkey.example.test'], { input: tampered }).stdout.toString().trim()).toBe('fail');
    } finally {
      await relay.close();
    }
  });
});

describe('relay: upstream TLS is verified', () => {
  it('refuses (4xx) to hand mail to an upstream whose STARTTLS certificate it cannot verify, and delivers over TLS with the CA', async () => {
    const unverified = await startRelay({ config: relayConfig(pf.port, { mode: 'never' }), signer: null, census: null, logger: silentLogger() });
    try {
      const r = await submit({ port: unverified.port, from: SENDER, to: ['tls@customer.example'], data: msg('tls@customer.example', 'no ca') });
      expect(r.code).toBe(451);
      expect(r.text).toMatch(/self[- ]signed|certificate/i);
      expect(pf.messages('tls')).toHaveLength(0);
    } finally {
      await unverified.close();
    }
    const verified = await startRelay({ config: relayConfig(pf.port, { mode: 'never', upstreamCaFile: pf.caFile }), signer: null, census: null, logger: silentLogger() });
    try {
      const r = await submit({ port: verified.port, from: SENDER, to: ['tls@customer.example'], data: msg('tls@customer.example', 'with ca') });
      expect(r.code).toBe(250);
      const [got] = await pf.waitForMessages('tls', 1);
      expect(got!.toString('latin1')).toMatch(/with ESMTPS id/);
    } finally {
      await verified.close();
    }
  });
});

describe('relay: who may submit', () => {
  let relay: Relay;
  let usersFile: string;
  beforeAll(async () => {
    usersFile = join(dir, 'relay-users');
    writeFileSync(usersFile, `# relay users\nbilling:${await hashPassword('s3cret-billing')}\n`, { mode: 0o600 });
    relay = await startRelay({
      // allowNetworks [] : even loopback clients must log in
      config: relayConfig(pf.port, { mode: 'never', upstreamCaFile: pf.caFile, tls: { certFile: tlsCert, keyFile: tlsKey }, usersFile, allowNetworks: [] }),
      signer: null,
      census: null,
      logger: silentLogger(),
    });
  });
  afterAll(async () => {
    await relay?.close();
  });

  it('needs AUTH, offers it only after STARTTLS, checks the scrypt hash', async () => {
    const data = msg('authed@customer.example', 'auth');
    const anonymous = await submit({ port: relay.port, from: SENDER, to: ['authed@customer.example'], data });
    expect(anonymous.code).toBe(530);
    const cleartext = await submit({ port: relay.port, from: SENDER, to: ['authed@customer.example'], data, user: 'billing', password: 's3cret-billing' });
    expect(cleartext.code).toBe(538);
    expect(cleartext.text).toMatch(/STARTTLS command first/);
    const wrong = await submit({ port: relay.port, from: SENDER, to: ['authed@customer.example'], data, starttls: true, cafile: tlsCert, user: 'billing', password: 'wrong' });
    expect(wrong.code).toBe(535);
    const unknownUser = await submit({ port: relay.port, from: SENDER, to: ['authed@customer.example'], data, starttls: true, cafile: tlsCert, user: 'nobody', password: 's3cret-billing' });
    expect(unknownUser.code).toBe(535);
    const ok = await submit({ port: relay.port, from: SENDER, to: ['authed@customer.example'], data, starttls: true, cafile: tlsCert, user: 'billing', password: 's3cret-billing' });
    expect(ok.code).toBe(250);
    const [got] = await pf.waitForMessages('authed', 1);
    expect(submittedBytes(got!).equals(data)).toBe(true);
  });

  it('turns away a client outside allowNetworks at connect, and caps connections', async () => {
    const listed = await startRelay({ config: relayConfig(pf.port, { mode: 'never', allowNetworks: ['10.0.0.0/8'] }), signer: null, census: null, logger: silentLogger() });
    try {
      const r = await submit({ port: listed.port, from: SENDER, to: ['plain@customer.example'], data: msg('plain@customer.example', 'not listed') });
      expect(r.code).toBe(554);
      expect(r.text).toMatch(/may not submit/);
    } finally {
      await listed.close();
    }
    const capped = await startRelay({ config: relayConfig(pf.port, { mode: 'never', maxConnections: 1, upstreamCaFile: pf.caFile }), signer: null, census: null, logger: silentLogger() });
    const first = connect({ host: '127.0.0.1', port: capped.port });
    try {
      await new Promise<void>((resolve) => first.once('data', () => resolve()));
      const second = await new Promise<string>((resolve) => {
        const s2 = connect({ host: '127.0.0.1', port: capped.port });
        let got = '';
        s2.on('data', (d) => (got += d.toString()));
        s2.on('close', () => resolve(got));
        s2.on('error', () => resolve(got));
      });
      expect(second).toMatch(/^421 /);
    } finally {
      first.destroy();
      await capped.close();
    }
  });

  it('rejects a users file line it cannot use, naming the line', () => {
    const bad = join(dir, 'bad-users');
    writeFileSync(bad, 'ok:scrypt$16384$8$1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNo\nbroken:plaintext\n');
    expect(() => loadUsers(bad)).toThrow(/line 2: expected user:scrypt/);
    writeFileSync(bad, 'big:scrypt$1073741824$8$1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNo\n');
    expect(() => loadUsers(bad)).toThrow(/line 1: N must be a power of two up to/);
  });

  it('refuses to listen beyond loopback without STARTTLS+AUTH or a client network allow-list', () => {
    const cfg = (extra: Record<string, unknown>) => relaySchema.parse({ upstream: 'smtp://127.0.0.1:25', ...extra });
    expect(() => assertSafeRelayListener(cfg({ listen: { host: '0.0.0.0', port: 2525 } }))).toThrow(/not loopback/);
    expect(() => assertSafeRelayListener(cfg({ listen: { host: '0.0.0.0', port: 2525 }, usersFile: '/x' }))).toThrow(/needs relay.tls/);
    expect(() => assertSafeRelayListener(cfg({ listen: { host: '0.0.0.0', port: 2525 }, allowNetworks: ['10.1.0.0/16'] }))).not.toThrow();
    expect(() => assertSafeRelayListener(cfg({ listen: { host: '::', port: 2525 }, usersFile: '/x', tls: { certFile: '/c', keyFile: '/k' } }))).not.toThrow();
    expect(() => assertSafeRelayListener(cfg({}))).not.toThrow();
    expect(() => cfg({ allowNetworks: ['10.0.0.0/33'] })).toThrow(/allowNetworks/);
    expect(() => cfg({ upstream: 'smtp://user:pw@mx.example:25' })).toThrow(/never in the URL/);
    expect(() => cfg({ upstream: 'http://mx.example' })).toThrow(/smtp:\/\/host/);
    expect(() => cfg({ mode: 'sometimes' })).toThrow(/mode/);
  });
});
