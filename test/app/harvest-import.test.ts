import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { makeTestPki, type TestPki, type TestLeaf } from '../helpers/pki.js';
import { openTestApp } from '../helpers/app.js';
import { tempDir } from '../helpers/tmp.js';
import { importPaths, lookupOne, recompute, type AppContext } from '../../src/app/index.js';
import { canonicalDump } from '../source/imap/helpers.js';
import { loadSigner } from '../../src/sign/index.js';
import { builtCli } from '../helpers/built.js';

let pki: TestPki;
const t = tempDir('census-harvest-');
const CLI = builtCli();
beforeAll(async () => {
  pki = makeTestPki();
}, 60_000);
afterAll(async () => {
  pki?.cleanup();
  t.cleanup();
});

let seq = 0;
/** A customer message signed by the openssl CLI, dated `date`. */
function opensslSigned(leaf: TestLeaf, date: string, opts: { from?: string; opaque?: boolean; program?: string } = {}): Buffer {
  const content = join(pki.dir, `h-content-${++seq}.txt`);
  writeFileSync(content, 'Content-Type: text/plain; charset=us-ascii\r\n\r\nHello, I have a question about my invoice.\r\n');
  const signed = pki.openssl(['cms', '-sign', '-in', content, '-signer', leaf.certFile, '-inkey', leaf.keyFile, '-certfile', pki.interCertFile, '-md', 'sha256', ...(opts.opaque ? ['-nodetach'] : []), '-from', opts.from ?? leaf.email, '-to', 'support@company.test', '-subject', 'Question']);
  const program = opts.program ?? 'User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:102.0) Gecko/20100101 Thunderbird/102.10.0';
  return Buffer.concat([Buffer.from(`Date: ${date}\r\nMessage-ID: <h${seq}@customer.test>\r\n${program}\r\n`), signed]);
}

function config(dir: string) {
  return { rulesDirs: [], sign: { trustedCaFiles: [pki.rootCertFile], chainFiles: [] }, db: join(dir, 'c.db') };
}

describe('certificate harvesting through file import', () => {
  let ctx: AppContext;
  let dir: string;
  beforeAll(async () => {
    dir = join(t.dir, 'a');
    mkdirSync(dir, { recursive: true });
    ctx = openTestApp(dir, config(dir));
  });
  afterAll(async () => await ctx.close());

  it('stores the certificate of a verified signature (first-seen), as .eml and in an mbox', async () => {
    const eml = join(dir, 'first.eml');
    writeFileSync(eml, opensslSigned(pki.rsa, 'Mon, 02 Nov 2026 10:00:00 +0000'));
    const c = await importPaths(ctx, [eml]);
    expect(c.stored).toBe(1);
    const certs = await ctx.store.certificatesOf('alice@example.test');
    expect(certs).toHaveLength(1);
    expect(certs[0]).toMatchObject({ continuity: 'first-seen', trusted: 'configured' });
    expect(String(certs[0]!.pem)).toContain('BEGIN CERTIFICATE');
    const obs = (await ctx.store.observationsOf('alice@example.test'))[0]!;
    expect(obs.smimeMessage).toBe('signed');

    // The same customer in an mbox, an opaque-signed message with a renewed certificate (same key).
    const mbox = join(dir, 'renewal.mbox');
    const msg = opensslSigned(pki.rsaRenewal, 'Tue, 10 Nov 2026 10:00:00 +0000', { opaque: true }).toString('latin1').replace(/\r\n/g, '\n');
    writeFileSync(mbox, `From alice@example.test Tue Nov 10 10:00:00 2026\n${msg}\nFrom other@x Tue Nov 10 11:00:00 2026\nFrom: other@customer.test\nMessage-ID: <plain1@customer.test>\n\nbody\n`, 'latin1');
    const c2 = await importPaths(ctx, [mbox]);
    expect(c2.stored).toBe(2);
    const after = await ctx.store.certificatesOf('alice@example.test');
    expect(after.map((r) => r.continuity)).toEqual(['renewal', 'first-seen']);
    expect((await lookupOne(ctx.store, ctx.config.policy, 'alice@example.test')).keyChanged).toBe(false);
  });

  it('a different key for the same address raises the key-changed flag (lookup, counters)', async () => {
    const eml = join(dir, 'rekey.eml');
    writeFileSync(eml, opensslSigned(pki.rsaRekeyed, 'Fri, 20 Nov 2026 10:00:00 +0000'));
    await importPaths(ctx, [eml]);
    expect((await ctx.store.certificatesOf('alice@example.test'))[0]).toMatchObject({ continuity: 'key-changed' });
    expect((await lookupOne(ctx.store, ctx.config.policy, 'alice@example.test')).keyChanged).toBe(true);
    expect((await ctx.store.getCounters())['certificates:key-changed']).toBe(1);
  });

  it('a tampered signature or a certificate for another address is a warning, never the customer certificate', async () => {
    const bad = opensslSigned(pki.ec, 'Sat, 21 Nov 2026 10:00:00 +0000').toString('latin1').replace('question about my invoice', 'question about my INVOICE');
    writeFileSync(join(dir, 'tampered.eml'), bad, 'latin1');
    writeFileSync(join(dir, 'mismatch.eml'), opensslSigned(pki.otherAddress, 'Sat, 21 Nov 2026 11:00:00 +0000', { from: 'dave@example.test' }));
    await importPaths(ctx, [join(dir, 'tampered.eml'), join(dir, 'mismatch.eml')]);
    expect(await ctx.store.certificatesOf('bob@example.test')).toHaveLength(0);
    expect(await ctx.store.certificatesOf('dave@example.test')).toHaveLength(0);
    const w1 = JSON.parse((await ctx.store.observationsOf('bob@example.test'))[0]!.warnings) as string[];
    const w2 = JSON.parse((await ctx.store.observationsOf('dave@example.test'))[0]!.warnings) as string[];
    expect(w1.some((w) => w.startsWith('smime-cert:'))).toBe(true);
    expect(w2).toContain('smime-cert:address-mismatch');
    expect((await ctx.store.getCounters())['certificates:rejected']).toBe(2);
  });

  it('a message signed by this project is harvested too, and `certs --pem` prints the current certificate', async () => {
    const signer = await loadSigner({ certFile: pki.ec.certFile, keyFile: pki.ec.keyFile, chainFiles: [pki.interCertFile] });
    const plain = Buffer.from(`From: Bob <${pki.ec.email}>\r\nTo: support@company.test\r\nDate: Sun, 22 Nov 2026 10:00:00 +0000\r\nMessage-ID: <ours1@customer.test>\r\nSubject: Hi\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nGrüße\r\n`);
    const signed = await signer.sign(plain);
    writeFileSync(join(dir, 'ours.eml'), signed);
    await importPaths(ctx, [join(dir, 'ours.eml')]);
    expect((await ctx.store.certificatesOf('bob@example.test'))[0]).toMatchObject({ continuity: 'first-seen' });
    const pem = execFileSync(process.execPath, [CLI, '--db', ctx.config.db, 'certs', '--pem', 'BOB@example.test']).toString();
    expect(pem).toBe(pki.ec.certPem.replace(/\r\n/g, '\n').trim() + '\n');
  });
});

/** A program no rule knows: only a signature can show that its user reads S/MIME. */
const UNKNOWN_PROGRAM = 'X-Mailer: Acme Internal Mailer 7.3';

describe('signature evidence and recompute', () => {
  let ctx: AppContext;
  let dir: string;
  beforeAll(() => {
    dir = join(t.dir, 'recompute');
    mkdirSync(dir, { recursive: true });
    ctx = openTestApp(dir, { ...config(dir), trustedAuthservId: 'mx.company.test' });
  });
  afterAll(() => ctx.close());

  it('a signed-looking message with a garbage or missing signature is not S/MIME evidence; a signature that verifies is (issue 12.13)', async () => {
    const forged = (n: number, signature: string) =>
      `From: Mallory <mallory${n}@example.test>\r\nTo: support@company.test\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <forged${n}@customer.test>\r\n${UNKNOWN_PROGRAM}\r\n` +
      `MIME-Version: 1.0\r\nContent-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="b"\r\n\r\n` +
      `--b\r\nContent-Type: text/plain\r\n\r\nI am definitely signed.\r\n${signature}--b--\r\n`;
    writeFileSync(join(dir, 'garbage.eml'), forged(1, '--b\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\nContent-Transfer-Encoding: base64\r\n\r\nR0FSQkFHRSBHQVJCQUdFIEdBUkJBR0U=\r\n'));
    writeFileSync(join(dir, 'missing.eml'), forged(2, ''));
    writeFileSync(join(dir, 'genuine.eml'), opensslSigned(pki.ec, 'Mon, 23 Nov 2026 11:00:00 +0000', { program: UNKNOWN_PROGRAM }));
    const c = await importPaths(ctx, [join(dir, 'garbage.eml'), join(dir, 'missing.eml'), join(dir, 'genuine.eml')]);
    expect(c.stored).toBe(3);
    for (const who of ['mallory1@example.test', 'mallory2@example.test']) {
      expect((await lookupOne(ctx.store, ctx.config.policy, who)).recommendation, who).not.toBe('sign');
      const o = (await ctx.store.observationsOf(who))[0]!;
      expect(o.smimeMessage).toBe('signed');
      expect(JSON.parse(o.warnings)).toContain('smime:unverified-signature');
    }
    expect((await lookupOne(ctx.store, ctx.config.policy, 'bob@example.test')).recommendation).toBe('sign');
  });

  it('recompute with unchanged rules changes nothing on signed, opaque-signed, DMARC-failed and key-changed mail (issue 11)', async () => {
    writeFileSync(join(dir, 'signed.eml'), opensslSigned(pki.rsa, 'Mon, 02 Nov 2026 10:00:00 +0000'));
    writeFileSync(join(dir, 'opaque.eml'), opensslSigned(pki.rsaRenewal, 'Tue, 10 Nov 2026 10:00:00 +0000', { opaque: true }));
    writeFileSync(join(dir, 'rekeyed.eml'), opensslSigned(pki.rsaRekeyed, 'Fri, 20 Nov 2026 10:00:00 +0000'));
    writeFileSync(
      join(dir, 'dmarc-fail.eml'),
      'Authentication-Results: mx.company.test; dmarc=fail header.from=customer.test\r\nFrom: Eve <eve@customer.test>\r\nTo: support@company.test\r\nDate: Sat, 21 Nov 2026 10:00:00 +0000\r\n' +
        'Message-ID: <dmarc1@customer.test>\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:102.0) Gecko/20100101 Thunderbird/102.10.0\r\n\r\nhello\r\n',
    );
    await importPaths(ctx, ['signed.eml', 'opaque.eml', 'rekeyed.eml', 'dmarc-fail.eml'].map((f) => join(dir, f)));
    // The database holds what the test is about.
    const alice = (await ctx.store.observationsOf('alice@example.test'));
    expect(alice.map((o) => o.smimeMessage).sort()).toEqual(['opaque-signed', 'signed', 'signed']);
    expect((await ctx.store.observationsOf('eve@customer.test'))[0]!.authenticated).toBe(0);
    expect((await lookupOne(ctx.store, ctx.config.policy, 'alice@example.test')).keyChanged).toBe(true);
    const warnings = (await ctx.store.observationsOf('mallory1@example.test')).concat(alice, (await ctx.store.observationsOf('eve@customer.test'))).flatMap((o) => JSON.parse(o.warnings) as string[]);
    expect(warnings).toEqual(expect.arrayContaining(['smime-cert:malformed', 'unauthenticated:dmarc-fail']));

    const lookups = () => Promise.all(['alice@example.test', 'bob@example.test', 'eve@customer.test', 'mallory1@example.test', 'mallory2@example.test'].map((a) => lookupOne(ctx.store, ctx.config.policy, a)));
    const dump = () => {
      const d = canonicalDump(ctx.config.db);
      // The decision's expiry is computed from "now", which moves between the two runs.
      return { ...d, addresses: d.addresses.map((a) => ({ ...(a as Record<string, unknown>), decided_until: null })) };
    };
    const before = { dump: dump(), lookups: await lookups() };
    const r = await recompute(ctx);
    expect(r.changed).toBe(0);
    expect(r.observations).toBeGreaterThanOrEqual(7);
    const after = { dump: dump(), lookups: await lookups() };
    expect(after.dump.observations).toEqual(before.dump.observations);
    expect(after.dump.clients).toEqual(before.dump.clients);
    expect(after.dump.addresses).toEqual(before.dump.addresses);
    expect(after.lookups).toEqual(before.lookups);
  });
});
