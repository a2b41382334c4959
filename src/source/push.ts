/**
 * Mail pushed in by an MTA (`import -` on stdin) or a webhook (POST /v1/messages): one whole
 * message as bytes becomes a SourceItem that keeps only what the census uses — the header block
 * and, for S/MIME-signed mail, the whole message for certificate harvesting (capped) — so a
 * large attachment is never held longer than it takes to find the end of the header.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { AppError, MAX_HEADER_BYTES, MAX_SMIME_MESSAGE_BYTES, type SourceItem } from '../core/index.js';
import { looksSmime } from './smime-hint.js';

/** Where a pushed message came from (the first part of its source key). */
export type PushOrigin = 'stdin' | 'http';

/** End of the header block (index of the blank line), or -1 when the bytes hold none. */
function headerEnd(b: Uint8Array): number {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const lf = buf.indexOf('\n\n');
  const crlf = buf.indexOf('\n\r\n');
  if (lf < 0) return crlf;
  if (crlf < 0) return lf;
  return Math.min(lf, crlf);
}

/** The SourceItem of one pushed message; `complete: false` when only its start was kept (no harvesting then). */
export function pushedItem(bytes: Uint8Array, origin: PushOrigin, o: { receivedAt?: Date; complete?: boolean } = {}): SourceItem {
  const receivedAt = o.receivedAt ?? new Date();
  const end = headerEnd(bytes);
  // Parse stops at the blank line and caps the header itself; a header-only message keeps all of it.
  const head = Buffer.from(bytes.subarray(0, end < 0 ? Math.min(bytes.length, MAX_HEADER_BYTES + 1024) : Math.min(end + 1, MAX_HEADER_BYTES + 1024)));
  const smime = o.complete !== false && looksSmime(head) && bytes.length <= MAX_SMIME_MESSAGE_BYTES;
  // The key names the header block: the same message pushed twice has the same key (and the
  // same Message-ID, on which the store is idempotent).
  const key = createHash('sha256').update(head).digest('hex');
  return { sourceKey: `${origin}:sha256:${key}`, headerBytes: head, receivedAt, ...(smime ? { smimeBytes: { kind: 'message' as const, message: Buffer.from(bytes) } } : {}) };
}

/**
 * Reads one message from a stream (stdin) up to `maxBytes`. Past the cap the rest is read and
 * dropped — the MTA must see its pipe drained — and only the header block is kept.
 */
export async function readPushedMessage(stream: Readable, maxBytes: number): Promise<{ bytes: Buffer; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    if (truncated) continue;
    if (size + chunk.length > maxBytes) {
      chunks.push(chunk.subarray(0, maxBytes - size));
      size = maxBytes;
      truncated = true;
      continue;
    }
    chunks.push(chunk);
    size += chunk.length;
  }
  if (size === 0) throw new AppError('E_INPUT', 'no message on standard input');
  const bytes = Buffer.concat(chunks, size);
  if (!truncated) return { bytes, truncated };
  // Too large to harvest: keep the header block only (pushedItem then sees no S/MIME body).
  const end = headerEnd(bytes);
  return { bytes: bytes.subarray(0, end < 0 ? bytes.length : end + 1), truncated };
}
