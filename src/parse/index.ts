export { splitHeaderBlock, headerBlockLength } from './header-block.js';
export type { RawField, SplitResult } from './header-block.js';
export { decodeWords, mediaTypeOf, parseStructured, parseMailboxes } from './decode.js';
export {
  parseMessage,
  effectiveDate,
  trustedDate,
  EARLIEST_TRUSTED_DATE,
  MAX_FUTURE_SKEW_MS,
  isValidAddress,
  normalizeAddress,
  normalizeMessageId,
  smimeKindOf,
  PARSE_FIELDS,
} from './parse-message.js';
export type { FingerprintSelector, ParseOptions } from './parse-message.js';


import type { HeaderField, SkipReason } from '../core/index.js';
import { splitHeaderBlock } from './header-block.js';
import { decodeWords } from './decode.js';

/**
 * Parses a raw header block into unfolded, RFC 2047-decoded fields, for callers that only want
 * the fields (e.g. `classify` with {"raw": …}); same limits as parseMessage.
 */
export function parseHeaderBlock(
  bytes: Uint8Array,
): { ok: true; fields: HeaderField[] } | { ok: false; reason: SkipReason; detail: string } {
  const split = splitHeaderBlock(bytes);
  if (!split.ok) return split;
  return { ok: true, fields: split.fields.map((f) => ({ name: f.name, value: decodeWords(f.value) })) };
}
export { dmarcResult } from './auth-results.js';
