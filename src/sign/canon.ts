/**
 * Makes the entity to be signed transport-safe BEFORE it is hashed (RFC 8551 section 3.1.1-3.1.2):
 * CRLF line ends, 7-bit only (8-bit text becomes quoted-printable, 8-bit other content base64),
 * lines within 998 octets, no trailing whitespace or `From ` at a line start in text (both are
 * rewritten by some relays and mbox tools). A relay that downgrades 8BITMIME or re-folds lines
 * then has nothing left to change, so the signature survives.
 */
import { randomBytes } from 'node:crypto';
import { libmime } from './libmime.js';
import { AppError } from '../core/index.js';
import { findHeader, headerValue, parseContentType, splitEntity, splitMultipart, type RawHeader } from './mime.js';

const MAX_LINE_OCTETS = 998;
/** Deeper MIME trees are not real mail; refusing them bounds recursion. */
const MAX_MIME_DEPTH = 32;

function is7bit(buf: Buffer): boolean {
  // latin1 maps bytes 1:1 to chars: a native regex scan instead of a JS byte loop
  return !/[\x00\x80-\xff]/.test(buf.toString('latin1'));
}

/** Whether the text would survive every relay unchanged: 7-bit, short lines, no trailing blanks, no `From `. */
function isTransportSafeText(buf: Buffer, strictText: boolean): boolean {
  const s = buf.toString('latin1');
  if (/[\x00\x80-\xff]/.test(s)) return false;
  for (let start = 0; ; ) {
    const e = s.indexOf('\r\n', start);
    const end = e === -1 ? s.length : e;
    if (end - start > MAX_LINE_OCTETS) return false;
    if (strictText && end > start) {
      // trailing blanks are stripped by some relays; `From ` at a line start is mangled by mbox tools
      const last = s.charCodeAt(end - 1);
      if (last === 0x20 || last === 0x09) return false;
      if (s.startsWith('From ', start)) return false;
    }
    if (e === -1) return true;
    start = e + 2;
  }
}

const HEX = '0123456789ABCDEF';

/**
 * Quoted-printable (RFC 2045 section 6.7) of CRLF text: line breaks stay hard breaks, lines are
 * soft-wrapped at 76, trailing blanks and a leading `From ` / `.` are encoded so no relay rewrites them.
 */
export function encodeQuotedPrintable(buf: Buffer): Buffer {
  const out: string[] = [];
  let lineStart = 0;
  for (;;) {
    let e = buf.indexOf('\r\n', lineStart);
    const last = e === -1;
    if (last) e = buf.length;
    let line = '';
    let col = 0;
    for (let i = lineStart; i < e; i++) {
      const c = buf[i]!;
      let tok: string;
      const atStart = i === lineStart || col === 0;
      if (
        c === 0x3d ||
        c >= 0x7f ||
        (c < 0x20 && c !== 0x09) ||
        ((c === 0x20 || c === 0x09) && i === e - 1) ||
        (atStart && (c === 0x2e || (c === 0x46 && buf.toString('latin1', i, i + 5) === 'From ')))
      ) {
        tok = '=' + HEX[c >> 4]! + HEX[c & 15]!;
      } else tok = String.fromCharCode(c);
      // soft break keeps every encoded line within 76 characters including the '='
      if (col + tok.length > 75) {
        line += '=\r\n';
        col = 0;
        // a token now at line start may itself need protecting
        if (tok === '.' || (tok === 'F' && buf.toString('latin1', i, i + 5) === 'From ')) tok = '=' + HEX[c >> 4]! + HEX[c & 15]!;
      }
      line += tok;
      col += tok.length;
    }
    out.push(line);
    if (last) break;
    lineStart = e + 2;
  }
  return Buffer.from(out.join('\r\n'), 'latin1');
}

/** Base64 in 76-column CRLF lines (RFC 2045 section 6.8). */
export function encodeBase64Lines(buf: Buffer): Buffer {
  const b64 = buf.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 76) lines.push(b64.slice(i, i + 76));
  return Buffer.from(lines.join('\r\n') + (lines.length ? '\r\n' : ''), 'latin1');
}

/** Re-encodes a content header holding 8-bit bytes: parameters per RFC 2231, other text per RFC 2047. */
function sevenBitHeader(h: RawHeader): Buffer {
  if (is7bit(h.raw)) return h.raw;
  const display = h.raw.subarray(0, h.raw.indexOf(0x3a)).toString('latin1');
  const value = headerValue(h);
  let encoded: string;
  if (h.name === 'content-type' || h.name === 'content-disposition') {
    encoded = libmime().buildHeaderValue(libmime().parseHeaderValue(value));
  } else {
    encoded = libmime().encodeWords(value, 'Q', 52);
  }
  const folded = libmime().foldLines(`${display}: ${encoded}`, 76, true).replace(/\r?\n/g, '\r\n');
  return Buffer.from(folded + '\r\n', 'latin1');
}

function setHeader(headers: RawHeader[], name: string, display: string, value: string): RawHeader[] {
  const raw = Buffer.from(`${display}: ${value}\r\n`, 'latin1');
  const out = headers.filter((h) => h.name !== name);
  out.push({ name, raw });
  return out;
}

/** A fresh MIME boundary: 144 random bits; "=_" cannot occur in QP or base64 output (callers still check the content). */
function randomBoundary(): string {
  // one CSPRNG call per 256 boundaries: the per-call cost showed up in the signing profile
  if (boundaryPoolPos + 18 > boundaryPool.length) {
    boundaryPool = randomBytes(18 * 256);
    boundaryPoolPos = 0;
  }
  const bytes = boundaryPool.subarray(boundaryPoolPos, boundaryPoolPos + 18);
  boundaryPoolPos += 18;
  return '----=_smime_' + bytes.toString('base64url');
}
let boundaryPool = Buffer.alloc(0);
let boundaryPoolPos = 0;

/**
 * Canonical, 7-bit form of one entity (headers + body, CRLF). `headers` are the fields that
 * belong to this entity (for the top level: only the Content-* fields).
 */
export function canonicalizeEntity(headersIn: readonly RawHeader[], body: Buffer, depth = 0): Buffer {
  if (depth > MAX_MIME_DEPTH) throw new AppError('E_SIGN', 'the message nests MIME parts too deeply to sign');
  let headers = [...headersIn];
  const ctHeader = findHeader(headers, 'content-type');
  const ct = parseContentType(ctHeader ? headerValue(ctHeader) : undefined);
  const cteHeader = findHeader(headers, 'content-transfer-encoding');
  const cte = cteHeader ? headerValue(cteHeader).toLowerCase() : '7bit';
  let newBody: Buffer;

  if (!ctHeader) {
    // an explicit type: the default (us-ascii) would be wrong for 8-bit text
    headers.unshift({ name: 'content-type', raw: Buffer.from(`Content-Type: text/plain; charset=${is7bit(body) ? 'us-ascii' : 'utf-8'}\r\n`, 'latin1') });
  }

  if (ct.type.startsWith('multipart/')) {
    let boundary = ct.params.boundary;
    const split = boundary ? splitMultipart(body, boundary) : null;
    if (!boundary || !split) throw new AppError('E_SIGN', `a ${ct.type} part has no usable boundary`);
    const parts = split.parts.map((p) => {
      const e = splitEntity(body.subarray(p.start, p.end));
      if (e.malformed) throw new AppError('E_SIGN', `a MIME part is malformed: ${e.malformed}`);
      return canonicalizeEntity(e.headers, e.body, depth + 1);
    });
    // re-encoding may have produced the delimiter inside a part (soft line breaks): pick a new one
    const collides = (b: string) => parts.some((p) => p.includes('--' + b));
    if (collides(boundary)) {
      do boundary = randomBoundary();
      while (collides(boundary));
      const params = { ...ct.params, boundary };
      headers = setHeader(headers, 'content-type', 'Content-Type', libmime().buildHeaderValue({ value: ct.type, params }));
    }
    const pieces: Buffer[] = [];
    const preamble = body.subarray(0, Math.max(0, split.preambleEnd));
    // the preamble is invisible; keep it only when it is already safe
    if (preamble.length && isTransportSafeText(preamble, false)) pieces.push(preamble, Buffer.from('\r\n'));
    for (const p of parts) pieces.push(Buffer.from(`--${boundary}\r\n`, 'latin1'), p, Buffer.from('\r\n'));
    pieces.push(Buffer.from(`--${boundary}--\r\n`, 'latin1'));
    newBody = Buffer.concat(pieces);
    if (cteHeader && cte !== '7bit') headers = setHeader(headers, 'content-transfer-encoding', 'Content-Transfer-Encoding', '7bit');
  } else if (ct.type === 'message/rfc822' || ct.type === 'message/global') {
    // RFC 2046: a message part may not be QP/base64-encoded; make the embedded message itself 7-bit
    const inner = splitEntity(body);
    const content = inner.headers.filter((h) => h.name.startsWith('content-'));
    const other = inner.headers.filter((h) => !h.name.startsWith('content-')).map((h) => ({ ...h, raw: sevenBitHeader(h) }));
    const innerCanon = canonicalizeEntity(content, inner.body, depth + 1);
    newBody = Buffer.concat([...other.map((h) => h.raw), innerCanon]);
    if (cteHeader && cte !== '7bit') headers = setHeader(headers, 'content-transfer-encoding', 'Content-Transfer-Encoding', '7bit');
  } else if (cte === 'base64') {
    if (!is7bit(body)) throw new AppError('E_SIGN', 'a base64 part contains 8-bit bytes');
    // re-wrap: base64 lines longer than 998 octets would be broken by relays
    newBody = isTransportSafeText(body, false) ? body : encodeBase64Lines(Buffer.from(body.toString('latin1'), 'base64'));
  } else if (cte === 'quoted-printable') {
    if (!isTransportSafeText(body, false)) throw new AppError('E_SIGN', 'a quoted-printable part contains 8-bit bytes or over-long lines');
    newBody = body;
  } else {
    const isText = ct.type.startsWith('text/');
    if (isTransportSafeText(body, isText)) {
      newBody = body;
      // a part labelled 8bit/binary but 7-bit clean: relabel so an 8BITMIME downgrade leaves it alone
      if (cteHeader && cte !== '7bit') headers = setHeader(headers, 'content-transfer-encoding', 'Content-Transfer-Encoding', '7bit');
    } else if (isText) {
      newBody = encodeQuotedPrintable(body);
      headers = setHeader(headers, 'content-transfer-encoding', 'Content-Transfer-Encoding', 'quoted-printable');
    } else {
      newBody = encodeBase64Lines(body);
      headers = setHeader(headers, 'content-transfer-encoding', 'Content-Transfer-Encoding', 'base64');
    }
  }
  return Buffer.concat([...headers.map(sevenBitHeader), Buffer.from('\r\n'), newBody]);
}

/**
 * Prepares a whole RFC 5322 message for signing: the outer (non-Content) fields stay outside
 * the signature; the Content-* fields and body become the canonical 7-bit entity that is signed.
 */
export function prepareForSigning(messageCrlf: Buffer): { outerHeaders: RawHeader[]; entity: Buffer } {
  const { headers, body, malformed } = splitEntity(messageCrlf);
  if (malformed) throw new AppError('E_SIGN', `the message header is malformed: ${malformed}`);
  if (headers.length === 0) throw new AppError('E_SIGN', 'the message has no header');
  const ct = findHeader(headers, 'content-type');
  if (ct && /^\s*multipart\/signed\b/i.test(headerValue(ct))) throw new AppError('E_SIGN', 'the message is already signed');
  const outerHeaders = headers.filter((h) => !h.name.startsWith('content-') && h.name !== 'mime-version');
  const content = headers.filter((h) => h.name.startsWith('content-'));
  return { outerHeaders, entity: canonicalizeEntity(content, body) };
}

export { randomBoundary };
