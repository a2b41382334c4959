/**
 * Hard limits applied to hostile input *before* any regex runs. They bound both memory and
 * the worst-case time of the rule engine: a regex can only backtrack over as many bytes as
 * a header value may hold.
 */

/** Real header blocks are a few KB; 256 KiB covers long Received chains and DKIM stacks. */
export const MAX_HEADER_BYTES = 256 * 1024;
/** Longest single (unfolded) header value we look at; longer ones are spam or attacks. */
export const MAX_HEADER_VALUE_BYTES = 16 * 1024;
/** Real mail has tens of fields, list traffic a few hundred; thousands is an attack. */
export const MAX_HEADER_FIELDS = 1000;
/** A fingerprint value longer than this is cut before it is stored or matched. */
export const MAX_FINGERPRINT_VALUE_CHARS = 1024;
/** Signed parts can carry large attachments; past this harvesting stops rather than hash without bound. */
export const MAX_SIGNED_PART_BYTES = 25 * 1024 * 1024;
/** A signature with a long chain is a few KB; 1 MiB is far beyond any real one. */
export const MAX_SIGNATURE_BYTES = 1024 * 1024;
/**
 * Largest S/MIME message a source hands over whole for certificate harvesting (the signed part,
 * the signature and some headers: 27 MiB); larger ones are classified from headers only.
 */
export const MAX_SMIME_MESSAGE_BYTES = MAX_SIGNED_PART_BYTES + 2 * MAX_SIGNATURE_BYTES;
/**
 * Most bytes one ingest batch may hold (header blocks plus the signed bytes kept for
 * harvesting). The message count alone does not bound memory: 2,000 signed messages of
 * MAX_SMIME_MESSAGE_BYTES would be 54 GiB. A batch closes before an item that would cross this,
 * so it holds at least one message and at most max(this, one message) bytes.
 */
export const MAX_BATCH_BYTES = 32 * 1024 * 1024;
