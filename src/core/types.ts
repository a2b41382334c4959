/**
 * Shared types: the contracts between stages. Stages import only from core/.
 */

/** Lower-case header name -> its values in original order (repeated fields kept). */
export type Fingerprint = Readonly<Record<string, readonly string[]>>;

/** One raw message (header block at least) from any source. */
export interface SourceItem {
  /** Stable, unique per message within the source kind: `file:<abs path>#<offset>`, `imap:<account>/<folder>/<uidvalidity>/<uid>`. */
  readonly sourceKey: string;
  /** Bytes of the header block (may include the body; parse stops at the first empty line). */
  readonly headerBytes: Uint8Array;
  /** When the mailbox received it (IMAP INTERNALDATE, mbox From_ line, file mtime), if known. */
  readonly receivedAt: Date | null;
  /**
   * For S/MIME-signed messages only, when the source can provide it: the whole message, or the
   * signed part and the signature part (IMAP fetches just those), for certificate harvesting.
   */
  /**
   * Set when the source already knows the message cannot be read (an mbox separator line too
   * long to be one): ingest counts it under this reason and looks at nothing else.
   */
  readonly skip?: { readonly reason: SkipReason; readonly detail: string };
  readonly smimeBytes?:
    | { readonly kind: 'message'; readonly message: Uint8Array }
    | { readonly kind: 'parts'; readonly signedPart: Uint8Array; readonly signature: Uint8Array };
}

/** One header field as it appeared, unfolded and RFC 2047-decoded. */
export interface HeaderField {
  /** Lower-case name. */
  readonly name: string;
  readonly value: string;
}

export type SmimeMessageKind = 'signed' | 'opaque-signed' | 'encrypted';

/** The result of parse: everything later stages need, nothing else. */
export interface ParsedMessage {
  /** The fields parse and classify read (PARSE_FIELDS + the fingerprint's), in order, repeats kept, decoded. */
  readonly fields: readonly HeaderField[];
  /** The single From mailbox, lower-cased. */
  readonly from: string;
  /** Date header, if present and parseable. */
  readonly headerDate: Date | null;
  readonly messageId: string | null;
  /** The fields classify needs (see FINGERPRINT_FIELDS), values capped. */
  readonly fingerprint: Fingerprint;
  /** Set when the message itself is S/MIME (from the top-level Content-Type). */
  readonly smime: SmimeMessageKind | null;
}

export const SKIP_REASONS = [
  'too-large',
  'too-many-fields',
  'value-too-long',
  'malformed',
  'no-from',
  'multiple-from',
  'auto-submitted',
  'report',
  'bounce',
  'bulk',
  'own-domain',
  'erased',
] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

export type ParseResult =
  | { readonly ok: true; readonly message: ParsedMessage }
  | { readonly ok: false; readonly reason: SkipReason; readonly detail: string };

export type Kind = 'client' | 'webmail' | 'automated' | 'server' | 'unknown';

/**
 * verify: shows signed mail cleanly and checks the signature;
 * tolerate: readable, signature ignored or shown as an attachment;
 * broken: the message becomes hard to read; unknown: no source.
 */
export type SmimeLevel = 'verify' | 'tolerate' | 'broken' | 'unknown';
/**
 * Weakest first, for "the weakest of the candidates": broken < unknown < tolerate < verify.
 * `unknown` ranks below `tolerate` because an unsourced claim must never count as support.
 */
export const SMIME_LEVELS_WEAKEST_FIRST: readonly SmimeLevel[] = ['broken', 'unknown', 'tolerate', 'verify'];

/** The weaker of two levels (see SMIME_LEVELS_WEAKEST_FIRST). */
export function weakerSmime(a: SmimeLevel, b: SmimeLevel): SmimeLevel {
  return SMIME_LEVELS_WEAKEST_FIRST.indexOf(a) <= SMIME_LEVELS_WEAKEST_FIRST.indexOf(b) ? a : b;
}

/** The verdict contract: other tools depend on these names. */
export interface Verdict {
  family: string | null;
  kind: Kind;
  product: string | null;
  version: string | null;
  platform: string | null;
  smime: SmimeLevel;
  confidence: number;
  ruleId: string | null;
  warnings: string[];
  /** Other families the headers also fit (when ambiguous); `family` is one of them. */
  candidates?: string[];
  /** References backing the `smime` value. */
  references?: string[];
  /** The message itself was S/MIME: strongest evidence of capability (though a server may have signed it). */
  smimeMessage?: SmimeMessageKind | null;
}

export type Recommendation = 'sign' | 'do-not-sign' | 'unknown';

/** The bytes an item holds in memory (header block plus any signed bytes), for batch bounds. */
export function sourceItemBytes(item: SourceItem): number {
  const s = item.smimeBytes;
  const signed = !s ? 0 : s.kind === 'message' ? s.message.byteLength : s.signedPart.byteLength + s.signature.byteLength;
  // A whole message usually contains the header block too; counting both errs on the safe side.
  return item.headerBytes.byteLength + signed;
}
