import { describe, it, expect } from 'vitest';
import { looksSmime } from '../../src/source/smime-hint.js';

const b = (s: string) => Buffer.from(s);

describe('S/MIME hint on raw header bytes', () => {
  it('spots top-level multipart/signed and pkcs7-mime, in any case and folded', () => {
    expect(looksSmime(b('From: a@b\r\nContent-Type: multipart/signed; protocol="application/pkcs7-signature"; boundary=x\r\n'))).toBe(true);
    expect(looksSmime(b('Content-Type: MULTIPART/SIGNED; boundary=x\n'))).toBe(true);
    expect(looksSmime(b('content-type:\r\n application/pkcs7-mime; smime-type=signed-data\r\n'))).toBe(true);
    expect(looksSmime(b('Content-Type: application/x-pkcs7-mime; name=smime.p7m\n'))).toBe(true);
  });
  it('ignores other types and mentions outside Content-Type', () => {
    expect(looksSmime(b('Content-Type: text/plain\r\nSubject: signed contract\r\n'))).toBe(false);
    expect(looksSmime(b('Content-Type: multipart/mixed; boundary=x\r\nX-Note: multipart/signed\r\n'))).toBe(false);
    expect(looksSmime(b(''))).toBe(false);
  });
});
