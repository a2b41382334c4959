/**
 * CMS SignedData verification done entirely by pkijs (`SignedData.verify({ extendedMode: true })`)
 * and mapped to our warning codes: the maintained library as the reference our own verifier
 * (src/sign/verify-cms.ts) is held against. Not on the product path: pkijs parses a signature
 * through asn1js schemas at ~15-20 ms each against ~0.1-0.5 ms for ours (see verify-cms.ts).
 */
import { webcrypto } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { describeCertificate, type CertInfo } from '../../src/sign/cert-info.js';
import { CAPABILITY_NAMES, DIGESTS, OID } from '../../src/sign/oids.js';
import type { CmsVerification, HarvestWarning, HarvestWarningCode, SmimeCapability } from '../../src/sign/verify-cms.js';

/** More certificates than this in one signature is not a real chain. */
const MAX_CERTS_PER_SIGNATURE = 32;
/** Likewise signer infos. */
const MAX_SIGNER_INFOS = 8;
/** SMIMECapabilities entries kept per signature (a real client lists a dozen). */
const MAX_CAPABILITIES = 64;

/**
 * pkijs's WebCrypto engine, plus Ed25519 signatures (RFC 8419), which pkijs does not map but
 * Node's WebCrypto verifies.
 */
class CmsCryptoEngine extends pkijs.CryptoEngine {
  override async verifyWithPublicKey(
    data: BufferSource,
    signature: asn1js.BitString | asn1js.OctetString,
    publicKeyInfo: pkijs.PublicKeyInfo,
    signatureAlgorithm: pkijs.AlgorithmIdentifier,
    shaAlgorithm?: string | null,
  ): Promise<boolean> {
    if (signatureAlgorithm.algorithmId === OID.ed25519 || publicKeyInfo.algorithm.algorithmId === OID.ed25519) {
      const key = await webcrypto.subtle.importKey('spki', publicKeyInfo.toSchema().toBER(false), { name: 'Ed25519' }, false, ['verify']);
      return webcrypto.subtle.verify({ name: 'Ed25519' }, key, signature.valueBlock.valueHexView, data);
    }
    return super.verifyWithPublicKey(data, signature, publicKeyInfo, signatureAlgorithm, shaAlgorithm ?? undefined);
  }
}

const ENGINE = new CmsCryptoEngine({ name: 'node-webcrypto', crypto: webcrypto as unknown as Crypto });

/** The S/MIME signed attributes the census keeps. */
function signedAttributes(si: pkijs.SignerInfo): { signingTime: Date | null; capabilities: SmimeCapability[] } {
  let signingTime: Date | null = null;
  const capabilities: SmimeCapability[] = [];
  for (const attr of si.signedAttrs?.attributes ?? []) {
    const first = attr.values[0];
    if (attr.type === OID.signingTime && (first instanceof asn1js.UTCTime || first instanceof asn1js.GeneralizedTime)) {
      const d = first.toDate();
      signingTime = Number.isNaN(d.getTime()) ? null : d;
    } else if (attr.type === OID.smimeCapabilities && first instanceof asn1js.Sequence) {
      for (const cap of first.valueBlock.value.slice(0, MAX_CAPABILITIES)) {
        if (!(cap instanceof asn1js.Sequence)) continue;
        const [id, params] = cap.valueBlock.value;
        if (!(id instanceof asn1js.ObjectIdentifier)) continue;
        const oid = id.valueBlock.toString();
        capabilities.push({ oid, name: CAPABILITY_NAMES[oid] ?? null, parameters: params ? Buffer.from(params.toBER(false)).toString('hex') : null });
      }
    }
  }
  return { signingTime, capabilities };
}

/** pkijs's verification error codes (SignedDataVerifyError.code) as our warnings. */
function failureOf(e: unknown, digestName: string | undefined): HarvestWarning {
  const err = e as { code?: number; message?: string };
  const message = err.message ?? String(e);
  switch (err.code) {
    case 2:
    case 3:
      return { code: 'no-certificate', detail: 'the signature does not carry the signer certificate' };
    case 7:
      return { code: 'unsupported-algorithm', detail: message };
    case 8:
      return { code: 'malformed', detail: 'detached signature without content' };
    case 9:
    case 10:
      return { code: 'signature-invalid', detail: 'signed attributes lack messageDigest or contentType' };
    default:
      if (/digest doesn't match/i.test(message)) return { code: 'signature-invalid', detail: 'the content does not match the signed message digest' };
      if (/unsupported|not supported|unrecognized|unknown/i.test(message)) return { code: 'unsupported-algorithm', detail: message };
      if (!digestName) return { code: 'unsupported-algorithm', detail: message };
      return { code: 'signature-invalid', detail: `signature check failed: ${message}` };
  }
}

/**
 * Verifies CMS SignedData `der` over `detached` content candidates (or the encapsulated
 * content when none is given). Never throws; problems come back as warnings.
 */
export async function pkijsVerifySignedData(der: Buffer, detached: readonly Buffer[] | null): Promise<CmsVerification> {
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
    const asn = asn1js.fromBER(new Uint8Array(der));
    if (asn.offset === -1 || !(asn.result instanceof asn1js.Sequence)) return fail('malformed', 'not a CMS ContentInfo');
    const ci = new pkijs.ContentInfo({ schema: asn.result });
    if (ci.contentType === OID.envelopedData || ci.contentType === OID.authEnvelopedData) return fail('encrypted', 'the message is encrypted, not signed');
    if (ci.contentType !== OID.signedData) return fail('malformed', `CMS content type ${ci.contentType} is not signed-data`);
    const sd = new pkijs.SignedData({ schema: ci.content });

    const e = sd.encapContentInfo.eContent;
    const eContent = e ? Buffer.from(e.getValue()) : null;
    const pkCerts = (sd.certificates ?? []).filter((c): c is pkijs.Certificate => c instanceof pkijs.Certificate);
    if (pkCerts.length > MAX_CERTS_PER_SIGNATURE) return fail('too-large', `more than ${MAX_CERTS_PER_SIGNATURE} certificates`);
    // The certificates as the sender encoded them (their fingerprints are over these bytes).
    const certs = new Map<pkijs.Certificate, CertInfo>();
    for (const c of pkCerts) {
      try {
        certs.set(c, describeCertificate(new Uint8Array(c.toSchema().toBER(false))));
      } catch {
        /* an undecodable extra certificate is ignored; a missing signer cert is reported below */
      }
    }
    const all = [...certs.values()];
    if (sd.signerInfos.length === 0) return fail('malformed', 'no signer');
    const contents = detached ?? (eContent ? [eContent] : null);
    if (!contents) return fail('malformed', 'detached signature without content');

    let firstFailure: { warning: HarvestWarning; signer: CertInfo | null } | null = null;
    for (let i = 0; i < Math.min(sd.signerInfos.length, MAX_SIGNER_INFOS); i++) {
      const si = sd.signerInfos[i]!;
      const digestName = DIGESTS[si.digestAlgorithm.algorithmId];
      // pkijs hashes the encapsulated content itself; detached candidates (exact bytes, then
      // canonical CRLF) are tried one by one.
      for (const data of e ? [null] : contents) {
        try {
          const r = await sd.verify(
            { signer: i, ...(data ? { data: new Uint8Array(data).buffer } : {}), extendedMode: true, checkDate: new Date() },
            ENGINE,
          );
          const signer = r.signerCertificate ? (certs.get(r.signerCertificate) ?? null) : null;
          if (!r.signatureVerified || !signer) {
            firstFailure ??= { warning: { code: 'signature-invalid', detail: 'the signature does not verify with the signer certificate' }, signer };
            continue;
          }
          const attrs = signedAttributes(si);
          return {
            valid: true,
            warnings: digestName === 'sha1' ? [{ code: 'weak-algorithm', detail: 'SHA-1 digest' }] : [],
            signer,
            others: all.filter((c) => c.fingerprint !== signer.fingerprint),
            signingTime: attrs.signingTime,
            capabilities: attrs.capabilities,
            eContent,
          };
        } catch (err) {
          const signerCert = (err as { signerCertificate?: pkijs.Certificate }).signerCertificate;
          firstFailure ??= { warning: failureOf(err, digestName), signer: signerCert ? (certs.get(signerCert) ?? null) : null };
        }
      }
    }
    const f = firstFailure ?? { warning: { code: 'malformed' as const, detail: 'no signer' }, signer: null };
    return fail(f.warning.code, f.warning.detail, { signer: f.signer, others: all.filter((c) => c !== f.signer), eContent });
  } catch (err) {
    return fail('malformed', `CMS structure: ${(err as Error)?.message ?? String(err)}`);
  }
}
