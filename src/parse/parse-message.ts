import { MAX_FINGERPRINT_VALUE_CHARS, fingerprintValue } from '../core/index.js';
import type { HeaderField, ParseResult, ParsedMessage, SmimeMessageKind } from '../core/index.js';
import { decodeWords, mediaTypeOf, parseMailboxes, parseStructured, type ParsedHeaderValue } from './decode.js';
import { splitHeaderBlock } from './header-block.js';

/** Which fields make up the fingerprint kept for classify (and for `recompute`). */
export interface FingerprintSelector {
  /** Exact lower-case names. */
  readonly names: ReadonlySet<string>;
  /** Lower-case name prefixes such as `x-apple-`. */
  readonly prefixes: readonly string[];
}

export interface ParseOptions {
  readonly fingerprint: FingerprintSelector;
  /** The company's own domains (lower-case); mail from them or their subdomains is skipped. */
  readonly ownDomains?: readonly string[];
}

/**
 * A valid-enough mailbox: local@domain with a dot-free-or-dotted domain, no spaces and no control
 * characters (RFC 5322 has none in an addr-spec; PostgreSQL's text cannot even hold U+0000).
 */
const MAILBOX = /^[^\s\x00-\x1f\x7f@<>()\[\],;:"]+@[^\s\x00-\x1f\x7f@<>()\[\],;:"]+$/;

/** True when `address` has the syntax we accept for lookups and storage. */
export function isValidAddress(address: string): boolean {
  return address.length <= 320 && MAILBOX.test(address);
}

/** Lower-cases an address for storage and lookup (matching is case-insensitive). */
export function normalizeAddress(address: string): string {
  return address.trim().toLowerCase();
}

/** Message-ID without angle brackets and surrounding noise; null when absent/empty. */
export function normalizeMessageId(value: string | undefined): string | null {
  if (!value) return null;
  // The first <…> of at most 900 characters. The bound is checked after the match, not written
  // as {1,900}: recheck cannot build the automaton of a 900-fold repeat and falls back to its
  // fuzzer, whose verdict ("polynomial" on some runs) depends on the machine's load — a flaky
  // architecture test. Either form is linear: a run after '<' holds no '<', so runs never overlap.
  let m: RegExpExecArray | null = null;
  for (const c of value.matchAll(/<([^<>\s]+)>/g)) {
    if (c[1]!.length <= 900) {
      m = c;
      break;
    }
  }
  const id = (m ? m[1] : value.trim().split(/\s+/)[0]) ?? '';
  return id.length > 0 && id.length <= 900 ? id : null;
}

const SMIME_MEDIA_TYPES: ReadonlySet<string> = new Set(['multipart/signed', 'application/pkcs7-mime', 'application/x-pkcs7-mime']);

/**
 * S/MIME kind of a message from its top-level Content-Type (RFC 8551 3.4/3.5). `mediaType` is
 * for a caller that has already read it (parseMessage), so the media type is not read twice.
 */
export function smimeKindOf(contentType: string | undefined, mediaType = contentType ? mediaTypeOf(contentType) : null): SmimeMessageKind | null {
  if (!contentType || mediaType === null) return null;
  // Only an S/MIME type needs its parameters read (and libmime loaded).
  if (!SMIME_MEDIA_TYPES.has(mediaType)) return null;
  return smimeKindOfParsed(parseStructured(contentType));
}

/** smimeKindOf of a Content-Type parseStructured already read. */
function smimeKindOfParsed(ct: ParsedHeaderValue): SmimeMessageKind | null {
  if (ct.value === 'multipart/signed') {
    const protocol = (ct.params.protocol ?? '').toLowerCase();
    return protocol === 'application/pkcs7-signature' || protocol === 'application/x-pkcs7-signature' ? 'signed' : null;
  }
  if (ct.value === 'application/pkcs7-mime' || ct.value === 'application/x-pkcs7-mime') {
    const type = (ct.params['smime-type'] ?? '').toLowerCase();
    if (type === 'signed-data') return 'opaque-signed';
    if (type === 'enveloped-data' || type === 'authenveloped-data') return 'encrypted';
    // Without smime-type the name tells: smime.p7m is enveloped unless stated otherwise.
    return 'encrypted';
  }
  return null;
}

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1);
}

/**
 * Fields parse itself reads (screening, sender, date, S/MIME kind, DMARC) besides the
 * fingerprint, plus list-id, which is only kept in the stored fingerprint (for `recompute` and
 * people reading `show`).
 */
export const PARSE_FIELDS: readonly string[] = ['from', 'sender', 'date', 'message-id', 'content-type', 'return-path', 'auto-submitted', 'precedence', 'authentication-results', 'list-id'];
const PARSE_FIELD_SET: ReadonlySet<string> = new Set(PARSE_FIELDS);

/**
 * The Date value without a trailing comment such as "(CEST)". Index arithmetic, not a regex: the
 * obvious `/\s*\([^)]*\)\s*$/` backtracks quadratically on a run of "(" (16 KB cost ~185 ms).
 */
export function stripTrailingComment(value: string): string {
  const t = value.trimEnd();
  if (!t.endsWith(')')) return t;
  // The comment opens at the first "(" after the last ")" before the closing one.
  const open = t.indexOf('(', t.lastIndexOf(')', t.length - 2) + 1);
  return open >= 0 && open < t.length - 1 ? t.slice(0, open).trimEnd() : t;
}

/** Per selector: whether a field belongs to the fingerprint, and whether parse keeps it at all (built once, not per message). */
const fingerprintTests = new WeakMap<FingerprintSelector, (name: string) => boolean>();
const parseWantTests = new WeakMap<FingerprintSelector, (name: string) => boolean>();

function fingerprintTest(sel: FingerprintSelector): (name: string) => boolean {
  let t = fingerprintTests.get(sel);
  if (!t) {
    const { names, prefixes } = sel;
    t = (n) => names.has(n) || prefixes.some((p) => n.startsWith(p));
    fingerprintTests.set(sel, t);
  }
  return t;
}

function parseWants(sel: FingerprintSelector, inFingerprint: (name: string) => boolean): (name: string) => boolean {
  let t = parseWantTests.get(sel);
  if (!t) {
    t = (n) => PARSE_FIELD_SET.has(n) || inFingerprint(n);
    parseWantTests.set(sel, t);
  }
  return t;
}

const BOUNCE_LOCALPARTS = new Set(['mailer-daemon', 'postmaster', 'mail-daemon', 'mailerdaemon']);

/**
 * bytes -> ParsedMessage, or a skip with its reason. Pure and total: hostile input yields a
 * skip, never an exception.
 */
export function parseMessage(bytes: Uint8Array, options: ParseOptions): ParseResult {
  const sel = options.fingerprint;
  const inFingerprint = fingerprintTest(sel);
  const split = splitHeaderBlock(bytes, parseWants(sel, inFingerprint));
  if (!split.ok) return split;
  const raw = split.fields;
  const fields: HeaderField[] = new Array<HeaderField>(raw.length);
  const firsts = new Map<string, string>();
  const fromFields: HeaderField[] = [];
  for (let i = 0; i < raw.length; i++) {
    const r = raw[i]!;
    const value = decodeWords(r.value);
    // Most values hold no encoded word: the split's own field object is the decoded one.
    const f = value === r.value ? r : { name: r.name, value };
    fields[i] = f;
    if (!firsts.has(f.name)) firsts.set(f.name, value);
    if (f.name === 'from') fromFields.push(f);
  }
  const first = (name: string): string | undefined => firsts.get(name);

  // From: exactly one mailbox (RFC 5322 allows several, then Sender names the real one; we skip those).
  if (fromFields.length === 0) return { ok: false, reason: 'no-from', detail: 'no From header' };
  // Several From fields are a skip before any of them is parsed: each may hold 16 KB of hostile text.
  if (fromFields.length > 1) return { ok: false, reason: 'multiple-from', detail: `${fromFields.length} From fields` };
  const mailboxes = parseMailboxes(fromFields[0]!.value);
  if (mailboxes.length === 0) return { ok: false, reason: 'no-from', detail: 'From has no mailbox' };
  if (mailboxes.length > 1) return { ok: false, reason: 'multiple-from', detail: `${mailboxes.length} From mailboxes` };
  const from = normalizeAddress(mailboxes[0] ?? '');
  if (!isValidAddress(from)) return { ok: false, reason: 'no-from', detail: 'From mailbox is not a valid address' };

  // Screening: mail that says nothing about a person's mail program (RFC 3834, RFC 3464/6522, RFC 2076).
  const autoSubmitted = first('auto-submitted');
  if (autoSubmitted !== undefined) {
    const token = autoSubmitted.split(/[;(\s]/)[0]?.toLowerCase() ?? '';
    if (token !== 'no' && token !== '') return { ok: false, reason: 'auto-submitted', detail: `Auto-Submitted: ${token}` };
  }
  const contentType = first('content-type');
  const mediaType = contentType === undefined ? null : mediaTypeOf(contentType);
  if (mediaType === 'multipart/report') {
    return { ok: false, reason: 'report', detail: 'multipart/report' };
  }
  const local = from.slice(0, from.lastIndexOf('@'));
  if (BOUNCE_LOCALPARTS.has(local)) return { ok: false, reason: 'bounce', detail: `From ${local}@…` };
  const returnPath = first('return-path');
  if (returnPath !== undefined && /^<\s*>$/.test(returnPath.trim())) return { ok: false, reason: 'bounce', detail: 'null Return-Path' };
  const precedence = first('precedence')?.trim().toLowerCase();
  if (precedence === 'bulk' || precedence === 'junk' || precedence === 'list') {
    return { ok: false, reason: 'bulk', detail: `Precedence: ${precedence}` };
  }
  if (options.ownDomains && options.ownDomains.length > 0) {
    const domain = domainOf(from);
    for (const own of options.ownDomains) {
      if (domain === own || domain.endsWith('.' + own)) return { ok: false, reason: 'own-domain', detail: `own domain ${own}` };
    }
  }

  const dateText = first('date');
  let headerDate: Date | null = null;
  if (dateText !== undefined) {
    const t = Date.parse(stripTrailingComment(dateText));
    if (Number.isFinite(t)) headerDate = new Date(t);
  }

  const fingerprint: Record<string, string[]> = {};
  for (const f of fields) {
    if (!inFingerprint(f.name)) continue;
    // Received, DKIM-Signature and X-YMail-OSG reduced to what can tell a program (core/fingerprint-value.ts).
    const value = fingerprintValue(f.name, f.value);
    if (value === null) continue;
    const v = value.length > MAX_FINGERPRINT_VALUE_CHARS ? value.slice(0, MAX_FINGERPRINT_VALUE_CHARS) : value;
    (fingerprint[f.name] ??= []).push(v);
  }

  const message: ParsedMessage = {
    fields,
    from,
    headerDate,
    messageId: normalizeMessageId(first('message-id')),
    fingerprint,
    smime: smimeKindOf(contentType, mediaType),
  };
  return { ok: true, message };
}

/** Mail dated before this is not believed (no client in the census predates it; 1970 is a broken clock). */
export const EARLIEST_TRUSTED_DATE = Date.UTC(1990, 0, 1);
/** Clock skew tolerated for a date in the future. */
export const MAX_FUTURE_SKEW_MS = 24 * 60 * 60 * 1000;

/**
 * A date from the sender or the mailbox (Date header, mbox separator, file time) if it is sane:
 * from 1990 to a day after `now`. Anything else (year -5000, 12026, 2099) is untrusted: null.
 */
export function trustedDate(d: Date | null, now: number): number | null {
  if (d === null) return null;
  const t = d.getTime();
  return Number.isFinite(t) && t >= EARLIEST_TRUSTED_DATE && t <= now + MAX_FUTURE_SKEW_MS ? t : null;
}

/**
 * Effective date as Autocrypt defines it: the Date header, unless it is missing or later than
 * the receipt time, then the receipt time (a sender's clock cannot push its evidence into the
 * future). Dates outside the sane range (trustedDate) count as missing, so the result is always
 * between 1990 and now + 1 day.
 */
export function effectiveDate(headerDate: Date | null, receivedAt: Date | null, now: Date): Date {
  const n = now.getTime();
  const received = trustedDate(receivedAt, n);
  const ceiling = received ?? n;
  const header = trustedDate(headerDate, n);
  if (header === null) return new Date(ceiling);
  return new Date(header > ceiling ? ceiling : header);
}
