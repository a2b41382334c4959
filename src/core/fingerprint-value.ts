import { withoutDkimSignatureBytes } from './dkim.js';
import { receivedHop } from './received.js';

/**
 * What a fingerprint keeps of a header value (parse builds fingerprints with it, for ingest and for
 * eval alike, so classify and the store see the same text): most fields as they are; a field whose
 * text is personal data or per-message bytes reduced to what can tell a program.
 *
 * - Received: `by <host> with <protocol>` only (received.ts); null when nothing is left.
 * - DKIM-Signature: without its b= and bh= (dkim.ts).
 * - X-YMail-OSG: presence only, as ''. Yahoo's and AOL's submission servers add this opaque,
 *   per-message token (2.3-2.7 KB in the corpus's blocks); no rule can read its text, only that
 *   the submission went through them (rules/clients/signals.yaml names it in `absent`). Kept whole
 *   it was cut at MAX_FINGERPRINT_VALUE_CHARS, so every Yahoo and AOL message carried
 *   input:value-truncated, and each stored row held 1 KB of it.
 */
export function fingerprintValue(name: string, value: string): string | null {
  switch (name) {
    case 'received':
      return receivedHop(value);
    case 'dkim-signature':
      return withoutDkimSignatureBytes(value);
    case 'x-ymail-osg':
      return '';
    default:
      return value;
  }
}
