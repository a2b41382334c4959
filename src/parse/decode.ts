import libmime from 'libmime';
import addressparser from 'nodemailer/lib/addressparser';

/** RFC 2047 decoding via libmime; values without encoded words skip the call (the common case). */
export function decodeWords(value: string): string {
  if (!value.includes('=?')) return value;
  try {
    return libmime.decodeWords(value);
  } catch {
    // Hostile or broken encoded words: keep the raw text rather than failing the message.
    return value;
  }
}

export interface ParsedHeaderValue {
  readonly value: string;
  readonly params: Readonly<Record<string, string>>;
}

/** Structured header value (Content-Type and friends) via libmime's parser. */
export function parseStructured(value: string): ParsedHeaderValue {
  try {
    const parsed = libmime.parseHeaderValue(value) as { value: string; params: Record<string, string> };
    return { value: (parsed.value ?? '').toLowerCase().trim(), params: parsed.params ?? {} };
  } catch {
    return { value: value.split(';')[0]?.trim().toLowerCase() ?? '', params: {} };
  }
}

interface ParsedAddress {
  address?: string;
  name?: string;
  group?: ParsedAddress[];
}

/** All mailboxes of an address-list header (groups flattened), via nodemailer's address parser. */
export function parseMailboxes(value: string): string[] {
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
