/**
 * Generators of hostile mail for the property/fuzz suite (issue #12, the standing harness):
 * header blocks built from long runs of every character class that our parsers treat
 * specially, nested comments and groups, encoded-word bombs, NUL/CR/invalid UTF-8, and huge or
 * nested MIME. Everything is bytes: a sender controls bytes, not strings.
 */
import fc from 'fast-check';

/** Seed and run counts: fixed and small in `npm test`, larger (and random unless given) under `npm run fuzz`. */
export const FUZZ = {
  seed: process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : process.env.FUZZ ? Date.now() % 2_147_483_647 : 20_261_201,
  scale: process.env.FUZZ ? Math.max(1, Number(process.env.FUZZ_SCALE ?? 20)) : 1,
};

/** Per-test timeout for a fuzz test: one minute in `npm test`, scaled under `npm run fuzz`. */
export const FUZZ_TIMEOUT_MS = 60_000 * FUZZ.scale;

/** fast-check parameters for a property that runs `runs` times in `npm test`. */
export function fuzzParams(runs: number): { seed: number; numRuns: number; endOnFailure: boolean } {
  return { seed: FUZZ.seed, numRuns: runs * FUZZ.scale, endOnFailure: true };
}

/** Units that regexes and hand-written scanners of header values treat specially. */
export const SPECIAL_UNITS: readonly string[] = [
  '(', ')', '<', '>', '"', '\\', ' ', '\t', '@', ',', ';', ':', '=', '?', '.', '/', '[', ']', '-', '_', '%', '+', '*', '\'',
  '=?', '?=', '=?utf-8?b?', '=?utf-8?q?', '=?iso-8859-1?q?=e9', '=?x?b?====?=', '=?utf-8?b?8J+YgA==?=', '=?',
  '\x00', '\r', '\x1b[2J', '\x7f', '\u00e9', '\u202e', '\ufeff', '\u200b',
  'a', 'Z', '0', '9', 'From ', '>From ', '--', 'boundary=', 'Mozilla/5.0 (', 'Thunderbird/', 'Outlook ', 'Apple-Mail',
];

const unit = fc.constantFrom(...SPECIAL_UNITS);

/** A long run of one unit (up to ~16 KiB, the value limit), or a mix of units. */
export const hostileValue: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(unit, fc.integer({ min: 1, max: 16_500 })).map(([u, n]) => u.repeat(Math.max(1, Math.floor(n / u.length)))),
  fc.array(fc.tuple(unit, fc.integer({ min: 1, max: 400 })), { minLength: 1, maxLength: 40 }).map((parts) => parts.map(([u, n]) => u.repeat(n)).join('')),
  fc.integer({ min: 1, max: 3000 }).map((k) => '('.repeat(k) + 'x' + ')'.repeat(k)),
  fc.integer({ min: 1, max: 3000 }).map((k) => 'g:'.repeat(k) + 'a@b.example' + ';'.repeat(k)),
  fc.integer({ min: 1, max: 1500 }).map((k) => '=?utf-8?b?' + 'QUFB'.repeat(k) + '?= '.repeat(1) + '=?utf-8?q?=41?='.repeat(k)),
  fc.integer({ min: 1, max: 2000 }).map((k) => '"a\\"'.repeat(k) + '<x@y.example>'),
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.string({ maxLength: 200 }),
);

/** Field names: the ones parse and classify read, a few odd ones, and arbitrary bytes. */
export const FIELD_NAMES: readonly string[] = [
  'From', 'from', 'FROM', 'Sender', 'Date', 'Message-ID', 'Content-Type', 'Return-Path', 'Auto-Submitted', 'Precedence',
  'Authentication-Results', 'List-Id', 'User-Agent', 'X-Mailer', 'X-Newsreader', 'X-MS-Has-Attach', 'X-Apple-Base-Url',
  'MIME-Version', 'Received', 'DKIM-Signature', 'X-Microsoft-Original-Message-ID', 'constructor', '__proto__',
];
export const fieldName: fc.Arbitrary<string> = fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...FIELD_NAMES) }, { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 30 }) });

const lineEnd = fc.constantFrom('\r\n', '\n', '\r\n', '\r', '\n\r');

/** One header field, maybe folded, with a hostile value and a random line ending. */
export const hostileField: fc.Arbitrary<string> = fc
  .tuple(fieldName, hostileValue, fc.boolean(), lineEnd)
  .map(([name, value, fold, eol]) => `${name}: ${fold ? value.replace(/ /g, eol + ' ') : value}${eol}`);

/** A plausible sender line so that some blocks get past the From checks into the later stages. */
const goodFrom = fc.constantFrom('From: Alice <alice@customer.example>\r\n', 'From: bob@customer.example\n', 'From: "x" <x@y.example>\r\n');

/** A whole hostile header block as bytes, up to ~256 KiB, with a blank line and a body sometimes. */
export const hostileBlock: fc.Arbitrary<Buffer> = fc
  .tuple(fc.option(goodFrom, { freq: 2 }), fc.array(hostileField, { minLength: 0, maxLength: 24 }), fc.boolean(), fc.option(fc.uint8Array({ maxLength: 64 })))
  .map(([from, fields, body, junk]) => {
    const parts = [Buffer.from((from ?? '') + fields.join(''), 'utf8')];
    if (junk) parts.push(Buffer.from(junk)); // raw bytes: invalid UTF-8, NUL, lone CR
    if (body) parts.push(Buffer.from('\r\n\r\nbody\r\n'));
    return Buffer.concat(parts);
  });

/** A block filled up to `bytes` with one hostile field after another (the worst case parse must bound). */
export function fullBlock(value: string, bytes: number, name = 'X-Fill'): Buffer {
  const field = `${name}: ${value.slice(0, 16_000)}\r\n`;
  const n = Math.max(1, Math.floor((bytes - 40) / Buffer.byteLength(field)));
  return Buffer.from('From: a@customer.example\r\n' + field.repeat(n) + '\r\n');
}

/** Nested multipart bodies (huge and deep), some claiming to be S/MIME signed. */
export const hostileMime: fc.Arbitrary<Buffer> = fc
  .tuple(
    fc.integer({ min: 0, max: 40 }),
    fc.constantFrom('multipart/signed; protocol="application/pkcs7-signature"; boundary=', 'multipart/mixed; boundary=', 'application/pkcs7-mime; smime-type=signed-data; x=', 'multipart/signed; boundary='),
    fc.oneof(fc.constant('b'), fc.constant(''), hostileValue.map((v) => v.slice(0, 200))),
    fc.oneof(fc.constant(''), fc.base64String({ maxLength: 4000 }), hostileValue),
    fc.integer({ min: 0, max: 3 }),
  )
  .map(([depth, ct, boundary, sig, parts]) => {
    let body = `Content-Type: application/pkcs7-signature\r\nContent-Transfer-Encoding: base64\r\n\r\n${sig}\r\n`;
    // Deep or wide, never both: parts^depth would be astronomically large.
    for (let d = 0; d < depth && body.length < 2 * 1024 * 1024; d++) {
      const b = `${boundary}${d}`;
      const inner = Array.from({ length: parts }, () => `--${b}\r\n${body}`).join('\r\n');
      body = `Content-Type: ${ct}"${b}"\r\n\r\n${inner}\r\n--${b}--\r\n`;
    }
    return Buffer.from(`From: alice@customer.example\r\nMIME-Version: 1.0\r\n${body}`, 'utf8');
  });

/**
 * CPU time this process has used, in milliseconds (user + system, microsecond resolution). The
 * time checks below count it rather than wall time: on a shared machine at load ~30 a test
 * process waits for a core far longer than it runs, and wall time then measures the neighbours;
 * the CPU time a parse takes is its own work, which is what "linear" is about.
 */
export function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** CPU time of one call of `fn`, in milliseconds. */
export function cpuTimeMs(fn: () => unknown): number {
  const t0 = cpuMs();
  fn();
  return cpuMs() - t0;
}

/** Median CPU time of `fn` over `runs` runs, in milliseconds. */
export function medianMs(fn: () => unknown, runs = 5): number {
  const t: number[] = [];
  for (let i = 0; i < runs; i++) t.push(cpuTimeMs(fn));
  return t.sort((a, b) => a - b)[runs >> 1]!;
}

/**
 * True when `fn` stays within `boundMs` of CPU time, judged robustly: one run, and if that is
 * over, medians of interleaved pairs (fn, then `baseline`: linear work on the same bytes), so
 * whatever slows this process (a cold cache, a neighbour sharing the core) slows both sides of
 * each pair alike. It passes when the median of fn is within `boundMs` or the median pair ratio
 * is within `ratio`; a quadratic blow-up is 100-1000x. Three tries; only a block that is slow
 * every time fails.
 */
export function withinBound(fn: () => unknown, boundMs: number, baseline?: () => unknown, ratio = 20): { ok: boolean; ms: number; limit: number } {
  const once = cpuTimeMs(fn);
  if (once <= boundMs) return { ok: true, ms: once, limit: boundMs };
  let last = { ok: false, ms: once, limit: boundMs };
  for (let attempt = 0; attempt < 3 && !last.ok; attempt++) {
    const times: number[] = [];
    const ratios: number[] = [];
    for (let i = 0; i < 9; i++) {
      const a = cpuTimeMs(fn);
      const b = baseline ? cpuTimeMs(baseline) : 0;
      times.push(a);
      if (baseline) ratios.push(a / Math.max(b, 0.001));
    }
    const med = times.sort((x, y) => x - y)[4]!;
    const r = baseline ? ratios.sort((x, y) => x - y)[4]! : Infinity;
    last = { ok: med <= boundMs || r <= ratio, ms: med, limit: baseline ? Math.max(boundMs, (med / r) * ratio) : boundMs };
  }
  return last;
}
