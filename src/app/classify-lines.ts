/**
 * Classifying header sets given as JSON lines ({"headers": {...}} or {"raw": "<header block>"}):
 * exactly one JSON line out per input line, in order — the verdict or {"error": "..."}. The CLI's
 * `classify` is this over stdin and stdout.
 */
import type { Readable, Writable } from 'node:stream';
import { MAX_HEADER_BYTES, MAX_HEADER_FIELDS, type Fingerprint } from '../core/index.js';
import { classify, fingerprintFromFields, loadRules, type RuleSet } from '../classify/index.js';
import { parseHeaderBlock, smimeKindOf } from '../parse/index.js';

/** A raw header block may be escaped in JSON; allow it plus JSON overhead, refuse anything larger. */
const MAX_LINE_BYTES = 2 * MAX_HEADER_BYTES;

/** Turns one input line into the output object (a verdict or an error); never throws. */
export function classifyLine(rules: RuleSet, line: string): object {
  let input: unknown;
  try {
    input = JSON.parse(line);
  } catch {
    return { error: 'not valid JSON' };
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return { error: 'expected an object with "headers" or "raw"' };
  const o = input as Record<string, unknown>;
  if (typeof o.raw === 'string') {
    const parsed = parseHeaderBlock(Buffer.from(o.raw, 'utf8'));
    if (!parsed.ok) return { error: `raw header block rejected: ${parsed.reason}: ${parsed.detail}` };
    const ct = parsed.fields.find((f) => f.name === 'content-type')?.value;
    return classify(rules, fingerprintFromFields(parsed.fields), { smimeMessage: smimeKindOf(ct) });
  }
  if (typeof o.headers === 'object' && o.headers !== null && !Array.isArray(o.headers)) {
    // No prototype: header names such as "constructor" or "__proto__" are plain keys here.
    const fp = Object.create(null) as Record<string, string[]>;
    let count = 0;
    for (const [k, v] of Object.entries(o.headers as Record<string, unknown>)) {
      const values = typeof v === 'string' ? [v] : Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : null;
      if (values === null) return { error: `header ${JSON.stringify(k).slice(0, 80)}: value must be a string or an array of strings` };
      // The same bound as a parsed header block: it keeps the engine's per-field work linear.
      count += Math.max(1, values.length);
      if (count > MAX_HEADER_FIELDS) return { error: `more than ${MAX_HEADER_FIELDS} header values` };
      const name = k.toLowerCase();
      const list = (fp[name] ??= []);
      // A loop, not push(...values): spreading a huge array overflows the call stack.
      for (const x of values) list.push(x);
    }
    return classify(rules, fp as Fingerprint);
  }
  return { error: 'expected an object with "headers" or "raw"' };
}

/** classifyLine behind a last guard: one answer line per input line even if a bug throws. */
function answerLine(rules: RuleSet, line: string): object {
  try {
    return classifyLine(rules, line);
  } catch {
    return { error: 'internal error: this line could not be classified' };
  }
}

function write(out: Writable, text: string): Promise<void> {
  return new Promise((resolve) => {
    if (out.write(text)) resolve();
    else out.once('drain', () => resolve());
  });
}

/**
 * Streams `input` line by line. Not node:readline: readline buffers a line of any length, and
 * one hostile multi-gigabyte line must cost an error line, not the process.
 */
export async function classifyStream(rules: RuleSet, input: Readable, output: Writable): Promise<number> {
  let parts: Buffer[] = [];
  let size = 0;
  let skipping = false;
  let count = 0;
  const emit = async (obj: object): Promise<void> => {
    count++;
    await write(output, JSON.stringify(obj) + '\n');
  };
  const finishLine = async (): Promise<void> => {
    if (skipping) await emit({ error: `line longer than ${MAX_LINE_BYTES} bytes` });
    else {
      const line = Buffer.concat(parts).toString('utf8').replace(/\r$/, '');
      if (line.trim() !== '') await emit(answerLine(rules, line));
      else await emit({ error: 'empty line' });
    }
    parts = [];
    size = 0;
    skipping = false;
  };
  for await (const chunk of input) {
    let buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    let nl: number;
    while ((nl = buf.indexOf(0x0a)) >= 0) {
      if (!skipping) parts.push(buf.subarray(0, nl));
      await finishLine();
      buf = buf.subarray(nl + 1);
    }
    if (buf.length && !skipping) {
      size += buf.length;
      if (size > MAX_LINE_BYTES) {
        skipping = true;
        parts = [];
      } else parts.push(buf);
    }
  }
  if (size > 0 || skipping) await finishLine();
  return count;
}

/** Loads the rules from `ruleDirs` (shipped first; later folders override) and classifies `input` line by line into `output`. */
export async function classifyLines(ruleDirs: readonly string[], input: Readable, output: Writable): Promise<number> {
  return classifyStream(loadRules(ruleDirs), input, output);
}
