import type { Kind, Recommendation, SmimeLevel, SmimeMessageKind } from '../core/index.js';

/** Per-address state (Autocrypt-style peer state). Times are epoch milliseconds. */
export interface AddressState {
  address: string;
  firstSeen: number;
  lastSeen: number;
  messages: number;
  lastVerifyAt: number | null;
  lastNonVerifyAt: number | null;
  lastNonVerifyClient: string | null;
  lastNonVerifySmime: SmimeLevel | null;
  lastBrokenAt: number | null;
  lastBrokenClient: string | null;
  lastUnrecognisedAt: number | null;
  lastSignedAt: number | null;
  family: string | null;
  product: string | null;
  version: string | null;
  smime: SmimeLevel | null;
  clientAt: number | null;
  recommendation: Recommendation;
  reason: string;
  decidedUntil: number | null;
  keyChanged: boolean;
}

/** What the policy needs to know about one observation. */
export interface ObservationFacts {
  at: number;
  family: string | null;
  kind: Kind;
  product: string | null;
  version: string | null;
  smime: SmimeLevel;
  confidence: number;
  warnings: readonly string[];
  smimeMessage: SmimeMessageKind | null | undefined;
  /** false = failed DMARC at a trusted server. */
  authenticated: boolean | null;
}

/** Below this confidence an observation is treated as possibly forged (see classify's genuineness checks). */
export const MIN_EVIDENCE_CONFIDENCE = 0.5;

export type EvidenceClass = 'verify' | 'non-verify' | 'unrecognised' | 'none';

/**
 * How an observation counts towards the recommendation. Automated mail says nothing about a
 * person's mail program; forged-looking or unauthenticated mail must not change a
 * recommendation on its own, so it is stored but is not evidence.
 */
export function evidenceClass(o: ObservationFacts): EvidenceClass {
  if (o.kind === 'automated' || o.kind === 'server') return 'none';
  if (o.authenticated === false) return 'none';
  if (o.confidence < MIN_EVIDENCE_CONFIDENCE && o.family !== null) return 'none';
  // A signed message is the strongest evidence of capability (though a server may have signed it).
  if (o.smimeMessage === 'signed' || o.smimeMessage === 'opaque-signed') return 'verify';
  // Person mail from a program no rule knows: not evidence for either side, but it blocks `sign`
  // under the strict policy. A forged-looking value is not even that.
  if (o.family === null) return o.warnings.some((w) => w.startsWith('forged:')) ? 'none' : 'unrecognised';
  return o.smime === 'verify' ? 'verify' : 'non-verify';
}

/** Human label of a client for reasons: "Thunderbird 102.10.0 (thunderbird)". */
export function clientLabel(o: Pick<ObservationFacts, 'family' | 'product' | 'version'>): string {
  const name = [o.product ?? o.family ?? 'unknown client', o.version].filter(Boolean).join(' ');
  return o.family && o.product ? `${name} (${o.family})` : name;
}

const max = (a: number | null, b: number): number => (a === null || b > a ? b : a);

/**
 * Folds one observation into the state. Every "last" field moves only forward in effective
 * time, so the result does not depend on the order observations arrive in.
 */
export function applyObservation(prev: AddressState | null, address: string, o: ObservationFacts): AddressState {
  const s: AddressState = prev
    ? { ...prev }
    : {
        address,
        firstSeen: o.at,
        lastSeen: o.at,
        messages: 0,
        lastVerifyAt: null,
        lastNonVerifyAt: null,
        lastNonVerifyClient: null,
        lastNonVerifySmime: null,
        lastBrokenAt: null,
        lastBrokenClient: null,
        lastUnrecognisedAt: null,
        lastSignedAt: null,
        family: null,
        product: null,
        version: null,
        smime: null,
        clientAt: null,
        recommendation: 'unknown',
        reason: '',
        decidedUntil: null,
        keyChanged: false,
      };
  s.messages += 1;
  s.firstSeen = Math.min(s.firstSeen, o.at);
  s.lastSeen = Math.max(s.lastSeen, o.at);
  if (o.smimeMessage === 'signed' || o.smimeMessage === 'opaque-signed') s.lastSignedAt = max(s.lastSignedAt, o.at);
  const cls = evidenceClass(o);
  if (cls === 'verify') s.lastVerifyAt = max(s.lastVerifyAt, o.at);
  else if (cls === 'unrecognised') s.lastUnrecognisedAt = max(s.lastUnrecognisedAt, o.at);
  else if (cls === 'non-verify') {
    if (s.lastNonVerifyAt === null || o.at >= s.lastNonVerifyAt) {
      s.lastNonVerifyAt = o.at;
      s.lastNonVerifyClient = clientLabel(o);
      s.lastNonVerifySmime = o.smime;
    }
    if (o.smime === 'broken' && (s.lastBrokenAt === null || o.at >= s.lastBrokenAt)) {
      s.lastBrokenAt = o.at;
      s.lastBrokenClient = clientLabel(o);
    }
  }
  if ((cls === 'verify' || cls === 'non-verify') && o.family !== null && (s.clientAt === null || o.at >= s.clientAt)) {
    s.clientAt = o.at;
    s.family = o.family;
    s.product = o.product;
    s.version = o.version;
    s.smime = o.smime;
  }
  return s;
}
