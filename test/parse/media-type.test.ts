/**
 * mediaTypeOf reads a plain `type/subtype` without libmime (issue 13: loading libmime is most of
 * `import -`'s start-up beyond node). It must give exactly what libmime's parser gives, for the
 * plain values it takes itself and for everything it hands on.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mediaTypeOf, parseStructured, smimeKindOf } from '../../src/parse/index.js';

const token = fc.stringMatching(/^[A-Za-z0-9!#$&^_.+-]{1,20}$/);
const ws = fc.constantFrom('', ' ', '\t', '  ');
const plain = fc.tuple(ws, token, token, ws, fc.constantFrom('', '; boundary="b1"', ';charset=utf-8', '; protocol="application/pkcs7-signature"; micalg=sha-256', ';')).map(([a, t, s, b, rest]) => `${a}${t}/${s}${b}${rest}`);
/** Values around the plain shape: quotes, comments, escapes, folding, encoded words, RFC 2231. */
const odd = fc
  .array(fc.constantFrom('text', '/', 'plain', 'multipart', 'signed', ' ', '\t', ';', '"', '(', ')', '\\', '\r\n ', '=?utf-8?q?x?=', "*=utf-8''a", 'x', 'REPORT', 'report'), { maxLength: 12 })
  .map((parts) => parts.join(''));

describe('mediaTypeOf', () => {
  it('equals parseStructured(value).value on plain media types', () => {
    fc.assert(fc.property(plain, (v) => {
        expect(mediaTypeOf(v)).toBe(parseStructured(v).value);
      }), { numRuns: 2000 });
  });

  it('equals parseStructured(value).value on quoted, commented, folded and encoded values', () => {
    fc.assert(fc.property(odd, (v) => {
        expect(mediaTypeOf(v)).toBe(parseStructured(v).value);
      }), { numRuns: 3000 });
  });

  it('reads the S/MIME types and multipart/report as before', () => {
    expect(mediaTypeOf('Multipart/Signed; protocol="application/pkcs7-signature"')).toBe('multipart/signed');
    expect(mediaTypeOf('multipart/report; report-type=delivery-status')).toBe('multipart/report');
    expect(mediaTypeOf(' "multipart/signed"; x=1')).toBe(parseStructured(' "multipart/signed"; x=1').value);
    expect(smimeKindOf('multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256')).toBe('signed');
    expect(smimeKindOf('application/pkcs7-mime; smime-type=signed-data; name=smime.p7m')).toBe('opaque-signed');
    expect(smimeKindOf('multipart/alternative; boundary="x"')).toBeNull();
  });
});
