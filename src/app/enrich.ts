/**
 * The enrich step: what a message's verdict gains beyond its header fingerprint — S/MIME
 * evidence (does the signature hold?), certificate warnings and DMARC. Ingest and recompute both
 * call `assess`, so recomputing with unchanged rules changes nothing: the facts that only
 * ingest could see (the signature bytes, Authentication-Results) are stored with the
 * observation (`smime_message`, `authenticated`, and the enrichment marks in `warnings`) and
 * read back from there.
 */
import type { Fingerprint, SmimeMessageKind, Verdict } from '../core/index.js';
import { classify, type RuleSet } from '../classify/index.js';
import type { HarvestResult } from '../sign/index.js';

/** What ingest learned about a message besides its fingerprint. */
export interface Evidence {
  /** What the message's Content-Type claims (parse); anyone can write it. */
  readonly smimeClaim: SmimeMessageKind | null;
  /** The checked signature, when the source provided the signed bytes; null when it did not. */
  readonly signature: SignatureFacts | null;
  /** DMARC at the trusted authserv-id: false = failed; null = not known. */
  readonly authenticated: boolean | null;
}

/** The outcome of checking a signature, as far as the verdict needs it. */
export interface SignatureFacts {
  /** Harvest warning codes (stable; stored as `smime-cert:<code>`). */
  readonly codes: readonly string[];
  /** True when the CMS SignedData verified over the signed part (or parsed, with an algorithm we cannot check). */
  readonly accepted: boolean;
}

/** Stored on a signed-looking message whose signature did not hold (or could not be checked). */
export const UNVERIFIED_SIGNATURE = 'smime:unverified-signature';
const CERT_PREFIX = 'smime-cert:';
const DMARC_FAIL = 'unauthenticated:dmarc-fail';

/**
 * Harvest codes after which the signature proves nothing: no SignedData, a garbled one, one
 * without the signer's certificate, or one that does not verify over the signed part. A
 * verified signature for another address (address-mismatch) still shows an S/MIME client at work.
 */
const REJECTING = new Set(['not-signed', 'encrypted', 'malformed', 'too-large', 'no-certificate', 'signature-invalid']);

/** The facts of a harvest result. */
export function signatureFacts(r: HarvestResult): SignatureFacts {
  const codes = r.warnings.map((w) => w.code);
  return { codes, accepted: r.ok || !codes.some((c) => REJECTING.has(c)) };
}

/** The evidence of a stored observation, as ingest recorded it. */
export function storedEvidence(o: { smimeMessage: string | null; authenticated: number | null; warnings: string }): Evidence {
  const warnings = JSON.parse(o.warnings) as string[];
  const codes = warnings.filter((w) => w.startsWith(CERT_PREFIX)).map((w) => w.slice(CERT_PREFIX.length));
  const unverified = warnings.includes(UNVERIFIED_SIGNATURE);
  const smimeClaim = (o.smimeMessage as SmimeMessageKind | null) ?? null;
  // No harvest happened exactly when there are no certificate marks and the claim was left unverified.
  const signature = codes.length > 0 || (isSigned(smimeClaim) && !unverified) ? { codes, accepted: !unverified } : null;
  return { smimeClaim, signature, authenticated: o.authenticated === null ? null : o.authenticated === 1 };
}

/**
 * Classify, then enrich: the verdict of one message. A signed-looking message counts as
 * S/MIME evidence only when its signature was accepted (issue 12.13: the header alone is no proof).
 * `fresh.receivedReduced`: the fingerprint is parse's own, whose Received values parse already
 * reduced (ingest); recompute leaves it unset, as a stored fingerprint may predate the reduction.
 */
export function assess(rules: RuleSet, fingerprint: Fingerprint, e: Evidence, fresh: { readonly receivedReduced?: boolean } = {}): Verdict {
  const verdict = classify(rules, fingerprint, { smimeMessage: countedSmime(e), receivedReduced: fresh.receivedReduced === true });
  if (e.signature) for (const c of e.signature.codes) verdict.warnings.push(CERT_PREFIX + c);
  if (isSigned(e.smimeClaim) && !e.signature?.accepted) verdict.warnings.push(UNVERIFIED_SIGNATURE);
  if (e.authenticated === false) verdict.warnings.push(DMARC_FAIL);
  return verdict;
}

/** The S/MIME kind that counts as evidence: a signed claim only with an accepted signature. */
export function countedSmime(e: Evidence): SmimeMessageKind | null {
  return isSigned(e.smimeClaim) && !e.signature?.accepted ? null : e.smimeClaim;
}

function isSigned(k: SmimeMessageKind | null): boolean {
  return k === 'signed' || k === 'opaque-signed';
}
