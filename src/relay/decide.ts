/**
 * Per-recipient signing decision of the relay. Pure: recommendations in, two envelopes out.
 * The envelope (RCPT TO) decides, never the To/Cc headers: Bcc recipients and mailing-list
 * expansions appear only there.
 */
import type { Recommendation } from '../core/index.js';
import type { RelayMode } from '../config/index.js';

export interface RecipientPlan {
  /** Recipients that get the S/MIME-signed copy (original spelling, envelope order). */
  sign: string[];
  /** Recipients that get the application's bytes unchanged. */
  plain: string[];
}

/**
 * Splits the envelope recipients. `recommendations` is keyed by the lower-cased address; a
 * recipient without an answer counts as `unknown`, never as `sign`.
 */
export function planRecipients(
  recipients: readonly string[],
  mode: RelayMode,
  unknown: 'unsigned' | 'signed',
  recommendations: ReadonlyMap<string, Recommendation>,
): RecipientPlan {
  const plan: RecipientPlan = { sign: [], plain: [] };
  for (const r of recipients) {
    let sign: boolean;
    if (mode === 'always') sign = true;
    else if (mode === 'never') sign = false;
    else {
      const rec = recommendations.get(r.toLowerCase()) ?? 'unknown';
      sign = rec === 'sign' || (rec === 'unknown' && unknown === 'signed');
    }
    (sign ? plan.sign : plan.plain).push(r);
  }
  return plan;
}
