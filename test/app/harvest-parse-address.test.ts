/**
 * Harvest matches the certificate against parse's address of the sender, the one the observation
 * is stored under (issue 11: "harvest (with parse's address)"). Whole messages used to be matched
 * against a second, weaker reading of the From header (sign/mime.ts firstAddress), which takes an
 * address quoted in the display name for the mailbox: alice's signature on mail from mallory
 * then counted as a clean signature of mallory's.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestPki, type TestPki } from '../helpers/pki.js';
import { openTestApp } from '../helpers/app.js';
import { tempDir } from '../helpers/tmp.js';
import { importPaths, type AppContext } from '../../src/app/index.js';

let pki: TestPki;
let ctx: AppContext;
const t = tempDir('census-harvest-address-');
beforeAll(() => {
  pki = makeTestPki();
  ctx = openTestApp(t.dir, { sign: { trustedCaFiles: [pki.rootCertFile] } });
}, 120_000);
afterAll(async () => {
  await ctx?.close();
  pki?.cleanup();
  t.cleanup();
});

/** A message signed with alice's certificate (openssl), under the given From header. */
function signedByAlice(from: string, n: number): Buffer {
  const content = join(pki.dir, `parse-address-${n}.txt`);
  writeFileSync(content, 'Content-Type: text/plain; charset=us-ascii\r\n\r\nPlease send the invoice again.\r\n');
  const signed = pki.openssl(['cms', '-sign', '-in', content, '-signer', pki.rsa.certFile, '-inkey', pki.rsa.keyFile, '-certfile', pki.interCertFile, '-md', 'sha256']);
  return Buffer.concat([Buffer.from(`From: ${from}\r\nTo: support@company.test\r\nDate: Mon, 02 Nov 2026 10:00:00 +0000\r\nMessage-ID: <parse-address-${n}@customer.test>\r\n`), signed]);
}

describe('certificate harvesting uses parse\'s address', () => {
  it('alice\'s signature on mail whose mailbox is mallory\'s (alice quoted in the display name) is an address mismatch, and no certificate is kept', async () => {
    const eml = join(t.dir, 'display-name.eml');
    writeFileSync(eml, signedByAlice('"Alice <alice@example.test>" <mallory@evil.test>', 1));
    expect((await importPaths(ctx, [eml])).stored).toBe(1);
    const [obs] = await ctx.store.observationsOf('mallory@evil.test');
    expect(obs).toBeDefined();
    expect(JSON.parse(obs!.warnings)).toContain('smime-cert:address-mismatch');
    expect(await ctx.store.certificatesOf('mallory@evil.test')).toHaveLength(0);
    expect(await ctx.store.certificatesOf('alice@example.test')).toHaveLength(0);
    expect((await ctx.store.getCounters())['certificates:rejected']).toBe(1);
  });

  it('the same signature under alice\'s own mailbox is harvested for her', async () => {
    const eml = join(t.dir, 'own.eml');
    writeFileSync(eml, signedByAlice('"Alice (mallory@evil.test)" <alice@example.test>', 2));
    expect((await importPaths(ctx, [eml])).stored).toBe(1);
    const [obs] = await ctx.store.observationsOf('alice@example.test');
    expect(JSON.parse(obs!.warnings).filter((w: string) => w.startsWith('smime-cert:'))).toEqual([]);
    expect(await ctx.store.certificatesOf('alice@example.test')).toHaveLength(1);
  });
});
