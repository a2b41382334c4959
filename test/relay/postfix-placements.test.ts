/**
 * The README's Postfix examples ("Signing all automated mail"), run for real:
 *  - placement 3, the content_filter loop: applications submit to Postfix; Postfix hands every
 *    message to the relay (after-queue content filter), the relay signs and re-injects into a
 *    second smtpd that has no filter, which delivers;
 *  - placement 2, relayhost: an application MTA relays all outbound mail through the relay,
 *    which hands it to the smarthost (a second Postfix).
 * The main.cf / master.cf lines below are the README's, with the ports filled in.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/app/index.js';
import { loadSigner, type Signer } from '../../src/sign/index.js';
import { startRelay, type Relay } from '../../src/relay/index.js';
import { freePorts, startPostfix, submittedBytes, type PostfixServer } from '../helpers/postfix.js';
import { makeTestPki, opensslVerifyMessage, type TestPki } from '../helpers/pki.js';
import { relayConfig } from './helpers.js';

const SENDER = 'alice@example.test';
let pki: TestPki;
let signer: Signer;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'census-relay-placements-'));
  pki = makeTestPki();
  signer = await loadSigner({ certFile: pki.rsa.certFile, keyFile: pki.rsa.keyFile, chainFiles: [pki.interCertFile] });
}, 120_000);
afterAll(() => {
  pki?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function swaks(port: number, to: string, subject: string): string {
  const r = spawnSync('swaks', ['--server', `127.0.0.1:${port}`, '--from', SENDER, '--to', to, '--header', `From: Billing <${SENDER}>`, '--header', `Subject: ${subject}`, '--body', 'Invoice attached.'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`swaks failed: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** README, placement 3 (main.cf). */
const contentFilterMain = (relayPort: number) => `content_filter = smime-relay:[127.0.0.1]:${relayPort}`;
/** README, placement 3 (master.cf): the filter's client, and the re-injection smtpd that must not filter again. */
const contentFilterMaster = (reinjectPort: number) => `
smime-relay unix -    -       n       -       10      smtp
  -o smtp_send_xforward_command=yes
  -o disable_mime_output_conversion=yes
  -o smtp_tls_security_level=none
127.0.0.1:${reinjectPort} inet n -    n       -       10      smtpd
  -o content_filter=
  -o receive_override_options=no_unknown_recipient_checks,no_header_body_checks,no_milters
  -o smtpd_helo_restrictions=
  -o smtpd_client_restrictions=
  -o smtpd_sender_restrictions=
  -o smtpd_recipient_restrictions=permit_mynetworks,reject
  -o smtpd_relay_restrictions=permit_mynetworks,reject
  -o mynetworks=127.0.0.0/8
  -o smtpd_authorized_xforward_hosts=127.0.0.0/8
`;

async function until(done: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('README Postfix examples', () => {
  let pf: PostfixServer | undefined;
  let relay: Relay | undefined;
  afterAll(async () => {
    await relay?.close();
    await pf?.stop();
  });

  it('placement 3: content_filter loop — Postfix -> relay -> re-injection smtpd; delivered signed, nothing loops', async () => {
    const [relayPort, reinjectPort] = (await freePorts(2)) as [number, number];
    pf = await startPostfix({ domain: 'customer.example', mailboxes: ['filtered'], mainCf: contentFilterMain(relayPort), masterCf: contentFilterMaster(reinjectPort) });
    relay = await startRelay({ config: relayConfig(reinjectPort, { mode: 'always', listen: { host: '127.0.0.1', port: relayPort } }), signer, census: null, logger: silentLogger() });
    const out = swaks(pf.port, 'filtered@customer.example', 'content filter');
    expect(out).toMatch(/<-\s+250 2\.0\.0 Ok: queued as/);
    const [got] = await pf.waitForMessages('filtered', 1);
    const bytes = submittedBytes(got!);
    expect(opensslVerifyMessage(pki, bytes).ok).toBe(true);
    // The re-injected copy can be delivered before the relay has counted it and before Postfix
    // has logged the filter hop and removed the first queue file: wait for each, then check.
    const filterHop = /relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+, .*status=sent \(250 2\.0\.0 Ok: relayed \(1 signed, 0 unsigned\)\)/;
    await until(() => relay!.metrics.counters.relayed >= 1 && filterHop.test(pf!.log()) && pf!.queued() === 0, 'the filter hop to finish');
    // it went through the relay exactly once: two Postfix queue ids, one relayed message
    expect(relay.metrics.counters.relayed).toBe(1);
    expect(pf.log().match(new RegExp(filterHop.source, 'g'))).toHaveLength(1);
    expect(pf.messages('filtered')).toHaveLength(1);
  });

  it('placement 2: relayhost — the application MTA relays through the relay to the smarthost', async () => {
    const smarthost = await startPostfix({ domain: 'customer.example', mailboxes: ['viasmarthost'] });
    const [relayPort] = (await freePorts(1)) as [number];
    // the application's MTA: relays everything for customer.example onwards (it delivers nothing itself)
    const appMta = await startPostfix({ domain: 'local.invalid', mailboxes: [], mainCf: `relayhost = [127.0.0.1]:${relayPort}\nsmtp_tls_security_level = none` });
    const r = await startRelay({ config: relayConfig(smarthost.port, { mode: 'always', listen: { host: '127.0.0.1', port: relayPort } }), signer, census: null, logger: silentLogger() });
    try {
      swaks(appMta.port, 'viasmarthost@customer.example', 'relayhost');
      const [got] = await smarthost.waitForMessages('viasmarthost', 1);
      expect(opensslVerifyMessage(pki, submittedBytes(got!)).ok).toBe(true);
      // the smarthost may deliver before the application MTA has logged the relay's 250
      await until(() => /status=sent \(250 2\.0\.0 Ok: relayed \(1 signed, 0 unsigned\)\)/.test(appMta.log()), "the application MTA's delivery record");
    } finally {
      await r.close();
      await appMta.stop();
      await smarthost.stop();
    }
  });
});
