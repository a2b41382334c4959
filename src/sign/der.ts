/**
 * The few DER primitives the signer's per-message path and the verifier need. The signer
 * splices precomputed constant DER with per-message values; the verifier needs the exact
 * bytes of the signed attributes as sent (re-encoding them could change a sender's
 * non-canonical encoding and break a valid signature), which a schema-driven parser hides.
 */

/** DER length octets. */
export function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One TLV with a single-byte tag (one allocation: this runs several times per signed message). */
export function tlv(tag: number, ...content: Buffer[]): Buffer {
  let len = 0;
  for (const c of content) len += c.length;
  const lenBytes = len < 0x80 ? 1 : len < 0x100 ? 2 : len < 0x10000 ? 3 : len < 0x1000000 ? 4 : 5;
  const out = Buffer.allocUnsafe(1 + lenBytes + len);
  out[0] = tag;
  if (lenBytes === 1) out[1] = len;
  else {
    out[1] = 0x80 | (lenBytes - 1);
    for (let i = lenBytes - 1, v = len; i >= 1; i--, v = Math.floor(v / 256)) out[1 + i] = v & 0xff;
  }
  let p = 1 + lenBytes;
  for (const c of content) {
    c.copy(out, p);
    p += c.length;
  }
  return out;
}

export const TAG = {
  INTEGER: 0x02,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
  CTX0: 0xa0,
  CTX1: 0xa1,
} as const;

/** DER encoding of a dotted OID string. */
export function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map((p) => BigInt(p));
  if (parts.length < 2) throw new Error(`bad OID ${dotted}`);
  const out: number[] = [];
  const push = (v: bigint) => {
    const tmp: number[] = [Number(v & 0x7fn)];
    for (v >>= 7n; v > 0n; v >>= 7n) tmp.unshift(Number(v & 0x7fn) | 0x80);
    out.push(...tmp);
  };
  push(parts[0]! * 40n + parts[1]!);
  for (const p of parts.slice(2)) push(p);
  return tlv(TAG.OID, Buffer.from(out));
}

/** Dotted string of an OID's content octets. */
export function oidToString(content: Uint8Array): string {
  const out: string[] = [];
  let v = 0n;
  let first = true;
  for (const b of content) {
    v = (v << 7n) | BigInt(b & 0x7f);
    if ((b & 0x80) === 0) {
      if (first) {
        const a = v < 40n ? 0n : v < 80n ? 1n : 2n;
        out.push(String(a), String(v - a * 40n));
        first = false;
      } else out.push(String(v));
      v = 0n;
    }
  }
  return out.join('.');
}

/** CMS time: UTCTime for 1950..2049, GeneralizedTime otherwise (RFC 5652 section 11.3). */
export function derTime(d: Date): Buffer {
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const y = d.getUTCFullYear();
  const rest = iso.slice(5, 7) + iso.slice(8, 10) + iso.slice(11, 13) + iso.slice(14, 16) + iso.slice(17, 19) + 'Z';
  if (y >= 1950 && y < 2050) return tlv(TAG.UTC_TIME, Buffer.from(iso.slice(2, 4) + rest, 'latin1'));
  return tlv(TAG.GENERALIZED_TIME, Buffer.from(iso.slice(0, 4) + rest, 'latin1'));
}

/** A parsed DER/BER element: offsets into the original buffer, never copies. */
export interface DerNode {
  readonly tag: number;
  /** Offset of the tag byte. */
  readonly start: number;
  /** Offset of the first content byte. */
  readonly contentStart: number;
  /** Offset just past the content. */
  readonly end: number;
  readonly constructed: boolean;
}

export class DerError extends Error {}

/**
 * Reads one element at `pos`. Definite lengths only except where the caller allows
 * indefinite-length BER (opaque signed-data from some clients uses it for the content):
 * such nodes are measured by walking their children up to the end-of-contents marker.
 */
export function readNode(buf: Uint8Array, pos: number, limit = buf.length, depth = 0): DerNode {
  if (depth > 32) throw new DerError('nesting too deep');
  if (pos + 2 > limit) throw new DerError('truncated');
  const tag = buf[pos]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError('high tag numbers are not used in CMS');
  const constructed = (tag & 0x20) !== 0;
  let p = pos + 1;
  const first = buf[p++]!;
  if (first === 0x80) {
    if (!constructed) throw new DerError('indefinite length on a primitive');
    let q = p;
    for (;;) {
      if (q + 2 > limit) throw new DerError('unterminated indefinite length');
      if (buf[q] === 0 && buf[q + 1] === 0) return { tag, start: pos, contentStart: p, end: q + 2, constructed };
      q = readNode(buf, q, limit, depth + 1).end;
    }
  }
  let len = first;
  if (first & 0x80) {
    const n = first & 0x7f;
    if (n === 0 || n > 4) throw new DerError('unsupported length');
    if (p + n > limit) throw new DerError('truncated length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p++]!;
  }
  if (p + len > limit) throw new DerError('length beyond data');
  return { tag, start: pos, contentStart: p, end: p + len, constructed };
}

/** Whether a node was encoded with indefinite length (its content ends with 00 00). */
function isIndefinite(buf: Uint8Array, n: DerNode): boolean {
  return buf[n.start + 1] === 0x80;
}

/** Children of a constructed node (handles indefinite-length content). */
export function children(buf: Uint8Array, n: DerNode): DerNode[] {
  if (!n.constructed) throw new DerError('not constructed');
  const end = isIndefinite(buf, n) ? n.end - 2 : n.end;
  const out: DerNode[] = [];
  for (let p = n.contentStart; p < end; ) {
    const c = readNode(buf, p, end);
    out.push(c);
    p = c.end;
    if (out.length > 10_000) throw new DerError('too many elements');
  }
  return out;
}

/** Content bytes of a primitive node. */
export function content(buf: Uint8Array, n: DerNode): Buffer {
  return Buffer.from(buf.buffer, buf.byteOffset + n.contentStart, n.end - n.contentStart);
}

/** The whole encoding (tag..end) of a node. */
export function raw(buf: Uint8Array, n: DerNode): Buffer {
  return Buffer.from(buf.buffer, buf.byteOffset + n.start, n.end - n.start);
}

/**
 * The value of an OCTET STRING that may be BER-constructed (chunks), as opaque signed-data
 * from Outlook and openssl -stream carry their content.
 */
export function octetStringValue(buf: Uint8Array, n: DerNode): Buffer {
  if (n.tag === TAG.OCTET_STRING) return Buffer.from(content(buf, n));
  if (n.tag === 0x24) return Buffer.concat(children(buf, n).map((c) => octetStringValue(buf, c)));
  throw new DerError('expected OCTET STRING');
}

/** Child `i`, or a DerError naming what was expected. */
export function child(list: readonly DerNode[], i: number, tag: number | null, what: string): DerNode {
  const c = list[i];
  if (!c || (tag !== null && c.tag !== tag)) throw new DerError(`expected ${what}`);
  return c;
}
