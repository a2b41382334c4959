/**
 * Cheap hint, on raw header bytes, that a message is S/MIME (multipart/signed or
 * application/pkcs7-mime at the top level): sources use it to decide whether to fetch or keep
 * the signed bytes for certificate harvesting. Parse decides for real.
 */
export function looksSmime(head: Uint8Array): boolean {
  return SMIME_HINT.test(Buffer.from(head.buffer, head.byteOffset, head.byteLength).toString('latin1'));
}

const SMIME_HINT = /^content-type:[ \t]*(?:\r?\n[ \t]+)?(?:multipart\/signed|application\/(?:x-)?pkcs7-mime)/im;
