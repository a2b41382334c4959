/**
 * Test-side helpers for S/MIME messages, deliberately independent of src/sign (a verifier
 * that reused our splitter would share its bugs): plain regex/indexOf over the bytes.
 */
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import type Mail from 'nodemailer/lib/mailer/index.js';
import { afterAll } from 'vitest';
import { makeGpgsmHome, makeTestPki, opensslVerifyMessage, type GpgsmHome, type TestPki } from '../helpers/pki.js';

/** Splits a multipart/signed message into the exact signed part bytes and the DER signature. */
export function splitSigned(msg: Buffer): { signedPart: Buffer; signature: Buffer; boundary: string } {
  const text = msg.toString('latin1');
  const head = text.slice(0, text.indexOf('\r\n\r\n'));
  const m = /boundary="?([^";\r\n]+)"?/i.exec(head);
  if (!m) throw new Error('no boundary');
  const boundary = m[1]!;
  const delim = `\r\n--${boundary}`;
  const first = text.indexOf(`--${boundary}\r\n`);
  const start = first + boundary.length + 4;
  const end = text.indexOf(delim, start);
  const signedPart = msg.subarray(start, end);
  const sigStart = text.indexOf('\r\n\r\n', end + delim.length) + 4;
  const sigEnd = text.indexOf(delim, sigStart);
  const signature = Buffer.from(text.slice(sigStart, sigEnd).replace(/\s+/g, ''), 'base64');
  return { signedPart, signature, boundary };
}

/** Builds a real message with nodemailer's own MIME composer (what the plugin will see). */
export async function compose(data: Mail.Options): Promise<Buffer> {
  return new MailComposer(data).compile().build();
}

/** Every byte 7-bit and no line over 998 octets. */
export function isSevenBitSafe(buf: Buffer): boolean {
  if (buf.some((b) => b >= 0x80 || b === 0)) return false;
  return buf
    .toString('latin1')
    .split('\r\n')
    .every((l) => l.length <= 998);
}

/** What verifyWithBoth needs of the verifiers (structural: any openssl/gpgsm pair will do). */
interface Verifiers {
  opensslOk(msg: Buffer): { ok: boolean; output: string };
  gpgsmOk(signature: Buffer, signedPart: Buffer): { ok: boolean; output: string };
}

/**
 * Verifies a signed message with openssl (whole message, its own MIME parsing) and gpgsm
 * (detached parts). gpgsm does not canonicalise line ends, so a message whose line ends were
 * rewritten to LF is given the CRLF form of the signed part, as RFC 8551 defines it.
 */
export function verifyWithBoth(v: Verifiers, msg: Buffer): { openssl: string | null; gpgsm: string | null } {
  const o = v.opensslOk(msg);
  const crlf = Buffer.from(msg.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');
  const { signedPart, signature } = splitSigned(crlf);
  const g = v.gpgsmOk(signature, signedPart);
  return { openssl: o.ok ? null : o.output, gpgsm: g.ok ? null : g.output };
}

/**
 * The signing PKI of a test file: a throwaway PKI and gpgsm home, made when the file is loaded
 * (makeTestPki is synchronous) and removed after its tests, and `verified`, verifyWithBoth with
 * openssl against this PKI and gpgsm with its home (both null when both accept the message).
 */
export function withSigningPki(): { pki: TestPki; gpg: GpgsmHome; verified(msg: Buffer): { openssl: string | null; gpgsm: string | null } } {
  const pki = makeTestPki();
  const gpg = makeGpgsmHome(pki);
  afterAll(() => {
    gpg.cleanup();
    pki.cleanup();
  });
  return { pki, gpg, verified: (msg) => verifyWithBoth({ opensslOk: (m) => opensslVerifyMessage(pki, m), gpgsmOk: (sig, part) => gpg.verify(sig, part) }, msg) };
}
