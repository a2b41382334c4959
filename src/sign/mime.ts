/**
 * Strict, byte-exact MIME primitives for S/MIME. A signature covers exact bytes, so unlike a
 * general parser we never decode-and-re-serialise what we do not have to: entities are split
 * by offsets into the original buffer.
 */
import { libmime } from './libmime.js';

/** One header field: lower-case name and its raw bytes (folded lines and the final CRLF included). */
export interface RawHeader {
  readonly name: string;
  readonly raw: Buffer;
}

const CR = 0x0d;
const LF = 0x0a;

/** Converts bare LF and bare CR line ends to CRLF (the canonical form RFC 5751/8551 signs). */
export function toCrlf(input: Uint8Array): Buffer {
  const buf = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  // latin1 maps bytes 1:1 to chars, so native string/regex code does the byte work
  const s = buf.toString('latin1');
  // fast path: already canonical (every CR followed by LF, every LF preceded by CR)
  if (!/\r(?!\n)|(?<!\r)\n/.test(s)) return buf;
  return Buffer.from(s.replace(/\r\n?|\n/g, '\r\n'), 'latin1');
}

/** Offset of the blank line ending the header block (index of its CRLF CRLF), or -1. */
function headerEnd(buf: Buffer): number {
  if (buf[0] === CR && buf[1] === LF) return 0;
  const i = buf.indexOf('\r\n\r\n');
  return i === -1 ? -1 : i + 2;
}

/**
 * Splits a CRLF entity into raw header fields and body. A missing blank line means "headers
 * only" (RFC 5322 allows a message without body). Lines before the first field that are not
 * fields (an mbox `From ` line) are dropped; a non-field line later is an error.
 */
export function splitEntity(buf: Buffer): { headers: RawHeader[]; body: Buffer; malformed: string | null } {
  const he = headerEnd(buf);
  const headerBlock = he === -1 ? buf : buf.subarray(0, he);
  const body = he === -1 ? Buffer.alloc(0) : buf.subarray(he + 2);
  const headers: RawHeader[] = [];
  let malformed: string | null = null;
  let pos = 0;
  while (pos < headerBlock.length) {
    let end = headerBlock.indexOf('\r\n', pos);
    end = end === -1 ? headerBlock.length : end + 2;
    // continuation lines (start with SP or HTAB) belong to the field
    while (end < headerBlock.length && (headerBlock[end] === 0x20 || headerBlock[end] === 0x09)) {
      const n = headerBlock.indexOf('\r\n', end);
      end = n === -1 ? headerBlock.length : n + 2;
    }
    const line = headerBlock.subarray(pos, end);
    const colon = line.indexOf(0x3a);
    const name = colon > 0 ? line.subarray(0, colon).toString('latin1') : '';
    if (!/^[\x21-\x39\x3b-\x7e]+$/.test(name)) {
      if (headers.length > 0 && malformed === null) malformed = 'a header line is not a field';
    } else {
      headers.push({ name: name.toLowerCase(), raw: line.at(-1) === LF ? line : Buffer.concat([line, Buffer.from('\r\n')]) });
    }
    pos = end;
  }
  return { headers, body, malformed };
}

/** Unfolded value of a raw field (bytes after the colon, UTF-8 decoded, trimmed). */
export function headerValue(h: RawHeader): string {
  const colon = h.raw.indexOf(0x3a);
  return h.raw
    .subarray(colon + 1)
    .toString('utf8')
    .replace(/\r\n([ \t])/g, '$1')
    .trim();
}

/** First field of that (lower-case) name. */
export function findHeader(headers: readonly RawHeader[], name: string): RawHeader | undefined {
  return headers.find((h) => h.name === name);
}

export interface ContentType {
  /** Lower-case media type, `text/plain` when absent (RFC 2045 section 5.2). */
  readonly type: string;
  readonly params: Readonly<Record<string, string>>;
}

/** Parses a Content-Type value (RFC 2231 continuations decoded by libmime). */
export function parseContentType(value: string | undefined): ContentType {
  if (!value) return { type: 'text/plain', params: { charset: 'us-ascii' } };
  const parsed = libmime().parseHeaderValue(value);
  const type = String(parsed.value ?? '').trim().toLowerCase();
  const params: Record<string, string> = {};
  for (const [k, v] of Object.entries(parsed.params ?? {})) params[k.toLowerCase()] = String(v);
  return { type: type || 'text/plain', params };
}

/** A part of a multipart body, as offsets into it. */
export interface BodyPart {
  readonly start: number;
  readonly end: number;
}

/**
 * Splits a multipart body by its boundary (RFC 2046 section 5.1.1): a delimiter is CRLF "--"
 * boundary (at body start the CRLF may be absent), optional transport padding, CRLF. The CRLF
 * before a delimiter belongs to the delimiter, not to the part (that is what the signature
 * of a multipart/signed part excludes). Returns null when there is no closing delimiter or no part.
 */
export function splitMultipart(body: Buffer, boundary: string): { parts: BodyPart[]; preambleEnd: number; epilogueStart: number } | null {
  const delim = Buffer.from('--' + boundary, 'latin1');
  const parts: BodyPart[] = [];
  let partStart = -1;
  let preambleEnd = -1;
  let search = 0;
  for (;;) {
    const i = body.indexOf(delim, search);
    if (i === -1) return null;
    // at body start, or after CRLF (which may be the CRLF ending the previous delimiter line)
    const atLineStart = i === 0 || i === partStart || (i >= 2 && body[i - 2] === CR && body[i - 1] === LF);
    if (!atLineStart) {
      search = i + 1;
      continue;
    }
    let j = i + delim.length;
    const closing = body[j] === 0x2d && body[j + 1] === 0x2d;
    if (closing) j += 2;
    // transport padding: spaces/tabs up to the CRLF
    while (body[j] === 0x20 || body[j] === 0x09) j++;
    const lineEnd = j === body.length ? j : body[j] === CR && body[j + 1] === LF ? j + 2 : -1;
    if (lineEnd === -1) {
      // "--boundaryX...": a longer token that merely starts with ours
      search = i + 1;
      continue;
    }
    const beforeCrlf = i === 0 ? 0 : Math.max(i - 2, partStart);
    if (partStart === -1) preambleEnd = beforeCrlf;
    else parts.push({ start: partStart, end: beforeCrlf });
    if (closing) {
      if (parts.length === 0) return null;
      return { parts, preambleEnd, epilogueStart: lineEnd };
    }
    partStart = lineEnd;
    search = lineEnd;
  }
}

/** Characters that end a bare address token (RFC 5322 specials and white space, as the old bare-address regex). */
const BARE_STOP = new Set([' ', '\t', '\r', '\n', '\f', '\v', '<', '>', ',', ';', ':', '"', '(', ')']);

/**
 * Extracts the addr-spec of the first mailbox of an address header value, lower-cased. Linear
 * scans, not regexes: the value is the sender's to write, and the regexes this replaced were
 * quadratic on a long run without `@` (recheck: 2nd degree polynomial).
 */
export function firstAddress(value: string): string | null {
  // <addr-spec>: the first angle pair whose content is one token holding an inner '@'.
  let close = -1;
  for (let i = value.indexOf('<'); i !== -1; ) {
    // Each stretch of the value is scanned once: `<<<<…>` keeps the same close.
    if (close <= i) close = value.indexOf('>', i + 1);
    if (close === -1) break;
    const next = value.indexOf('<', i + 1);
    if (next !== -1 && next < close) {
      i = next;
      continue;
    }
    const inner = value.slice(i + 1, close).trim();
    const at = inner.indexOf('@', 1);
    if (at !== -1 && at < inner.length - 1 && !/\s/.test(inner)) return inner.toLowerCase();
    i = value.indexOf('<', close + 1);
  }
  // A bare address: the first token (between specials and white space) with an '@' inside it.
  let start = 0;
  for (let i = 0; i <= value.length; i++) {
    if (i < value.length && !BARE_STOP.has(value[i]!) && !/\s/.test(value[i]!)) continue;
    const token = value.slice(start, i);
    const at = token.indexOf('@', 1);
    if (at !== -1 && at < token.length - 1) return token.toLowerCase();
    start = i + 1;
  }
  return null;
}
