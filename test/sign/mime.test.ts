import { describe, expect, it } from 'vitest';
import { canonicalizeEntity, encodeQuotedPrintable, prepareForSigning } from '../../src/sign/canon.js';
import { firstAddress, splitEntity, splitMultipart, toCrlf } from '../../src/sign/mime.js';
import { derLength, oid, oidToString, readNode, children, DerError } from '../../src/sign/der.js';

/** Independent QP decoder (RFC 2045 section 6.7) for round trips. */
function decodeQp(s: string): Buffer {
  const soft = s.replace(/=\r\n/g, '');
  const out: number[] = [];
  for (let i = 0; i < soft.length; i++) {
    if (soft[i] === '=') {
      out.push(parseInt(soft.slice(i + 1, i + 3), 16));
      i += 2;
    } else out.push(soft.charCodeAt(i));
  }
  return Buffer.from(out);
}

describe('line ends', () => {
  it('toCrlf turns bare LF and bare CR into CRLF and leaves canonical input as the same buffer', () => {
    expect(toCrlf(Buffer.from('a\nb\rc\r\nd')).toString()).toBe('a\r\nb\r\nc\r\nd');
    const canon = Buffer.from('a\r\nb\r\n');
    expect(toCrlf(canon)).toBe(canon);
  });
});

describe('quoted-printable', () => {
  it('round-trips UTF-8 text, keeps lines <= 76 chars, protects trailing blanks, leading "From " and "."', () => {
    const text = Buffer.from('Grüße aus Köln — ' + 'x'.repeat(200) + '  \r\nFrom here\r\n.\r\n=equals=\r\nend', 'utf8');
    const qp = encodeQuotedPrintable(text).toString('latin1');
    expect(decodeQp(qp).equals(text)).toBe(true);
    for (const line of qp.split('\r\n')) expect(line.length).toBeLessThanOrEqual(76);
    expect(qp).not.toMatch(/[ \t]\r\n/);
    expect(qp).not.toMatch(/(^|\r\n)From /);
    expect(qp).not.toMatch(/(^|\r\n)\.(\r\n|$)/);
    expect(/[^\x20-\x7e\r\n]/.test(qp)).toBe(false);
  });
});

describe('canonicalisation for signing', () => {
  it('leaves a 7-bit-safe entity byte-identical', () => {
    const entity = Buffer.from('Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\nHello.\r\n');
    const { headers, body } = splitEntity(entity);
    expect(canonicalizeEntity(headers, body).equals(entity)).toBe(true);
  });

  it('re-encodes 8-bit non-text as base64 and a long base64 line is re-wrapped', () => {
    const bin = Buffer.from([0, 1, 2, 255, 254, 10, 13]);
    const { headers, body } = splitEntity(Buffer.concat([Buffer.from('Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n'), bin]));
    const out = canonicalizeEntity(headers, body).toString('latin1');
    expect(out).toContain('Content-Transfer-Encoding: base64');
    expect(Buffer.from(out.split('\r\n\r\n')[1]!, 'base64').equals(bin)).toBe(true);
    const longB64 = Buffer.alloc(3000, 7).toString('base64');
    const e2 = splitEntity(Buffer.from(`Content-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\n${longB64}\r\n`));
    const out2 = canonicalizeEntity(e2.headers, e2.body).toString('latin1');
    expect(Math.max(...out2.split('\r\n').map((l) => l.length))).toBeLessThanOrEqual(998);
  });

  it('makes an 8-bit message/rfc822 part 7-bit without QP/base64 on the message part itself', () => {
    const inner = 'From: x@y.test\r\nSubject: Grüße\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGrüße\r\n';
    const msg = Buffer.from(`Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: 8bit\r\n\r\n${inner}\r\n--B--\r\n`, 'utf8');
    const { headers, body } = splitEntity(msg);
    const out = canonicalizeEntity(headers, body);
    expect(out.some((b) => b >= 0x80)).toBe(false);
    const s = out.toString('latin1');
    expect(s).toContain('Content-Type: message/rfc822\r\nContent-Transfer-Encoding: 7bit');
    expect(s).toContain('Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=');
    expect(s).toContain('Content-Transfer-Encoding: quoted-printable');
  });

  it('picks a new multipart boundary when re-encoding put the old delimiter inside a part', () => {
    // "--B" appears at a line start only after QP soft-wrapping of the first part
    const body = 'é' + 'a'.repeat(72) + '--B\r\n';
    const msg = Buffer.from(`Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${body}--B--\r\n`, 'utf8');
    const { headers, body: b } = splitEntity(msg);
    const out = canonicalizeEntity(headers, b).toString('latin1');
    const boundary = /boundary="?([^";\r\n]+)/.exec(out)![1]!;
    expect(boundary).not.toBe('B');
    const parsed = splitMultipart(Buffer.from(out.slice(out.indexOf('\r\n\r\n') + 4), 'latin1'), boundary);
    expect(parsed?.parts.length).toBe(1);
  });

  it('refuses absurd nesting and multiparts without a boundary (E_SIGN)', () => {
    let entity = 'Content-Type: text/plain\r\n\r\nx\r\n';
    for (let i = 0; i < 40; i++) entity = `Content-Type: multipart/mixed; boundary=b${i}\r\n\r\n--b${i}\r\n${entity}\r\n--b${i}--\r\n`;
    expect(() => prepareForSigning(Buffer.from('From: a@b.test\r\n' + entity))).toThrow(expect.objectContaining({ code: 'E_SIGN' }));
    expect(() => prepareForSigning(Buffer.from('From: a@b.test\r\nContent-Type: multipart/mixed\r\n\r\nx'))).toThrow(expect.objectContaining({ code: 'E_SIGN' }));
  });
});

describe('multipart splitting', () => {
  it('excludes the CRLF before each delimiter, accepts transport padding, ignores longer boundary look-alikes', () => {
    const body = Buffer.from('preamble\r\n--b  \r\npart one\r\n--bx not a delimiter\r\n--b\r\n\r\n--b--\r\nepilogue');
    const r = splitMultipart(body, 'b')!;
    expect(r.parts.map((p) => body.subarray(p.start, p.end).toString())).toEqual(['part one\r\n--bx not a delimiter', '']);
    expect(body.subarray(0, r.preambleEnd).toString()).toBe('preamble');
  });

  it('returns null without a closing delimiter', () => {
    expect(splitMultipart(Buffer.from('--b\r\npart\r\n'), 'b')).toBeNull();
  });
});

describe('DER primitives', () => {
  it('encodes lengths and OIDs as X.690 requires and reads them back', () => {
    expect(derLength(127)).toEqual(Buffer.from([0x7f]));
    expect(derLength(128)).toEqual(Buffer.from([0x81, 0x80]));
    expect(derLength(65536)).toEqual(Buffer.from([0x83, 1, 0, 0]));
    const o = oid('1.2.840.113549.1.9.16.2.11');
    expect(oidToString(o.subarray(2))).toBe('1.2.840.113549.1.9.16.2.11');
    expect(oid('2.5.29.37.0').toString('hex')).toBe('0604551d2500');
  });

  it('rejects lengths beyond the data and runaway nesting', () => {
    expect(() => readNode(Buffer.from([0x30, 0x05, 0x01]), 0)).toThrow(DerError);
    const deep = Buffer.concat([Buffer.alloc(100, 0x30).map((_, i) => (i % 2 ? 0x80 : 0x30))]);
    expect(() => readNode(deep, 0)).toThrow(DerError);
    const ok = Buffer.from([0x30, 0x80, 0x02, 0x01, 0x05, 0x00, 0x00]);
    expect(children(ok, readNode(ok, 0)).length).toBe(1);
  });
});

describe('firstAddress (From of whole messages)', () => {
  it.each([
    ['Alice <Alice@Example.COM>', 'alice@example.com'],
    ['"Doe, John" <john@example.com>, other@example.com', 'john@example.com'],
    ['< bob@example.com >', 'bob@example.com'],
    ['<not an address> carol@example.com', 'carol@example.com'],
    ['<<<x@y.example>', 'x@y.example'],
    ['dave@example.com (Dave)', 'dave@example.com'],
    ['@@a', '@@a'],
    ['no address here', null],
    ['<@> @', null],
  ])('%j -> %j', (value, want) => {
    expect(firstAddress(value)).toBe(want);
  });

  it('a 1 MiB From value without an address is one linear scan (the old regexes were quadratic: 27 s at 100 KB)', () => {
    for (const value of ['a'.repeat(1 << 20), '<'.repeat(1 << 20) + '>', '<a'.repeat(1 << 19)]) expect(firstAddress(value)).toBeNull();
  });
});
