/**
 * The memo of decoded certificate descriptions (cert-info.ts describeCertificate), apart from the
 * decoder so that erasure (app/privacy.ts) can reach it without loading the CMS libraries
 * (pkijs, asn1js), which only signed mail needs.
 */

/** Bound on memoised certificate descriptions (a few KB each; a census sees few distinct signer chains). */
export const MAX_CACHED_CERTIFICATES = 5_000;

/** What erasure needs of a description: the certificate's lower-cased addresses. */
interface Described {
  readonly emails: readonly string[];
}

/** SHA-256 of the DER (hex) -> its frozen description. */
export const described = new Map<string, Described>();

export function remember(fingerprint: string, info: Described): void {
  if (described.size >= MAX_CACHED_CERTIFICATES) described.clear();
  described.set(fingerprint, info);
}

/**
 * Drops the memoised descriptions of every certificate naming `address` (right to erasure): the
 * memo holds a certificate's addresses, and an erased customer's must not stay in the process
 * until it is evicted. Returns how many were dropped.
 */
export function forgetCertificatesOf(address: string): number {
  const a = address.toLowerCase();
  let n = 0;
  for (const [fingerprint, info] of described) {
    if (info.emails.includes(a)) {
      described.delete(fingerprint);
      n++;
    }
  }
  return n;
}
