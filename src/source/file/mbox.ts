import { createReadStream } from 'node:fs';
import { MAX_HEADER_BYTES, MAX_SMIME_MESSAGE_BYTES } from '../../core/index.js';
import type { SourceItem } from '../../core/index.js';
import { looksSmime } from '../smime-hint.js';

const SEP = Buffer.from('\nFrom ');
/** Header bytes kept for one message at most; parse reports larger blocks as too-large. */
const HEAD_CAP = MAX_HEADER_BYTES + 2;

/** Undoes mboxrd quoting (">From " -> "From ", ">>From " -> ">From ") so signed bytes match the original. */
function unquoteMboxrd(body: Buffer): Buffer {
  const text = body.toString('latin1');
  return text.includes('>From ') ? Buffer.from(text.replace(/^>(>*From )/gm, '$1'), 'latin1') : body;
}

/**
 * Longest mbox separator line we accept. Real ones are "From " + an envelope sender (at most 320
 * bytes) + a 24-character date; a longer line is a skipped message, wherever it falls in the file.
 */
export const MAX_SEPARATOR_LINE_BYTES = 4096;

const isBlank = (c: number): boolean => c === 0x20 || c === 0x09;

/** Receipt time from the mbox separator line "From sender@host Tue Apr  3 16:55:26 2012". */
export function fromLineDate(line: string): Date | null {
  // Index arithmetic, not /^From \S+\s+(.+?)\s*$/: that backtracks quadratically on a run of spaces.
  if (!line.startsWith('From ') || line.length > MAX_SEPARATOR_LINE_BYTES) return null;
  let i = 5;
  while (i < line.length && !isBlank(line.charCodeAt(i))) i++;
  if (i === 5) return null;
  const rest = line.slice(i).trim();
  if (rest === '') return null;
  const t = Date.parse(rest.replace(/\s+/g, ' ') + (/[+-]\d{4}|UTC|GMT|Z$/.test(rest) ? '' : ' UTC'));
  return Number.isFinite(t) ? new Date(t) : null;
}

/**
 * Streams an mbox file (mboxo/mboxrd: messages start at a line beginning "From "), yielding
 * only each message's header block. Memory stays bounded by the read chunk plus one header
 * block, whatever the file size: bodies are skipped as they stream past.
 */
export async function* readMbox(path: string, absPath: string, input?: AsyncIterable<Buffer>): AsyncGenerator<SourceItem> {
  // `input`: an mbox arriving on a stream (standard input under an MTA, which may be a socket).
  const stream = input ?? createReadStream(path, { highWaterMark: 1 << 20 });
  let pending: Buffer = Buffer.alloc(0);
  let offset = 0; // file offset of pending[0]
  let mode: 'start' | 'header' | 'body' | 'capture' = 'start';
  // S/MIME messages are kept whole (up to a cap) so their signature can be verified.
  let captured: Buffer[] = [];
  let capturedLen = 0;
  let capturedHead: Buffer | null = null;
  let msgOffset = 0;
  let receivedAt: Date | null = null;
  let first = true;

  const emit = (head: Buffer): SourceItem => ({ sourceKey: `file:${absPath}#${msgOffset}`, headerBytes: head, receivedAt });
  const capturedItem = (): SourceItem => {
    const head = capturedHead!;
    const whole = capturedLen <= MAX_SMIME_MESSAGE_BYTES ? Buffer.concat(captured) : null;
    captured = [];
    capturedHead = null;
    if (!whole) return emit(head);
    // The message ends before the newline that precedes the next "From " line.
    const end = whole.length > 0 && whole[whole.length - 1] === 0x0a ? whole.length - 1 : whole.length;
    return { ...emit(head), smimeBytes: { kind: 'message', message: unquoteMboxrd(whole.subarray(0, end)) } };
  };

  for await (const chunk of stream as AsyncIterable<Buffer>) {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    for (;;) {
      if (mode === 'start') {
        // pending begins at a "From " line (or, for the first message, must).
        if (first) {
          if (pending.length < 5) break;
          if (pending.subarray(0, 5).toString('latin1') !== 'From ') {
            throw Object.assign(new Error('not an mbox file (does not start with "From ")'), { code: 'E_NOT_MBOX' });
          }
          first = false;
        }
        const eol = pending.indexOf(0x0a);
        if (eol > MAX_SEPARATOR_LINE_BYTES || (eol < 0 && pending.length > MAX_SEPARATOR_LINE_BYTES)) {
          // One counted skip for this message, the same whether or not a read chunk ends inside
          // the line; the body mode below walks past the rest of the line and the message.
          msgOffset = offset;
          yield { sourceKey: `file:${absPath}#${msgOffset}`, headerBytes: new Uint8Array(0), receivedAt: null, skip: { reason: 'malformed', detail: `mbox separator line longer than ${MAX_SEPARATOR_LINE_BYTES} bytes` } };
          mode = 'body';
          continue;
        }
        if (eol < 0) break;
        msgOffset = offset;
        receivedAt = fromLineDate(pending.subarray(0, eol).toString('latin1').replace(/\r$/, ''));
        pending = pending.subarray(eol + 1);
        offset += eol + 1;
        mode = 'header';
        continue;
      }
      if (mode === 'header') {
        const limit = Math.min(pending.length, HEAD_CAP);
        const window = pending.subarray(0, limit);
        // Each search stops where an earlier find makes a later match irrelevant: a CRLF blank
        // line or a separator only counts before the first LF blank line. Unbounded, the CRLF
        // search scanned the whole window (up to MAX_HEADER_BYTES, mostly body) for every message
        // of an LF mbox: 16% of an import's CPU.
        let end = window.indexOf('\n\n');
        const endCr = window.subarray(0, end >= 0 ? end + 2 : limit).indexOf('\n\r\n');
        if (endCr >= 0 && (end < 0 || endCr < end)) end = endCr;
        const sep = window.subarray(0, end >= 0 ? end + SEP.length : limit).indexOf(SEP);
        if (sep >= 0 && (end < 0 || sep < end)) {
          // A message without a body: the next separator comes first.
          yield emit(Buffer.from(pending.subarray(0, sep + 1)));
          pending = pending.subarray(sep + 1);
          offset += sep + 1;
          mode = 'start';
          continue;
        }
        if (end >= 0) {
          const head = Buffer.from(pending.subarray(0, end + 1));
          if (looksSmime(head)) {
            capturedHead = head;
            captured = [];
            capturedLen = 0;
            mode = 'capture';
            continue;
          }
          yield emit(head);
          pending = pending.subarray(end + 1);
          offset += end + 1;
          mode = 'body';
          continue;
        }
        if (pending.length >= HEAD_CAP) {
          // Oversized header block: hand over what we have; parse skips it with a reason.
          yield emit(Buffer.from(pending.subarray(0, HEAD_CAP)));
          mode = 'body';
          continue;
        }
        break;
      }
      if (mode === 'capture') {
        const sep = pending.indexOf(SEP);
        const take = sep >= 0 ? sep + 1 : Math.max(0, pending.length - (SEP.length - 1));
        if (capturedLen + take <= MAX_SMIME_MESSAGE_BYTES) captured.push(Buffer.from(pending.subarray(0, take)));
        capturedLen += take;
        pending = pending.subarray(take);
        offset += take;
        if (sep < 0) {
          pending = Buffer.from(pending);
          break;
        }
        yield capturedItem();
        mode = 'start';
        continue;
      }
      // body: skip to the next separator
      const sep = pending.indexOf(SEP);
      if (sep >= 0) {
        pending = pending.subarray(sep + 1);
        offset += sep + 1;
        mode = 'start';
        continue;
      }
      // Keep a tail that could hold the start of a separator split across chunks.
      const keep = Math.min(pending.length, SEP.length - 1);
      offset += pending.length - keep;
      pending = Buffer.from(pending.subarray(pending.length - keep));
      break;
    }
  }
  if (mode === 'capture') {
    if (capturedLen + pending.length <= MAX_SMIME_MESSAGE_BYTES) captured.push(Buffer.from(pending));
    capturedLen += pending.length;
    yield capturedItem();
  }
  if (mode === 'header' && pending.length > 0) yield emit(Buffer.from(pending.subarray(0, HEAD_CAP)));
}
