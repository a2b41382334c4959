/**
 * CMS SignedData verification over exact bytes (RFC 5652 section 5.4-5.6) with node:crypto.
 * Own DER walk rather than pkijs SignedData.verify, for speed: pkijs parses every signature
 * through asn1js schemas, ~15-20 ms each against ~0.1-0.5 ms here (same run, medians of 7 pairs
 * of 300 verifications of openssl RSA and ECDSA signatures: 14.6 vs 0.13 ms, 19.8 vs 0.53 ms),
 * and the poller verifies every signed message it fetches. pkijs stays the reference:
 * test/sign/verify-cms-reference.test.ts holds this verifier against it on openssl signatures
 * and mutations. Never throws on hostile input; failures come back as codes.
 */
import { constants, createHash, verify as cryptoVerify } from 'node:crypto';
import { describeCertificate, type CertInfo } from './cert-info.js';
import { child, children, content, DerError, octetStringValue, oidToString, raw, readNode, TAG, type DerNode } from './der.js';
import { CAPABILITY_NAMES, DIGESTS, OID } from './oids.js';

/** Why a signature cannot be harvested (fatal) or what to know about it (informational). */
export type HarvestWarningCode =
  | 'not-signed'
  | 'encrypted'
  | 'malformed'
  | 'too-large'
  | 'no-certificate'
  | 'unsupported-algorithm'
  | 'signature-invalid'
  | 'address-mismatch'
  | 'no-from'
  | 'weak-algorithm'
  | 'certificate-expired'
  | 'certificate-not-yet-valid'
  | 'not-for-email'
  | 'untrusted';

/** Codes after which the certificate must not be used as the sender's. */
export const FATAL_WARNINGS: ReadonlySet<HarvestWarningCode> = new Set([
  'not-signed',
  'encrypted',
  'malformed',
  'too-large',
  'no-certificate',
  'unsupported-algorithm',
  'signature-invalid',
  'address-mismatch',
  'no-from',
]);

export interface HarvestWarning {
  readonly code: HarvestWarningCode;
  readonly detail: string;
}

/** One SMIMECapabilities entry the sender advertised (RFC 8551 section 2.5.2). */
export interface SmimeCapability {
  readonly oid: string;
  /** Known name (e.g. aes256-gcm), or null. */
  readonly name: string | null;
  /** DER of the parameters, hex, when present (e.g. RC2 key size). */
  readonly parameters: string | null;
}

export interface CmsVerification {
  /** The signer info verified (digest + signature). */
  readonly valid: boolean;
  readonly warnings: HarvestWarning[];
  readonly signer: CertInfo | null;
  /** Other certificates carried in the signature (not the signer's). */
  readonly others: CertInfo[];
  readonly signingTime: Date | null;
  readonly capabilities: SmimeCapability[];
  /** The encapsulated content (opaque signed-data), when present. */
  readonly eContent: Buffer | null;
}

/** More certificates than this in one signature is not a real chain. */
const MAX_CERTS_PER_SIGNATURE = 32;
/** Likewise signer infos. */
const MAX_SIGNER_INFOS = 8;

const HASH_OF_SIG_ALG: Readonly<Record<string, string>> = {
  [OID.sha1WithRSA]: 'sha1',
  [OID.sha256WithRSA]: 'sha256',
  [OID.sha384WithRSA]: 'sha384',
  [OID.sha512WithRSA]: 'sha512',
  [OID.ecdsaWithSha1]: 'sha1',
  [OID.ecdsaWithSha256]: 'sha256',
  [OID.ecdsaWithSha384]: 'sha384',
  [OID.ecdsaWithSha512]: 'sha512',
};

function parseTime(buf: Buffer, n: DerNode): Date | null {
  const s = content(buf, n).toString('latin1');
  let m: RegExpExecArray | null;
  if (n.tag === TAG.UTC_TIME && (m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?Z$/.exec(s))) {
    const yy = Number(m[1]);
    return new Date(Date.UTC(yy < 50 ? 2000 + yy : 1900 + yy, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0)));
  }
  if (n.tag === TAG.GENERALIZED_TIME && (m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?(?:\.\d+)?Z$/.exec(s))) {
    return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0)));
  }
  return null;
}

function algOid(buf: Buffer, alg: DerNode): string {
  return oidToString(content(buf, child(children(buf, alg), 0, TAG.OID, 'algorithm OID')));
}

/** RSASSA-PSS parameters (RFC 4055 section 3.1) -> hash and salt length; defaults SHA-1 / 20. */
function pssParams(buf: Buffer, alg: DerNode): { hash: string; saltLength: number } | null {
  const parts = children(buf, alg);
  const params = parts[1];
  let hash = 'sha1';
  let saltLength = 20;
  if (params && params.tag === TAG.SEQUENCE) {
    for (const f of children(buf, params)) {
      if (f.tag === TAG.CTX0) {
        const h = DIGESTS[algOid(buf, child(children(buf, f), 0, TAG.SEQUENCE, 'hash'))];
        if (!h) return null;
        hash = h;
      } else if (f.tag === 0xa2) {
        const i = child(children(buf, f), 0, TAG.INTEGER, 'saltLength');
        saltLength = Number.parseInt(content(buf, i).toString('hex') || '0', 16);
      }
    }
  }
  return { hash, saltLength };
}

function decodeCapabilities(buf: Buffer, valueSet: DerNode): SmimeCapability[] {
  const out: SmimeCapability[] = [];
  const seq = children(buf, valueSet)[0];
  if (!seq || seq.tag !== TAG.SEQUENCE) return out;
  for (const cap of children(buf, seq).slice(0, 64)) {
    if (cap.tag !== TAG.SEQUENCE) continue;
    const f = children(buf, cap);
    if (!f[0] || f[0].tag !== TAG.OID) continue;
    const o = oidToString(content(buf, f[0]));
    out.push({ oid: o, name: CAPABILITY_NAMES[o] ?? null, parameters: f[1] ? raw(buf, f[1]).toString('hex') : null });
  }
  return out;
}

type SignerOutcome =
  | { ok: true; signer: CertInfo; signingTime: Date | null; capabilities: SmimeCapability[]; weak: string | null }
  | { ok: false; code: HarvestWarningCode; detail: string; signer: CertInfo | null };

function verifySignerInfo(buf: Buffer, si: DerNode, certs: CertInfo[], contents: readonly Buffer[]): SignerOutcome {
  const f = children(buf, si);
  const sid = child(f, 1, null, 'sid');
  let signer: CertInfo | undefined;
  if (sid.tag === TAG.SEQUENCE) {
    const [issuer, serial] = children(buf, sid);
    if (!issuer || !serial) throw new DerError('bad IssuerAndSerialNumber');
    const issuerRaw = raw(buf, issuer);
    const serialRaw = raw(buf, serial);
    signer = certs.find((c) => c.issuerDer.equals(issuerRaw) && c.serialDer.equals(serialRaw));
  } else if (sid.tag === 0x80) {
    const ski = content(buf, sid);
    signer = certs.find((c) => c.subjectKeyIdentifier?.equals(ski));
  }
  if (!signer) return { ok: false, code: 'no-certificate', detail: 'the signature does not carry the signer certificate', signer: null };

  const digestOid = algOid(buf, child(f, 2, TAG.SEQUENCE, 'digestAlgorithm'));
  const digestName = DIGESTS[digestOid];
  if (!digestName) return { ok: false, code: 'unsupported-algorithm', detail: `digest algorithm ${digestOid}`, signer };

  let i = 3;
  let signedAttrs: DerNode | null = null;
  if (f[i]?.tag === TAG.CTX0) signedAttrs = f[i++]!;
  const sigAlg = child(f, i++, TAG.SEQUENCE, 'signatureAlgorithm');
  const sigValue = content(buf, child(f, i, TAG.OCTET_STRING, 'signature'));
  const sigOid = algOid(buf, sigAlg);

  let signingTime: Date | null = null;
  let capabilities: SmimeCapability[] = [];
  let data: Buffer;
  if (signedAttrs) {
    let md: Buffer | null = null;
    let contentTypeOk = false;
    for (const attr of children(buf, signedAttrs)) {
      const [typeNode, values] = children(buf, attr);
      if (!typeNode || !values || typeNode.tag !== TAG.OID || values.tag !== TAG.SET) throw new DerError('bad attribute');
      const type = oidToString(content(buf, typeNode));
      const first = children(buf, values)[0];
      if (!first) continue;
      if (type === OID.messageDigest && first.tag === TAG.OCTET_STRING) md = Buffer.from(content(buf, first));
      else if (type === OID.contentType && first.tag === TAG.OID) contentTypeOk = true;
      else if (type === OID.signingTime) signingTime = parseTime(buf, first);
      else if (type === OID.smimeCapabilities) capabilities = decodeCapabilities(buf, values);
    }
    // RFC 5652 section 5.3: with signed attributes, contentType and messageDigest are mandatory
    if (!md || !contentTypeOk) return { ok: false, code: 'signature-invalid', detail: 'signed attributes lack messageDigest or contentType', signer };
    const matches = contents.some((c) => createHash(digestName).update(c).digest().equals(md!));
    if (!matches) return { ok: false, code: 'signature-invalid', detail: 'the content does not match the signed message digest', signer };
    // the signature covers the attributes re-tagged as SET OF (0x31), in the sender's own bytes
    const attrsRaw = raw(buf, signedAttrs);
    data = Buffer.concat([Buffer.from([TAG.SET]), attrsRaw.subarray(1)]);
  } else {
    const c = contents[0];
    if (!c) return { ok: false, code: 'malformed', detail: 'no content', signer };
    data = c;
  }

  const key = signer.x509.publicKey;
  let ok = false;
  try {
    if (sigOid === OID.rsaEncryption || HASH_OF_SIG_ALG[sigOid] !== undefined && sigOid.startsWith('1.2.840.113549.1.1.')) {
      if (key.asymmetricKeyType !== 'rsa') return { ok: false, code: 'signature-invalid', detail: 'RSA signature with a non-RSA key', signer };
      const h = HASH_OF_SIG_ALG[sigOid] ?? digestName;
      ok = cryptoVerify(h, data, { key, padding: constants.RSA_PKCS1_PADDING }, sigValue);
    } else if (sigOid === OID.rsaPss) {
      const p = pssParams(buf, sigAlg);
      if (!p) return { ok: false, code: 'unsupported-algorithm', detail: 'RSASSA-PSS hash', signer };
      ok = cryptoVerify(p.hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: p.saltLength }, sigValue);
    } else if (sigOid === OID.ecPublicKey || sigOid.startsWith('1.2.840.10045.4.')) {
      if (key.asymmetricKeyType !== 'ec') return { ok: false, code: 'signature-invalid', detail: 'ECDSA signature with a non-EC key', signer };
      const h = HASH_OF_SIG_ALG[sigOid] ?? digestName;
      ok = cryptoVerify(h, data, { key, dsaEncoding: 'der' }, sigValue);
    } else if (sigOid === OID.ed25519) {
      ok = cryptoVerify(null, data, key, sigValue);
    } else {
      return { ok: false, code: 'unsupported-algorithm', detail: `signature algorithm ${sigOid}`, signer };
    }
  } catch (e) {
    return { ok: false, code: 'signature-invalid', detail: `signature check failed: ${(e as Error).message}`, signer };
  }
  if (!ok) return { ok: false, code: 'signature-invalid', detail: 'the signature does not verify with the signer certificate', signer };
  const weak = digestName === 'sha1' ? 'SHA-1 digest' : null;
  return { ok: true, signer, signingTime, capabilities, weak };
}

/**
 * Verifies CMS SignedData `der` over `detached` content candidates (or the encapsulated
 * content when none is given). Never throws; problems come back as warnings.
 */
export function verifySignedData(der: Buffer, detached: readonly Buffer[] | null): CmsVerification {
  const fail = (code: HarvestWarningCode, detail: string, extra: Partial<CmsVerification> = {}): CmsVerification => ({
    valid: false,
    warnings: [{ code, detail }],
    signer: null,
    others: [],
    signingTime: null,
    capabilities: [],
    eContent: null,
    ...extra,
  });
  try {
    const top = readNode(der, 0);
    if (top.tag !== TAG.SEQUENCE) return fail('malformed', 'not a CMS ContentInfo');
    const ci = children(der, top);
    const type = oidToString(content(der, child(ci, 0, TAG.OID, 'contentType')));
    if (type === OID.envelopedData || type === OID.authEnvelopedData) return fail('encrypted', 'the message is encrypted, not signed');
    if (type !== OID.signedData) return fail('malformed', `CMS content type ${type} is not signed-data`);
    const sdWrap = child(ci, 1, TAG.CTX0, '[0] content');
    const sd = child(children(der, sdWrap), 0, TAG.SEQUENCE, 'SignedData');
    const fields = children(der, sd);
    const encap = child(fields, 2, TAG.SEQUENCE, 'encapContentInfo');
    const encapParts = children(der, encap);
    let eContent: Buffer | null = null;
    const eWrap = encapParts[1];
    if (eWrap && eWrap.tag === TAG.CTX0) {
      const inner = child(children(der, eWrap), 0, null, 'eContent');
      eContent = octetStringValue(der, inner);
    }
    let idx = 3;
    const certs: CertInfo[] = [];
    if (fields[idx]?.tag === TAG.CTX0) {
      const list = children(der, fields[idx]!);
      if (list.length > MAX_CERTS_PER_SIGNATURE) return fail('too-large', `more than ${MAX_CERTS_PER_SIGNATURE} certificates`);
      for (const c of list) {
        // other CertificateChoices (attribute certificates) are not for us
        if (c.tag !== TAG.SEQUENCE) continue;
        try {
          certs.push(describeCertificate(raw(der, c)));
        } catch {
          /* an undecodable extra certificate is ignored; a missing signer cert is reported below */
        }
      }
      idx++;
    }
    if (fields[idx]?.tag === TAG.CTX1) idx++;
    const signerInfos = children(der, child(fields, idx, TAG.SET, 'signerInfos'));
    if (signerInfos.length === 0) return fail('malformed', 'no signer');
    const contents = detached ?? (eContent ? [eContent] : null);
    if (!contents) return fail('malformed', 'detached signature without content');

    let firstFailure: SignerOutcome | null = null;
    for (const si of signerInfos.slice(0, MAX_SIGNER_INFOS)) {
      const r = verifySignerInfo(der, si, certs, contents);
      if (r.ok) {
        const warnings: HarvestWarning[] = r.weak ? [{ code: 'weak-algorithm', detail: r.weak }] : [];
        return {
          valid: true,
          warnings,
          signer: r.signer,
          others: certs.filter((c) => c.fingerprint !== r.signer.fingerprint),
          signingTime: r.signingTime,
          capabilities: r.capabilities,
          eContent,
        };
      }
      firstFailure ??= r;
    }
    const f = firstFailure as Extract<SignerOutcome, { ok: false }>;
    return fail(f.code, f.detail, { signer: f.signer, others: certs.filter((c) => c !== f.signer), eContent });
  } catch (e) {
    return fail('malformed', e instanceof DerError ? `CMS structure: ${e.message}` : `CMS structure: ${(e as Error).message}`);
  }
}
