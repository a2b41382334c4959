import { createRequire } from 'node:module';
import type libmimeModule from 'libmime';
import addressparser from 'nodemailer/lib/addressparser';

const require = createRequire(import.meta.url);
let libmimeLoaded: typeof libmimeModule | undefined;
/**
 * libmime, loaded on first use (synchronously: parse is pure and sync). Loading it builds
 * iconv-lite's GBK table and loads iconv-lite and encoding-japanese, ~90 ms of CPU: most of
 * `import -`'s start-up beyond node itself, for one message from an MTA. A header block without
 * encoded words and with a plain Content-Type (most mail) never needs it.
 */
function libmime(): typeof libmimeModule {
  return (libmimeLoaded ??= require('libmime') as typeof libmimeModule);
}

/** The charset label of an encoded word's start "=?label?Q?" (bounded: linear on any input). */
const WORD_START = /=\?([^?\s]{1,64})\?([BbQq])\?/g;
/** Encoded words decoded in one value at most (RFC 2047 lines hold 75 characters; 64 words are a long name). */
export const MAX_ENCODED_WORDS = 64;
const charsetKnown = new Map<string, boolean>();
/** Distinct labels remembered; real mail uses a few dozen, hostile mail invents new ones. */
const CHARSET_MEMO_MAX = 512;

/** True when the platform decodes this charset label (WHATWG Encoding labels), memoised. */
function isKnownCharset(label: string): boolean {
  const key = (label.split('*')[0] ?? '').toLowerCase();
  const hit = charsetKnown.get(key);
  if (hit !== undefined) return hit;
  let ok = true;
  // An unknown label throws; without a stack trace that costs microseconds, not a quarter ms.
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    new TextDecoder(key);
  } catch {
    ok = false;
  } finally {
    Error.stackTraceLimit = limit;
  }
  if (charsetKnown.size < CHARSET_MEMO_MAX) charsetKnown.set(key, ok);
  return ok;
}

/**
 * RFC 2047 decoding via libmime; values without encoded words skip the call (the common case).
 * Words in a charset nobody knows are relabelled UTF-8 first: libmime decodes them as UTF-8
 * anyway, but only after iconv-lite threw for each one (~0.3 ms per word: a 16 KB value of
 * "=?x?q?a?=" cost 30 ms).
 */
export function decodeWords(value: string): string {
  // "?" first: a one-character search is a memchr, while "=?" crawls over a run of "=" (16 KB: 0.1 ms).
  if (value.indexOf('?') < 0 || !value.includes('=?')) return value;
  // Every "=?" is a place where libmime's regexes start work, word or not.
  let starts = 0;
  for (let i = value.indexOf('=?'); i >= 0 && starts <= MAX_ENCODED_WORDS * 2; i = value.indexOf('=?', i + 2)) starts++;
  if (starts > MAX_ENCODED_WORDS * 2) return value;
  let words = 0;
  const safe = value.replace(WORD_START, (word, label: string, enc: string) => {
    words++;
    return isKnownCharset(label) ? word : `=?utf-8?${enc}?`;
  });
  // A display name or a program name needs a handful of words; thousands are a bomb on which
  // libmime's joining regexes cost ~10 ms per 16 KB value. Such a value stays undecoded.
  if (words > MAX_ENCODED_WORDS) return value;
  try {
    return libmime().decodeWords(safe);
  } catch {
    // Hostile or broken encoded words: keep the raw text rather than failing the message.
    return value;
  }
}

export interface ParsedHeaderValue {
  readonly value: string;
  readonly params: Readonly<Record<string, string>>;
}

const MAX_MEDIA_TYPE_CHARS = 256;

/** Structured header value (Content-Type and friends) via libmime's parser. */
export function parseStructured(value: string): ParsedHeaderValue {
  try {
    const parsed = libmime().parseHeaderValue(value) as { value: string; params: Record<string, string> };
    // type/subtype are at most 127 characters each (RFC 6838 4.2); the cut spares lower-casing
    // 16 KB of hostile non-ASCII text, which costs ~15 ms.
    return { value: (parsed.value ?? '').slice(0, MAX_MEDIA_TYPE_CHARS).toLowerCase().trim(), params: parsed.params ?? {} };
  } catch {
    return { value: (value.split(';')[0] ?? '').slice(0, MAX_MEDIA_TYPE_CHARS).trim().toLowerCase(), params: {} };
  }
}

/**
 * `type/subtype` as RFC 2045 tokens, then `;` or the end: a media type libmime reads as exactly
 * that text (no quote, comment, escape or whitespace inside it), lower-cased as parseStructured
 * gives it. Bounded (RFC 6838 4.2: 127 characters each), so linear on any input.
 */
const PLAIN_MEDIA_TYPE = /^[ \t]*([A-Za-z0-9!#$&^_.+-]{1,127}\/[A-Za-z0-9!#$&^_.+-]{1,127})[ \t]*(?:;|$)/;

/**
 * The media type of a Content-Type value, `parseStructured(value).value`, without loading
 * libmime when the value starts with a plain `type/subtype` (what nearly every client writes).
 */
export function mediaTypeOf(value: string): string {
  const plain = PLAIN_MEDIA_TYPE.exec(value);
  return plain ? plain[1]!.toLowerCase() : parseStructured(value).value;
}

/** A From this long is no plain shape (an address is at most 320 characters, a name a few dozen): the full parser decides. */
const MAX_SIMPLE_FROM_CHARS = 1024;

interface ParsedAddress {
  address?: string;
  name?: string;
  group?: ParsedAddress[];
}

// The two shapes nearly every From has, `local@domain` and `Plain Name <local@domain>`: no
// quote, comment, group, list, escape or domain literal, so nothing that needs a real parser.
// The classes exclude '<' and '@' from the name and the address, so each part is one run and the
// match is linear; anything else goes to the full parser.
const BARE_MAILBOX = /^[^\s"(),:;<>@[\\\]]+@[^\s"(),:;<>@[\\\]]+$/;
const NAMED_MAILBOX = /^[^"(),:;<>@[\\\]]*<([^\s"(),:;<>@[\\\]]+@[^\s"(),:;<>@[\\\]]+)>$/;

/**
 * All mailboxes of an address-list header (groups flattened), via nodemailer's address parser;
 * the two plain shapes take a shortcut that gives the same result (test/parse/mailboxes.test.ts
 * holds it against the parser) at a fraction of its cost.
 */
export function parseMailboxes(value: string): string[] {
  const v = value.trim();
  if (v.length <= MAX_SIMPLE_FROM_CHARS) {
    if (BARE_MAILBOX.test(v)) return [v];
    const named = NAMED_MAILBOX.exec(v);
    if (named) return [named[1]!];
  }
  let list: ParsedAddress[];
  try {
    list = addressparser(value) as ParsedAddress[];
  } catch {
    return [];
  }
  const out: string[] = [];
  const walk = (items: ParsedAddress[]): void => {
    for (const a of items) {
      if (a.group) walk(a.group);
      else if (a.address) out.push(a.address);
    }
  };
  walk(list);
  return out;
}
