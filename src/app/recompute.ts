import type { Fingerprint } from '../core/index.js';
import { assess, countedSmime, storedEvidence } from './enrich.js';
import { applyObservation, evidenceClass, recommend, type ObservationFacts } from '../policy/index.js';
import type { RecomputeResult } from '../store/index.js';
import type { AppContext } from './context.js';
import { clientOf, factsOf, verdictColumns } from './ingest.js';

export type { RecomputeResult };

/**
 * Re-runs the current rules over every stored fingerprint (no mail is read again), then
 * rebuilds the per-address state from the observations. The store runs it in one transaction:
 * readers see the old state until the new one is complete.
 */
export function recompute(ctx: AppContext, now = Date.now()): Promise<RecomputeResult> {
  const { store, rules, config } = ctx;
  return store.recompute<ObservationFacts>({
    reclassify(o) {
      // The same assess step as ingest, with the evidence ingest stored (app/enrich.ts).
      const evidence = storedEvidence(o);
      const v = assess(rules, JSON.parse(o.fingerprint) as Fingerprint, evidence);
      const cols = verdictColumns(v, evidence.authenticated, o.effectiveAt);
      const changed = cols.family !== o.family || cols.version !== o.version || cols.smime !== o.smime || cols.ruleId !== o.ruleId || cols.kind !== o.kind || cols.confidence !== o.confidence || cols.product !== o.product || cols.platform !== o.platform || cols.warnings !== o.warnings;
      return changed ? cols : null;
    },
    factsOf(o) {
      const evidence = storedEvidence(o);
      const v = { family: o.family, kind: o.kind as never, product: o.product, version: o.version, platform: o.platform, smime: o.smime as never, confidence: o.confidence, ruleId: o.ruleId, warnings: JSON.parse(o.warnings) as string[], smimeMessage: countedSmime(evidence) };
      const facts = factsOf(v, o.effectiveAt, evidence.authenticated);
      return { facts, client: clientOf(o, facts), signable: evidenceClass(facts) === 'verify' };
    },
    apply: applyObservation,
    decide: (state) => recommend(state, now, config.policy),
  });
}
