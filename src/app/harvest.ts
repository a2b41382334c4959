import type { SourceItem } from '../core/index.js';
import type { HarvestResult } from '../sign/index.js';
// Continuity alone, not sign/'s index: it is pure and runs in the store's sync transaction,
// while the index pulls in the CMS library (pkijs, asn1js), which only signed mail needs.
import { compareCertificates } from '../sign/continuity.js';
import type { CertificateRow, Continuity, NewCertificate } from '../store/index.js';
import type { Config } from '../config/index.js';
import type { Logger } from './logger.js';

export type Harvests = ReadonlyMap<string, HarvestResult>;

/** An item to harvest: its signed bytes and the sender's address as parse found it. */
export interface HarvestInput {
  readonly sourceKey: string;
  readonly smimeBytes: NonNullable<SourceItem['smimeBytes']>;
  /** parse's address of the message (the one the observation is stored under). */
  readonly from: string;
}

/**
 * Verifies the S/MIME signatures of the items and extracts the signers' certificates, matched
 * against parse's address (never a second reading of the From header). Async (WebCrypto), so it
 * runs before the store transaction.
 */
export async function harvestItems(ctx: { readonly logger: Logger }, items: readonly HarvestInput[], trustedCaPems: readonly string[]): Promise<Harvests> {
  const out = new Map<string, HarvestResult>();
  for (const item of items) {
    const b = item.smimeBytes;
    const { harvestFromMessage, harvestFromParts } = await loadSign();
    try {
      const opts = { trustedCaPems, useSystemTrust: true, from: item.from };
      const r = b.kind === 'message' ? await harvestFromMessage(b.message, opts) : await harvestFromParts(b.signedPart, b.signature, opts);
      out.set(item.sourceKey, r);
    } catch (e) {
      // harvest* never throw on hostile input; anything here is a bug, and must not stop ingest.
      ctx.logger.error({ component: 'harvest', sourceKey: item.sourceKey, err: (e as Error).message }, 'harvesting failed');
    }
  }
  return out;
}

/**
 * sign/ on first use: most mail is unsigned, and an MTA starts one `import -` process per
 * message, which should not pay ~60 ms for loading the CMS library it does not need.
 */
function loadSign(): Promise<typeof import('../sign/index.js')> {
  return import('../sign/index.js');
}

/** Loads the configured CA set once per process. */
export async function trustedCas(ctx: { readonly config: Config }): Promise<string[]> {
  return (await loadSign()).loadTrustedCaPems(ctx.config.sign.trustedCaFiles);
}

/**
 * The certificate of a harvest as the store keeps it, or null when the harvest is rejected
 * (not verified, no certificate, or one for another address than the sender's).
 */
export function certificateOf(address: string, r: HarvestResult): NewCertificate | null {
  const c = r.certificate;
  if (!r.ok || !c || c.address !== address) return null;
  return {
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
    pem: c.pem,
  };
}

/** Key continuity of a new certificate against the address's current one (run by the store inside the ingest transaction). */
export function continuityOf(prev: CertificateRow | null, next: NewCertificate): Continuity {
  return compareCertificates(prev && { fingerprint: prev.fingerprint, spkiSha256: prev.spki_sha256, subject: prev.subject, issuer: prev.issuer }, {
    fingerprint: next.fingerprint,
    spkiSha256: next.spki_sha256,
    subject: next.subject,
    issuer: next.issuer,
  });
}
