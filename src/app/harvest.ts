import type { SourceItem } from '../core/index.js';
import { harvestFromMessage, harvestFromParts, compareCertificates, type HarvestResult } from '../sign/index.js';
import type { Store, CertificateRow } from '../store/index.js';
import type { Logger } from './logger.js';

/** The configured CA set (PEM texts), loaded once per pipeline. */
export type TrustedCas = readonly string[];

/**
 * Verifies the S/MIME signature of one item's signed bytes against parse's address (the one
 * address every step uses) and extracts the signer's certificate. Async (WebCrypto), so it runs
 * before the synchronous store transaction. Null only on a bug (harvest never throws on hostile
 * input); a bug must not stop ingest.
 */
export async function harvestSignature(bytes: NonNullable<SourceItem['smimeBytes']>, from: string, trustedCaPems: TrustedCas, logger: Logger, sourceKey: string): Promise<HarvestResult | null> {
  try {
    const opts = { trustedCaPems, useSystemTrust: true, from };
    return bytes.kind === 'message' ? await harvestFromMessage(bytes.message, opts) : await harvestFromParts(bytes.signedPart, bytes.signature, opts);
  } catch (e) {
    logger.error({ component: 'harvest', sourceKey, err: (e as Error).message }, 'harvesting failed');
    return null;
  }
}

/**
 * Stores a verified customer certificate with its key-continuity verdict against the address's
 * current one. Returns the verdict (or null when nothing was stored). Runs inside the ingest
 * transaction.
 */
export function storeHarvest(store: Store, address: string, r: HarvestResult, at: number): CertificateRow['continuity'] | null {
  const c = r.certificate;
  if (!r.ok || !c || c.address !== address) return null;
  const prev = store.currentCertificate(address);
  const continuity = compareCertificates(prev && { fingerprint: prev.fingerprint, spkiSha256: prev.spki_sha256, subject: prev.subject, issuer: prev.issuer }, c);
  store.putCertificate({
    address,
    fingerprint: c.fingerprint,
    spki_sha256: c.spkiSha256,
    subject: c.subject,
    issuer: c.issuer,
    serial: c.serial,
    not_before: c.notBefore.getTime(),
    not_after: c.notAfter.getTime(),
    key_algorithm: [c.keyAlgorithm, c.keySize ?? c.curve].filter(Boolean).join('-'),
    capabilities: JSON.stringify(r.capabilities.map((x) => x.name ?? x.oid)),
    trusted: r.trust?.trusted ? (r.trust.anchor ?? 'yes') : 'no',
    continuity,
    pem: c.pem,
    first_seen: at,
    last_seen: at,
  });
  return continuity;
}
