/**
 * Certificate decoding shared by the signer (validations) and the harvester (what we store):
 * pkijs for names and extensions, node:crypto for the key, our DER reader for the exact
 * issuer/serial/SPKI bytes (copied, never re-encoded, so they match what verifiers compare).
 */
import { createHash, X509Certificate } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { described, remember } from './cert-memo.js';
import { children, child, raw, readNode, TAG } from './der.js';
import { CURVES, OID } from './oids.js';

export type KeyAlgorithm = 'rsa' | 'rsa-pss' | 'ec' | 'ed25519' | 'ed448' | 'unknown';

/** Everything about one certificate that signing, harvesting and storage need. */
export interface CertInfo {
  readonly der: Buffer;
  readonly pem: string;
  /** SHA-256 of the DER, lower-case hex. */
  readonly fingerprint: string;
  /** RFC 4514 string (most specific first). */
  readonly subject: string;
  readonly issuer: string;
  /** Serial number, lower-case hex without leading zero bytes. */
  readonly serial: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Lower-cased addresses from SAN rfc822Name and subject emailAddress, deduplicated. */
  readonly emails: readonly string[];
  readonly keyAlgorithm: KeyAlgorithm;
  /** RSA modulus bits. */
  readonly keySize: number | null;
  /** EC curve name (P-256, P-384, P-521) or the OID when unnamed. */
  readonly curve: string | null;
  /** SHA-256 of the SubjectPublicKeyInfo DER, lower-case hex: the key's identity across renewals. */
  readonly spkiSha256: string;
  /** Extended key usage OIDs, or null when the extension is absent. */
  readonly extKeyUsage: readonly string[] | null;
  /** keyUsage digitalSignature|nonRepudiation, or null when the extension is absent. */
  readonly keyUsageAllowsSigning: boolean | null;
  readonly isCa: boolean;
  readonly selfIssued: boolean;
  /** Exact DER of tbsCertificate.issuer and .serialNumber (for IssuerAndSerialNumber). */
  readonly issuerDer: Buffer;
  readonly serialDer: Buffer;
  readonly subjectKeyIdentifier: Buffer | null;
  readonly pkijs: pkijs.Certificate;
  readonly x509: X509Certificate;
}

const NAME_TYPES: Readonly<Record<string, string>> = {
  '2.5.4.3': 'CN',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.5': 'serialNumber',
  '2.5.4.4': 'SN',
  '2.5.4.42': 'GN',
  '2.5.4.97': 'organizationIdentifier',
  '0.9.2342.19200300.100.1.25': 'DC',
  '0.9.2342.19200300.100.1.1': 'UID',
  [OID.emailAddress]: 'emailAddress',
};

function escapeRdnValue(v: string): string {
  return v.replace(/[\\,+"<>;=]/g, (c) => '\\' + c).replace(/^[ #]|[ ]$/g, (c) => '\\' + c);
}

/** RFC 4514 string of a Name (most specific RDN first). */
function nameToString(name: pkijs.RelativeDistinguishedNames): string {
  return name.typesAndValues
    .map((tv) => `${NAME_TYPES[tv.type] ?? tv.type}=${escapeRdnValue(String(tv.value.valueBlock.value ?? ''))}`)
    .reverse()
    .join(', ');
}

const PEM_RE = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/** All PEM blocks of the given label(s) in a text, as DER. */
export function pemBlocks(text: string, labels: readonly string[]): Buffer[] {
  const out: Buffer[] = [];
  for (const m of text.matchAll(PEM_RE)) {
    if (labels.includes(m[1]!)) out.push(Buffer.from(m[2]!.replace(/\s+/g, ''), 'base64'));
  }
  return out;
}

/** PEM text of a DER certificate (64-column base64, LF). */
export function toPem(der: Uint8Array, label = 'CERTIFICATE'): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/**
 * Decodes a DER certificate; throws (plain Error) on malformed input — callers map it.
 * Memoised by the certificate's SHA-256: decoding with asn1js/pkijs costs milliseconds, and a
 * signer's every message carries the same certificates (its own and its chain). The result is
 * a frozen description shared by all callers.
 */
export function describeCertificate(derIn: Uint8Array): CertInfo {
  const fingerprint = createHash('sha256').update(derIn).digest('hex');
  const hit = described.get(fingerprint);
  if (hit) return hit as CertInfo;
  const info = Object.freeze(decodeCertificate(Buffer.from(derIn), fingerprint));
  remember(fingerprint, info);
  return info;
}

function decodeCertificate(der: Buffer, fingerprint: string): CertInfo {
  // exact field bytes from our reader: Certificate ::= SEQ { tbs SEQ { [0]? serial sigAlg issuer validity subject spki ... } }
  const top = readNode(der, 0);
  if (top.tag !== TAG.SEQUENCE || top.end !== der.length) throw new Error('not a certificate');
  const tbs = child(children(der, top), 0, TAG.SEQUENCE, 'tbsCertificate');
  const tf = children(der, tbs);
  const off = tf[0]?.tag === TAG.CTX0 ? 1 : 0;
  const serialDer = Buffer.from(raw(der, child(tf, off, TAG.INTEGER, 'serialNumber')));
  const issuerDer = Buffer.from(raw(der, child(tf, off + 2, TAG.SEQUENCE, 'issuer')));
  const spkiDer = raw(der, child(tf, off + 5, TAG.SEQUENCE, 'subjectPublicKeyInfo'));

  const asn = asn1js.fromBER(new Uint8Array(der).buffer);
  if (asn.offset === -1) throw new Error('not a certificate');
  const cert = new pkijs.Certificate({ schema: asn.result });
  const x509 = new X509Certificate(der);

  const emails = new Set<string>();
  for (const tv of cert.subject.typesAndValues) {
    if (tv.type === OID.emailAddress) emails.add(String(tv.value.valueBlock.value).trim().toLowerCase());
  }
  let extKeyUsage: string[] | null = null;
  let keyUsageAllowsSigning: boolean | null = null;
  let isCa = false;
  let subjectKeyIdentifier: Buffer | null = null;
  for (const ext of cert.extensions ?? []) {
    const pv: unknown = ext.parsedValue;
    if (ext.extnID === '2.5.29.17' && pv instanceof pkijs.AltName) {
      for (const gn of pv.altNames) if (gn.type === 1) emails.add(String(gn.value).trim().toLowerCase());
    } else if (ext.extnID === '2.5.29.37' && pv instanceof pkijs.ExtKeyUsage) {
      extKeyUsage = [...pv.keyPurposes];
    } else if (ext.extnID === '2.5.29.15' && pv instanceof asn1js.BitString) {
      const bits = new Uint8Array(pv.valueBlock.valueHexView);
      // bit 0 digitalSignature (0x80), bit 1 nonRepudiation/contentCommitment (0x40)
      keyUsageAllowsSigning = ((bits[0] ?? 0) & 0xc0) !== 0;
    } else if (ext.extnID === '2.5.29.19' && pv instanceof pkijs.BasicConstraints) {
      isCa = pv.cA === true;
    } else if (ext.extnID === '2.5.29.14' && pv instanceof asn1js.OctetString) {
      subjectKeyIdentifier = Buffer.from(pv.valueBlock.valueHexView);
    }
  }

  const pub = x509.publicKey;
  const kt = pub.asymmetricKeyType;
  const keyAlgorithm: KeyAlgorithm =
    kt === 'rsa' || kt === 'rsa-pss' || kt === 'ec' || kt === 'ed25519' || kt === 'ed448' ? kt : 'unknown';
  const details = pub.asymmetricKeyDetails ?? {};
  let curve: string | null = null;
  if (keyAlgorithm === 'ec') {
    const algParams = cert.subjectPublicKeyInfo.algorithm.algorithmParams as unknown;
    const curveOid = algParams instanceof asn1js.ObjectIdentifier ? algParams.valueBlock.toString() : '';
    curve = CURVES[curveOid] ?? (details.namedCurve === 'prime256v1' ? 'P-256' : details.namedCurve ?? (curveOid || null));
  }

  const serialHex = stripLeadingZeroPairs(Buffer.from(cert.serialNumber.valueBlock.valueHexView).toString('hex'));
  return {
    der,
    pem: toPem(der),
    fingerprint,
    subject: nameToString(cert.subject),
    issuer: nameToString(cert.issuer),
    serial: serialHex,
    notBefore: cert.notBefore.value,
    notAfter: cert.notAfter.value,
    emails: [...emails].filter((e) => e.length > 0),
    keyAlgorithm,
    keySize: typeof details.modulusLength === 'number' ? details.modulusLength : null,
    curve,
    spkiSha256: createHash('sha256').update(spkiDer).digest('hex'),
    extKeyUsage,
    keyUsageAllowsSigning,
    isCa,
    selfIssued: Buffer.compare(issuerDer, Buffer.from(raw(der, child(tf, off + 4, TAG.SEQUENCE, 'subject')))) === 0,
    issuerDer,
    serialDer,
    subjectKeyIdentifier,
    pkijs: cert,
    x509,
  };
}

/** Leading `00` octets of a DER serial (sign padding), keeping at least one digit; a loop, not a regex, since the serial comes from a customer's certificate. */
function stripLeadingZeroPairs(hex: string): string {
  let i = 0;
  while (i + 2 < hex.length && hex.startsWith('00', i)) i += 2;
  return hex.slice(i);
}
