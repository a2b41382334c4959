/**
 * A Received header (RFC 5321 4.4) reduced to what says something about the sending program: the
 * hop's receiving host and protocol, `by <host> with <protocol>`. Who submitted a message shows
 * there — `by smtp.gmail.com with ESMTPSA` is a program submitting through Gmail's SMTP server,
 * not Gmail web; `by …yahoo.com with HTTP` is Yahoo's web or app front end.
 *
 * Everything else is dropped before the value is stored or matched: the from-part (client IP
 * addresses and HELO names, personal data that says nothing about the program), `id`, `for
 * <address>` (a mailbox) and the date. A scanner, not a regex: comments nest and the value is
 * hostile, so one linear pass with a depth counter decides what is a comment.
 */

/** Longest host name (RFC 1035: 253) or protocol token (RFC 3848 names are short) we keep. */
const MAX_HOST_CHARS = 253;
const MAX_PROTOCOL_CHARS = 32;
/** A Received value is a few hundred characters; only this much of a hostile one is scanned. */
const MAX_RECEIVED_SCAN_CHARS = 4096;

function isSeparator(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

/** A comment right after the host kept as the server's software name: "(Postfix)", "(SG)", "(Horde Framework)". */
const MAX_SOFTWARE_CHARS = 60;
// Letters, spaces and a little punctuation only: a comment with digits ("mrgmx005 [212.227.17.190]",
// "Postfix, from userid 1000", "8.18.1/8.17.1") may carry an address or a user id and is dropped.
const SOFTWARE_NAME = /^[A-Za-z][A-Za-z ._,-]{0,59}$/;

/**
 * `by <host> [(<software>)] with <protocol>` (parts the hop lacks are left out) of one Received
 * value; null when it has no `by` clause. Idempotent: a reduced value reduces to itself.
 */
export function receivedHop(value: string): string | null {
  const n = value.length < MAX_RECEIVED_SCAN_CHARS ? value.length : MAX_RECEIVED_SCAN_CHARS;
  let depth = 0;
  let want: 'by' | 'with' | null = null;
  let by: string | null = null;
  let proto: string | null = null;
  let software: string | null = null;
  let afterBy = false;
  let i = 0;
  while (i < n) {
    const c = value.charCodeAt(i);
    if (c === 40 /* ( */) {
      if (afterBy && depth === 0) {
        afterBy = false;
        const close = value.indexOf(')', i + 1);
        if (close > i + 1 && close - i - 1 <= MAX_SOFTWARE_CHARS && close < n) {
          const text = value.slice(i + 1, close);
          if (SOFTWARE_NAME.test(text)) {
            software = text.trim();
            i = close + 1;
            continue;
          }
        }
      }
      depth++;
      i++;
      continue;
    }
    if (c === 41 /* ) */) {
      if (depth > 0) depth--;
      i++;
      continue;
    }
    if (depth > 0) {
      if (c === 92 /* \ quoted-pair */) i++;
      i++;
      continue;
    }
    // The date follows the last ';': no clause after it.
    if (c === 59 /* ; */) break;
    if (isSeparator(c)) {
      i++;
      continue;
    }
    let j = i;
    while (j < n) {
      const d = value.charCodeAt(j);
      if (isSeparator(d) || d === 40 || d === 41 || d === 59) break;
      j++;
    }
    const token = value.slice(i, j);
    i = j;
    afterBy = false;
    if (want === 'by') {
      if (token.length <= MAX_HOST_CHARS) {
        by = token.toLowerCase();
        afterBy = true;
      }
      want = null;
    } else if (want === 'with') {
      if (token.length <= MAX_PROTOCOL_CHARS) proto = token;
      want = null;
      break;
    } else if (by === null && token.length === 2 && token.toLowerCase() === 'by') want = 'by';
    else if (by !== null && token.length === 4 && token.toLowerCase() === 'with') want = 'with';
  }
  if (by === null) return null;
  let hop = `by ${by}`;
  if (software !== null) hop += ` (${software})`;
  if (proto !== null) hop += ` with ${proto}`;
  return hop;
}
