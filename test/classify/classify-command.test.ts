import { describe, expect, it } from 'vitest';
import { PassThrough, Readable } from 'node:stream';
import { defaultRulesDir, loadRules } from '../../src/classify/index.js';
import { classifyStream } from '../../src/app/classify-lines.js';

const rules = loadRules([defaultRulesDir()]);

async function run(input: Buffer | string[]): Promise<unknown[]> {
  const src = Array.isArray(input) ? Readable.from(input.map((s) => Buffer.from(s))) : Readable.from([input]);
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await classifyStream(rules, src, out);
  out.end();
  const text = Buffer.concat(chunks).toString('utf8');
  expect(text.endsWith('\n')).toBe(true);
  return text.trimEnd().split('\n').map((l) => JSON.parse(l));
}

describe('smime-census classify (JSON lines)', () => {
  it('writes exactly one line per input line, in order, with an error object for a bad line in the middle', async () => {
    const lines = [
      JSON.stringify({ headers: { 'X-Mailer': 'iPhone Mail (21E236)', 'Message-ID': '<B03AB93A-A912-4997-AA6C-4E3C49B05CDC@stwcx.xyz>' } }),
      '{not json',
      JSON.stringify({ headers: { 'user-agent': ['Mutt/1.12.0 (2019-05-25)'] } }),
      JSON.stringify({ raw: 'User-Agent: Mozilla Thunderbird\r\nMessage-ID: <c812e638-8a66-4dc0-8b0e-c971134bb413@x.org>\r\n\r\n' }),
      JSON.stringify({ headers: { 'x-mailer': 42 } }),
      JSON.stringify([1, 2]),
    ];
    const out = await run([lines.join('\n') + '\n']);
    expect(out).toHaveLength(6);
    expect(out[0]).toMatchObject({ family: 'ios-mail', ruleId: 'ios-mail-xmailer' });
    expect(out[1]).toHaveProperty('error');
    expect(out[2]).toMatchObject({ family: 'mutt' });
    expect(out[3]).toMatchObject({ family: 'thunderbird', ruleId: 'thunderbird-115-plus' });
    expect(out[4]).toHaveProperty('error');
    expect(out[5]).toHaveProperty('error');
  });

  it('handles lines split across chunks, CRLF and a final line without newline', async () => {
    const a = JSON.stringify({ headers: { 'x-mailer': 'Claws Mail 4.1.0 (GTK 3.24.34; x86_64-redhat-linux-gnu)' } });
    const b = JSON.stringify({ headers: { 'user-agent': 'Roundcube Webmail/1.6.0' } });
    const out = await run([a.slice(0, 10), a.slice(10) + '\r\n' + b.slice(0, 5), b.slice(5)]);
    expect(out).toMatchObject([{ family: 'claws-mail' }, { family: 'roundcube' }]);
  });

  it('a huge line costs one error line, and the next line is still classified', async () => {
    const huge = '{"headers":{"x-mailer":"' + 'A'.repeat(3 * 1024 * 1024) + '"}}';
    const next = JSON.stringify({ headers: { 'x-mailer': 'aerc 0.20.0' } });
    const out = await run([huge.slice(0, 1_000_000), huge.slice(1_000_000) + '\n' + next + '\n']);
    expect(out).toHaveLength(2);
    expect((out[0] as { error: string }).error).toMatch(/longer than/);
    expect(out[1]).toMatchObject({ family: 'aerc' });
  });

  it('invalid UTF-8 and NUL bytes give a verdict or an error, never a crash', async () => {
    const bad = Buffer.concat([Buffer.from('{"headers":{"x-mailer":"Mutt/1.5 '), Buffer.from([0xff, 0xfe, 0x00]), Buffer.from('"}}\n')]);
    const out = await run(bad);
    expect(out).toHaveLength(1);
  });
});
