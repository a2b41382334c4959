import type { AppContext } from './context.js';
// The memo alone, not sign/'s index (which loads the CMS libraries).
import { forgetCertificatesOf } from '../sign/cert-memo.js';
import { checkAddress } from './lookup.js';

export interface ForgetResult {
  address: string;
  rowsDeleted: number;
  erasedAt: string;
}

/**
 * Right to erasure: deletes every observation, client count, certificate and the state of the
 * address, and keeps only keyed hashes: of the address with the erasure time, and of each of its
 * messages' identities, so that re-reading old mail (a UIDVALIDITY resync, a re-import, a copied
 * .eml with a fresh mtime, a message without or with a forged Date) brings nothing back.
 */
export async function forget(ctx: AppContext, address: string, now = Date.now()): Promise<ForgetResult> {
  const a = checkAddress(address);
  const rowsDeleted = await ctx.store.erase(a, ctx.erasureHash(a), now, (id) => ctx.messageErasureHash(id));
  // The certificate descriptions this process memoised (sign/cert-info.ts) name the address too.
  forgetCertificatesOf(a);
  ctx.logger.info({ component: 'privacy', rowsDeleted }, 'address erased');
  ctx.logger.debug({ component: 'privacy', address: a }, 'erased address');
  return { address: a, rowsDeleted, erasedAt: new Date(now).toISOString() };
}

/** Right of access: everything stored about the address. */
export async function show(ctx: AppContext, address: string) {
  const a = checkAddress(address);
  const [state, clients, observations, certificates] = await Promise.all([ctx.store.getState(a), ctx.store.getClients(a), ctx.store.observationsOf(a), ctx.store.certificatesOf(a)]);
  const iso = (t: number | null | undefined): string | null => (t === null || t === undefined ? null : new Date(t).toISOString());
  return {
    address: a,
    state: state && {
      ...state,
      firstSeen: iso(state.firstSeen),
      lastSeen: iso(state.lastSeen),
      lastVerifyAt: iso(state.lastVerifyAt),
      lastNonVerifyAt: iso(state.lastNonVerifyAt),
      lastBrokenAt: iso(state.lastBrokenAt),
      lastUnrecognisedAt: iso(state.lastUnrecognisedAt),
      lastSignedAt: iso(state.lastSignedAt),
      clientAt: iso(state.clientAt),
      decidedUntil: iso(state.decidedUntil),
    },
    clients: clients.map((c) => ({ ...c, lastSeen: iso(c.lastSeen) })),
    observations: observations.map((o) => ({
      ...o,
      effectiveAt: iso(o.effectiveAt),
      receivedAt: iso(o.receivedAt),
      createdAt: iso(o.createdAt),
      fingerprint: JSON.parse(o.fingerprint) as unknown,
      warnings: JSON.parse(o.warnings) as unknown,
      candidates: o.candidates ? (JSON.parse(o.candidates) as unknown) : null,
    })),
    certificates,
  };
}
