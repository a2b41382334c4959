/**
 * Regression tests for issue #12 item 12 and the 46k-key weakness: `classify` answers every JSON
 * line with exactly one line, whatever the line holds, in bounded time.
 */
import { describe, expect, it } from 'vitest';
import { PassThrough, Readable } from 'node:stream';
import { defaultRulesDir, loadRules } from '../../src/classify/index.js';
import { classifyStream } from '../../src/app/classify-lines.js';

const rules = loadRules([defaultRulesDir()]);

async function run(lines: string[]): Promise<Array<Record<string, unknown>>> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await classifyStream(rules, Readable.from([Buffer.from(lines.join('\n') + '\n')]), out);
  out.end();
  return Buffer.concat(chunks).toString('utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
}

const tb = JSON.stringify({ headers: { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Thunderbird/115.3.1' } });

describe('classify: hostile JSON lines', () => {
  it('header names "constructor", "__proto__", "toString" and "hasOwnProperty" are plain headers', async () => {
    const out = await run([
      '{"headers":{"constructor":"x"}}',
      '{"headers":{"__proto__":"x"}}',
      '{"headers":{"__proto__":["a","b"],"toString":"y","hasOwnProperty":["z"]}}',
      '{"headers":{"Constructor":"x","constructor":"y"}}',
      tb,
    ]);
    expect(out).toHaveLength(5);
    for (const o of out.slice(0, 4)) {
      expect(o).not.toHaveProperty('error');
      expect(o).toMatchObject({ kind: 'unknown' });
    }
    expect(out[4]).toMatchObject({ family: 'thunderbird' });
  });

  it('a 130,000-element array (390 KB, under the line limit) gets an error line, and the next line its verdict', async () => {
    const huge = JSON.stringify({ headers: { 'x-mailer': new Array(130_000).fill('') } });
    expect(huge.length).toBeLessThan(512 * 1024);
    const out = await run([huge, tb]);
    expect(out).toHaveLength(2);
    expect(out[0]!.error).toMatch(/more than 1000 header values/);
    expect(out[1]).toMatchObject({ family: 'thunderbird' });
  });

  it('46,000 keys in one line are refused by the field bound instead of a quadratic merge (was ~2 s)', async () => {
    const headers: Record<string, string> = {};
    for (let i = 0; i < 46_000; i++) headers[i.toString(36)] = '';
    const line = JSON.stringify({ headers });
    expect(line.length).toBeLessThan(512 * 1024);
    const out = await run([line, tb]);
    expect(out).toHaveLength(2);
    expect(out[0]!.error).toMatch(/header values/);
    expect(out[1]).toMatchObject({ family: 'thunderbird' });
  });

  it('1000 distinct headers (the parse limit) are still classified', async () => {
    const headers: Record<string, string> = { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Thunderbird/115.3.1' };
    for (let i = 0; i < 999; i++) headers[`x-h${i}`] = 'v';
    const out = await run([JSON.stringify({ headers })]);
    expect(out[0]).toMatchObject({ family: 'thunderbird' });
  });
});
