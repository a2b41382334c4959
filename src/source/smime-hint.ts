/**
 * Cheap hint, on raw header bytes, that a message is S/MIME (multipart/signed or
 * application/pkcs7-mime at the top level): sources use it to decide whether to fetch or keep
 * the signed bytes for certificate harvesting. Parse decides for real.
 */
export function looksSmime(head: Uint8Array): boolean {
  const buf = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  // Runs for every message of a backfill: a native byte search rules out nearly all of them
  // before any string is made.
  if (buf.indexOf('igned') < 0 && buf.indexOf('IGNED') < 0 && buf.indexOf('kcs7') < 0 && buf.indexOf('KCS7') < 0) return false;
  return SMIME_HINT.test(buf.toString('latin1'));
}

const SMIME_HINT = /^content-type:[ \t]*(?:\r?\n[ \t]+)?(?:multipart\/signed|application\/(?:x-)?pkcs7-mime)/im;
