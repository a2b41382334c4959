/**
 * Key Continuity Management (trust on first use, alert on change) for harvested certificates.
 */
import type { HarvestedCert } from './harvest.js';

export type ContinuityVerdict = 'first-seen' | 'same' | 'renewal' | 'key-changed';

/** The fields continuity looks at (HarvestedCert satisfies it; so does a stored row). */
export type ContinuityCert = Pick<HarvestedCert, 'fingerprint' | 'spkiSha256' | 'subject' | 'issuer'>;

/**
 * Classifies `current` against the certificate last stored for the same address:
 * nothing before -> first-seen; the identical certificate -> same; a new certificate with the
 * same key (SPKI), or from the same issuer for the same subject -> renewal; any other key ->
 * key-changed (alert the operator: a new device, or someone else).
 */
export function compareCertificates(previous: ContinuityCert | null, current: ContinuityCert): ContinuityVerdict {
  if (!previous) return 'first-seen';
  if (previous.fingerprint === current.fingerprint) return 'same';
  if (previous.spkiSha256 === current.spkiSha256) return 'renewal';
  if (previous.issuer === current.issuer && previous.subject === current.subject) return 'renewal';
  return 'key-changed';
}
