import { MAX_HEADER_BYTES, MAX_HEADER_FIELDS, MAX_HEADER_VALUE_BYTES } from '../core/index.js';
import type { HeaderField, SkipReason } from '../core/index.js';

/** Raw (undecoded) field: lower-case name, unfolded value. */
export interface RawField {
  readonly name: string;
  readonly value: string;
}

export type SplitResult =
  | { readonly ok: true; readonly fields: RawField[] }
  | { readonly ok: false; readonly reason: SkipReason; readonly detail: string };

const LF = 0x0a;
const CR = 0x0d;

/**
 * Length of the header block: up to (not including) the first empty line. Returns -1 when no
 * empty line occurs within `limit` bytes and the input is longer than that (header too large).
 */
export function headerBlockLength(bytes: Uint8Array, limit = MAX_HEADER_BYTES): number {
  const n = Math.min(bytes.length, limit + 2);
  // Buffer.indexOf runs in native code; header blocks end at "\n\n" or "\n\r\n".
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let from = 0;
  if (buf[0] === LF) return 0;
  if (buf[0] === CR && buf[1] === LF) return 0;
  while (from < n) {
    const i = buf.indexOf(LF, from);
    if (i < 0 || i >= n) break;
    const next = buf[i + 1];
    if (next === LF) return i + 1 <= limit ? i + 1 : -1;
    if (next === CR && buf[i + 2] === LF) return i + 1 <= limit ? i + 1 : -1;
    from = i + 1;
  }
  // No blank line: the whole input is the header block (IMAP HEADER.FIELDS ends with one, files may not).
  return bytes.length <= limit ? bytes.length : -1;
}

/** Field names are printable ASCII without spaces (RFC 5322 2.2); anything else is garbage. */
const FIELD_NAME = /^[!-9;-~]+$/;

/**
 * Splits a header block into unfolded fields, in order, repeats kept. Applies the hard limits
 * (total bytes, field count, per-value bytes) before anything else looks at the text, so no
 * later regex ever sees unbounded input.
 *
 * Works on offsets into the block's text: a field `want` rejects (most of a header block is
 * Received, DKIM, ARC and spam-filter fields that nothing downstream reads) is counted and its
 * length checked against the limits, but no string of it is ever cut out or joined.
 */
export function splitHeaderBlock(bytes: Uint8Array, want?: (name: string) => boolean): SplitResult {
  const len = headerBlockLength(bytes);
  if (len < 0) return { ok: false, reason: 'too-large', detail: `header block exceeds ${MAX_HEADER_BYTES} bytes` };
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // UTF-8 first (RFC 6532 allows raw UTF-8 in headers); invalid sequences become U+FFFD, never an error.
  const text = buf.toString('utf8', 0, len);
  const fields: RawField[] = [];
  let count = 0;
  // The open field: its name (null when none is open), whether it is kept, its value so far
  // (kept fields only) and its length (every field: the limit applies to all of them).
  let name: string | null = null;
  let keep = false;
  let value = '';
  let valueLength = 0;
  // The first ':' at or after the current line: a line without one must not search the rest of
  // the block again (a run of colon-less lines would be quadratic), so the search is remembered.
  let colonAt = -1;
  let start = 0;
  const tooLong = (): SplitResult => ({ ok: false, reason: 'value-too-long', detail: `value of ${name} exceeds ${MAX_HEADER_VALUE_BYTES} bytes` });
  const flush = (): SplitResult | null => {
    if (name === null) return null;
    if (valueLength > MAX_HEADER_VALUE_BYTES) return tooLong();
    if (count >= MAX_HEADER_FIELDS) {
      return { ok: false, reason: 'too-many-fields', detail: `more than ${MAX_HEADER_FIELDS} header fields` };
    }
    count++;
    if (keep) fields.push({ name, value: value.trim() });
    name = null;
    value = '';
    return null;
  };
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const lineStart = start;
    const lineEnd = end > lineStart && text.charCodeAt(end - 1) === 0x0d ? end - 1 : end;
    start = end + 1;
    if (lineEnd === lineStart) break;
    const c = text.charCodeAt(lineStart);
    if (c === 0x20 || c === 0x09) {
      // Continuation line (RFC 5322 folding): unfold by dropping the line break only.
      if (name !== null) {
        valueLength += lineEnd - lineStart;
        if (valueLength > MAX_HEADER_VALUE_BYTES) return tooLong();
        if (keep) value += text.slice(lineStart, lineEnd);
      }
      continue;
    }
    const failed = flush();
    if (failed) return failed;
    if (colonAt < lineStart) colonAt = text.indexOf(':', lineStart);
    // mbox "From " separator or a garbage line: not a field, ignored (mail in the wild has them).
    if (colonAt < 0 || colonAt >= lineEnd) {
      if (colonAt < 0) colonAt = text.length;
      continue;
    }
    if (colonAt === lineStart) continue;
    const rawName = text.slice(lineStart, colonAt).trimEnd();
    if (!FIELD_NAME.test(rawName)) continue;
    name = rawName.toLowerCase();
    keep = want === undefined || want(name);
    valueLength = lineEnd - colonAt - 1;
    if (keep) value = text.slice(colonAt + 1, lineEnd);
  }
  const failed = flush();
  if (failed) return failed;
  if (count === 0) return { ok: false, reason: 'malformed', detail: 'no header fields' };
  return { ok: true, fields };
}

export type { HeaderField };
