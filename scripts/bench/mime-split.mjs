// Issue #11.3: whole-message MIME in harvesting — our byte-offset splitter (src/sign/mime.ts) vs
// mailparser's own splitter (@zone-eu/mailsplit, the streaming layer under MailParser) doing the
// same job on real signed mail (made by openssl, _smime.mjs): from a whole message, the exact
// bytes of the signed part plus the DER signature (multipart/signed), or the DER body
// (application/pkcs7-mime). MailParser's decoded output cannot do this job at all: it turns the
// signed part into text (CRLF lost, part headers gone), so only its splitter is a peer. Both sides
// must give identical bytes for every message (checked before timing).
//
//   split:   the splitting alone, ours vs mailsplit (the part a switch would replace)
//   harvest: what harvesting costs end to end with each splitter: ours = harvestFromMessage;
//            peer = mailsplit's split + harvestFromParts (the same CMS verification and checks)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
// mailparser's own dependency (hoisted by npm), imported here only to measure it.
import mailsplit from '@zone-eu/mailsplit';
import { findHeader, headerValue, parseContentType, splitEntity, splitMultipart } from '../../dist/sign/mime.js';
import { harvestFromMessage, harvestFromParts } from '../../dist/sign/index.js';
import { smimePool } from './_smime.mjs';

const { Splitter } = mailsplit;
const SIGNATURE_TYPES = new Set(['application/pkcs7-signature', 'application/x-pkcs7-signature']);
const OPAQUE_TYPES = new Set(['application/pkcs7-mime', 'application/x-pkcs7-mime']);

const base64 = (b) => Buffer.from(b.toString('latin1').replace(/\s+/g, ''), 'base64');

/** Ours, as harvest.ts uses the primitives: offsets into the CRLF message, nothing re-serialised. */
function splitOurs(msg) {
  const { headers, body } = splitEntity(msg);
  const ct = parseContentType(headerValue(findHeader(headers, 'content-type')));
  if (OPAQUE_TYPES.has(ct.type)) return { kind: 'opaque', der: base64(body) };
  const split = splitMultipart(body, ct.params.boundary);
  const [p1, p2] = split.parts;
  const sig = splitEntity(body.subarray(p2.start, p2.end));
  if (!SIGNATURE_TYPES.has(parseContentType(headerValue(findHeader(sig.headers, 'content-type'))).type)) throw new Error('not a signature part');
  return { kind: 'detached', signed: body.subarray(p1.start, p1.end), der: base64(sig.body) };
}

/**
 * mailsplit: a stream of nodes, bodies and boundary data that concatenates back to the input.
 * The signed part is everything from part 1's header up to part 2's header, minus the parent's
 * delimiter line at its end (the CRLF before a delimiter belongs to the delimiter, RFC 2046).
 */
function splitMailsplit(msg) {
  return new Promise((resolve, reject) => {
    const s = new Splitter();
    const chunks = [];
    let root = null;
    let signedStart = -1;
    let sigStart = -1;
    let sigType = null;
    let size = 0;
    const push = (b) => {
      chunks.push(b);
      size += b.length;
    };
    s.on('data', (d) => {
      if (d.type === 'node') {
        if (d.root) root = { type: d.contentType, start: size + d.getHeaders().length };
        else if (d.partNr?.length === 1 && d.partNr[0] === 1) signedStart = size;
        else if (d.partNr?.length === 1 && d.partNr[0] === 2) {
          sigStart = size;
          sigType = d.contentType;
        }
        push(d.getHeaders());
      } else push(d.value);
    });
    s.once('error', reject);
    s.once('end', () => {
      const all = Buffer.concat(chunks, size);
      if (OPAQUE_TYPES.has(root.type)) return resolve({ kind: 'opaque', der: base64(all.subarray(root.start)) });
      if (signedStart < 0 || sigStart < 0 || !SIGNATURE_TYPES.has(sigType)) return reject(new Error('not multipart/signed with a signature'));
      const range = all.subarray(signedStart, sigStart);
      const cut = range.lastIndexOf('\r\n--');
      const sig = splitEntity(all.subarray(sigStart));
      const end = sig.body.lastIndexOf('\r\n--');
      resolve({ kind: 'detached', signed: range.subarray(0, cut), der: base64(sig.body.subarray(0, end)) });
    });
    s.end(msg);
  });
}

export default async function (ctx) {
  // The pool the imap and import benchmarks use (made once per run): RSA and EC signers, chains, expired, untrusted.
  const pool = smimePool(ctx.cacheDir ?? ctx.tmp('pki-'), { signers: ctx.quick ? 40 : 80 });
  const rootPem = readFileSync(pool.rootCertFile, 'utf8');
  // IMAP hands over CRLF mail; a header block as a client writes it above each signed body.
  const unique = [];
  for (const [i, s] of pool.signers.entries()) {
    for (const [j, b] of s.bodies.entries()) {
      const text = [`From: Signer ${i} <${s.address}>`, 'To: support@company.example', `Date: ${new Date(Date.UTC(2026, 0, 1 + i, 9, j)).toUTCString()}`, `Message-ID: <bench-${i}-${j}@smime.example>`, 'Subject: invoice', ...b.headers, '', b.body].join('\n');
      unique.push({ msg: Buffer.from(text.replace(/\r?\n/g, '\r\n'), 'latin1'), from: s.address, form: b.form });
    }
  }
  const n = ctx.quick ? 600 : 2000;
  const mail = Array.from({ length: n }, (_, i) => unique[i % unique.length]);
  ctx.size('messages', n);
  ctx.size('detached', mail.filter((m) => m.form === 'detached').length);

  // Same job, same answer: identical signed bytes and signature for every message.
  for (const m of unique) {
    const a = splitOurs(m.msg);
    const b = await splitMailsplit(m.msg);
    if (a.kind !== b.kind || !a.der.equals(b.der) || (a.signed && !a.signed.equals(b.signed))) throw new Error(`splitters disagree on ${m.from} (${m.form})`);
  }
  const detached = mail.filter((m) => m.form === 'detached');
  const verdicts = await Promise.all(detached.slice(0, unique.length).map(async (m) => {
    const ours = await harvestFromMessage(m.msg, { trustedCaPems: [rootPem] });
    const s = await splitMailsplit(m.msg);
    const peer = await harvestFromParts(s.signed, s.der, { from: m.from, trustedCaPems: [rootPem] });
    return ours.ok === peer.ok && ours.certificate?.fingerprint === peer.certificate?.fingerprint;
  }));
  if (!verdicts.every(Boolean)) throw new Error('harvest verdicts differ between the splitters');

  const rounds = ctx.quick ? 5 : 7;
  const split = await ctx.pairs(
    async () => {
      for (const m of mail) splitOurs(m.msg);
    },
    async () => {
      for (const m of mail) await splitMailsplit(m.msg);
    },
    rounds,
  );
  const hv = detached.slice(0, ctx.quick ? 150 : 300);
  const harvest = await ctx.pairs(
    async () => {
      for (const m of hv) await harvestFromMessage(m.msg, { trustedCaPems: [rootPem] });
    },
    async () => {
      for (const m of hv) {
        const s = await splitMailsplit(m.msg);
        await harvestFromParts(s.signed, s.der, { from: m.from, trustedCaPems: [rootPem] });
      }
    },
    ctx.quick ? 3 : 5,
  );
  const perMsg = (ms, k) => (1000 * ms) / k;
  ctx.log(`split: ours ${perMsg(split.medianA, n).toFixed(1)} µs/message, mailsplit ${perMsg(split.medianB, n).toFixed(1)} µs/message; harvest: ours ${perMsg(harvest.medianA, hv.length).toFixed(0)} µs, mailsplit + harvestFromParts ${perMsg(harvest.medianB, hv.length).toFixed(0)} µs per message`);
  return [
    { name: `MIME split of ${n} signed messages: ours (sign/mime.ts) vs mailparser's splitter (mailsplit)`, value: split.medianA, unit: 'ms', baseline: split.medianB, ratio: split.ratio, samples: split.ratios, target: '<= 1x (ours stays only if faster)', pass: split.ratio <= 1 },
    { name: `harvest of ${hv.length} multipart/signed messages end to end: ours vs mailsplit split + harvestFromParts`, value: harvest.medianA, unit: 'ms', baseline: harvest.medianB, ratio: harvest.ratio, samples: harvest.ratios, target: 'reported (CMS verification dominates; no pass/fail)' },
  ];
}
