// Real S/MIME for benchmark data, made with the openssl CLI (never with our own signing code):
// a test root CA, an intermediate CA and an unrelated "foreign" root nobody trusts; signers with
// RSA-2048 and ECDSA P-256 keys, issued by the root (no chain needed) or by the intermediate (the
// signature carries the chain), some expired, some from the untrusted root; each signer's bodies
// are signed detached (multipart/signed) or opaque (application/pkcs7-mime signed-data).
//
// Signing covers the MIME entity only, not the message header, so one signed body per signer
// can be reused under many header blocks (Message-ID, Date, client fields) and still verify.
// Made once per `npm run bench` run (ctx.cacheDir) and shared by the benchmarks that need it.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Signer kinds and their shares of all signers. */
export const SIGNER_KINDS = [
  { kind: 'rsa-root', share: 0.25, key: 'rsa', issuer: 'root', valid: true },
  { kind: 'rsa-chain', share: 0.25, key: 'rsa', issuer: 'inter', valid: true },
  { kind: 'ec-root', share: 0.15, key: 'ec', issuer: 'root', valid: true },
  { kind: 'ec-chain', share: 0.15, key: 'ec', issuer: 'inter', valid: true },
  { kind: 'expired', share: 0.1, key: 'rsa', issuer: 'inter', valid: false },
  { kind: 'untrusted', share: 0.1, key: 'ec', issuer: 'foreign', valid: false },
];
/** Share of signed bodies sent opaque-signed (the rest multipart/signed). */
export const OPAQUE_SHARE = 0.2;

const CA_CNF = `[ ca ]
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
[ policy_any ]
commonName = supplied
emailAddress = optional
`;

const CA_EXT = `[ v3 ]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;

function stamp(d) {
  return d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
}

/**
 * The signed pool: { dir, rootCertFile, signers: [{ address, kind, valid, bodies: [{ form,
 * headers: string[], body: string }] }] }, LF line endings (generators convert as needed).
 */
export function smimePool(cacheDir, { signers = 120, bodiesPerSigner = 2 } = {}) {
  const dir = join(cacheDir, `smime-pool-${signers}-${bodiesPerSigner}`);
  const index = join(dir, 'pool.json');
  if (existsSync(index)) return JSON.parse(readFileSync(index, 'utf8'));
  mkdirSync(join(dir, 'ca', 'newcerts'), { recursive: true });
  const o = (args, cwd = dir) => execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const key = (name, kind) => {
    const f = join(dir, `${name}.key`);
    if (kind === 'rsa') o(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', f]);
    else o(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', f]);
    return f;
  };
  const root = (name, cn) => {
    const k = key(name, 'rsa');
    const c = join(dir, `${name}.pem`);
    o(['req', '-x509', '-new', '-key', k, '-days', '3650', '-subj', `/O=smime-census bench/CN=${cn}`, '-out', c,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-addext', 'subjectKeyIdentifier=hash']);
    return { key: k, cert: c };
  };
  const rootCa = root('root', 'Bench Root CA');
  const foreign = root('foreign', 'Foreign Root CA');
  const interKey = key('inter', 'rsa');
  const interCert = join(dir, 'inter.pem');
  o(['req', '-new', '-key', interKey, '-subj', '/O=smime-census bench/CN=Bench Intermediate CA', '-out', join(dir, 'inter.csr')]);
  writeFileSync(join(dir, 'inter.ext'), CA_EXT);
  o(['x509', '-req', '-in', 'inter.csr', '-CA', rootCa.cert, '-CAkey', rootCa.key, '-CAcreateserial', '-days', '1825', '-extfile', 'inter.ext', '-extensions', 'v3', '-out', interCert]);
  const caDir = join(dir, 'ca');
  writeFileSync(join(caDir, 'index.txt'), '');
  writeFileSync(join(caDir, 'serial'), '1000\n');
  writeFileSync(join(caDir, 'ca.cnf'), CA_CNF);
  const issuers = { root: rootCa, inter: { key: interKey, cert: interCert }, foreign };

  const out = { dir, rootCertFile: rootCa.cert, signers: [] };
  // Kinds assigned by cumulative share, interleaved so any prefix of signers has every kind.
  const cum = [];
  let acc = 0;
  for (const k of SIGNER_KINDS) cum.push([(acc += k.share), k]);
  const now = Date.now();
  for (let s = 0; s < signers; s++) {
    const u = ((s * 0.6180339887) % 1 + 1) % 1;
    const k = cum.find(([c]) => u < c)?.[1] ?? SIGNER_KINDS[0];
    const address = `signer${s}@smime${s % 13}.example`;
    const name = `leaf${s}`;
    const lk = key(name, k.key);
    o(['req', '-new', '-key', lk, '-subj', `/CN=Signer ${s}/emailAddress=${address}`, '-out', join(dir, `${name}.csr`)]);
    writeFileSync(join(caDir, `${name}.ext`), `[ leaf ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation, keyEncipherment
extendedKeyUsage = emailProtection
subjectAltName = email:${address}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`);
    const start = k.kind === 'expired' ? new Date('2021-01-01T00:00:00Z') : new Date(now - 30 * 86400_000);
    const end = k.kind === 'expired' ? new Date('2022-01-01T00:00:00Z') : new Date(now + 365 * 86400_000);
    const iss = issuers[k.issuer];
    const cert = join(dir, `${name}.pem`);
    o(['ca', '-batch', '-config', 'ca.cnf', '-rand_serial', '-notext', '-preserveDN', '-cert', iss.cert, '-keyfile', iss.key,
      '-startdate', stamp(start), '-enddate', stamp(end), '-extfile', `${name}.ext`, '-extensions', 'leaf', '-in', join(dir, `${name}.csr`), '-out', cert], caDir);
    const bodies = [];
    for (let b = 0; b < bodiesPerSigner; b++) {
      const opaque = ((s * bodiesPerSigner + b + 1) * 0.7548776662) % 1 < OPAQUE_SHARE;
      const content = join(dir, `${name}-${b}.txt`);
      writeFileSync(
        content,
        `Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\nHello,\r\n\r\nticket ${s}-${b}: the signed invoice copy did not arrive, please resend it.\r\nI have attached nothing; my mail program signs every message I send.\r\n\r\nRegards,\r\nSigner ${s}\r\n`,
      );
      const args = ['cms', '-sign', '-in', content, '-signer', cert, '-inkey', lk, '-md', 'sha256'];
      if (k.issuer !== 'root') args.push('-certfile', iss.cert); // the chain travels in the signature
      if (opaque) args.push('-nodetach');
      const signed = o(args).toString('latin1').replace(/\r\n/g, '\n');
      const cut = signed.indexOf('\n\n');
      const headers = [];
      for (const line of signed.slice(0, cut).split('\n')) {
        if (/^[ \t]/.test(line) && headers.length) headers[headers.length - 1] += '\n' + line;
        else headers.push(line);
      }
      bodies.push({ form: opaque ? 'opaque' : 'detached', headers, body: signed.slice(cut + 2) });
    }
    out.signers.push({ address, kind: k.kind, valid: k.valid, bodies });
  }
  writeFileSync(index, JSON.stringify(out));
  return out;
}
