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

/**
 * Splits a header block into unfolded fields, in order, repeats kept. Applies the hard limits
 * (total bytes, field count, per-value bytes) before anything else looks at the text, so no
 * later regex ever sees unbounded input.
 */
export function splitHeaderBlock(bytes: Uint8Array, want?: (name: string) => boolean): SplitResult {
  const len = headerBlockLength(bytes);
  if (len < 0) return { ok: false, reason: 'too-large', detail: `header block exceeds ${MAX_HEADER_BYTES} bytes` };
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // UTF-8 first (RFC 6532 allows raw UTF-8 in headers); invalid sequences become U+FFFD, never an error.
  const text = buf.toString('utf8', 0, len);
  const fields: RawField[] = [];
  let count = 0;
  let name: string | null = null;
  let value = '';
  let start = 0;
  const flush = (): SplitResult | null => {
    if (name === null) return null;
    if (value.length > MAX_HEADER_VALUE_BYTES) {
      return { ok: false, reason: 'value-too-long', detail: `value of ${name} exceeds ${MAX_HEADER_VALUE_BYTES} bytes` };
    }
    if (count >= MAX_HEADER_FIELDS) {
      return { ok: false, reason: 'too-many-fields', detail: `more than ${MAX_HEADER_FIELDS} header fields` };
    }
    count++;
    // Unwanted fields are counted against the limits but never materialised: a header block is
    // mostly Received/DKIM/ARC fields that nothing downstream reads.
    if (want === undefined || want(name)) fields.push({ name, value: value.trim() });
    name = null;
    return null;
  };
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    let line = text.slice(start, end);
    if (line.endsWith('\r')) line = line.slice(0, -1);
    start = end + 1;
    if (line.length === 0) break;
    const c = line.charCodeAt(0);
    if (c === 0x20 || c === 0x09) {
      // Continuation line (RFC 5322 folding): unfold by dropping the line break only.
      if (name !== null) {
        value += line;
        if (value.length > MAX_HEADER_VALUE_BYTES) {
          return { ok: false, reason: 'value-too-long', detail: `value of ${name} exceeds ${MAX_HEADER_VALUE_BYTES} bytes` };
        }
      }
      continue;
    }
    const failed = flush();
    if (failed) return failed;
    const colon = line.indexOf(':');
    if (colon <= 0) {
      // mbox "From " separator or a garbage line: not a field, ignored (mail in the wild has them).
      continue;
    }
    const rawName = line.slice(0, colon).trimEnd();
    // Field names are printable ASCII without spaces (RFC 5322 2.2); anything else is garbage.
    if (!/^[!-9;-~]+$/.test(rawName)) continue;
    name = rawName.toLowerCase();
    value = line.slice(colon + 1);
  }
  const failed = flush();
  if (failed) return failed;
  if (count === 0) return { ok: false, reason: 'malformed', detail: 'no header fields' };
  return { ok: true, fields };
}

export type { HeaderField };
