/**
 * Certificate harvesting through the IMAP poller against the real Dovecot: the poller fetches
 * only the signed parts of S/MIME messages (BODYSTRUCTURE, then BODY.PEEK of the parts), never
 * marks anything seen, and the store gets the same certificates and key-continuity verdicts as
 * a file import would.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDovecot, type DovecotServer } from '../../helpers/dovecot.js';
import { makeTestPki, type TestPki, type TestLeaf } from '../../helpers/pki.js';
import { tempDir } from '../../helpers/tmp.js';
import { runCli, ensureBuilt } from './helpers.js';
import { openStore } from '../../../src/store/index.js';
import { lookupOne } from '../../../src/app/index.js';

let s: DovecotServer;
let pki: TestPki;
const t = tempDir('census-imap-harvest-');

beforeAll(async () => {
  ensureBuilt();
  pki = makeTestPki();
  s = await startDovecot();
}, 120_000);
afterAll(async () => {
  await s?.stop();
  pki?.cleanup();
  t.cleanup();
});

let seq = 0;
function signed(leaf: TestLeaf, date: string, opts: { opaque?: boolean; from?: string; tamper?: boolean } = {}): Buffer {
  const content = join(pki.dir, `imap-h-${++seq}.txt`);
  writeFileSync(content, 'Content-Type: text/plain; charset=us-ascii\r\n\r\nHello, a question about my order.\r\n');
  let msg = pki
    .openssl(['cms', '-sign', '-in', content, '-signer', leaf.certFile, '-inkey', leaf.keyFile, '-certfile', pki.interCertFile, '-md', 'sha256', ...(opts.opaque ? ['-nodetach'] : []), '-from', opts.from ?? leaf.email, '-to', 'support@company.test', '-subject', 'Order'])
    .toString('latin1');
  if (opts.tamper) msg = msg.replace('about my order', 'about my ORDER');
  return Buffer.from(`Date: ${date}\r\nMessage-ID: <imap-h${seq}@customer.test>\r\nX-Mailer: Apple Mail (2.3826.300.87.4.3)\r\n${msg}`, 'latin1');
}

function config(dir: string): string {
  const pw = join(dir, 'pw');
  writeFileSync(pw, s.password + '\n', { mode: 0o600 });
  const file = join(dir, 'census.json');
  writeFileSync(
    file,
    JSON.stringify({
      db: join(dir, 'census.db'),
      accounts: [{ name: 'support', host: s.host, port: s.port, user: s.user, passwordFile: pw, caFile: s.caFile, folders: ['INBOX'] }],
      sign: { trustedCaFiles: [pki.rootCertFile] },
    }),
  );
  return file;
}

describe('harvesting through the IMAP poller', () => {
  it('stores certificates with key continuity from signed parts fetched by BODY.PEEK, flags unchanged', async () => {
    await s.deliver('INBOX', [
      { bytes: signed(pki.rsa, 'Mon, 02 Nov 2026 10:00:00 +0000'), flags: 'S' },
      signed(pki.rsaRenewal, 'Tue, 10 Nov 2026 10:00:00 +0000', { opaque: true }),
      signed(pki.rsaRekeyed, 'Fri, 20 Nov 2026 10:00:00 +0000'),
      signed(pki.ec, 'Sat, 21 Nov 2026 10:00:00 +0000', { tamper: true }),
      { bytes: 'From: plain@customer.test\r\nDate: Sat, 21 Nov 2026 11:00:00 +0000\r\nMessage-ID: <plain-h@customer.test>\r\nUser-Agent: Mutt/2.2.13 (2024-03-09)\r\n\r\nhello\r\n', flags: 'S' },
    ]);
    const before = s.flags('INBOX');
    // Through the CLI (ingest in the worker thread) and in the poller's own thread (--no-worker).
    for (const extra of [[], ['--no-worker']]) {
      const dir = join(t.dir, `run${extra.length}`);
      (await import('node:fs')).mkdirSync(dir, { recursive: true });
      const r = await runCli(['--config', config(dir), 'poll', '--once', ...extra]);
      expect(r.code, r.stderr).toBe(0);
      const store = openStore(join(dir, 'census.db'), { readonly: true });
      try {
        const alice = await store.certificatesOf('alice@example.test');
        // newest first: the re-keyed certificate, the renewal, the first one
        expect(alice.map((c) => c.continuity)).toEqual(['key-changed', 'renewal', 'first-seen']);
        expect(alice.every((c) => c.trusted === 'configured')).toBe(true);
        expect((await lookupOne(store, { mode: 'strict', windowDays: 180 }, 'alice@example.test', Date.UTC(2026, 10, 28))).keyChanged).toBe(true);
        expect(await store.certificatesOf('bob@example.test')).toHaveLength(0);
        const bob = (await store.observationsOf('bob@example.test'))[0]!;
        expect(JSON.parse(bob.warnings).some((w: string) => w.startsWith('smime-cert:'))).toBe(true);
        expect((await store.observationsOf('alice@example.test')).every((o) => o.smimeMessage !== null)).toBe(true);
        expect(await store.getCounters()).toMatchObject({ 'certificates:first-seen': 1, 'certificates:renewal': 1, 'certificates:key-changed': 1, 'certificates:rejected': 1 });
      } finally {
        await store.close();
      }
    }
    expect(s.flags('INBOX')).toEqual(before);
  });
});
