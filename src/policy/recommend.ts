import type { Recommendation } from '../core/index.js';
import type { AddressState } from './state.js';

export type PolicyMode = 'strict' | 'lenient';

export interface PolicyOptions {
  mode: PolicyMode;
  /** Evidence older than this no longer counts (default 180 days). */
  windowDays: number;
}

export interface Decision {
  recommendation: Recommendation;
  reason: string;
  /** When this decision expires because its deciding evidence leaves the window (null: never by time alone). */
  decidedUntil: number | null;
}

const DAY_MS = 86_400_000;
const day = (t: number): string => new Date(t).toISOString().slice(0, 10);

/**
 * The recommendation for one address at time `now`. Pure.
 * - strict: `sign` when the recent evidence (within the window) all comes from `verify` clients
 *   or S/MIME-signed mail; `do-not-sign` when a non-`verify` client was seen in the window;
 *   otherwise `unknown`.
 * - lenient (signed mail is harmless to most clients): `sign` unless a `broken` client was seen
 *   in the window; `unknown` only for addresses without any evidence.
 */
export function recommend(state: AddressState | null, now: number, policy: PolicyOptions): Decision {
  if (state === null) return { recommendation: 'unknown', reason: 'never seen', decidedUntil: null };
  const window = policy.windowDays * DAY_MS;
  const since = now - window;
  const inWindow = (t: number | null): t is number => t !== null && t >= since;
  const expires = (t: number): number => t + window;

  if (policy.mode === 'lenient') {
    if (inWindow(state.lastBrokenAt)) {
      return {
        recommendation: 'do-not-sign',
        reason: `seen ${day(state.lastBrokenAt)} with ${state.lastBrokenClient ?? 'a client'}, which shows signed mail badly`,
        decidedUntil: expires(state.lastBrokenAt),
      };
    }
    return { recommendation: 'sign', reason: `no client that breaks signed mail seen in the last ${policy.windowDays} days (lenient policy)`, decidedUntil: null };
  }

  if (inWindow(state.lastNonVerifyAt)) {
    return {
      recommendation: 'do-not-sign',
      reason: `seen ${day(state.lastNonVerifyAt)} with ${state.lastNonVerifyClient ?? 'a client'} (S/MIME: ${state.lastNonVerifySmime ?? 'unknown'})`,
      decidedUntil: expires(state.lastNonVerifyAt),
    };
  }
  if (inWindow(state.lastVerifyAt)) {
    if (inWindow(state.lastUnrecognisedAt)) {
      return {
        recommendation: 'unknown',
        reason: `also seen ${day(state.lastUnrecognisedAt)} with a mail program no rule recognises`,
        decidedUntil: Math.min(expires(state.lastUnrecognisedAt), expires(state.lastVerifyAt)),
      };
    }
    const signed = inWindow(state.lastSignedAt) ? ' (sent S/MIME-signed mail)' : '';
    const client = state.family ? `${[state.product ?? state.family, state.version].filter(Boolean).join(' ')}` : 'S/MIME-capable mail';
    return {
      recommendation: 'sign',
      reason: `all evidence of the last ${policy.windowDays} days is from clients that verify S/MIME: last ${client} on ${day(state.lastVerifyAt)}${signed}`,
      decidedUntil: expires(state.lastVerifyAt),
    };
  }
  if (inWindow(state.lastUnrecognisedAt)) {
    return { recommendation: 'unknown', reason: `mail program not recognised (last mail ${day(state.lastUnrecognisedAt)})`, decidedUntil: expires(state.lastUnrecognisedAt) };
  }
  const any = state.lastVerifyAt ?? state.lastNonVerifyAt ?? state.lastUnrecognisedAt;
  return {
    recommendation: 'unknown',
    reason: any !== null ? `no evidence in the last ${policy.windowDays} days` : 'no evidence about the mail program (only automated, unauthenticated or forged-looking mail)',
    decidedUntil: null,
  };
}
