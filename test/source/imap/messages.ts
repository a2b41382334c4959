/**
 * Test mail made from real client fingerprints: the header blocks in test/fixtures/imap (copied
 * from the corpus, see SOURCES.md) are templates; mailing-list, routing and addressing fields
 * are dropped and synthetic From (user<N>@customer<M>.example), Date, Message-ID (same shape
 * as the original, other digits) and bodies — some with attachments — are put around the client
 * fields. Deterministic for a given seed, so two runs make byte-identical mail.
 *
 * Only node: imports (scripts/bench builds a copy with esbuild).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Template {
  name: string;
  /** Raw header lines (folded lines kept), without the fields generation replaces. */
  lines: string[];
  /** Original Message-ID, whose shape is kept. */
  messageId: string;
  /** multipart boundary of the template's Content-Type, if any. */
  boundary: string | null;
}

const REPLACED = new Set(['from', 'to', 'cc', 'bcc', 'date', 'message-id', 'subject', 'sender', 'reply-to', 'in-reply-to', 'references']);
/** Transport, list and filter fields: they describe the path through a mailing list, not the sender's program. */
const DROPPED = /^(received|return-path|delivered-to|x-original-to|dkim-signature|arc-.*|authentication-results|x-spam.*|x-rspamd.*|x-alimail.*|list-.*|x-mailing-list|precedence|mailing-list|x-beenthere|errors-to|x-mailman.*|x-original-sender|x-google-.*|x-gm-.*|x-received|received-spf)$/i;

/** The fixtures folder (test/fixtures/imap), resolved from this file or the repo root. */
export function fixturesDir(root?: string): string {
  if (root) return join(root, 'test', 'fixtures', 'imap');
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'imap');
}

/** Loads the templates, sorted by name. */
export function loadTemplates(dir = fixturesDir()): Template[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.eml'))
    .sort()
    .map((f) => {
      const text = readFileSync(join(dir, f), 'latin1').replace(/\r\n/g, '\n');
      const head = text.split('\n\n')[0] ?? '';
      const fields: string[][] = [];
      for (const line of head.split('\n')) {
        if (/^[ \t]/.test(line) && fields.length) fields[fields.length - 1]!.push(line);
        else if (line.includes(':')) fields.push([line]);
      }
      let messageId = '<fallback.0000@example.invalid>';
      let boundary: string | null = null;
      const lines: string[] = [];
      for (const fl of fields) {
        const name = fl[0]!.slice(0, fl[0]!.indexOf(':')).trim().toLowerCase();
        const value = fl.map((l) => l.trim()).join(' ').slice(name.length + 1).trim();
        if (name === 'message-id') messageId = value;
        if (name === 'content-type') boundary = /boundary="?([^";]+)"?/i.exec(value)?.[1] ?? null;
        if (REPLACED.has(name) || DROPPED.test(name)) continue;
        lines.push(...fl);
      }
      return { name: f.replace(/\.eml$/, ''), lines, messageId, boundary };
    });
}

/** Small deterministic PRNG (mulberry32): same seed, same mail. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Same shape, other characters: digits stay digits, hex letters stay hex letters of the same case. */
function reshapeId(id: string, rand: () => number, serial: number): string {
  const at = id.lastIndexOf('@');
  const local = at > 0 ? id.slice(0, at) : id;
  const host = at > 0 ? id.slice(at) : '@example.invalid>';
  let out = '';
  for (const ch of local) {
    if (/[0-9]/.test(ch)) out += String(Math.floor(rand() * 10));
    else if (/[a-f]/.test(ch)) out += 'abcdef'[Math.floor(rand() * 6)];
    else if (/[A-F]/.test(ch)) out += 'ABCDEF'[Math.floor(rand() * 6)];
    else out += ch;
  }
  // The serial guarantees uniqueness even for short local parts.
  return out.replace(/^</, `<${serial.toString(36)}.`) + host;
}

const RANDOM_POOL_BYTES = 1 << 20;
let pool: Buffer | null = null;
/** 1 MiB of seeded noise; attachments are slices of it (cheap, incompressible, deterministic). */
function randomPool(): Buffer {
  if (!pool) {
    const r = rng(0x5eed);
    pool = Buffer.alloc(RANDOM_POOL_BYTES);
    for (let k = 0; k < RANDOM_POOL_BYTES; k += 4) pool.writeUInt32LE((r() * 0xffffffff) >>> 0, k);
  }
  return pool;
}

export interface GenerateOptions {
  /** Distinct senders; message i comes from sender i % users. */
  users?: number;
  /** Every n-th message carries an attachment (0 = none). */
  attachmentEvery?: number;
  /** Attachment size in bytes before base64 (or pick one of attachmentSizes per message). */
  attachmentBytes?: number;
  attachmentSizes?: readonly number[];
  /** Share of messages (0..1) that also carry an HTML alternative, as most clients send. */
  htmlShare?: number;
  seed?: number;
  /** Date of message 0; later messages are one minute apart. */
  start?: Date;
}

/** Message number `i` of a generated mailbox (deterministic). */
export function makeMessage(templates: readonly Template[], i: number, o: GenerateOptions = {}): Buffer {
  const users = o.users ?? 500;
  const rand = rng((o.seed ?? 1) * 1_000_003 + i);
  const t = templates[i % templates.length]!;
  const u = i % users;
  const date = new Date((o.start ?? new Date('2025-01-06T09:00:00Z')).getTime() + i * 60_000);
  const head = [
    `From: Customer ${u} <user${u}@customer${u % 97}.example>`,
    `To: Support <support@company.example>`,
    `Subject: Ticket ${i}`,
    `Date: ${date.toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: ${reshapeId(t.messageId, rand, i)}`,
    ...t.lines,
  ];
  const paragraphs = 2 + Math.floor(rand() * 8);
  const text = Array.from({ length: paragraphs }, (_, p) => `Paragraph ${p} of ticket ${i}: the invoice does not open, please resend it as PDF.`).join('\n\n');
  const withAttachment = !!o.attachmentEvery && i % o.attachmentEvery === 0 && t.boundary !== null;
  let body: string;
  if (t.boundary) {
    const parts = [`--${t.boundary}\nContent-Type: text/plain; charset=us-ascii\nContent-Transfer-Encoding: 7bit\n\n${text}\n`];
    if (o.htmlShare && rand() < o.htmlShare) {
      const html = `<html><head><style>p{font-family:Calibri,sans-serif;margin:0 0 8px}</style></head><body>${text
        .split('\n\n')
        .map((p) => `<p class="MsoNormal" style="font-size:11pt">${p}</p>`)
        .join('\n')}<div class="signature"><p>Kind regards,<br>Customer ${i}</p></div></body></html>`;
      parts.push(`--${t.boundary}\nContent-Type: text/html; charset=us-ascii\nContent-Transfer-Encoding: 7bit\n\n${html}\n`);
    }
    if (withAttachment) {
      const sizes = o.attachmentSizes;
      const n = Math.min(RANDOM_POOL_BYTES, sizes?.length ? sizes[Math.floor(rand() * sizes.length)]! : (o.attachmentBytes ?? 48_000));
      const off = Math.floor(rand() * (RANDOM_POOL_BYTES - n));
      const b64 = randomPool().subarray(off, off + n).toString('base64').replace(/.{76}/g, '$&\n');
      parts.push(`--${t.boundary}\nContent-Type: application/pdf; name="invoice-${i}.pdf"\nContent-Disposition: attachment; filename="invoice-${i}.pdf"\nContent-Transfer-Encoding: base64\n\n${b64}\n`);
    }
    body = parts.join('') + `--${t.boundary}--\n`;
  } else {
    body = text + '\n';
  }
  return Buffer.from((head.join('\n') + '\n\n' + body).replace(/\n/g, '\r\n'), 'latin1');
}

/** Messages [from, from + count) of a generated mailbox. */
export function makeMessages(templates: readonly Template[], from: number, count: number, o: GenerateOptions = {}): Buffer[] {
  return Array.from({ length: count }, (_, k) => makeMessage(templates, from + k, o));
}
