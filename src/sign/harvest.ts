/**
 * Inbound certificate harvesting: from a signed customer message to "this is the customer's
 * certificate" — but only when the signature verifies AND the certificate covers the From
 * address. Anything else comes back with warning codes and `certificate: null`. Pure apart
 * from reading the system CA bundle once; never throws on hostile input.
 */
import type { CertInfo } from './cert-info.js';
import { findHeader, firstAddress, headerValue, parseContentType, splitEntity, splitMultipart, toCrlf, type RawHeader } from './mime.js';
import { evaluateTrust, type TrustResult } from './trust.js';
import { FATAL_WARNINGS, verifySignedData, type HarvestWarning, type HarvestWarningCode, type SmimeCapability } from './verify-cms.js';
import { OID } from './oids.js';
import { MAX_SIGNED_PART_BYTES, MAX_SIGNATURE_BYTES, MAX_SMIME_MESSAGE_BYTES as MAX_HARVEST_MESSAGE_BYTES } from '../core/index.js';

// The limits are defined once, in core (sources cap what they hand over by the same numbers).
export { MAX_SIGNED_PART_BYTES, MAX_SIGNATURE_BYTES, MAX_SMIME_MESSAGE_BYTES as MAX_HARVEST_MESSAGE_BYTES } from '../core/index.js';

/** A customer's certificate as stored: what key continuity and the sender side need. */
export interface HarvestedCert
  extends Pick<
    CertInfo,
    'fingerprint' | 'subject' | 'issuer' | 'serial' | 'notBefore' | 'notAfter' | 'keyAlgorithm' | 'keySize' | 'curve' | 'spkiSha256' | 'emails' | 'pem'
  > {
  /** The From address it was harvested for (lower-case; one of `emails`). */
  readonly address: string;
  /** The other certificates the sender included (intermediates, maybe the root), PEM. */
  readonly chainPems: readonly string[];
}

export interface HarvestResult {
  /**
   * True only when the signature verified and the certificate covers the From address. Not proof
   * of authenticity: see `trust` (CA) and compareCertificates (key continuity).
   */
  readonly ok: boolean;
  /** The customer's certificate — set only when `ok`. */
  readonly certificate: HarvestedCert | null;
  /** Fatal and informational warnings (codes are stable; details are for people). */
  readonly warnings: readonly HarvestWarning[];
  readonly kind: 'multipart-signed' | 'opaque-signed' | null;
  /** Trust of the chain (only evaluated when ok). */
  readonly trust: TrustResult | null;
  /** SMIMECapabilities the sender advertised (only when ok). */
  readonly capabilities: readonly SmimeCapability[];
  /** The signingTime attribute (only when ok; sender-asserted). */
  readonly signingTime: Date | null;
  /** Fingerprint of a certificate that was presented but NOT accepted (diagnostics only). */
  readonly rejectedFingerprint: string | null;
}

export interface HarvestOptions {
  /** The From address of the message (lower-cased by us). Required for harvestFromParts; read from the header otherwise. */
  from?: string;
  /** Configured CA set: PEM texts (see loadTrustedCaPems for files). */
  trustedCaPems?: readonly string[];
  /** Also try the system bundle (/etc/ssl/certs/ca-certificates.crt). Default false. */
  useSystemTrust?: boolean;
  /** Clock (tests). */
  now?: Date;
}

function rejected(kind: HarvestResult['kind'], warnings: HarvestWarning[], rejectedFingerprint: string | null = null): HarvestResult {
  return { ok: false, certificate: null, warnings, kind, trust: null, capabilities: [], signingTime: null, rejectedFingerprint };
}

function w(code: HarvestWarningCode, detail: string): HarvestWarning {
  return { code, detail };
}

/** Decodes a signature part body: DER as is, otherwise base64 text (as IMAP BODY[n] returns it). */
function decodeSignature(bytes: Buffer): Buffer | null {
  if (bytes[0] === 0x30) return bytes;
  const text = bytes.toString('latin1');
  if (!/^[A-Za-z0-9+/=\s]*$/.test(text)) return null;
  const der = Buffer.from(text.replace(/\s+/g, ''), 'base64');
  return der[0] === 0x30 ? der : null;
}

function decodeBody(body: Buffer, cte: string): Buffer | null {
  if (cte === 'base64') return decodeSignature(body) ?? null;
  if (cte === '7bit' || cte === '8bit' || cte === 'binary' || cte === '') return body;
  return null;
}

async function finish(
  kind: NonNullable<HarvestResult['kind']>,
  v: ReturnType<typeof verifySignedData>,
  from: string | null,
  opts: HarvestOptions,
): Promise<HarvestResult> {
  const warnings = [...v.warnings];
  if (!v.valid || !v.signer) return rejected(kind, warnings, v.signer?.fingerprint ?? null);
  const signer: CertInfo = v.signer;
  if (!from) return rejected(kind, [...warnings, w('no-from', 'no From address to match the certificate against')], signer.fingerprint);
  if (!signer.emails.includes(from)) {
    return rejected(kind, [...warnings, w('address-mismatch', `the certificate is for ${signer.emails.length ? 'another address' : 'no address'}`)], signer.fingerprint);
  }
  const now = opts.now ?? new Date();
  if (now > signer.notAfter) warnings.push(w('certificate-expired', `expired ${signer.notAfter.toISOString()}`));
  if (now < signer.notBefore) warnings.push(w('certificate-not-yet-valid', `valid from ${signer.notBefore.toISOString()}`));
  if (signer.extKeyUsage && !signer.extKeyUsage.includes(OID.emailProtection) && !signer.extKeyUsage.includes(OID.anyExtendedKeyUsage)) {
    warnings.push(w('not-for-email', 'extendedKeyUsage lacks emailProtection'));
  }
  // validity is judged when the message was signed (sender-asserted, bounded by now)
  const checkDate = v.signingTime && v.signingTime < now ? v.signingTime : now;
  let trust: TrustResult;
  try {
    trust = await evaluateTrust(signer, v.others, { trustedCaPems: opts.trustedCaPems, useSystemTrust: opts.useSystemTrust, checkDate });
  } catch (e) {
    trust = { trusted: false, anchor: null, detail: `chain validation failed: ${(e as Error)?.message ?? String(e)}`, checkedAt: checkDate };
  }
  if (!trust.trusted) warnings.push(w('untrusted', trust.detail ?? 'the chain does not build to a trusted CA'));
  return {
    ok: true,
    kind,
    warnings,
    trust,
    capabilities: v.capabilities,
    signingTime: v.signingTime,
    rejectedFingerprint: null,
    certificate: {
      address: from,
      fingerprint: signer.fingerprint,
      subject: signer.subject,
      issuer: signer.issuer,
      serial: signer.serial,
      notBefore: signer.notBefore,
      notAfter: signer.notAfter,
      keyAlgorithm: signer.keyAlgorithm,
      keySize: signer.keySize,
      curve: signer.curve,
      spkiSha256: signer.spkiSha256,
      emails: signer.emails,
      pem: signer.pem,
      chainPems: v.others.map((c) => c.pem),
    },
  };
}

/** Hostile input must never throw out of harvesting: an unexpected failure is a malformed message. */
async function neverThrow(fn: () => Promise<HarvestResult>): Promise<HarvestResult> {
  try {
    return await fn();
  } catch (e) {
    return rejected(null, [w('malformed', `unexpected: ${(e as Error)?.message ?? String(e)}`)]);
  }
}

/** The exact signed bytes, then the CRLF-canonical form if it differs (stored mail often has bare LF). */
function contentCandidates(part: Buffer): Buffer[] {
  const canon = toCrlf(part);
  return canon === part || canon.equals(part) ? [part] : [canon, part];
}

function normaliseFrom(from: string | undefined): string | null {
  if (from === undefined) return null;
  const a = firstAddress(from) ?? from.trim().toLowerCase();
  return a.length ? a : null;
}

/**
 * Verifies and harvests from the two parts of a multipart/signed message, as an IMAP client
 * fetches them: `signedPart` is the FULL first part — its MIME header and body, i.e.
 * BODY.PEEK[1.MIME] followed by BODY.PEEK[1] — and `signature` the second part's body
 * (BODY.PEEK[2]: base64 text, or DER). `opts.from` is required here.
 */
export async function harvestFromParts(signedPart: Uint8Array, signature: Uint8Array, opts: HarvestOptions): Promise<HarvestResult> {
  return neverThrow(() => partsImpl(signedPart, signature, opts));
}

async function partsImpl(signedPart: Uint8Array, signature: Uint8Array, opts: HarvestOptions): Promise<HarvestResult> {
  const part = Buffer.from(signedPart.buffer, signedPart.byteOffset, signedPart.byteLength);
  const sigBytes = Buffer.from(signature.buffer, signature.byteOffset, signature.byteLength);
  if (part.length > MAX_SIGNED_PART_BYTES) return rejected('multipart-signed', [w('too-large', `signed part over ${MAX_SIGNED_PART_BYTES} bytes`)]);
  if (sigBytes.length > MAX_SIGNATURE_BYTES) return rejected('multipart-signed', [w('too-large', `signature over ${MAX_SIGNATURE_BYTES} bytes`)]);
  const der = decodeSignature(sigBytes);
  if (!der) return rejected('multipart-signed', [w('malformed', 'the signature part is neither DER nor base64')]);
  return finish('multipart-signed', verifySignedData(der, contentCandidates(part)), normaliseFrom(opts.from), opts);
}

/**
 * Verifies and harvests from a whole message: top-level `multipart/signed` with a PKCS#7
 * signature, or opaque `application/pkcs7-mime; smime-type=signed-data`. `opts.from`
 * defaults to the message's From header.
 */
export async function harvestFromMessage(message: Uint8Array, opts: HarvestOptions = {}): Promise<HarvestResult> {
  return neverThrow(() => messageImpl(message, opts));
}

async function messageImpl(message: Uint8Array, opts: HarvestOptions): Promise<HarvestResult> {
  if (message.byteLength > MAX_HARVEST_MESSAGE_BYTES) return rejected(null, [w('too-large', `message over ${MAX_HARVEST_MESSAGE_BYTES} bytes`)]);
  const raw = Buffer.from(message.buffer, message.byteOffset, message.byteLength);
  // boundaries and headers are found on the CRLF form; the signed bytes are tried exact and canonical
  const buf = toCrlf(raw);
  const { headers, body } = splitEntity(buf);
  const fromHeader = findHeader(headers, 'from');
  const from = opts.from !== undefined ? normaliseFrom(opts.from) : fromHeader ? firstAddress(headerValue(fromHeader)) : null;
  return harvestEntity(headers, body, from, opts, buf !== raw ? raw : null, 0);
}

async function harvestEntity(
  headers: readonly RawHeader[],
  body: Buffer,
  from: string | null,
  opts: HarvestOptions,
  unnormalised: Buffer | null,
  depth: number,
): Promise<HarvestResult> {
  const ctHeader = findHeader(headers, 'content-type');
  if (!ctHeader) return rejected(null, [w('not-signed', 'no Content-Type')]);
  let ct;
  try {
    ct = parseContentType(headerValue(ctHeader));
  } catch {
    return rejected(null, [w('malformed', 'unparseable Content-Type')]);
  }

  // mailing lists (Mailman) keep a signature intact by wrapping the signed message in
  // multipart/mixed with the footer as a second part: look into the first part, once
  if (ct.type === 'multipart/mixed' && depth === 0 && ct.params.boundary) {
    const split = splitMultipart(body, ct.params.boundary);
    const first = split?.parts[0];
    if (first) {
      const inner = splitEntity(body.subarray(first.start, first.end));
      const innerCt = findHeader(inner.headers, 'content-type');
      const innerType = innerCt ? parseContentType(headerValue(innerCt)).type : '';
      if (innerType === 'multipart/signed' || innerType === 'application/pkcs7-mime' || innerType === 'application/x-pkcs7-mime') {
        return harvestEntity(inner.headers, inner.body, from, opts, null, depth + 1);
      }
    }
  }

  if (ct.type === 'multipart/signed') {
    const protocol = (ct.params.protocol ?? '').toLowerCase();
    if (protocol && protocol !== 'application/pkcs7-signature' && protocol !== 'application/x-pkcs7-signature') {
      return rejected('multipart-signed', [w('not-signed', `multipart/signed with protocol ${protocol} (not S/MIME)`)]);
    }
    const boundary = ct.params.boundary;
    const split = boundary ? splitMultipart(body, boundary) : null;
    if (!split || split.parts.length !== 2) return rejected('multipart-signed', [w('malformed', 'multipart/signed needs exactly two parts')]);
    const [p1, p2] = split.parts as [{ start: number; end: number }, { start: number; end: number }];
    if (p1.end - p1.start > MAX_SIGNED_PART_BYTES) return rejected('multipart-signed', [w('too-large', `signed part over ${MAX_SIGNED_PART_BYTES} bytes`)]);
    const sigEntity = splitEntity(body.subarray(p2.start, p2.end));
    const sigCt = findHeader(sigEntity.headers, 'content-type');
    const sigType = sigCt ? parseContentType(headerValue(sigCt)).type : '';
    if (sigType !== 'application/pkcs7-signature' && sigType !== 'application/x-pkcs7-signature') {
      return rejected('multipart-signed', [w('not-signed', `second part is ${sigType || 'untyped'}, not a PKCS#7 signature`)]);
    }
    if (sigEntity.body.length > MAX_SIGNATURE_BYTES) return rejected('multipart-signed', [w('too-large', `signature over ${MAX_SIGNATURE_BYTES} bytes`)]);
    const cteH = findHeader(sigEntity.headers, 'content-transfer-encoding');
    const der = decodeBody(sigEntity.body, cteH ? headerValue(cteH).toLowerCase() : '');
    if (!der) return rejected('multipart-signed', [w('malformed', 'the signature part cannot be decoded')]);
    const part = body.subarray(p1.start, p1.end);
    const candidates = contentCandidates(part);
    // when the input had bare LFs, also try the signed part exactly as it was in the input
    if (unnormalised) {
      const exact = findExactPart(unnormalised, boundary!);
      if (exact && !candidates.some((c) => c.equals(exact))) candidates.push(exact);
    }
    return finish('multipart-signed', verifySignedData(der, candidates), from, opts);
  }

  if (ct.type === 'application/pkcs7-mime' || ct.type === 'application/x-pkcs7-mime') {
    const smimeType = (ct.params['smime-type'] ?? '').toLowerCase();
    if (smimeType === 'enveloped-data' || smimeType === 'authenveloped-data') return rejected('opaque-signed', [w('encrypted', 'the message is encrypted')]);
    if (smimeType && smimeType !== 'signed-data') return rejected('opaque-signed', [w('not-signed', `smime-type=${smimeType}`)]);
    const cteH = findHeader(headers, 'content-transfer-encoding');
    const der = decodeBody(body, cteH ? headerValue(cteH).toLowerCase() : '');
    if (!der) return rejected('opaque-signed', [w('malformed', 'the PKCS#7 body cannot be decoded')]);
    const v = verifySignedData(der, null);
    if (v.eContent && v.eContent.length > MAX_SIGNED_PART_BYTES) return rejected('opaque-signed', [w('too-large', 'encapsulated content too large')]);
    return finish('opaque-signed', v, from, opts);
  }
  return rejected(null, [w('not-signed', `top-level type is ${ct.type}`)]);
}

/** The signed part located in the un-normalised input (LF-only mail signed over LF bytes). */
function findExactPart(raw: Buffer, boundary: string): Buffer | null {
  const delim = Buffer.from('\n--' + boundary, 'latin1');
  const a = raw.indexOf(delim);
  if (a === -1) return null;
  const startLine = raw.indexOf('\n', a + delim.length);
  if (startLine === -1) return null;
  const b = raw.indexOf(delim, startLine);
  if (b === -1) return null;
  const end = raw[b - 1] === 0x0d ? b - 1 : b;
  return raw.subarray(startLine + 1, end);
}

/** The harvest warning codes that make a result unusable as the customer's certificate. */
export function isFatal(code: HarvestWarningCode): boolean {
  return FATAL_WARNINGS.has(code);
}

