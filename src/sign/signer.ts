/**
 * S/MIME signer: detached CMS SignedData (RFC 5652) in multipart/signed (RFC 8551 section 3.5).
 *
 * Speed: everything that is constant per key (certificates, signer identifier, algorithm
 * identifiers, the DER of the contentType and SMIMECapabilities attributes) is encoded once
 * in `buildTemplate`; per message we only hash the content, encode two attributes of fixed
 * shape, sort the attribute SET (DER), sign it with node:crypto and splice lengths. The
 * template's output is checked byte-for-byte against a full pkijs build in the tests.
 */
import { createHash, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { AppError } from '../core/index.js';
import { describeCertificate, type CertInfo } from './cert-info.js';
import { derTime, oid, tlv, TAG } from './der.js';
import { readKeyMaterial, type KeyMaterialInput } from './key-material.js';
import { firstAddress, findHeader, headerValue, toCrlf } from './mime.js';
import { prepareForSigning, randomBoundary, encodeBase64Lines } from './canon.js';
import { OID } from './oids.js';

/** Warn from this many days before the certificate expires. */
export const EXPIRY_WARNING_DAYS = 30;
/** Largest message we sign; bigger outbound mail is refused rather than buffered without bound. */
export const MAX_SIGN_MESSAGE_BYTES = 25 * 1024 * 1024;
const DAY_MS = 86_400_000;

/** Minimal logger shape (pino satisfies it). */
export interface SignLogger {
  warn(obj: object, msg?: string): void;
  info?(obj: object, msg?: string): void;
  debug?(obj: object, msg?: string): void;
}

export interface SignerStatus {
  readonly notAfter: Date;
  readonly daysLeft: number;
  /** True from EXPIRY_WARNING_DAYS before expiry (and after it). */
  readonly expiringSoon: boolean;
  readonly subject: string;
  readonly fingerprint: string;
}

/** Counters/gauges the HTTP layer can expose as metrics. */
export interface SignerMetrics {
  signedTotal: number;
  refusedTotal: number;
}

export interface Signer {
  /** Signs a whole RFC 5322 message; returns the multipart/signed message (CRLF). Throws E_CERT/E_SIGN/E_LIMIT. */
  sign(message: Uint8Array, options?: { signingTime?: Date; boundary?: string }): Buffer;
  /** As sign(), with the RSA/ECDSA operation on the thread pool: a server keeps serving while it runs. Same output. */
  signAsync(message: Uint8Array, options?: { signingTime?: Date; boundary?: string }): Promise<Buffer>;
  /** The raw CMS SignedData (DER) over already-canonical entity bytes (detached). */
  signDetached(entity: Uint8Array, signingTime?: Date): Buffer;
  readonly certificate: CertInfo;
  readonly chain: readonly CertInfo[];
  /** Lower-cased addresses the certificate is valid for. */
  readonly addresses: readonly string[];
  status(now?: Date): SignerStatus;
  readonly metrics: Readonly<SignerMetrics>;
}

export interface LoadSignerOptions extends KeyMaterialInput {
  /** Also refuse at load time when this From address is not in the certificate. */
  from?: string;
  logger?: SignLogger;
  /** Clock for validity checks (tests). */
  now?: () => Date;
  /** SMIMECapabilities to advertise, most preferred first (OIDs). Default: AES-256/128 GCM and CBC. */
  capabilities?: readonly string[];
}

const DEFAULT_CAPABILITIES: readonly string[] = [OID.aes256Gcm, OID.aes128Gcm, OID.aes256Cbc, OID.aes128Cbc];

let lastSigner: Signer | null = null;

/**
 * The expiry status of the most recently loaded signer (for /healthz and metrics), or of the
 * given one; null when no signer was loaded in this process.
 */
export function signerStatus(signer?: Signer, now = new Date()): SignerStatus | null {
  const s = signer ?? lastSigner;
  return s ? s.status(now) : null;
}

function statusOf(cert: CertInfo, now: Date): SignerStatus {
  const daysLeft = Math.floor((cert.notAfter.getTime() - now.getTime()) / DAY_MS);
  return { notAfter: cert.notAfter, daysLeft, expiringSoon: daysLeft < EXPIRY_WARNING_DAYS, subject: cert.subject, fingerprint: cert.fingerprint };
}

function checkValidity(cert: CertInfo, now: Date): void {
  if (now < cert.notBefore) throw new AppError('E_CERT', `the signing certificate is not valid before ${cert.notBefore.toISOString()}`);
  if (now > cert.notAfter) throw new AppError('E_CERT', `the signing certificate expired on ${cert.notAfter.toISOString()}`);
}

/** The constant DER pieces of one signer. */
interface Template {
  readonly signedDataPrefix: Buffer;
  readonly signerInfoPrefix: Buffer;
  readonly signatureAlgorithm: Buffer;
  readonly contentTypeAttr: Buffer;
  readonly capabilitiesAttr: Buffer;
}

const ATTR_SIGNING_TIME_OID = oid(OID.signingTime);
const ATTR_MESSAGE_DIGEST_OID = oid(OID.messageDigest);

function buildTemplate(cert: CertInfo, chain: readonly CertInfo[], capabilities: readonly string[]): Template {
  const digestAlg = tlv(TAG.SEQUENCE, oid(OID.sha256)); // parameters absent (RFC 5754 section 2)
  const version1 = tlv(TAG.INTEGER, Buffer.from([1]));
  const encapContentInfo = tlv(TAG.SEQUENCE, oid(OID.data)); // detached: no eContent
  const certificates = tlv(TAG.CTX0, cert.der, ...chain.map((c) => c.der));
  const signedDataPrefix = Buffer.concat([version1, tlv(TAG.SET, digestAlg), encapContentInfo, certificates]);
  const sid = tlv(TAG.SEQUENCE, cert.issuerDer, cert.serialDer);
  const signerInfoPrefix = Buffer.concat([version1, sid, digestAlg]);
  const signatureAlgorithm =
    cert.keyAlgorithm === 'rsa'
      ? tlv(TAG.SEQUENCE, oid(OID.rsaEncryption), Buffer.from([TAG.NULL, 0]))
      : tlv(TAG.SEQUENCE, oid(OID.ecdsaWithSha256));
  const contentTypeAttr = tlv(TAG.SEQUENCE, oid(OID.contentType), tlv(TAG.SET, oid(OID.data)));
  const caps = capabilities.map((c) => tlv(TAG.SEQUENCE, oid(c)));
  const capabilitiesAttr = tlv(TAG.SEQUENCE, oid(OID.smimeCapabilities), tlv(TAG.SET, tlv(TAG.SEQUENCE, ...caps)));
  return { signedDataPrefix, signerInfoPrefix, signatureAlgorithm, contentTypeAttr, capabilitiesAttr };
}

/** DER SET OF: elements in ascending order of their encodings (X.690 section 11.6). */
function derSetOf(elements: Buffer[]): Buffer {
  return Buffer.concat(elements.sort(Buffer.compare));
}

/** The signed attributes (DER SET OF content) for one message digest. */
function signedAttrs(t: Template, digest: Buffer, signingTime: Date): Buffer {
  return derSetOf([
    t.contentTypeAttr,
    tlv(TAG.SEQUENCE, ATTR_SIGNING_TIME_OID, tlv(TAG.SET, derTime(signingTime))),
    tlv(TAG.SEQUENCE, ATTR_MESSAGE_DIGEST_OID, tlv(TAG.SET, tlv(TAG.OCTET_STRING, digest))),
    t.capabilitiesAttr,
  ]);
}

/** ContentInfo(SignedData) around the attributes and their signature. */
function assembleSignedData(t: Template, attrs: Buffer, signature: Buffer): Buffer {
  const signerInfo = tlv(TAG.SEQUENCE, t.signerInfoPrefix, tlv(TAG.CTX0, attrs), t.signatureAlgorithm, tlv(TAG.OCTET_STRING, signature));
  const signedData = tlv(TAG.SEQUENCE, t.signedDataPrefix, tlv(TAG.SET, signerInfo));
  return tlv(TAG.SEQUENCE, oid(OID.signedData), tlv(TAG.CTX0, signedData));
}

function signedDataDer(t: Template, key: KeyObject, digest: Buffer, signingTime: Date): Buffer {
  const attrs = signedAttrs(t, digest, signingTime);
  // the signature is over the attributes encoded as a SET (tag 0x31), not as the [0] IMPLICIT field
  return assembleSignedData(t, attrs, cryptoSign('sha256', tlv(TAG.SET, attrs), key));
}

/** As signedDataDer, with the private-key operation on libuv's thread pool (off the event loop). */
function signedDataDerAsync(t: Template, key: KeyObject, digest: Buffer, signingTime: Date): Promise<Buffer> {
  const attrs = signedAttrs(t, digest, signingTime);
  return new Promise((resolve, reject) =>
    cryptoSign('sha256', tlv(TAG.SET, attrs), key, (err, signature) => (err ? reject(err) : resolve(assembleSignedData(t, attrs, signature)))),
  );
}

function describeOrThrow(der: Buffer, what: string): CertInfo {
  try {
    return describeCertificate(der);
  } catch (e) {
    throw new AppError('E_CERT', `the ${what} cannot be decoded`, { cause: e });
  }
}

/**
 * Loads key + certificate(s) and validates them for S/MIME signing: key matches certificate,
 * RSA >= 2048 or ECDSA P-256, currently valid, emailProtection in extendedKeyUsage, keyUsage
 * (if present) allows signatures, and (if `from` is given) the address is in the certificate.
 * Warns (logger) from 30 days before expiry. Throws AppError E_CERT / E_SECRET / E_INPUT.
 */
export async function loadSigner(options: LoadSignerOptions): Promise<Signer> {
  const now = options.now ?? (() => new Date());
  const material = await readKeyMaterial(options);
  const infos = material.certDers.map((d, i) => describeOrThrow(d, i === 0 ? 'certificate' : 'chain certificate'));
  // the leaf is the certificate of this key, wherever the file put it (PKCS#12 order varies)
  const leafIndex = infos.findIndex((c) => c.x509.checkPrivateKey(material.key));
  if (leafIndex === -1) throw new AppError('E_CERT', 'the private key does not belong to the certificate');
  const cert = infos[leafIndex]!;
  const seen = new Set([cert.fingerprint]);
  const chain = infos.filter((c, i) => i !== leafIndex && !seen.has(c.fingerprint) && (seen.add(c.fingerprint), true));

  if (cert.keyAlgorithm === 'rsa') {
    if ((cert.keySize ?? 0) < 2048) throw new AppError('E_CERT', `RSA keys under 2048 bits are refused (this one has ${cert.keySize})`);
  } else if (cert.keyAlgorithm === 'ec') {
    if (cert.curve !== 'P-256') throw new AppError('E_CERT', `only ECDSA P-256 is supported for signing (this key uses ${cert.curve})`);
  } else {
    throw new AppError('E_CERT', `key type ${cert.keyAlgorithm} is not supported for signing (RSA 2048+ or ECDSA P-256)`);
  }
  checkValidity(cert, now());
  if (!cert.extKeyUsage || !cert.extKeyUsage.includes(OID.emailProtection)) {
    throw new AppError('E_CERT', 'the certificate is not for e-mail protection (extendedKeyUsage lacks emailProtection)');
  }
  if (cert.keyUsageAllowsSigning === false) throw new AppError('E_CERT', 'the certificate keyUsage allows neither digitalSignature nor nonRepudiation');
  if (cert.emails.length === 0) throw new AppError('E_CERT', 'the certificate names no e-mail address');
  if (options.from !== undefined && !cert.emails.includes(options.from.trim().toLowerCase())) {
    throw new AppError('E_CERT', 'the certificate does not cover the configured From address');
  }

  const template = buildTemplate(cert, chain, options.capabilities ?? DEFAULT_CAPABILITIES);
  const key = material.key;
  const metrics: SignerMetrics = { signedTotal: 0, refusedTotal: 0 };
  const logger = options.logger;
  let warnedDay = -1;

  const status = (at = now()) => statusOf(cert, at);
  const warnIfExpiring = (at: Date) => {
    const s = statusOf(cert, at);
    // once a day is enough: a log line per message would drown everything else
    const day = Math.floor(at.getTime() / DAY_MS);
    if (s.expiringSoon && logger && warnedDay !== day) {
      warnedDay = day;
      logger.warn({ component: 'sign', notAfter: s.notAfter.toISOString(), daysLeft: s.daysLeft, fingerprint: cert.fingerprint }, 'S/MIME signing certificate expires soon');
    }
  };
  warnIfExpiring(now());

  const signDetached = (entity: Uint8Array, signingTime = now()): Buffer => {
    const digest = createHash('sha256').update(entity).digest();
    return signedDataDer(template, key, digest, signingTime);
  };

  interface Prepared {
    at: Date;
    outerHeaders: ReturnType<typeof prepareForSigning>['outerHeaders'];
    entity: Buffer;
    boundary: string;
  }
  const prepare = (message: Uint8Array, opts: { signingTime?: Date; boundary?: string }): Prepared => {
    if (message.byteLength > MAX_SIGN_MESSAGE_BYTES) throw new AppError('E_LIMIT', `the message exceeds ${MAX_SIGN_MESSAGE_BYTES} bytes`);
    const at = opts.signingTime ?? now();
    checkValidity(cert, at);
    warnIfExpiring(at);
    const crlf = toCrlf(message);
    const { outerHeaders, entity } = prepareForSigning(crlf);
    const fromHeader = findHeader(outerHeaders, 'from');
    const from = fromHeader ? firstAddress(headerValue(fromHeader)) : null;
    if (!from) throw new AppError('E_SIGN', 'the message has no From address');
    if (!cert.emails.includes(from)) throw new AppError('E_CERT', 'the certificate does not cover the From address of the message');
    let boundary = opts.boundary ?? randomBoundary();
    // the boundary must not occur in the signed part (RFC 2046 section 5.1.1)
    while (entity.includes(boundary)) boundary = randomBoundary();
    return { at, outerHeaders, entity, boundary };
  };
  const finish = ({ outerHeaders, entity, boundary }: Prepared, cms: Buffer): Buffer => {
    const head = Buffer.from(
      'MIME-Version: 1.0\r\n' +
        'Content-Type: multipart/signed; protocol="application/pkcs7-signature";\r\n' +
        ` micalg=sha-256; boundary="${boundary}"\r\n\r\n` +
        'This is a cryptographically signed message in MIME format.\r\n\r\n' +
        `--${boundary}\r\n`,
      'latin1',
    );
    const sigHead = Buffer.from(
      `\r\n--${boundary}\r\n` +
        'Content-Type: application/pkcs7-signature; name="smime.p7s"\r\n' +
        'Content-Transfer-Encoding: base64\r\n' +
        'Content-Disposition: attachment; filename="smime.p7s"\r\n' +
        'Content-Description: S/MIME Cryptographic Signature\r\n\r\n',
      'latin1',
    );
    const out = Buffer.concat([...outerHeaders.map((h) => h.raw), head, entity, sigHead, encodeBase64Lines(cms), Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1')]);
    metrics.signedTotal++;
    return out;
  };
  const refused = (e: unknown): AppError => {
    metrics.refusedTotal++;
    return e instanceof AppError ? e : new AppError('E_SIGN', 'signing the message failed', { cause: e });
  };

  const signer: Signer = {
    certificate: cert,
    chain,
    addresses: cert.emails,
    metrics,
    status,
    signDetached,
    sign(message, opts = {}) {
      try {
        const p = prepare(message, opts);
        return finish(p, signDetached(p.entity, p.at));
      } catch (e) {
        throw refused(e);
      }
    },
    async signAsync(message, opts = {}) {
      try {
        const p = prepare(message, opts);
        return finish(p, await signedDataDerAsync(template, key, createHash('sha256').update(p.entity).digest(), p.at));
      } catch (e) {
        throw refused(e);
      }
    },
  };
  lastSigner = signer;
  return signer;
}
