import { describe, it, expect, afterAll } from 'vitest';
import { createWriteStream, readFileSync, writeFileSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { tempDir } from '../helpers/tmp.js';
import { readMbox, fromLineDate } from '../../src/source/file/index.js';
import { builtCli } from '../helpers/built.js';

const t = tempDir();
afterAll(() => t.cleanup());
const CLI = builtCli();

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

  async function writeMbox(path: string, n: number, body: string): Promise<number> {
    const ws = createWriteStream(path);
    for (let i = 0; i < n; i++) {
      const msg = `From u${i}@x Tue Apr  3 16:55:26 2012\nFrom: User ${i} <u${i % 1000}@customer.example>\nDate: Tue, 3 Apr 2012 16:55:26 +0000\nMessage-ID: <big${i}@x>\nX-Mailer: Apple Mail (2.1257)\n\n${body}\n`;
      if (!ws.write(msg)) await once(ws, 'drain');
    }
    ws.end();
    await once(ws, 'finish');
    return statSync(path).size;
  }

  /** Runs `import --json` in a child process; returns its counts and peak RSS (VmHWM). */
  async function importMeasured(mbox: string, db: string): Promise<{ counts: { read: number; stored: number }; peak: number }> {
    const child = spawn(process.execPath, [CLI, '--db', db, 'import', '--json', mbox], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CENSUS_LOG_LEVEL: 'warn' } });
    let peak = 0;
    const timer = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peak = Math.max(peak, Number(m[1]) * 1024);
      } catch {
        /* exited */
      }
    }, 10);
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    const [code] = await once(child, 'exit');
    clearInterval(timer);
    expect(code).toBe(0);
    return { counts: JSON.parse(stdout), peak };
  }

  it('streams a 200 MB mbox through `import`: memory does not grow with the file size', async () => {
    const N = 4600;
    const bigBody = ('Lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(20) + '\n').repeat(40); // ~46 KB
    const big = join(t.dir, 'big.mbox');
    const small = join(t.dir, 'small.mbox');
    expect(await writeMbox(big, N, bigBody)).toBeGreaterThan(200 * 1024 * 1024);
    expect(await writeMbox(small, N, 'short body')).toBeLessThan(2 * 1024 * 1024);
    const s = await importMeasured(small, join(t.dir, 'small.db'));
    const b = await importMeasured(big, join(t.dir, 'big.db'));
    expect(b.counts).toMatchObject({ read: N, stored: N });
    expect(s.counts).toMatchObject({ read: N, stored: N });
    // Same messages, 100x the bytes (200 MB more): peak memory grows by far less than the file.
    // The slack that remains is V8 collecting freed read chunks lazily (external memory is
    // reclaimed in bursts of tens of MB), not data kept.
    expect(b.peak).toBeGreaterThan(0);
    expect(b.peak - s.peak).toBeLessThan(100 * 1024 * 1024);
  }, 180_000);
});
