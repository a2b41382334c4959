// Shared generators for benchmarks: realistic mail from the fixture corpus (real client
// fingerprints, synthetic addresses and Message-IDs), with the skew of a real support mailbox:
//
// - senders: 55% of messages come from one-off senders (one message each), 30% from a "regular"
//   pool of n/25 addresses (~7 messages each), 15% from a "frequent" pool of n/500 addresses
//   (~75 each) — so most addresses have one message and some have dozens, and updating an
//   existing address is measured as often as inserting a new one;
// - clients: each address keeps one client, drawn from a Zipf(1.1) law over the templates with
//   the big webmail/desktop families first (a few clients dominate, a long tail follows); one
//   message in ten comes from the address's second client (phone vs desktop);
// - S/MIME: 5% of messages are really signed (scripts/bench/_smime.mjs: RSA and ECDSA, with and
//   without chain, expired, untrusted, detached and opaque), sent by the signer addresses of
//   the pool — a signer signs every message it sends.
// Deterministic: the same (i, n) always makes the same message.
import { readdirSync, readFileSync, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FIX = join(root, 'test', 'fixtures', 'messages');

/** Share of messages that are S/MIME-signed. */
export const SIGNED_SHARE = 0.05;

/** Popular families first (support-mailbox order); the rest follow in file-name order. */
const POPULARITY = [/gmail-android/, /outlook-2016/, /iphone-ios14/, /exchange-online/, /apple-mail-sequoia/, /gmail-no-ua/, /outlook-mac/, /yahoo-web-norrin/, /thunderbird-115/, /outlook-2013/, /hotmail/, /gmx/, /k9/];

/** 32-bit mix (splitmix-style): a deterministic uniform value in [0, 1) per integer key. */
export function unit(key, salt = 0) {
  let h = (key ^ Math.imul(salt + 1, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}

function hashString(s) {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/**
 * Header templates of the fixture messages: { name, lines, smime } with From/Message-ID/Date and
 * list fields removed (re-added per message); `smime` marks templates whose Content-Type says
 * S/MIME — those are used only for really signed messages (their Content-Type is replaced).
 */
export function templates() {
  const files = readdirSync(FIX).filter((f) => f.endsWith('.eml')).sort();
  const ordered = [...POPULARITY.map((re) => files.find((f) => re.test(f))).filter(Boolean)];
  for (const f of files) if (!ordered.includes(f)) ordered.push(f);
  return ordered.map((f) => {
    const text = readFileSync(join(FIX, f), 'utf8').replace(/\r\n/g, '\n');
    const head = text.slice(0, text.indexOf('\n\n') + 1);
    const fields = [];
    for (const line of head.split('\n')) {
      if (/^[ \t]/.test(line) && fields.length) fields[fields.length - 1].push(line);
      else if (line.includes(':')) fields.push([line]);
    }
    const lines = [];
    let boundary = null;
    let smime = false;
    for (const fl of fields) {
      const name = fl[0].slice(0, fl[0].indexOf(':')).trim().toLowerCase();
      const value = fl.join(' ');
      if (/^(from|message-id|date|subject|to|cc|precedence|list-[a-z]+|auto-submitted|sender|content-transfer-encoding|content-disposition)$/.test(name)) continue;
      if (name === 'content-type') {
        smime = /pkcs7|multipart\/signed/i.test(value);
        boundary = /boundary="?([^";\s]+)"?/i.exec(value)?.[1] ?? null;
        // S/MIME content types are replaced by the real signed entity's; plain multipart ones
        // stay, and their body is generated to match.
        if (smime) continue;
      }
      lines.push(fl.join('\n'));
    }
    return { name: f.replace(/\.eml$/, ''), lines, boundary, smime };
  });
}

let zipfCache = null;
/** Template index for a uniform u, Zipf(1.1) over the non-S/MIME templates. */
function zipfPick(tpls, u) {
  if (!zipfCache || zipfCache.tpls !== tpls) {
    const idx = tpls.map((t, i) => (t.smime ? -1 : i)).filter((i) => i >= 0);
    const w = idx.map((_, r) => 1 / (r + 1) ** 1.1);
    const total = w.reduce((a, b) => a + b, 0);
    let acc = 0;
    zipfCache = { tpls, idx, cum: w.map((x) => (acc += x / total)) };
  }
  const { idx, cum } = zipfCache;
  let lo = 0;
  let hi = cum.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cum[mid] < u) lo = mid + 1;
    else hi = mid;
  }
  return idx[lo];
}

/** The sender of message i of n: { address, kind: 'one-off' | 'regular' | 'frequent' | 'signer', signer? }. */
export function senderOf(i, n, pool) {
  if (pool && unit(i, 7) < SIGNED_SHARE) {
    const s = Math.floor(unit(i, 8) * pool.signers.length);
    return { address: pool.signers[s].address, kind: 'signer', signer: pool.signers[s] };
  }
  const u = unit(i, 1);
  if (u < 0.55) return { address: `once${i}@customer${i % 997}.example`, kind: 'one-off' };
  if (u < 0.85) {
    const k = Math.floor(unit(i, 2) * Math.max(1, Math.floor(n / 25)));
    return { address: `regular${k}@customer${k % 997}.example`, kind: 'regular' };
  }
  const k = Math.floor(unit(i, 3) * Math.max(1, Math.floor(n / 500)));
  return { address: `frequent${k}@customer${k % 97}.example`, kind: 'frequent' };
}

/** The client template of a message: the sender's own, or (1 in 10) its second client. */
export function templateOf(tpls, address, i) {
  const h = hashString(address);
  const second = unit(i, 4) < 0.1;
  return tpls[zipfPick(tpls, unit(h, second ? 6 : 5))];
}

const TEXT = 'Hello,\n\nthe invoice attached to your last mail does not open on my side; could you resend it as PDF?\nThe order number is in the subject. Thank you.\n\nKind regards\n';

/**
 * Message i of a mailbox of n: { head, body, date, signed, address } (LF line endings). With a
 * signer pool, SIGNED_SHARE of them are really signed.
 */
export function message(tpls, i, n, pool = null, { bodyBytes = 2000 } = {}) {
  const s = senderOf(i, n, pool);
  const t = templateOf(tpls, s.address, i);
  const d = new Date(Date.UTC(2026, 0, 1) + (i % 300) * 86_400_000 + i * 1000);
  const name = s.address.slice(0, s.address.indexOf('@'));
  const top = `From: ${name} <${s.address}>\nDate: ${d.toUTCString().replace('GMT', '+0000')}\nMessage-ID: <bench-${i}-${(Math.imul(i, 2654435761) >>> 0).toString(36)}@client.example>\nSubject: Ticket ${i}\nTo: support@company.example\n`;
  if (s.signer) {
    const b = s.signer.bodies[i % s.signer.bodies.length];
    const lines = t.lines.filter((l) => !/^(content-type|mime-version):/i.test(l));
    return { head: top + [...lines, ...b.headers].map((l) => l + '\n').join(''), body: b.body, date: d, signed: s.signer, address: s.address };
  }
  let text = TEXT;
  while (text.length < bodyBytes) text += `Line ${text.length} of the customer's explanation, quoted history below.\n`;
  const body = t.boundary
    ? `--${t.boundary}\nContent-Type: text/plain; charset=us-ascii\nContent-Transfer-Encoding: 7bit\n\n${text}\n--${t.boundary}--\n`
    : text;
  return { head: top + t.lines.map((l) => l + '\n').join(''), body, date: d, signed: null, address: s.address };
}

/**
 * Writes an mbox of n messages (message numbers offset..offset+n-1 of a mailbox of `total`);
 * returns { path, signed, signers and validSigners (Sets of signer addresses that occur), addresses }.
 */
export async function writeMbox(path, n, { pool = null, total = n, offset = 0, bodyBytes = 2000 } = {}) {
  const tpls = templates();
  const ws = createWriteStream(path);
  let signed = 0;
  const validSigners = new Set();
  const signers = new Set();
  const addresses = new Set();
  for (let k = 0; k < n; k++) {
    const i = offset + k;
    const m = message(tpls, i, total, pool, { bodyBytes });
    addresses.add(m.address);
    if (m.signed) {
      signed++;
      signers.add(m.address);
      if (m.signed.valid) validSigners.add(m.address);
    }
    // mboxrd: body lines starting with "From " (after any number of '>') get one more '>'.
    const body = m.body.replace(/^(>*From )/gm, '>$1');
    const fromLine = `From ${m.address} ${m.date.toUTCString().replace(/^(\w+), (\d+) (\w+) (\d+) (.+) GMT$/, '$1 $3 $2 $5 $4')}`;
    if (!ws.write(`${fromLine}\n${m.head}\n${body}${body.endsWith('\n') ? '' : '\n'}\n`)) await once(ws, 'drain');
  }
  ws.end();
  await once(ws, 'finish');
  return { path, signed, signers, validSigners, addresses: addresses.size };
}
