/**
 * Reads signing key material: PEM certificate + PEM key (PKCS#8, optionally encrypted, or
 * traditional PKCS#1/SEC1) or PKCS#12. Done once per signer, so cost does not matter here;
 * modern files are parsed in-process (pkijs), so a deployment needs only Node; legacy
 * 3DES/RC2 PKCS#12 falls back to one openssl CLI call at load time.
 */
import { spawnSync } from 'node:child_process';
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { AppError } from '../core/index.js';
import { pemBlocks } from './cert-info.js';

export interface KeyMaterialInput {
  certFile?: string;
  certPem?: string;
  keyFile?: string;
  keyPem?: string;
  /** PEM files with intermediate (and optionally root) certificates, leaf-most first. */
  chainFiles?: readonly string[];
  /** PKCS#12 file with key, certificate and optionally chain (instead of cert + key). */
  p12File?: string;
  /** For an encrypted key or the PKCS#12 file. Never logged. */
  passphrase?: string;
}

export interface KeyMaterial {
  readonly key: KeyObject;
  /** Leaf first. */
  readonly certDers: Buffer[];
}

const CERT_LABELS = ['CERTIFICATE', 'X509 CERTIFICATE'];

async function readInput(file: string, what: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (e) {
    throw new AppError('E_INPUT', `cannot read the ${what} file ${file}`, { cause: e });
  }
}

function certsFrom(buf: Buffer, what: string): Buffer[] {
  const text = buf.toString('latin1');
  if (text.includes('-----BEGIN')) {
    const certs = pemBlocks(text, CERT_LABELS);
    if (certs.length === 0) throw new AppError('E_CERT', `the ${what} holds no PEM certificate`);
    return certs;
  }
  // a single DER certificate
  if (buf[0] === 0x30) return [buf];
  throw new AppError('E_CERT', `the ${what} is neither PEM nor DER`);
}

function keyFrom(buf: Buffer, passphrase: string | undefined): KeyObject {
  const text = buf.toString('latin1');
  const encrypted = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(text);
  if (encrypted && passphrase === undefined) {
    throw new AppError('E_SECRET', 'the private key is encrypted but no passphrase was given (CENSUS_SIGN_PASSPHRASE or --passphrase-file)');
  }
  try {
    if (text.includes('-----BEGIN')) return createPrivateKey({ key: text, format: 'pem', passphrase });
    return createPrivateKey({ key: buf, format: 'der', type: 'pkcs8', passphrase });
  } catch (e) {
    if (encrypted) throw new AppError('E_SECRET', 'the private key cannot be decrypted with the given passphrase', { cause: e });
    throw new AppError('E_CERT', 'the private key cannot be read (expected PEM PKCS#8, PKCS#1 or SEC1)', { cause: e });
  }
}

const BAG = {
  keyBag: '1.2.840.113549.1.12.10.1.1',
  shroudedKeyBag: '1.2.840.113549.1.12.10.1.2',
  certBag: '1.2.840.113549.1.12.10.1.3',
};
const ENCRYPTED_DATA = '1.2.840.113549.1.7.6';
const X509_CERT_BAG = '1.2.840.113549.1.9.22.1';

function ab(u: Uint8Array): ArrayBuffer {
  return u.buffer.slice(u.byteOffset, u.byteOffset + u.byteLength) as ArrayBuffer;
}

/** PKCS#12 via pkijs (MAC checked; PBES2/AES as made by OpenSSL 3 and current Windows/macOS exports). */
async function fromPkcs12(buf: Buffer, passphrase: string): Promise<KeyMaterial> {
  const password = ab(Buffer.from(passphrase, 'utf8'));
  let keys: Buffer[] = [];
  const certs: Buffer[] = [];
  try {
    const asn = asn1js.fromBER(ab(buf));
    if (asn.offset === -1) throw new Error('not DER');
    const pfx = new pkijs.PFX({ schema: asn.result });
    await pfx.parseInternalValues({ password, checkIntegrity: true });
    const authSafe = pfx.parsedValue?.authenticatedSafe;
    if (!authSafe) throw new Error('no authenticated safe');
    await authSafe.parseInternalValues({
      safeContents: authSafe.safeContents.map((ci) => (ci.contentType === ENCRYPTED_DATA ? { password } : {})),
    });
    for (const sc of authSafe.parsedValue?.safeContents ?? []) {
      for (const bag of sc.value.safeBags) {
        if (bag.bagId === BAG.shroudedKeyBag) {
          const shrouded = bag.bagValue as pkijs.PKCS8ShroudedKeyBag;
          // typed protected in pkijs 4 but it is the documented way to decrypt the bag
          await (shrouded as unknown as { parseInternalValues(p: { password: ArrayBuffer }): Promise<void> }).parseInternalValues({ password });
          if (shrouded.parsedValue) keys.push(Buffer.from(shrouded.parsedValue.toSchema().toBER(false)));
        } else if (bag.bagId === BAG.keyBag) {
          keys.push(Buffer.from((bag.bagValue as pkijs.PrivateKeyInfo).toSchema().toBER(false)));
        } else if (bag.bagId === BAG.certBag) {
          const cb = bag.bagValue as pkijs.CertBag;
          if (cb.certId === X509_CERT_BAG && cb.parsedValue instanceof pkijs.Certificate) {
            certs.push(Buffer.from(cb.parsedValue.toSchema(true).toBER(false)));
          }
        }
      }
    }
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    if (/integrity|mac|password/i.test(msg)) throw new AppError('E_SECRET', 'the PKCS#12 passphrase is wrong (MAC check failed)', { cause: e });
    // legacy PBE (3DES/RC2, as macOS Keychain and older Windows export) is not in pkijs
    if (/contentEncryptionAlgorithm|encryptionAlgorithm|algorithm/i.test(msg)) return fromLegacyPkcs12(buf, passphrase, e);
    throw new AppError('E_CERT', `the PKCS#12 file cannot be read (${msg})`, { cause: e });
  }
  if (keys.length !== 1) throw new AppError('E_CERT', `the PKCS#12 file holds ${keys.length} private keys; expected exactly one`);
  if (certs.length === 0) throw new AppError('E_CERT', 'the PKCS#12 file holds no certificate');
  const key = createPrivateKey({ key: keys[0]!, format: 'der', type: 'pkcs8' });
  keys = [];
  return { key, certDers: certs };
}

/**
 * Legacy PKCS#12 through the openssl CLI, once at load time (never per message). The file goes
 * in on stdin, the passphrase through the child's environment (never argv), the PEM comes back
 * on stdout and stays in memory.
 */
function fromLegacyPkcs12(buf: Buffer, passphrase: string, cause: unknown): KeyMaterial {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', CENSUS_P12_PASS: passphrase };
  let lastErr = '';
  // -legacy enables RC2 on OpenSSL 3; OpenSSL 1.1 does not know the flag but needs none
  for (const extra of [['-legacy'], []]) {
    const r = spawnSync('openssl', ['pkcs12', '-nodes', '-passin', 'env:CENSUS_P12_PASS', ...extra], { input: buf, env, maxBuffer: 16 * 1024 * 1024 });
    if (r.error) throw new AppError('E_CERT', 'this PKCS#12 file uses legacy encryption (3DES/RC2) and the openssl CLI needed to read it is not available; re-export it with AES', { cause: r.error });
    const stderr = r.stderr.toString();
    if (r.status === 0) {
      const text = r.stdout.toString('latin1');
      const keys = pemBlocks(text, ['PRIVATE KEY', 'RSA PRIVATE KEY', 'EC PRIVATE KEY']);
      const certs = pemBlocks(text, CERT_LABELS);
      if (keys.length !== 1) throw new AppError('E_CERT', `the PKCS#12 file holds ${keys.length} private keys; expected exactly one`);
      if (certs.length === 0) throw new AppError('E_CERT', 'the PKCS#12 file holds no certificate');
      const keyPem = /-----BEGIN ((?:RSA |EC )?PRIVATE KEY)-----[\s\S]*?-----END \1-----/.exec(text)![0];
      return { key: createPrivateKey({ key: keyPem, format: 'pem' }), certDers: certs };
    }
    if (/mac verify|invalid password/i.test(stderr)) throw new AppError('E_SECRET', 'the PKCS#12 passphrase is wrong (MAC check failed)');
    lastErr = stderr.split('\n')[0] ?? '';
  }
  throw new AppError('E_CERT', `the PKCS#12 file cannot be read (${lastErr.trim() || 'openssl failed'})`, { cause });
}

/** Loads and cross-checks nothing yet: just reads the files (validation is the signer's job). */
export async function readKeyMaterial(input: KeyMaterialInput): Promise<KeyMaterial> {
  const chain: Buffer[] = [];
  for (const f of input.chainFiles ?? []) chain.push(...certsFrom(await readInput(f, 'chain'), `chain file ${f}`));
  if (input.p12File) {
    if (input.passphrase === undefined) throw new AppError('E_SECRET', 'a PKCS#12 file needs a passphrase (CENSUS_SIGN_PASSPHRASE or --passphrase-file)');
    const m = await fromPkcs12(await readInput(input.p12File, 'PKCS#12'), input.passphrase);
    return { key: m.key, certDers: [...m.certDers, ...chain] };
  }
  const certBuf = input.certPem !== undefined ? Buffer.from(input.certPem, 'latin1') : input.certFile ? await readInput(input.certFile, 'certificate') : null;
  const keyBuf = input.keyPem !== undefined ? Buffer.from(input.keyPem, 'latin1') : input.keyFile ? await readInput(input.keyFile, 'key') : null;
  if (!certBuf) throw new AppError('E_CERT', 'no signing certificate given (certFile, certPem or p12File)');
  if (!keyBuf) throw new AppError('E_CERT', 'no private key given (keyFile, keyPem or p12File)');
  return { key: keyFrom(keyBuf, input.passphrase), certDers: [...certsFrom(certBuf, 'certificate'), ...chain] };
}
