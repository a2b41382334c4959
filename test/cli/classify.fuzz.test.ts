/**
 * Property/fuzz suite for classify's JSON-lines contract (issue #12 harness): whatever the lines
 * hold (any JSON, hostile keys such as __proto__, huge arrays, broken UTF-8, no JSON at all),
 * exactly one JSON answer line per input line, in order, each a verdict or {"error": ...}.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PassThrough, Readable } from 'node:stream';
import { defaultRulesDir, loadRules } from '../../src/classify/index.js';
import { classifyStream } from '../../src/app/classify-lines.js';
import { FUZZ_TIMEOUT_MS, FIELD_NAMES, fuzzParams, hostileBlock, hostileValue } from '../helpers/hostile.js';

const rules = loadRules([defaultRulesDir()]);

const key = fc.oneof(fc.constantFrom(...FIELD_NAMES, '__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty', ''), fc.string({ maxLength: 20 }));
const headerValue = fc.oneof(hostileValue, fc.array(hostileValue.map((v) => v.slice(0, 500)), { maxLength: 20 }), fc.jsonValue({ maxDepth: 3 }));
const headersLine = fc.dictionary(key, headerValue, { maxKeys: 30 }).map((h) => JSON.stringify({ headers: h }));
const rawLine = hostileBlock.map((b) => JSON.stringify({ raw: b.toString('utf8') }));
const junkLine = fc.oneof(fc.jsonValue().map((v) => JSON.stringify(v)), fc.string({ unit: 'binary', maxLength: 200 }).map((s) => s.replace(/\n/g, ' ')), fc.constant('{"headers":{"x-mailer":' + JSON.stringify(new Array(20_000).fill('')) + '}}'));
const line = fc.oneof(headersLine, rawLine, junkLine);

describe('classify fuzz: the JSON-lines contract', { timeout: FUZZ_TIMEOUT_MS }, () => {
  it('answers every line with exactly one JSON object line', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(line, { minLength: 1, maxLength: 8 }), async (lines) => {
        const input = lines.map((l) => l.replace(/\r?\n/g, ' ')).join('\n') + '\n';
        const out = new PassThrough();
        const chunks: Buffer[] = [];
        out.on('data', (c: Buffer) => chunks.push(c));
        const n = await classifyStream(rules, Readable.from([Buffer.from(input)]), out);
        out.end();
        const answers = Buffer.concat(chunks).toString('utf8').split('\n');
        expect(answers.pop()).toBe('');
        expect(n).toBe(lines.length);
        expect(answers).toHaveLength(lines.length);
        for (const a of answers) {
          const o = JSON.parse(a) as Record<string, unknown>;
          expect(typeof o === 'object' && o !== null && !Array.isArray(o)).toBe(true);
          expect('error' in o ? typeof o.error === 'string' : typeof o.kind === 'string').toBe(true);
        }
      }),
      fuzzParams(120),
    );
  });
});
