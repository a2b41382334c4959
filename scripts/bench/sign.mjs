// S/MIME signing throughput (4 KB messages, RSA-2048), compared in the same run against
//  - the floor: bare crypto.sign('sha256', message, key) with the same key (target >= 0.7x),
//  - a peer: `openssl cms -sign` started once per message (report the ratio; expect > 3x),
//  - for reference: a straightforward pkijs SignedData build per message (what the template replaces).
// Imports the BUILT code: run `npm run build` first.
import { execFileSync, spawnSync } from 'node:child_process';
import { createPrivateKey, sign as cryptoSign, webcrypto } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';

const { loadSigner } = await import('../../dist/sign/index.js');

function message4k() {
  const line = 'The quick brown fox jumps over the lazy dog; invoice line item 0042 paid.\n';
  let body = '';
  while (body.length < 4096 - 200) body += line;
  return Buffer.from(`From: Bench <bench@example.test>\nTo: customer@example.test\nSubject: Your invoice\nMIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n${body}`);
}

/** ops/s: median over `repeats` runs of `n` calls. */
async function rate(ctx, n, repeats, fn) {
  const ms = await ctx.timeMedian(async () => {
    for (let i = 0; i < n; i++) await fn();
  }, repeats);
  return (n / ms) * 1000;
}

export default async function (ctx) {
  const dir = ctx.tmp('sign-');
  const keyFile = join(dir, 'k.pem');
  const certFile = join(dir, 'c.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '30',
    '-subj', '/CN=bench/emailAddress=bench@example.test', '-addext', 'extendedKeyUsage=emailProtection',
    '-addext', 'subjectAltName=email:bench@example.test', '-addext', 'keyUsage=critical,digitalSignature'], { stdio: 'pipe' });
  const signer = await loadSigner({ certFile, keyFile });
  const key = createPrivateKey(readFileSync(keyFile));
  const msg = message4k();
  const msgFile = join(dir, 'm.eml');
  writeFileSync(msgFile, msg);

  // sanity (not timed): the benchmarked output verifies with openssl
  const outFile = join(dir, 'signed.eml');
  writeFileSync(outFile, signer.sign(msg));
  const v = spawnSync('openssl', ['cms', '-verify', '-in', outFile, '-noverify', '-out', '/dev/null']);
  if (v.status !== 0) throw new Error('benchmark output does not verify: ' + v.stderr);

  const n = ctx.quick ? 400 : 1000;
  const repeats = ctx.quick ? 7 : 11;
  // interleaved batches: the machine is shared, so floor and ours must see the same load;
  // the reported ratio is the median of per-round ratios
  const floors = [];
  const ourRates = [];
  const ratios = [];
  const batch = (fn) => {
    const t = performance.now();
    for (let i = 0; i < n; i++) fn();
    return (n / (performance.now() - t)) * 1000;
  };
  // warm-up: JIT and the first GC cycles would otherwise count against whichever runs first
  for (let i = 0; i < 3; i++) {
    batch(() => cryptoSign('sha256', msg, key));
    batch(() => signer.sign(msg));
  }
  for (let r = 0; r < repeats; r++) {
    const f = batch(() => cryptoSign('sha256', msg, key));
    const o = batch(() => signer.sign(msg));
    floors.push(f);
    ourRates.push(o);
    ratios.push(o / f);
  }
  const floor = ctx.median(floors);
  const ours = ctx.median(ourRates);
  const floorRatio = ctx.median(ratios);

  // straightforward pkijs build per message (reference for the template's gain)
  const cryptoKey = await webcrypto.subtle.importKey('pkcs8', key.export({ type: 'pkcs8', format: 'der' }), { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign']);
  const certDer = readFileSync(certFile, 'latin1').replace(/-----[^-]+-----|\s/g, '');
  const cert = new pkijs.Certificate({ schema: asn1js.fromBER(Buffer.from(certDer, 'base64')).result });
  const pkijsOnce = async () => {
    const digest = new Uint8Array(await webcrypto.subtle.digest('SHA-256', msg));
    const sd = new pkijs.SignedData({
      version: 1,
      encapContentInfo: new pkijs.EncapsulatedContentInfo({ eContentType: '1.2.840.113549.1.7.1' }),
      signerInfos: [new pkijs.SignerInfo({
        version: 1,
        sid: new pkijs.IssuerAndSerialNumber({ issuer: cert.issuer, serialNumber: cert.serialNumber }),
        signedAttrs: new pkijs.SignedAndUnsignedAttributes({ type: 0, attributes: [
          new pkijs.Attribute({ type: '1.2.840.113549.1.9.3', values: [new asn1js.ObjectIdentifier({ value: '1.2.840.113549.1.7.1' })] }),
          new pkijs.Attribute({ type: '1.2.840.113549.1.9.5', values: [new asn1js.UTCTime({ valueDate: new Date() })] }),
          new pkijs.Attribute({ type: '1.2.840.113549.1.9.4', values: [new asn1js.OctetString({ valueHex: digest })] }),
        ] }),
      })],
      certificates: [cert],
    });
    await sd.sign(cryptoKey, 0, 'SHA-256');
    return new pkijs.ContentInfo({ contentType: '1.2.840.113549.1.7.2', content: sd.toSchema(true) }).toSchema().toBER(false);
  };
  const pkijsRate = await rate(ctx, ctx.quick ? 50 : 200, ctx.quick ? 3 : 5, pkijsOnce);

  // openssl cms -sign, one process per message (what a shell-out integration costs)
  const m = ctx.quick ? 10 : 50;
  const t0 = performance.now();
  for (let i = 0; i < m; i++) {
    const r = spawnSync('openssl', ['cms', '-sign', '-in', msgFile, '-signer', certFile, '-inkey', keyFile, '-md', 'sha256', '-out', join(dir, 'o.eml')]);
    if (r.status !== 0) throw new Error('openssl cms -sign failed: ' + r.stderr);
  }
  const opensslRate = (m / (performance.now() - t0)) * 1000;

  ctx.log(`floor crypto.sign ${floor.toFixed(0)}/s, ours ${ours.toFixed(0)}/s, pkijs build ${pkijsRate.toFixed(0)}/s, openssl process ${opensslRate.toFixed(0)}/s`);
  return [
    { name: 'sign 4KB RSA-2048 vs bare crypto.sign', value: ours, unit: 'msg/s', baseline: floor, ratio: floorRatio, target: '>= 0.7x', pass: floorRatio >= 0.7 },
    { name: 'sign 4KB RSA-2048 vs openssl cms -sign per message', value: ours, unit: 'msg/s', baseline: opensslRate, ratio: ours / opensslRate, target: '>= 3x', pass: ours / opensslRate >= 3 },
    { name: 'sign 4KB RSA-2048 vs straightforward pkijs build (info)', value: ours, unit: 'msg/s', baseline: pkijsRate, ratio: ours / pkijsRate, target: 'info' },
  ];
}
