import { describe, it, expect, afterAll } from 'vitest';
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { tempDir } from '../helpers/tmp.js';
import { readMbox, fromLineDate } from '../../src/source/file/index.js';

const t = tempDir();
afterAll(() => t.cleanup());
const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js');

async function collect(path: string) {
  const out = [];
  for await (const i of readMbox(path, path)) out.push(i);
  return out;
}

describe('mbox source', () => {
  it('yields each header block with its offset key and the From_ line date', async () => {
    const p = join(t.dir, 'small.mbox');
    writeFileSync(
      p,
      'From a@x Tue Apr  3 16:55:26 2012\nFrom: a@x.example\nSubject: one\n\nbody line\n>From escaped\n\n' +
        'From b@x Wed Apr  4 10:00:00 2012\nFrom: b@x.example\n\nbody\nFrom: not a separator (no leading From_ space issue)\n\n' +
        'From c@x Thu Apr  5 10:00:00 2012\nFrom: c@x.example\n',
    );
    const items = await collect(p);
    expect(items.map((i) => Buffer.from(i.headerBytes).toString())).toEqual(['From: a@x.example\nSubject: one\n', 'From: b@x.example\n', 'From: c@x.example\n']);
    expect(items[0]!.receivedAt?.toISOString()).toBe('2012-04-03T16:55:26.000Z');
    expect(new Set(items.map((i) => i.sourceKey)).size).toBe(3);
    expect(fromLineDate('From x Thu Apr  5 10:00:00 2012')?.toISOString()).toBe('2012-04-05T10:00:00.000Z');
  });

  it('finds separators split across read chunks', async () => {
    const p = join(t.dir, 'chunks.mbox');
    const pad = 'x'.repeat((1 << 20) - 40) + '\n';
    writeFileSync(p, `From a@x Tue Apr  3 16:55:26 2012\nFrom: a@x.example\n\n${pad}\nFrom b@x Tue Apr  3 16:55:26 2012\nFrom: b@x.example\n\nbody\n`);
    const items = await collect(p);
    expect(items.map((i) => Buffer.from(i.headerBytes).toString().trim())).toEqual(['From: a@x.example', 'From: b@x.example']);
  });

  it('rejects a file that is not an mbox', async () => {
    const p = join(t.dir, 'bad.mbox');
    writeFileSync(p, 'hello\n');
    await expect(collect(p)).rejects.toThrow(/not an mbox/);
  });

  it('streams a 200 MB mbox through `import` with bounded memory', async () => {
    const p = join(t.dir, 'big.mbox');
    const ws = createWriteStream(p);
    const body = ('Lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(20) + '\n').repeat(40); // ~46 KB
    const N = 4600;
    for (let i = 0; i < N; i++) {
      const msg = `From u${i}@x Tue Apr  3 16:55:26 2012\nFrom: User ${i} <u${i % 1000}@customer.example>\nDate: Tue, 3 Apr 2012 16:55:26 +0000\nMessage-ID: <big${i}@x>\nX-Mailer: Apple Mail (2.1257)\n\n${body}\n`;
      if (!ws.write(msg)) await once(ws, 'drain');
    }
    ws.end();
    await once(ws, 'finish');
    const size = readFileSync(p, { flag: 'r' }).length;
    expect(size).toBeGreaterThan(200 * 1024 * 1024);
    const child = spawn(process.execPath, [CLI, '--db', join(t.dir, 'big.db'), 'import', '--json', p], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CENSUS_LOG_LEVEL: 'warn' } });
    let peak = 0;
    const timer = setInterval(() => {
      try {
        const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peak = Math.max(peak, Number(m[1]) * 1024);
      } catch {
        /* exited */
      }
    }, 20);
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    const [code] = await once(child, 'exit');
    clearInterval(timer);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ read: N, stored: N });
    // The file is 200+ MB; the process must not hold it (Node itself needs ~50-80 MB).
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThan(160 * 1024 * 1024);
  }, 180_000);
});
