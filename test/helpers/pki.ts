/**
 * Throwaway PKI for tests, made with the real `openssl` CLI in a temp dir: a root CA, an
 * intermediate CA and leaf certificates for the cases S/MIME code must handle (RSA, EC,
 * expired, not yet valid, no emailProtection, another address, renewal, re-key).
 * Also a throwaway GnuPG home for `gpgsm --verify` (CA imported + trusted, CRL checks off).
 *
 * Shared helper: other test areas may use it. Call `makeTestPki()` once per test file
 * (beforeAll) and `pki.cleanup()` in afterAll.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestLeaf {
  /** The address in the certificate (SAN rfc822Name and subject emailAddress). */
  readonly email: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly certPem: string;
  readonly keyPem: string;
}

export interface TestPki {
  readonly dir: string;
  readonly rootCertFile: string;
  readonly rootCertPem: string;
  readonly interCertFile: string;
  readonly interCertPem: string;
  /** Intermediate + root, PEM concatenated (what a signer passes as its chain). */
  readonly chainFile: string;
  /** Valid RSA-2048 leaf for alice@example.test. */
  readonly rsa: TestLeaf;
  /** Valid ECDSA P-256 leaf for bob@example.test. */
  readonly ec: TestLeaf;
  /** RSA leaf whose validity ended in 2021. */
  readonly expired: TestLeaf;
  /** RSA leaf valid only from 2099. */
  readonly notYetValid: TestLeaf;
  /** RSA leaf with extendedKeyUsage clientAuth only. */
  readonly noEmailProtection: TestLeaf;
  /** Valid RSA leaf for mallory@example.test. */
  readonly otherAddress: TestLeaf;
  /** Valid leaf for alice@example.test with alice's key (`rsa`) but a new serial and dates. */
  readonly rsaRenewal: TestLeaf;
  /** Valid leaf for alice@example.test with a NEW key and a different subject (another CA-issued identity). */
  readonly rsaRekeyed: TestLeaf;
  /** Valid leaf for alice@example.test with a NEW key but the same subject and issuer as `rsa` (re-keyed renewal). */
  readonly rsaRekeyedSameSubject: TestLeaf;
  /** Valid RSA leaf for carol@example.test expiring in 10 days. */
  readonly expiringSoon: TestLeaf;
  /** Valid leaf for alice@example.test issued by an unrelated self-made CA (untrusted). */
  readonly foreign: TestLeaf;
  readonly foreignRootCertPem: string;
  /** alice (`rsa`) as PKCS#12 with chain, passphrase `P12_PASSPHRASE`. */
  readonly rsaP12File: string;
  /** alice (`rsa`) as legacy PKCS#12 (RC2-40 certificates, 3DES key: older Windows/macOS exports), passphrase `P12_PASSPHRASE`. */
  readonly rsaLegacyP12File: string;
  /** alice's key as encrypted PKCS#8 PEM, passphrase `P12_PASSPHRASE`. */
  readonly rsaEncryptedKeyFile: string;
  /** Runs openssl with the given args in the PKI dir; returns stdout. */
  openssl(args: string[], input?: Buffer | string): Buffer;
  cleanup(): void;
}

export const P12_PASSPHRASE = 'correct horse battery staple';

function run(cwd: string, args: string[], input?: Buffer | string, env?: NodeJS.ProcessEnv): Buffer {
  try {
    return execFileSync('openssl', args, { cwd, input, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new Error(`openssl ${args.join(' ')} failed: ${err.stderr?.toString() ?? err.message}`);
  }
}

const CA_CNF = `
[ ca ]
default_ca = CA_default
[ CA_default ]
dir = .
database = index.txt
new_certs_dir = newcerts
serial = serial
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
email_in_dn = yes
default_days = 365
[ policy_any ]
commonName = supplied
emailAddress = optional
organizationName = optional
`;

function leafExt(email: string, eku: string): string {
  return `[ leaf ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation, keyEncipherment
extendedKeyUsage = ${eku}
subjectAltName = email:${email}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;
}

function gen(dir: string, name: string, kind: 'rsa' | 'ec'): string {
  const keyFile = join(dir, `${name}.key`);
  if (kind === 'rsa') run(dir, ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', keyFile]);
  else run(dir, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', keyFile]);
  return keyFile;
}

function stamp(d: Date): string {
  return d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
}

/** Makes the whole throwaway PKI (about a second: a handful of RSA key generations). */
export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'smime-pki-'));
  const o = (args: string[], input?: Buffer | string) => run(dir, args, input);

  // root CA
  const rootKey = gen(dir, 'root', 'rsa');
  const rootCertFile = join(dir, 'root.pem');
  o(['req', '-x509', '-new', '-key', rootKey, '-days', '3650', '-subj', '/O=smime-census tests/CN=Test Root CA', '-out', rootCertFile,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-addext', 'subjectKeyIdentifier=hash']);

  // intermediate CA, signed by root
  const interKey = gen(dir, 'inter', 'rsa');
  const interCsr = join(dir, 'inter.csr');
  const interCertFile = join(dir, 'inter.pem');
  o(['req', '-new', '-key', interKey, '-subj', '/O=smime-census tests/CN=Test Intermediate CA', '-out', interCsr]);
  writeFileSync(join(dir, 'inter.ext'), `[ v3 ]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`);
  o(['x509', '-req', '-in', interCsr, '-CA', rootCertFile, '-CAkey', rootKey, '-CAcreateserial', '-days', '1825', '-extfile', 'inter.ext', '-extensions', 'v3', '-out', interCertFile]);
  const chainFile = join(dir, 'chain.pem');
  writeFileSync(chainFile, readFileSync(interCertFile, 'utf8') + readFileSync(rootCertFile, 'utf8'));

  // `openssl ca` (not `x509 -req`) because it can set arbitrary start and end dates
  const caDir = join(dir, 'ca');
  mkdirSync(join(caDir, 'newcerts'), { recursive: true });
  writeFileSync(join(caDir, 'index.txt'), '');
  writeFileSync(join(caDir, 'serial'), '1000\n');
  writeFileSync(join(caDir, 'ca.cnf'), CA_CNF);

  const issue = (
    name: string,
    email: string,
    opts: { keyFile?: string; kind?: 'rsa' | 'ec'; eku?: string; start?: Date; end?: Date; cn?: string; issuerCert?: string; issuerKey?: string } = {},
  ): TestLeaf => {
    const keyFile = opts.keyFile ?? gen(dir, name, opts.kind ?? 'rsa');
    const csr = join(dir, `${name}.csr`);
    const certFile = join(dir, `${name}.pem`);
    o(['req', '-new', '-key', keyFile, '-subj', `/CN=${opts.cn ?? name}/emailAddress=${email}`, '-out', csr]);
    writeFileSync(join(caDir, `${name}.ext`), leafExt(email, opts.eku ?? 'emailProtection'));
    const now = Date.now();
    const start = opts.start ?? new Date(now - 86400_000);
    const end = opts.end ?? new Date(now + 365 * 86400_000);
    run(caDir, ['ca', '-batch', '-config', 'ca.cnf', '-rand_serial', '-notext', '-preserveDN',
      '-cert', opts.issuerCert ?? interCertFile, '-keyfile', opts.issuerKey ?? interKey,
      '-startdate', stamp(start), '-enddate', stamp(end),
      '-extfile', `${name}.ext`, '-extensions', 'leaf', '-in', csr, '-out', certFile]);
    return { email, certFile, keyFile, certPem: readFileSync(certFile, 'utf8'), keyPem: readFileSync(keyFile, 'utf8') };
  };

  const rsa = issue('alice', 'alice@example.test', { cn: 'Alice Example' });
  const ec = issue('bob', 'bob@example.test', { kind: 'ec', cn: 'Bob Example' });
  const expired = issue('expired', 'alice@example.test', { start: new Date('2020-01-01T00:00:00Z'), end: new Date('2021-01-01T00:00:00Z') });
  const notYetValid = issue('notyet', 'alice@example.test', { start: new Date('2099-01-01T00:00:00Z'), end: new Date('2099-12-31T00:00:00Z') });
  const noEmailProtection = issue('noeku', 'alice@example.test', { eku: 'clientAuth' });
  const otherAddress = issue('mallory', 'mallory@example.test', { cn: 'Mallory' });
  const rsaRenewal = issue('alice-renewed', 'alice@example.test', { keyFile: rsa.keyFile, cn: 'Alice Example', start: new Date(Date.now() - 3600_000) });
  const rsaRekeyed = issue('alice-rekeyed', 'alice@example.test', { cn: 'Alice Example (new laptop)' });
  const rsaRekeyedSameSubject = issue('alice-rekeyed-same', 'alice@example.test', { cn: 'Alice Example' });
  const expiringSoon = issue('carol', 'carol@example.test', { cn: 'Carol', end: new Date(Date.now() + 10 * 86400_000) });

  // an unrelated CA nobody configured
  const foreignKey = gen(dir, 'foreign-root', 'rsa');
  const foreignRoot = join(dir, 'foreign-root.pem');
  o(['req', '-x509', '-new', '-key', foreignKey, '-days', '3650', '-subj', '/CN=Foreign Root CA', '-out', foreignRoot,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-addext', 'subjectKeyIdentifier=hash']);
  const foreign = issue('foreign-alice', 'alice@example.test', { cn: 'Alice Example', issuerCert: foreignRoot, issuerKey: foreignKey });

  const env = { PKI_PASS: P12_PASSPHRASE };
  const rsaP12File = join(dir, 'alice.p12');
  run(dir, ['pkcs12', '-export', '-inkey', rsa.keyFile, '-in', rsa.certFile, '-certfile', chainFile, '-name', 'alice', '-passout', 'env:PKI_PASS', '-out', rsaP12File], undefined, env);
  const rsaLegacyP12File = join(dir, 'alice-legacy.p12');
  run(dir, ['pkcs12', '-export', '-legacy', '-inkey', rsa.keyFile, '-in', rsa.certFile, '-certfile', chainFile, '-name', 'alice', '-passout', 'env:PKI_PASS', '-out', rsaLegacyP12File], undefined, env);
  const rsaEncryptedKeyFile = join(dir, 'alice.enc.key');
  run(dir, ['pkcs8', '-topk8', '-v2', 'aes-256-cbc', '-in', rsa.keyFile, '-passout', 'env:PKI_PASS', '-out', rsaEncryptedKeyFile], undefined, env);

  return {
    dir,
    rootCertFile,
    rootCertPem: readFileSync(rootCertFile, 'utf8'),
    interCertFile,
    interCertPem: readFileSync(interCertFile, 'utf8'),
    chainFile,
    rsa, ec, expired, notYetValid, noEmailProtection, otherAddress, rsaRenewal, rsaRekeyed, rsaRekeyedSameSubject, expiringSoon, foreign,
    foreignRootCertPem: readFileSync(foreignRoot, 'utf8'),
    rsaP12File,
    rsaLegacyP12File,
    rsaEncryptedKeyFile,
    openssl: (args, input) => run(dir, args, input),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Result of verifying with openssl or gpgsm: ok + the tool's own words for the failure message. */
export interface ToolVerdict {
  readonly ok: boolean;
  readonly output: string;
}

/**
 * `openssl cms -verify` on a whole message (S/MIME parsing by openssl, no -binary), against
 * the test root, requiring the S/MIME signing purpose. Returns the verified content on ok.
 */
export function opensslVerifyMessage(pki: TestPki, message: Buffer, extraArgs: string[] = []): ToolVerdict & { content: Buffer } {
  const file = join(pki.dir, `verify-${process.pid}-${Math.random().toString(36).slice(2)}.eml`);
  writeFileSync(file, message);
  const r = spawnSync('openssl', ['cms', '-verify', '-in', file, '-CAfile', pki.rootCertFile, '-purpose', 'smimesign', ...extraArgs], { cwd: pki.dir });
  rmSync(file, { force: true });
  const stderr = r.stderr.toString();
  return { ok: r.status === 0 && /Verification successful/.test(stderr), output: stderr, content: r.stdout };
}

export interface GpgsmHome {
  readonly home: string;
  /** `gpgsm --verify SIG DATA`: ok only with GOODSIG + VALIDSIG and a trusted chain. */
  verify(signature: Buffer, signedPart: Buffer): ToolVerdict;
  /** Stops the gpg-agent started for this home and removes it. */
  cleanup(): void;
}

/**
 * A temp GNUPGHOME for gpgsm: root + intermediate imported, the root listed in trustlist.txt,
 * CRL checks off (the throwaway CA publishes none), and a gpg-agent launched for that home
 * (gpgsm needs one even to verify); `cleanup()` kills exactly that agent.
 */
export function makeGpgsmHome(pki: TestPki): GpgsmHome {
  // short path: the agent's socket path must fit in sockaddr_un
  const home = mkdtempSync(join(tmpdir(), 'gsm-'));
  writeFileSync(join(home, 'gpgsm.conf'), 'disable-crl-checks\ndisable-dirmngr\n');
  writeFileSync(join(home, 'gpg-agent.conf'), 'allow-mark-trusted\n');
  const env = { ...process.env, GNUPGHOME: home };
  execFileSync('gpgconf', ['--homedir', home, '--launch', 'gpg-agent'], { env });
  execFileSync('gpgsm', ['--batch', '--import', pki.rootCertFile, pki.interCertFile], { env, stdio: 'pipe' });
  const fpr = pki.openssl(['x509', '-in', pki.rootCertFile, '-noout', '-fingerprint', '-sha1']).toString().trim().split('=')[1];
  writeFileSync(join(home, 'trustlist.txt'), `${fpr} S relax\n`);
  return {
    home,
    verify(signature, signedPart) {
      const tag = Math.random().toString(36).slice(2);
      const sigFile = join(home, `sig-${tag}.p7s`);
      const dataFile = join(home, `data-${tag}`);
      writeFileSync(sigFile, signature);
      writeFileSync(dataFile, signedPart);
      const r = spawnSync('gpgsm', ['--batch', '--status-fd', '1', '--verify', sigFile, dataFile], { env });
      rmSync(sigFile, { force: true });
      rmSync(dataFile, { force: true });
      const out = r.stdout.toString() + r.stderr.toString();
      const ok = r.status === 0 && /\[GNUPG:\] GOODSIG/.test(out) && /\[GNUPG:\] VALIDSIG/.test(out) && !/\[GNUPG:\] (BADSIG|ERRSIG|TRUST_UNDEFINED|TRUST_NEVER)/.test(out);
      return { ok, output: out };
    },
    cleanup() {
      spawnSync('gpgconf', ['--homedir', home, '--kill', 'gpg-agent'], { env });
      rmSync(home, { recursive: true, force: true });
    },
  };
}
