/**
 * A whole header block classified the way `classify` with {"raw": …} and `npm run eval` see it:
 * parsed, then its fingerprint and the S/MIME kind of its Content-Type (src/app/classify-lines.ts,
 * src/app/evaluate.ts). Throws when parse rejects the block: a fixture that does not parse is a
 * broken test, not a verdict.
 */
import { classify, fingerprintFromFields, type RuleSet } from '../../src/classify/index.js';
import { parseHeaderBlock, smimeKindOf } from '../../src/parse/index.js';
import type { Verdict } from '../../src/core/index.js';

export function classifyBlock(rules: RuleSet, bytes: Uint8Array): Verdict {
  const parsed = parseHeaderBlock(bytes);
  if (!parsed.ok) throw new Error(parsed.detail);
  const ct = parsed.fields.find((f) => f.name === 'content-type')?.value;
  return classify(rules, fingerprintFromFields(parsed.fields), { smimeMessage: smimeKindOf(ct) });
}
