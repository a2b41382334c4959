import type { Fingerprint } from '../core/index.js';
import { applyObservation, recommend, type AddressState } from '../policy/index.js';
import type { AppContext } from './context.js';
import { assess, countedSmime, storedEvidence } from './enrich.js';
import { BatchTally, factsOf, verdictColumns } from './ingest.js';

export interface RecomputeResult {
  observations: number;
  changed: number;
  addresses: number;
}

/**
 * Re-runs the current rules over every stored fingerprint (no mail is read again) through the
 * same assess step as ingest (classify + enrich, with the evidence ingest stored), then rebuilds
 * the per-address state from the observations; key-continuity alerts come back from the stored
 * certificates. With unchanged rules nothing changes. Runs in one transaction: readers see the
 * old state until the new one is complete.
 */
export function recompute(ctx: AppContext, now = Date.now()): RecomputeResult {
  const { store, rules, config } = ctx;
  const result: RecomputeResult = { observations: 0, changed: 0, addresses: 0 };
  store.transaction(() => {
    for (const o of store.iterateObservations()) {
      result.observations++;
      const evidence = storedEvidence(o);
      const v = assess(rules, JSON.parse(o.fingerprint) as Fingerprint, evidence);
      const cols = verdictColumns(v, evidence.authenticated, o.effectiveAt);
      if (cols.family !== o.family || cols.version !== o.version || cols.smime !== o.smime || cols.ruleId !== o.ruleId || cols.kind !== o.kind || cols.confidence !== o.confidence || cols.product !== o.product || cols.platform !== o.platform || cols.warnings !== o.warnings) {
        store.updateVerdict(o.id, cols);
        result.changed++;
      }
    }
    store.clearDerived();
    let current: AddressState | null = null;
    const tally = new BatchTally();
    const flush = (): void => {
      tally.flush(store);
      if (current) {
        // The alert is sticky, as at ingest: any certificate stored with a key change raises it.
        current.keyChanged = store.certificatesOf(current.address).some((c) => c.continuity === 'key-changed');
        Object.assign(current, recommend(current, now, config.policy));
        store.putState(current);
        result.addresses++;
      }
    };
    for (const o of store.iterateObservationsByAddress()) {
      if (current && current.address !== o.address) {
        flush();
        current = null;
      }
      const evidence = storedEvidence(o);
      const v = { family: o.family, kind: o.kind as never, product: o.product, version: o.version, platform: o.platform, smime: o.smime as never, confidence: o.confidence, ruleId: o.ruleId, warnings: JSON.parse(o.warnings) as string[], smimeMessage: countedSmime(evidence) };
      const facts = factsOf(v, o.effectiveAt, evidence.authenticated);
      current = applyObservation(current, o.address, facts);
      tally.add(o, facts);
    }
    flush();
  });
  return result;
}
